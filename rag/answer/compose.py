"""Composition: from the analysed question and the retrieved passages to a cited answer.

question analysis (:mod:`.analysis`) → evidence (:mod:`.evidence`) → answerability (the
refusal threshold here, the constraints in :mod:`.constraints`) → answer extraction by
strategy (:mod:`.typed`, :mod:`.lists`, :mod:`.overview`) → leads (:mod:`.leads`).

A strategy is a small function that gets the :class:`~.strategy.Evidence` and returns an
:class:`~.strategy.Outcome` or ``None``; :data:`STRATEGIES` says which strategies each answer
type tries, in order. Three outcomes, each said plainly: *answered*; *partial* — the report
speaks of the subject but does not give what was asked (a rough standing where a rank was
asked, a count where names were, a five-year total where one year's figure was, a target
where the current figure was), cited; and *refused* — the report does not speak of it, or the
question is not a question about the report.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

import numpy as np

from ..types import AnswerStatus, Citation, Hit
from .analysis import Analysis, AnswerType
from .context import AnswerContext
from .documents import document_label
from .evidence import Candidate, candidates, coverage, sentence_kind, visible_share
from .rules import RULES, Rules
from .spans import FINDERS

if TYPE_CHECKING:
    from ..index import Index

from .lists import complete_list, count_instead, places_not_named, unless_places
from .overview import lead_in, named_part, overview, section_points
from .strategy import MIN_SUPPORT_CHARS, Evidence, Outcome, Quote
from .typed import description, status_answer, typed_span


@dataclass(frozen=True)
class Composition:
    analysis: Analysis
    status: AnswerStatus
    reason: str
    direct_answer: str
    citations: tuple[Citation, ...]
    best_score: float
    notes: tuple[str, ...] = ()

    @property
    def refused(self) -> bool:
        return self.status == "refused"


STRATEGIES: dict[AnswerType, tuple[Callable[[Evidence], Outcome | None], ...]] = {
    "overview": (named_part, lead_in, overview, complete_list, description),
    "list": (
        named_part,
        lead_in,
        complete_list,
        unless_places(section_points),
        count_instead,
        unless_places(overview),
        places_not_named,
        description,
    ),
    "status": (status_answer,),
    "yesno": (status_answer,),
    "description": (description,),
    **{t: (typed_span,) for t in FINDERS if t != "list"},  # type: ignore[misc]
}


# --------------------------------------------------------------------------- composition


def _answer(ev: Evidence) -> Outcome:
    """The first outcome of the strategies of the question's answer type (one-span, yes/no
    and open questions from the sentences naming the question's anchor, when some do)."""
    if ev.analysis.answer_type not in ("list", "overview"):
        ev = ev.anchored()
    for strategy in STRATEGIES.get(ev.analysis.answer_type, (description,)):
        outcome = strategy(ev)
        if outcome is not None:
            return outcome
    outcome = description(ev)
    assert outcome is not None
    return outcome


def _together(parts: Sequence[Outcome]) -> Outcome:
    """One outcome for the questions of a question: answered when every one is; partial when
    only some are (what the report gives is shown); refused when none is."""
    shown = [p for p in parts if p.status != "refused"]
    if not shown:
        return parts[0]
    status: AnswerStatus = (
        "answered"
        if len(shown) == len(parts) and all(p.status == "answered" for p in parts)
        else "partial"
    )
    quotes = tuple(dict.fromkeys(q for p in shown for q in p.quotes))
    reason = "evidence_found" if status == "answered" else "detail_missing"
    direct = "；".join(dict.fromkeys(p.direct.rstrip("。") for p in shown if p.direct))
    return Outcome(status, direct, quotes, reason, extra_quotes=all(p.extra_quotes for p in shown))


def rescored(
    wide: Sequence[Candidate], sub: Analysis, ctx: AnswerContext, rules: Rules
) -> list[Candidate]:
    """The sentences ranked for one question of a question: half the keyword bonus counts
    the words of that question, half those of the whole; the model's cosine stays the whole
    question's ("新增多少学位？有没有新学校开学？": the second is about 学校, not 学位)."""
    own = tuple((w,) for w in sub.focus)
    if not own:
        return list(wide)
    weight = rules.keyword_weight * visible_share(own, ctx.idf)
    out = []
    for c in wide:
        cov = coverage(c.text, own, ctx.idf)
        out.append(replace(c, score=(c.score + c.cos + weight * cov) / 2))
    out.sort(key=lambda c: (-c.score, c.rank, c.start))
    return out


def refusal(a: Analysis, reason: str, best: float = 0.0) -> Composition:
    return Composition(a, "refused", reason, "", (), best, a.notes)


