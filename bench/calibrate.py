"""Fit the thresholds of rag/answer/rules.py on the dev half, by cross-validation.

Every question of the dev half (``rag.evaluate.split_of``; conversations asked turn by turn)
is answered at each point of a small grid of the three numbers that decide answerability —
``refuse_below`` (the best sentence's score under which the report is taken not to speak of
the question), ``about_min`` (how close, in the model's space, a clause must be to the
question to hold its answer when it does not name the topic in the report's words) and
``weak_min`` (the same for the best sentence of an open or yes/no question) — and each point
is scored by

    J = share of unanswerable questions declined − COST × share of answerable questions
        declined + share of answerable questions with all their keywords in the answer

(a false refusal costs a resident more than a missed one), separately for Chinese (and mixed)
and for English questions, whose cross-lingual cosines run lower. Five folds inside dev give
held-out figures for the rule "pick the best grid point"; the final values are fit on the
whole dev half. The test half is never read. Query vectors are cached, so the grid costs
little more than one pass.

    .venv/bin/python bench/calibrate.py [--files eval/blind/*.jsonl eval/questions.jsonl]
"""

from __future__ import annotations

import argparse
import dataclasses
import hashlib
import itertools
import json
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from rag.answer import RULES, render  # noqa: E402
from rag.config import Settings  # noqa: E402
from rag.conversation import Turn  # noqa: E402
from rag.evaluate import load_questions, select_split  # noqa: E402
from rag.pipeline import Pipeline  # noqa: E402

COST = 3.0
FOLDS = 5
DEFAULT_FILES = [
    "eval/blind/set_a.jsonl",
    "eval/blind/set_b.jsonl",
    "eval/blind/conversations_b.jsonl",
    "eval/questions.jsonl",
]


GRID = {  # refuse_below × about_min × weak_min
    "zh": ((0.80, 0.84, 0.88), (0.88, 0.90, 0.92, 0.94, 0.96), (0.86, 0.88, 0.90, 0.92)),
    "en": ((0.60, 0.68, 0.74), (0.70, 0.72, 0.74, 0.76, 0.78), (0.72, 0.74, 0.76, 0.78)),
}
NAMES = {"zh": ("refuse_below", "about_min", "weak_min")}
NAMES["en"] = tuple(f"{n}_en" for n in NAMES["zh"])


def run(pipe: Pipeline, questions: list, rules: object) -> list[dict]:
    """Answer ``questions`` with ``rules``; one outcome row per question."""
    pipe.rules = rules  # type: ignore[assignment]
    rows = []
    history: list[Turn] = []
    for q in questions:
        if q.turn == 0:
            history = []
        st = pipe.explain(q.question, history=history, top_k=10)
        result, comp = st.result, st.composition
        text = render(comp, result.hits)
        if q.conversation:
            history.append(Turn(q.question, text))
        declined = comp.status != "answered"
        if q.refusal_kind == "injection":
            declined = comp.status == "refused"
        kw = all(k in text for k in q.answer_keywords) if q.answer_keywords else None
        rows.append(
            {
                "id": q.id,
                "group": q.conversation or q.id,
                "answerable": q.answerable,
                "declined": declined,
                "keywords": kw,
            }
        )
    return rows


def objective(rows: list[dict]) -> tuple[float, float, float, float]:
    """(J, answerable declined, unanswerable declined, all keywords)."""
    ans = [r for r in rows if r["answerable"]]
    una = [r for r in rows if not r["answerable"]]
    fr = float(np.mean([r["declined"] for r in ans])) if ans else 0.0
    ur = float(np.mean([r["declined"] for r in una])) if una else 0.0
    kws = [r["keywords"] and not r["declined"] for r in ans if r["keywords"] is not None]
    kw = float(np.mean(kws)) if kws else 0.0
    return ur - COST * fr + kw, fr, ur, kw


def fold_of(group: str) -> int:
    return hashlib.sha256(group.encode()).digest()[1] % FOLDS


def best_point(table: dict, keep) -> tuple:  # type: ignore[no-untyped-def]
    """The grid point with the highest J on the rows ``keep`` accepts (ties: the lowest
    thresholds, which refuse least)."""
    scored = []
    for point, rows in table.items():
        j = objective([r for r in rows if keep(r)])[0]
        scored.append((round(j, 9), tuple(-x for x in point), point))
    return max(scored)[2]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--files", nargs="+", default=DEFAULT_FILES)
    ap.add_argument("--save", type=Path, default=ROOT / "bench" / "out" / "calibration.json")
    args = ap.parse_args()
    pipe = Pipeline(Settings()).load()
    questions = [q for f in args.files for q in select_split(load_questions(ROOT / f), "dev")]
    fitted: dict[str, object] = {}
    for lang in ("zh", "en"):
        part = [q for q in questions if (q.lang == "en") == (lang == "en")]
        table = {}
        for point in itertools.product(*GRID[lang]):
            rules = dataclasses.replace(RULES, **dict(zip(NAMES[lang], point, strict=True)))
            table[point] = run(pipe, part, rules)
        held = []
        for k in range(FOLDS):
            point = best_point(table, lambda r, k=k: fold_of(r["group"]) != k)
            rows = [r for r in table[point] if fold_of(r["group"]) == k]
            held.append((point, rows))
        cv_rows = [r for _, rows in held for r in rows]
        _, cv_fr, cv_ur, cv_kw = objective(cv_rows)
        point = best_point(table, lambda r: True)
        _, fr, ur, kw = objective(table[point])
        grid_rows = {
            "/".join(f"{x:.3f}" for x in p): [round(x, 4) for x in objective(rows)]
            for p, rows in table.items()
        }
        fitted[lang] = {
            "grid (refuse/about/weak: J, answerable declined, unanswerable declined, keywords)": (
                grid_rows
            ),
            **dict(zip(NAMES[lang], point, strict=True)),
            "dev": {"answerable_declined": fr, "unanswerable_declined": ur, "all_keywords": kw},
            "cv": {
                "answerable_declined": cv_fr,
                "unanswerable_declined": cv_ur,
                "all_keywords": cv_kw,
            },
            "fold_points": [p for p, _ in held],
            "questions": len(part),
        }
        print(
            f"{lang}: {', '.join(f'{n} {x:.3f}' for n, x in zip(NAMES[lang], point, strict=True))}"
            f" ({len(part)} dev "
            f"questions) — dev: answerable declined {fr:.3f}, unanswerable declined {ur:.3f}, "
            f"all keywords {kw:.3f}; {FOLDS}-fold held-out: {cv_fr:.3f} / {cv_ur:.3f} / "
            f"{cv_kw:.3f}; fold points {[p for p, _ in held]}"
        )
    args.save.parent.mkdir(parents=True, exist_ok=True)
    args.save.write_text(json.dumps(fitted, ensure_ascii=False, indent=1), encoding="utf-8")
    print(f"→ {args.save}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
