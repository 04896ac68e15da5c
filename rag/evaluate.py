"""Evaluation: a question set in JSONL, run through the answering pipeline, scored.

``evaluate(questions, pipeline, documents)`` returns an :class:`EvalRun`: one
:class:`QuestionResult` per question plus aggregate metrics overall, by type and by
language. The CLI (``rag eval``) is a thin layer that writes the results and a report.
"""

from __future__ import annotations

import hashlib
import json
import math
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from .conversation import Turn
from .questions import longest_run
from .types import Answer, Document, Hit

KS = (1, 3, 5, 10)
LANGS = ("zh", "en", "mixed")
EXPECTS = ("answer", "partial", "refuse")
REFUSAL_KINDS = ("absent", "near_miss", "injection")
COVER_SHARE = 0.6  # a hit covers evidence it contains, or 60 % of it in one contiguous run
Split = Literal["dev", "test"]

# the system under evaluation: a question and the conversation so far -> an answer
Pipeline = Callable[[str, Sequence[Turn]], Answer]


class DatasetError(ValueError):
    """The question file is malformed; the message names the line and the field."""


def split_of(qid: str) -> Split:
    """The half a question (or a whole conversation, by its id) belongs to: a fixed rule on
    the SHA-256 of its id, so that every set splits the same way on every machine. Rules and
    thresholds are chosen on "dev"; "test" is run once at the end."""
    return "dev" if hashlib.sha256(qid.encode("utf-8")).digest()[0] % 2 == 0 else "test"


@dataclass(frozen=True)
class Question:
    """One question, or one turn of a conversation (``conversation`` set, ``turn`` > 0 for
    the follow-ups; the earlier turns are asked first, and their answers become history).

    ``expect``: "answer" (the report answers it), "partial" (it speaks of the subject but not
    of the detail asked) or "refuse"; ``refusal_kind`` says why a question is not answerable:
    "absent", "near_miss" or "injection"."""

    id: str
    question: str
    lang: str
    type: str
    answer_keywords: tuple[str, ...]
    evidence: tuple[str, ...]
    section: str = ""
    expect: str = "answer"
    refusal_kind: str | None = None
    missing: str = ""
    conversation: str | None = None
    turn: int = 0

    @property
    def answerable(self) -> bool:
        return self.expect == "answer"

    @property
    def split(self) -> Split:
        return split_of(self.conversation or self.id)


def _field(obj: Mapping[str, Any], name: str, kind: type, lineno: int) -> Any:
    if name not in obj:
        raise DatasetError(f"line {lineno}: missing field '{name}'")
    value = obj[name]
    if not isinstance(value, kind):
        raise DatasetError(
            f"line {lineno}: field '{name}' must be {kind.__name__}, got {type(value).__name__}"
        )
    return value


def _parse_one(
    obj: Mapping[str, Any], lineno: int, *, qid: str, lang: str, conversation: str | None, turn: int
) -> Question:
    text = _field(obj, "question", str, lineno)
    if not text.strip():
        raise DatasetError(f"line {lineno}: field 'question' is empty")
    qtype = str(obj.get("type", "conversation" if conversation else ""))
    if not qtype:
        raise DatasetError(f"line {lineno}: missing field 'type'")
    lists = {}
    for name in ("answer_keywords", "evidence"):
        items = _field(obj, name, list, lineno)
        if not all(isinstance(x, str) and x for x in items):
            raise DatasetError(f"line {lineno}: field '{name}' must be a list of non-empty strings")
        lists[name] = tuple(items)
    # the first question set had no "expect": its type "unanswerable" meant absent from the report
    legacy_refuse = qtype == "unanswerable" and "expect" not in obj
    expect = "refuse" if legacy_refuse else obj.get("expect", "answer")
    if expect not in EXPECTS:
        raise DatasetError(
            f"line {lineno}: field 'expect' must be one of {EXPECTS}, got {expect!r}"
        )
    kind = "absent" if legacy_refuse else obj.get("refusal_kind")
    if expect == "answer":
        if kind is not None:
            raise DatasetError(f"line {lineno}: an answerable question has a refusal_kind")
        if not lists["evidence"]:
            raise DatasetError(f"line {lineno}: field 'evidence' is empty")
    else:
        if kind not in REFUSAL_KINDS:
            raise DatasetError(
                f"line {lineno}: field 'refusal_kind' must be one of {REFUSAL_KINDS} when "
                f"expect is {expect!r}, got {kind!r}"
            )
        if lists["answer_keywords"] or (expect == "refuse" and lists["evidence"]):
            what = "unanswerable" if legacy_refuse else f"expect={expect!r}"
            raise DatasetError(f"line {lineno}: {what} question has evidence/keywords")
    return Question(
        id=qid,
        question=text,
        lang=lang,
        type=qtype,
        answer_keywords=lists["answer_keywords"],
        evidence=lists["evidence"],
        section=str(obj.get("section", "")),
        expect=expect,
        refusal_kind=kind,
        missing=str(obj.get("missing", "")),
        conversation=conversation,
        turn=turn,
    )


