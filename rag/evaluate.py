"""Evaluation: a question set in JSONL, run through the answering pipeline, scored.

``evaluate(questions, pipeline, documents)`` returns an :class:`EvalRun`: one
:class:`QuestionResult` per question plus aggregate metrics overall, by type and by
language. The CLI (``rag eval``) is a thin layer that writes the results and a report.
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .questions import longest_run
from .types import Answer, Document, Hit

KS = (1, 3, 5, 10)
LANGS = ("zh", "en")
TYPES = ("number", "fact", "list", "paraphrase", "section", "english", "unanswerable")
COVER_SHARE = 0.6  # a hit covers evidence it contains, or 60 % of it in one contiguous run

Pipeline = Callable[[str], Answer]


class DatasetError(ValueError):
    """The question file is malformed; the message names the line and the field."""


@dataclass(frozen=True)
class Question:
    id: str
    question: str
    lang: str
    type: str
    answer_keywords: tuple[str, ...]
    evidence: tuple[str, ...]
    section: str = ""

    @property
    def answerable(self) -> bool:
        return self.type != "unanswerable"


def _field(obj: Mapping[str, Any], name: str, kind: type, lineno: int) -> Any:
    if name not in obj:
        raise DatasetError(f"line {lineno}: missing field '{name}'")
    value = obj[name]
    if not isinstance(value, kind):
        raise DatasetError(
            f"line {lineno}: field '{name}' must be {kind.__name__}, got {type(value).__name__}"
        )
    return value


def parse_questions(lines: Iterable[str]) -> list[Question]:
    """Parse JSONL question lines; raises :class:`DatasetError` naming line and field."""
    out: list[Question] = []
    seen: dict[str, int] = {}
    for lineno, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as exc:
            raise DatasetError(f"line {lineno}: not valid JSON ({exc.msg})") from exc
        if not isinstance(obj, dict):
            raise DatasetError(f"line {lineno}: expected a JSON object")
        qid = str(_field(obj, "id", str, lineno))
        if qid in seen:
            raise DatasetError(f"line {lineno}: id '{qid}' repeats line {seen[qid]}")
        seen[qid] = lineno
        text = _field(obj, "question", str, lineno)
        if not text.strip():
            raise DatasetError(f"line {lineno}: field 'question' is empty")
        lang = _field(obj, "lang", str, lineno)
        if lang not in LANGS:
            raise DatasetError(f"line {lineno}: field 'lang' must be one of {LANGS}, got {lang!r}")
        qtype = _field(obj, "type", str, lineno)
        if qtype not in TYPES:
            raise DatasetError(f"line {lineno}: field 'type' must be one of {TYPES}, got {qtype!r}")
        lists = {}
        for name in ("answer_keywords", "evidence"):
            items = _field(obj, name, list, lineno)
            if not all(isinstance(x, str) and x for x in items):
                raise DatasetError(
                    f"line {lineno}: field '{name}' must be a list of non-empty strings"
                )
            lists[name] = tuple(items)
        if qtype == "unanswerable" and (lists["evidence"] or lists["answer_keywords"]):
            raise DatasetError(f"line {lineno}: unanswerable question has evidence/keywords")
        if qtype != "unanswerable" and not lists["evidence"]:
            raise DatasetError(f"line {lineno}: field 'evidence' is empty")
        out.append(
            Question(
                id=qid,
                question=text,
                lang=lang,
                type=qtype,
                answer_keywords=lists["answer_keywords"],
                evidence=lists["evidence"],
                section=str(obj.get("section", "")),
            )
        )
    if not out:
        raise DatasetError("the question file has no questions")
    return out


def load_questions(path: Path) -> list[Question]:
    if not path.exists():
        raise FileNotFoundError(f"question file not found: {path}")
    with path.open(encoding="utf-8") as f:
        return parse_questions(f)


def dataset_errors(questions: Sequence[Question], documents: Iterable[Document]) -> list[str]:
    """Evidence strings that occur in no document, and keywords in none of their evidence."""
    texts = [d.text for d in documents]
    errors = []
    for q in questions:
        for ev in q.evidence:
            if not any(ev in t for t in texts):
                errors.append(f"{q.id}: evidence not in the report: {ev!r}")
        for kw in q.answer_keywords:
            if not any(kw in ev for ev in q.evidence):
                errors.append(f"{q.id}: keyword {kw!r} is in none of its evidence strings")
    return errors


def covers(text: str, evidence: str) -> bool:
    """Whether a retrieved passage covers an evidence string (see COVER_SHARE)."""
    if evidence in text:
        return True
    return longest_run(evidence, text) >= COVER_SHARE * len(evidence)


@dataclass
class QuestionResult:
    question: Question
    answer: Answer
    first_rank: int | None  # rank of the first hit covering any evidence
    evidence_recall_5: float | None
    keyword_match: float | None  # share of keywords in the answer text
    keyword_in_hits_5: float | None  # share of keywords in the top-5 passages
    citations_valid: bool
    error: str | None = None
    # share of keywords in the direct-answer line alone (the quotes below it do not count)
    direct_keyword_match: float | None = None

    @property
    def hit(self) -> dict[int, bool]:
        return {k: self.first_rank is not None and self.first_rank <= k for k in KS}


def _citations_valid(answer: Answer, docs: Mapping[str, Document]) -> bool:
    for c in answer.citations:
        doc = docs.get(c.doc_id)
        if doc is None or doc.text[c.start : c.end] != c.quote or not c.quote:
            return False
    return True


def score(q: Question, answer: Answer, docs: Mapping[str, Document]) -> QuestionResult:
    hits: Sequence[Hit] = answer.hits
    first = None
    recall = kw_answer = kw_hits = kw_direct = None
    if q.answerable:
        for rank, h in enumerate(hits, start=1):
            if any(covers(h.chunk.text, ev) for ev in q.evidence):
                first = rank
                break
        top5 = [h.chunk.text for h in hits[:5]]
        recall = sum(any(covers(t, ev) for t in top5) for ev in q.evidence) / len(q.evidence)
        if q.answer_keywords:
            kw_answer = _keyword_share(q.answer_keywords, answer.answer)
            kw_direct = _keyword_share(q.answer_keywords, answer.direct_answer)
            kw_hits = _keyword_share(q.answer_keywords, "\n".join(top5))
    return QuestionResult(
        question=q,
        answer=answer,
        first_rank=first,
        evidence_recall_5=recall,
        keyword_match=kw_answer,
        keyword_in_hits_5=kw_hits,
        citations_valid=_citations_valid(answer, docs),
        direct_keyword_match=kw_direct,
    )


def _keyword_share(keywords: Sequence[str], text: str) -> float:
    """The share of ``keywords`` that occur in ``text``."""
    return sum(k in text for k in keywords) / len(keywords)


def _mean(xs: Iterable[float | None]) -> float | None:
    vals = [x for x in xs if x is not None]
    return sum(vals) / len(vals) if vals else None


def percentile(xs: Sequence[float], p: float) -> float | None:
    if not xs:
        return None
    s = sorted(xs)
    idx = max(0, math.ceil(p / 100 * len(s)) - 1)
    return s[idx]


def metrics(results: Sequence[QuestionResult]) -> dict[str, Any]:
    """Aggregate metrics of a group of question results."""
    ans = [r for r in results if r.question.answerable]
    una = [r for r in results if not r.question.answerable]
    lat = [r.answer.latency_ms for r in results]
    out: dict[str, Any] = {"n": len(results), "answerable": len(ans), "unanswerable": len(una)}
    for k in KS:
        out[f"hit@{k}"] = _mean(float(r.hit[k]) for r in ans)
    out["mrr@10"] = _mean(
        (1 / r.first_rank if r.first_rank and r.first_rank <= 10 else 0.0) for r in ans
    )
    out["evidence_recall@5"] = _mean(r.evidence_recall_5 for r in ans)
    out["keyword_match"] = _mean(r.keyword_match for r in ans)
    out["direct_keyword_match"] = _mean(r.direct_keyword_match for r in ans)
    out["keyword_in_top5"] = _mean(r.keyword_in_hits_5 for r in ans)
    out["refusal_recall"] = _mean(float(r.answer.refused) for r in una)
    out["false_refusal_rate"] = _mean(float(r.answer.refused) for r in ans)
    cited = [r for r in results if r.answer.citations]
    out["citation_validity"] = _mean(float(r.citations_valid) for r in cited)
    out["latency_p50_ms"] = percentile(lat, 50)
    out["latency_p95_ms"] = percentile(lat, 95)
    return out


@dataclass
class EvalRun:
    results: list[QuestionResult]
    dataset_errors: list[str] = field(default_factory=list)
    label: str = ""

    def summary(self) -> dict[str, Any]:
        by_type = {
            t: metrics([r for r in self.results if r.question.type == t])
            for t in TYPES
            if any(r.question.type == t for r in self.results)
        }
        by_lang = {
            lang: metrics([r for r in self.results if r.question.lang == lang])
            for lang in LANGS
            if any(r.question.lang == lang for r in self.results)
        }
        return {
            "label": self.label,
            "overall": metrics(self.results),
            "by_type": by_type,
            "by_lang": by_lang,
            "dataset_errors": self.dataset_errors,
            "errors": [f"{r.question.id}: {r.error}" for r in self.results if r.error],
        }

    def failures(self) -> list[QuestionResult]:
        """Answerable questions whose evidence is not in the top 5 or that were refused,
        and unanswerable questions that were answered."""
        return [r for r in self.results if _failed(r)]


def _failed(r: QuestionResult) -> bool:
    if r.question.answerable:
        return not r.hit[5] or r.answer.refused
    return not r.answer.refused


def evaluate(
    questions: Sequence[Question],
    pipeline: Pipeline,
    documents: Mapping[str, Document],
    *,
    label: str = "",
    progress: Callable[[int, int], None] | None = None,
) -> EvalRun:
    """Run every question through ``pipeline`` and score it; a failing question is
    recorded with its error and the run goes on."""
    errors = dataset_errors(questions, documents.values())
    results = []
    for i, q in enumerate(questions, start=1):
        t0 = time.perf_counter()
        try:
            answer = pipeline(q.question)
            error = None
        except Exception as exc:  # one bad question must not stop the run
            answer = Answer(
                question=q.question,
                answer="",
                direct_answer="",
                refused=False,
                citations=(),
                hits=(),
                engine="",
                model="",
                index_version="",
                latency_ms=(time.perf_counter() - t0) * 1000,
            )
            error = f"{type(exc).__name__}: {exc}"
        result = score(q, answer, documents)
        result.error = error
        results.append(result)
        if progress:
            progress(i, len(questions))
    return EvalRun(results=results, dataset_errors=errors, label=label)


def result_row(r: QuestionResult) -> dict[str, Any]:
    """One line of ``results.jsonl``."""
    from .serialize import answer_json

    row: dict[str, Any] = {"id": r.question.id, "type": r.question.type, "lang": r.question.lang}
    row.update(answer_json(r.answer))
    row.update(
        {
            "first_rank": r.first_rank,
            "evidence_recall@5": r.evidence_recall_5,
            "keyword_match": r.keyword_match,
            "direct_keyword_match": r.direct_keyword_match,
            "citations_valid": r.citations_valid,
            "error": r.error,
        }
    )
    return row