def compose(
    a: Analysis,
    hits: Sequence[Hit],
    ctx: AnswerContext,
    *,
    query_vector: np.ndarray | None,
    rules: Rules = RULES,
) -> Composition:
    """The cited answer to the analysed question ``a`` from the retrieved ``hits``."""
    if a.guard:
        return refusal(a, a.guard)
    wide = candidates(
        hits[: rules.pool_hits_wide],
        ctx.index,
        query_vector,
        a.topic_groups,
        ctx.idf,
        keyword_weight=rules.keyword_weight,
    )
    if not wide:
        return refusal(a, "no_passages")
    best = max(c.cos for c in wide) if a.english else wide[0].score
    if best < (rules.refuse_below_en if a.english else rules.refuse_below):
        return refusal(a, "not_in_report", best)
    ev = Evidence(a, wide, wide, ctx, query_vector, rules)
    if a.asks:  # several questions in one: each answered on its own, then together
        parts: list[Outcome] = []
        asked: list[Analysis] = []
        for q in a.asks:  # a later one does not give again a figure an earlier one gave
            sub = ctx.analyzer.for_ask(a, q)
            # (a yes/no answer gave no figure, though it quotes one: "是…模范城吗，连续几届
            # 了" is answered by the 五届 of the first part's sentence, in the unit asked)
            taken = tuple(
                p.direct
                for p, s in zip(parts, asked, strict=True)
                if p.status == "answered" and (s.wants_figure or sub.unit is None)
            )
            cands = rescored(wide, sub, ctx, rules)
            parts.append(_answer(replace(ev, analysis=sub, cands=cands, taken=taken)))
            asked.append(sub)
        outcome = _together(parts)
    else:
        outcome = _answer(ev)
    if outcome.status == "refused":
        return refusal(a, outcome.reason, best)
    quotes = list(outcome.quotes)
    if outcome.extra_quotes and outcome.status == "answered":
        for c in ev.close():
            if len(quotes) >= rules.max_quotes:
                break
            if len(c.text) < MIN_SUPPORT_CHARS:
                continue
            if not any(c.doc_id == d and c.start < e and s < c.end for d, s, e, _ in quotes):
                quotes.append(ev.quote(c))
    citations = _citations(ctx.index, quotes)
    direct = outcome.direct
    if not quoted_supported(direct, citations):
        ev.notes.append("direct answer dropped: its figures are not all in the quotes")
        direct = ""
    return Composition(
        a, outcome.status, outcome.reason, direct, citations, best, a.notes + tuple(ev.notes)
    )


def _citations(index: Index, quotes: Sequence[Quote]) -> tuple[Citation, ...]:
    out = []
    several = len(index.documents) > 1
    for n, (d, s, e, sec) in enumerate(quotes, start=1):
        doc = index.documents[d]
        text = doc.text[s:e]
        if not sec:
            para = next((p for p in doc.paragraphs if p.start <= s < p.end), None)
            sec = para.section if para else ()
        label = document_label(doc) if several else ""
        out.append(Citation(n, d, sec, s, e, text, sentence_kind(text, sec), label))
    return tuple(out)


def merge(parts: Sequence[tuple[str, Composition]]) -> Composition:
    """One answer for the sides of a comparison: a cited line per side ("2023年：…；2024年：
    …"), answered when every side is, partial when some are, refused when none is."""
    shown = [(label, c) for label, c in parts if c.status != "refused"]
    first = parts[0][1]
    if not shown:
        return first
    lines: list[str] = []
    citations: list[Citation] = []
    for label, comp in shown:
        offset = len(citations)
        for c in comp.citations:
            citations.append(replace(c, n=offset + c.n))
        lines.append(f"{label}：{comp.direct_answer or '（见所引原文）'}")
    if len(shown) < len(parts):
        lines += [f"{label}：报告中没有找到" for label, c in parts if c.status == "refused"]
    answered = len(shown) == len(parts) and all(c.status == "answered" for _, c in shown)
    return Composition(
        first.analysis,
        "answered" if answered else "partial",
        "evidence_found" if answered else "detail_missing",
        "；".join(lines),
        tuple(citations),
        max(c.best_score for _, c in parts),
        tuple(n for _, c in parts for n in c.notes),
    )


_DIGITS = re.compile(r"\d+(?:\.\d+)?")


def quoted_supported(direct: str, citations: Sequence[Citation]) -> bool:
    """Every digit group of the direct answer's Chinese (quoted) part occurs in a quote; the
    English words around a figure ("262,000 people") are derived from the quoted clause."""
    joined = "\n".join(c.quote for c in citations)
    quoted = re.findall(r"“([^”]*)”", direct)
    if not quoted:
        quoted = [re.sub(r"^(?:共\d+项：|\d+ in all: )", "", direct)]
    return all(d in joined for part in quoted for d in _DIGITS.findall(part))