def parse_questions(lines: Iterable[str]) -> list[Question]:
    """Parse JSONL lines of single questions and conversations (a line with ``turns``: its
    turns become questions ``<id>.1``, ``<id>.2``, … in order); raises
    :class:`DatasetError` naming line and field."""
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
        if "turns" not in obj:
            _field(obj, "question", str, lineno)
        lang = _field(obj, "lang", str, lineno)
        if lang not in LANGS:
            raise DatasetError(f"line {lineno}: field 'lang' must be one of {LANGS}, got {lang!r}")
        if "turns" in obj:
            turns = _field(obj, "turns", list, lineno)
            if not turns or not all(isinstance(t, dict) for t in turns):
                raise DatasetError(f"line {lineno}: field 'turns' must be a list of objects")
            out += [
                _parse_one(t, lineno, qid=f"{qid}.{i}", lang=lang, conversation=qid, turn=i - 1)
                for i, t in enumerate(turns, start=1)
            ]
        else:
            out.append(_parse_one(obj, lineno, qid=qid, lang=lang, conversation=None, turn=0))
    if not out:
        raise DatasetError("the question file has no questions")
    return out


def load_questions(path: Path) -> list[Question]:
    if not path.exists():
        raise FileNotFoundError(f"question file not found: {path}")
    with path.open(encoding="utf-8") as f:
        return parse_questions(f)


def select_split(questions: Sequence[Question], split: Split | None) -> list[Question]:
    """The questions of one half (all of them for ``None``); a conversation stays whole."""
    return [q for q in questions if split is None or q.split == split]


