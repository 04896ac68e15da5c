"""Writes an evaluation run to disk: results.jsonl, summary.json, report.md, report.html."""

from __future__ import annotations

import base64
import html
import io
import json
from pathlib import Path
from typing import Any

from .evaluate import KS, EvalRun, result_row

_METRIC_ROWS = (
    "n",
    "hit@1",
    "hit@3",
    "hit@5",
    "hit@10",
    "mrr@10",
    "evidence_recall@5",
    "keyword_match",
    "all_keywords",
    "direct_keyword_match",
    "all_keywords_direct",
    "keyword_in_top5",
    "false_refusal_rate",
    "refused_answerable",
    "refusal_recall",
    "refusal_recall_absent",
    "refusal_recall_near_miss",
    "refusal_recall_injection",
    "partial_answers",
    "partial_precision",
    "followups",
    "followup_accuracy",
    "right",
    "citation_validity",
    "latency_p50_ms",
    "latency_p95_ms",
)


# the side-by-side table of `rag eval --compare` (per-type MRR rows are added to it)
COMPARE_ROWS = (
    "hit@1",
    "hit@3",
    "hit@5",
    "hit@10",
    "mrr@10",
    "evidence_recall@5",
    "latency_p50_ms",
    "latency_p95_ms",
)


def fmt(value: Any) -> str:
    if value is None:
        return "–"
    if isinstance(value, float):
        return f"{value:.1f}" if value > 1.0 else f"{value:.3f}"
    return str(value)


def metrics_table(
    columns: dict[str, dict[str, Any]], rows: tuple[str, ...] = _METRIC_ROWS
) -> list[list[str]]:
    header = ["metric", *columns]
    body = [[row, *(fmt(m.get(row)) for m in columns.values())] for row in rows]
    return [header, *body]


def markdown_table(table: list[list[str]]) -> str:
    lines = ["| " + " | ".join(table[0]) + " |", "|" + "---|" * len(table[0])]
    lines += [
        "| " + " | ".join(c.replace("|", "\\|").replace("\n", " ") for c in row) + " |"
        for row in table[1:]
    ]
    return "\n".join(lines)


def html_table(table: list[list[str]]) -> str:
    head = "".join(f"<th>{html.escape(c)}</th>" for c in table[0])
    body = "".join(
        "<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in row) + "</tr>" for row in table[1:]
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _plots(run: EvalRun, summary: dict[str, Any]) -> dict[str, bytes]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    out = {}
    fig, ax = plt.subplots(figsize=(6, 3.6))
    groups = {"overall": summary["overall"], **summary["by_type"]}
    for name, m in groups.items():
        if m.get("hit@1") is None:
            continue
        ax.plot(
            KS,
            [m[f"hit@{k}"] for k in KS],
            marker="o",
            label=name,
            linewidth=2.5 if name == "overall" else 1,
        )
    ax.set_xlabel("k")
    ax.set_ylabel("hit@k")
    ax.set_xticks(KS)
    ax.set_ylim(0, 1.02)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7, ncol=2)
    ax.set_title("hit@k (answerable questions)")
    out["hit_at_k.png"] = _png(fig)

    fig, ax = plt.subplots(figsize=(6, 3.2))
    ax.hist([r.answer.latency_ms for r in run.results], bins=30, color="#4477aa")
    ax.set_xlabel("latency (ms)")
    ax.set_ylabel("questions")
    ax.set_title("latency per question")
    out["latency.png"] = _png(fig)
    plt.close("all")
    return out


def _png(fig: Any) -> bytes:
    buf = io.BytesIO()
    fig.tight_layout()
    fig.savefig(buf, format="png", dpi=110)
    return buf.getvalue()


def _failure_rows(run: EvalRun, limit: int = 60) -> list[list[str]]:
    rows = [["id", "type", "expected", "question", "keywords / evidence", "got", "direct answer"]]
    for r in run.failures()[:limit]:
        q = r.question
        rows.append(
            [
                q.id,
                q.type,
                q.expect + (f" ({q.refusal_kind})" if q.refusal_kind else ""),
                q.question,
                " ‖ ".join(q.answer_keywords or q.evidence) or "–",
                f"{r.answer.status}, hit rank {r.first_rank or '–'}",
                r.answer.direct_answer[:120],
            ]
        )
    return rows


def write_report(run: EvalRun, out_dir: Path) -> dict[str, Any]:
    """Write all outputs of ``run`` into ``out_dir``; returns the summary."""
    out_dir.mkdir(parents=True, exist_ok=True)
    with (out_dir / "results.jsonl").open("w", encoding="utf-8") as f:
        for r in run.results:
            f.write(json.dumps(result_row(r), ensure_ascii=False) + "\n")
    summary = run.summary()
    (out_dir / "summary.json").write_text(
        json.dumps(summary, ensure_ascii=False, indent=2), encoding="utf-8"
    )
    plots = _plots(run, summary)
    for name, data in plots.items():
        (out_dir / name).write_bytes(data)

    overall = metrics_table({"overall": summary["overall"]})
    by_type = metrics_table(summary["by_type"])
    by_lang = metrics_table(summary["by_lang"])
    by_expect = metrics_table(summary["by_expect"])
    failures = _failure_rows(run)
    n_fail = len(run.failures())
    title = f"报告问答 evaluation — {run.label}" if run.label else "报告问答 evaluation"
    problems = summary["dataset_errors"] + summary["errors"]

    md = [
        f"# {title}",
        "",
        f"{len(run.results)} questions.",
        "",
        "## Overall",
        "",
        markdown_table(overall),
        "",
        "## By type",
        "",
        markdown_table(by_type),
        "",
        "## By language",
        "",
        markdown_table(by_lang),
        "",
        "## By expected outcome",
        "",
        markdown_table(by_expect),
        "",
        "![hit@k](hit_at_k.png)",
        "",
        "![latency](latency.png)",
        "",
        f"## Failures ({n_fail}; first {len(failures) - 1} shown)",
        "",
        markdown_table(failures),
        "",
    ]
    if problems:
        md += ["## Dataset and run errors", ""] + [f"- {p}" for p in problems] + [""]
    (out_dir / "report.md").write_text("\n".join(md), encoding="utf-8")

    imgs = "".join(
        f'<img alt="{html.escape(n)}" src="data:image/png;base64,{base64.b64encode(d).decode()}">'
        for n, d in plots.items()
    )
    errs = "".join(f"<li>{html.escape(p)}</li>" for p in problems)
    page = f"""<!doctype html><html lang="zh"><head><meta charset="utf-8">
<title>{html.escape(title)}</title><style>
body{{font-family:system-ui,sans-serif;margin:2em;max-width:1200px}}
table{{border-collapse:collapse;margin:1em 0;font-size:14px}}
td,th{{border:1px solid #ccc;padding:4px 8px;vertical-align:top}} th{{background:#f3f3f3}}
img{{max-width:48%;margin-right:1%}}</style></head><body>
<h1>{html.escape(title)}</h1><p>{len(run.results)} questions.</p>
<h2>Overall</h2>{html_table(overall)}<h2>By type</h2>{html_table(by_type)}
<h2>By language</h2>{html_table(by_lang)}
<h2>By expected outcome</h2>{html_table(by_expect)}<h2>Plots</h2>{imgs}
<h2>Failures ({n_fail})</h2>{html_table(failures)}
{"<h2>Dataset and run errors</h2><ul>" + errs + "</ul>" if errs else ""}
</body></html>"""
    (out_dir / "report.html").write_text(page, encoding="utf-8")
    return summary
