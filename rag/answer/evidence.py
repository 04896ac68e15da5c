"""Evidence: the sentences of the retrieved passages, scored against the question, and what
each of them says about time (its scope) and status (done or planned).

A sentence's score is the model's cosine between the question and the sentence (stored in the
index) plus a bonus for the question's topic words it contains, weighted by how specific they
are to the report (BM25's IDF over the chunks). A word the report never uses weighs nothing:
it neither helps nor hurts, so a resident's own words (钱袋子, 看病贵) cost nothing.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

import numpy as np

from ..types import CitationKind, Hit
from .cues import cue
from .figures import figures

if TYPE_CHECKING:
    from ..index import Index

ScopeKind = Literal["annual", "multi_year", "year"]


@dataclass(frozen=True)
class Candidate:
    """A sentence of a retrieved chunk, scored against the question."""

    doc_id: str
    section: tuple[str, ...]
    start: int
    end: int
    text: str
    score: float  # cos + keyword bonus
    cos: float  # the model's cosine to the question alone
    coverage: float  # IDF-weighted share of the topic words the sentence holds
    rank: int  # rank of its chunk among the hits
    row: int = -1  # its row in index.sentences


Topic = Sequence[str] | Sequence[tuple[str, ...]]


def _groups(topic: Topic) -> list[tuple[str, ...]]:
    return [(w,) if isinstance(w, str) else w for w in topic]


def coverage(text: str, topic: Topic, idf: Callable[[str], float]) -> float:
    """The IDF-weighted share of ``topic`` words that occur in ``text`` (words the report does
    not use are left out of both sides; 0 when none of the words is the report's). A topic
    word may be a group of alternatives (an English word's renderings: "forest" → 林业, 森林):
    it counts once when any member occurs, weighted as its most common member (a rare wrong
    sense, 工艺 for "industrial", does not make the word specific)."""
    weights = [(g, min((x for x in map(idf, g) if x > 0), default=0.0)) for g in _groups(topic)]
    total = sum(x for _, x in weights)
    if total <= 0:
        return 0.0
    return sum(x for g, x in weights if any(w in text for w in g)) / total


def visible_share(topic: Topic, idf: Callable[[str], float]) -> float:
    """The share of ``topic`` words the report uses at all: how much of the question the
    keyword evidence can see (a resident's 坐公交出门 leaves only 比例 to go by)."""
    groups = _groups(topic)
    return sum(any(idf(w) > 0 for w in g) for g in groups) / len(groups) if groups else 0.0


def candidates(
    hits: Sequence[Hit],
    index: Index,
    query_vector: np.ndarray | None,
    topic: Topic,
    idf: Callable[[str], float],
    *,
    keyword_weight: float,
) -> list[Candidate]:
    """Every sentence of the hits, best first."""
    pos = {c.chunk_id: i for i, c in enumerate(index.chunks)}
    sents = index.sentences
    weight = keyword_weight * visible_share(topic, idf)
    out = []
    for rank, hit in enumerate(hits, start=1):
        ci = pos.get(hit.chunk.chunk_id)
        if ci is None:
            continue
        doc = index.documents[hit.chunk.doc_id]
        for j in np.flatnonzero(sents.chunk == ci):
            s, e = int(sents.start[j]), int(sents.end[j])
            text = doc.text[s:e]
            cos = float(sents.vectors[j] @ query_vector) if query_vector is not None else 0.0
            cov = coverage(text, topic, idf)
            out.append(
                Candidate(
                    doc.doc_id,
                    hit.chunk.section,
                    s,
                    e,
                    text,
                    cos + weight * cov,
                    cos,
                    cov,
                    rank,
                    int(j),
                )
            )
    out.sort(key=lambda c: (-c.score, c.rank, c.start))
    return out


# --------------------------------------------------------------------------- time scope

_ANNUAL = cue("figure_annual")
_MULTI = cue("figure_multi_year")
_EACH_YEAR = cue("figure_each_year")
_ANNUAL_TOTAL = re.compile(r"累计|总计|合计|共计")
_YEAR = re.compile(r"((?:19|20)\d{2})\s*年")
_BASE = re.compile(
    r"(?:较|比|相比)\s*((?:19|20)\d{2})\s*年|(?:和|跟|与|同)\s*((?:19|20)\d{2})\s*年(?:相)?比"
    r"|是\s*((?:19|20)\d{2})\s*年的"
)


@dataclass(frozen=True)
class Scope:
    """The time a figure refers to: one year (annual, or a given year), or several."""

    kind: ScopeKind
    year: int | None = None
    base_year: int | None = None  # "较2015年…", "是2015年的1.5倍": compared with this year


def base_year(text: str) -> int | None:
    m = _BASE.search(text)
    return int(next(g for g in m.groups() if g)) if m else None


_THIS_YEAR = cue("figure_this_year")


def scope_of(levels: Sequence[str]) -> Scope | None:
    """The scope stated by the first of ``levels`` (clause, sentence, paragraph opening,
    section labels, deepest first) that states one."""
    base = next((b for t in levels if (b := base_year(t)) is not None), None)
    for text in levels:
        no_base = _BASE.sub("", text)
        if _THIS_YEAR.search(no_base):  # 今年是实施“十四五”规划…之年: this year, not five
            return Scope("year", None, base)  # (the year of the document: see its caller)
        if _EACH_YEAR.search(no_base) and not _ANNUAL_TOTAL.search(no_base):
            return Scope("annual", base_year=base)  # 连续五年稳定在…: each year's level
        if _MULTI.search(no_base):
            return Scope("multi_year", base_year=base)
        if _ANNUAL.search(no_base):
            return Scope("annual", base_year=base)
        m = _YEAR.search(no_base)
        if m:
            return Scope("year", int(m.group(1)), base)
    return Scope("annual", base_year=base) if base else None


# --------------------------------------------------------------------------- done or planned

_ACHIEVEMENT_MARKS = cue("achievement_marks")
_TARGET_MARKS = cue("target_marks")
_REVIEW_SECTION = cue("review_section")
_PLAN_SECTION = cue("plan_section")


def sentence_kind(sentence: str, section: Sequence[str]) -> CitationKind:
    """Tag a sentence as an achievement (done) or a target/plan, so no one takes a target for
    a result. Explicit markers win; otherwise the section decides."""
    in_review = any(_REVIEW_SECTION.search(s) for s in section[:2])
    in_plan = any(_PLAN_SECTION.search(s) for s in section)
    achievement = bool(_ACHIEVEMENT_MARKS.search(sentence))
    target = bool(_TARGET_MARKS.search(sentence))
    if target and not (achievement and in_review):
        return "target"
    if achievement and not in_plan:
        return "achievement"
    if in_review:
        return "achievement" if achievement or figures(sentence) else "other"
    if in_plan:
        return "target"
    return "other"