def dataset_errors(questions: Sequence[Question], documents: Iterable[Document]) -> list[str]:
    """Evidence strings and answer keywords that occur in no document."""
    texts = [d.text for d in documents]
    errors = []
    for q in questions:
        for ev in q.evidence:
            if not any(ev in t for t in texts):
                errors.append(f"{q.id}: evidence not in the report: {ev!r}")
        for kw in q.answer_keywords:
            if not any(kw in t for t in texts):
                errors.append(f"{q.id}: keyword not in the report: {kw!r}")
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

    @property
    def declined(self) -> bool:
        """Refused or answered as partial: what an unanswerable question should get (an
        injection attempt only counts when refused outright)."""
        if self.question.refusal_kind == "injection":
            return self.answer.status == "refused"
        return self.answer.status in ("refused", "partial")

    @property
    def right(self) -> bool:
        """The outcome a resident would call right: an answerable question answered (not
        refused, not partial) with all its keywords (or, without keywords, its evidence in
        the top 5); an unanswerable one declined."""
        q = self.question
        if not q.answerable:
            return self.declined
        if self.answer.status != "answered":
            return False
        return self.keyword_match == 1.0 if self.keyword_match is not None else self.hit[5]


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
    """Aggregate metrics of a group of question results.

    ``false_refusal_rate``: answerable questions refused or answered as partial;
    ``refusal_recall``: unanswerable questions declined (refused or partial; injections
    refused), also by kind; ``partial_precision``: partial answers given to questions that
    are not fully answerable; ``followup_accuracy``: follow-up turns (2nd, 3rd) right."""
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
    out["all_keywords"] = _mean(
        float(r.keyword_match == 1.0) for r in ans if r.keyword_match is not None
    )
    out["direct_keyword_match"] = _mean(r.direct_keyword_match for r in ans)
    out["all_keywords_direct"] = _mean(
        float(r.direct_keyword_match == 1.0) for r in ans if r.direct_keyword_match is not None
    )
    out["keyword_in_top5"] = _mean(r.keyword_in_hits_5 for r in ans)
    out["false_refusal_rate"] = _mean(float(r.answer.status != "answered") for r in ans)
    out["refused_answerable"] = _mean(float(r.answer.refused) for r in ans)
    out["refusal_recall"] = _mean(float(r.declined) for r in una)
    for kind in REFUSAL_KINDS:
        out[f"refusal_recall_{kind}"] = _mean(
            float(r.declined) for r in una if r.question.refusal_kind == kind
        )
    partial = [r for r in results if r.answer.status == "partial"]
    out["partial_answers"] = len(partial)
    out["partial_precision"] = _mean(float(not r.question.answerable) for r in partial)
    follow = [r for r in results if r.question.turn > 0]
    out["followups"] = len(follow)
    out["followup_accuracy"] = _mean(float(r.right) for r in follow)
    out["right"] = _mean(float(r.right) for r in results)
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
        def groups(key: Callable[[QuestionResult], str | None]) -> dict[str, Any]:
            names = sorted({k for r in self.results if (k := key(r)) is not None})
            return {n: metrics([r for r in self.results if key(r) == n]) for n in names}

        return {
            "label": self.label,
            "overall": metrics(self.results),
            "by_type": groups(lambda r: r.question.type),
            "by_lang": groups(lambda r: r.question.lang),
            "by_expect": groups(lambda r: r.question.refusal_kind or "answerable"),
            "dataset_errors": self.dataset_errors,
            "errors": [f"{r.question.id}: {r.error}" for r in self.results if r.error],
        }

    def failures(self) -> list[QuestionResult]:
        """Questions a resident would not call answered right (see ``QuestionResult.right``),
        and answerable ones whose evidence is not in the top 5."""
        return [r for r in self.results if not r.right or r.question.answerable and not r.hit[5]]


def _error_answer(question: str, started: float) -> Answer:
    return Answer(
        question=question,
        answer="",
        direct_answer="",
        refused=False,
        citations=(),
        hits=(),
        engine="",
        model="",
        index_version="",
        latency_ms=(time.perf_counter() - started) * 1000,
    )


def evaluate(
    questions: Sequence[Question],
    pipeline: Pipeline,
    documents: Mapping[str, Document],
    *,
    label: str = "",
    progress: Callable[[int, int], None] | None = None,
) -> EvalRun:
    """Run every question through ``pipeline`` and score it; a failing question is
    recorded with its error and the run goes on. The turns of a conversation are asked in
    order, each with the earlier turns (the questions and the answers given) as history."""
    errors = dataset_errors(questions, documents.values())
    results = []
    history: list[Turn] = []
    for i, q in enumerate(questions, start=1):
        if q.turn == 0:
            history = []
        t0 = time.perf_counter()
        try:
            answer = pipeline(q.question, tuple(history))
            error = None
        except Exception as exc:  # one bad question must not stop the run
            answer = _error_answer(q.question, t0)
            error = f"{type(exc).__name__}: {exc}"
        if q.conversation is not None:
            history.append(Turn(q.question, answer.answer))
        result = score(q, answer, documents)
        result.error = error
        results.append(result)
        if progress:
            progress(i, len(questions))
    return EvalRun(results=results, dataset_errors=errors, label=label)


def result_row(r: QuestionResult) -> dict[str, Any]:
    """One line of ``results.jsonl``."""
    from .schemas import AnswerOut

    q = r.question
    row: dict[str, Any] = {
        "id": q.id,
        "type": q.type,
        "lang": q.lang,
        "expect": q.expect,
        "refusal_kind": q.refusal_kind,
        "split": q.split,
    }
    row.update(AnswerOut.of(r.answer).model_dump(mode="json"))
    row.update(
        {
            "first_rank": r.first_rank,
            "evidence_recall@5": r.evidence_recall_5,
            "keyword_match": r.keyword_match,
            "direct_keyword_match": r.direct_keyword_match,
            "citations_valid": r.citations_valid,
            "right": r.right,
            "error": r.error,
        }
    )
    return row
