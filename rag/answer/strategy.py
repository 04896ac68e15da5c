"""What every answer strategy works from (:class:`Evidence`) and gives back
(:class:`Outcome`), and the small readings of evidence they share."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from functools import cached_property
from typing import TYPE_CHECKING

import numpy as np

from ..chunking import clause_text, split_clauses
from ..keyword import STOPWORDS
from ..questions import longest_run
from ..types import AnswerStatus
from .analysis import Analysis
from .context import AnswerContext
from .evidence import Candidate, coverage, sentence_kind
from .figures import figures
from .rules import Rules
from .spans import Span, clause_of

if TYPE_CHECKING:
    from ..index import Index


Quote = tuple[str, int, int, tuple[str, ...]]  # doc_id, start, end, section
MIN_SUPPORT_CHARS = 16  # a shorter line (a bare topic line) supports nothing on its own


@dataclass(frozen=True)
class Outcome:
    status: AnswerStatus
    direct: str
    quotes: tuple[Quote, ...]
    reason: str = "evidence_found"
    unmet: str | None = None
    extra_quotes: bool = True  # add other close sentences as support


@dataclass
class Evidence:
    """What every strategy works from."""

    analysis: Analysis
    cands: list[Candidate]
    wide: list[Candidate]  # from more passages (lists, overviews)
    ctx: AnswerContext
    query_vector: np.ndarray | None
    rules: Rules
    notes: list[str] = field(default_factory=list)
    # the direct answers an earlier question of the same question gave ("发了多少消费券？拉动
    # 了多少消费？": the second is not answered with the first's figure)
    taken: tuple[str, ...] = ()

    @property
    def index(self) -> Index:
        return self.ctx.index

    @property
    def best(self) -> Candidate:
        return self.cands[0]

    def close(self, margin: float | None = None, limit: int = 8) -> list[Candidate]:
        """Candidates within ``margin`` of the best one (the best always)."""
        m = self.rules.evidence_margin if margin is None else margin
        out = [c for c in self.cands[:limit] if c.score >= self.best.score - m]
        return out or self.cands[:1]

    def visible(self, words: Sequence[str]) -> list[str]:
        return [w for w in words if self.ctx.idf(w) > 0]

    def naming(self, words: Sequence[str]) -> list[str]:
        """The words of ``words`` the report uses that name what is asked: not the bare head
        of a compound the report never uses (标准 of 低保标准 names 高标准农田's 标准, 经费
        of 教育经费 names “三公”经费: another thing of that kind)."""
        unseen = [u for u in self.analysis.topic if self.ctx.idf(u) <= 0 and len(u) >= 3]
        return [w for w in self.visible(words) if not any(u.endswith(w) and u != w for u in unseen)]

    @cached_property
    def naming_words(self) -> list[str]:
        """The words that name what is asked: those of the part that asks, else the rest
        (computed once: :meth:`names_topic` is asked of every span)."""
        return self.naming(self.analysis.focus) or self.naming(self.analysis.topic)

    def names_topic(self, text: str, *, strict: bool = False) -> bool:
        """Whether ``text`` holds one of the words (the report's own) naming what is asked;
        the situation told before a long question's ask does not count when the ask has some.
        ``strict``: at least half of them, weighted by how specific they are (IDF)."""
        focus = self.naming_words
        if strict and focus:
            return coverage(text, focus, self.ctx.idf) >= 0.5
        return any(w in text for w in focus)

    def anchor(self) -> str | None:
        """The question's anchor: the phrase of the part that asks that the report uses
        least, when it uses it rarely (``rules.anchor_max_uses``) and it holds a word that
        is not a common word of the language (``rules.anchor_max_frequency``): a name
        (澄川大剧院, 青禾香米), which a sentence answering the question names. A phrase is a
        run of the ask's words (no stop words, no figures) that the report has (澄川大 +
        剧院). Only an anchor named by a sentence among the evidence (within
        ``rules.evidence_margin`` of the best) limits it: see :meth:`anchored`."""
        limit = self.rules.anchor_max_uses
        a = self.analysis
        if limit <= 0 or a.english:
            return None
        words = self.ctx.analyzer.words(a.ask)
        rare = []
        for i in range(len(words)):
            for j in range(i + 1, len(words) + 1):
                run = words[i:j]
                if (
                    run[-1] in STOPWORDS
                    or run[0] in STOPWORDS
                    or any(ch.isdigit() for ch in run[-1])
                ):
                    break  # (a figure the question states is checked, not looked for)
                phrase = "".join(run)
                if len(phrase) < 2 or not self.ctx.in_report(phrase):
                    break
                uses = self.ctx.uses(phrase)
                freq = self.ctx.analyzer.frequency
                if uses <= limit and any(
                    freq(w) <= self.rules.anchor_max_frequency for w in run if len(w) >= 2
                ):
                    rare.append((uses, -len(phrase), phrase))
        return min(rare)[2] if rare else None

    def anchored(self) -> Evidence:
        """This evidence limited to the sentences naming the anchor, when some do (the
        sentence about the neighbouring subject is not the answer: 澄川大道's opening date
        does not say when 澄川大剧院 opens)."""
        word = self.anchor()
        if word is None:
            return self
        named = [c for c in self.cands if word in c.text]
        if not named or len(named) == len(self.cands):
            return self
        if named[0].score < self.best.score - self.rules.evidence_margin:
            return self  # the sentences naming it are not among the evidence
        self.notes.append(f"anchor: {word}")
        return replace(self, cands=named)

    @property
    def about_min(self) -> float:
        r = self.rules
        return r.about_min_en if self.analysis.english else r.about_min

    def quote(self, c: Candidate) -> Quote:
        return (c.doc_id, c.start, c.end, c.section)

    def best_clause(self, c: Candidate, need: Callable[[str], bool] = lambda t: True) -> str:
        """The clause of ``c`` closest to the question in the model's space (clause vectors
        are stored in the index), among those that ``need`` accepts."""
        best, best_cos = "", -2.0
        for s, e in split_clauses(c.text, c.start):
            text = clause_text(self.index.documents[c.doc_id].text[s:e])
            if len(text) < 4 or not need(text):
                continue
            cos = self.ctx.clause_cos(c.doc_id, s, self.query_vector)
            cos += self.rules.keyword_weight * coverage(
                text, self.analysis.topic_groups, self.ctx.idf
            )
            if cos > best_cos:
                best, best_cos = text, cos
        return best or clause_text(c.text)


# --------------------------------------------------------------------------- constraints


def restates(a: Analysis, text: str, share: float = 0.6, *, whole: bool = False) -> bool:
    """Whether ``text`` is mostly (``share``, one run) the words of the part that asks (of
    the whole question, with ``whole``)."""
    t = text.strip("“”。 ")
    return bool(t) and longest_run(t, a.text if whole else a.ask) >= share * len(t)


def clause_with(c: Candidate, span: Span) -> str:
    cs, ce = clause_of(c.text, span)
    return clause_text(c.text[cs:ce])


def figure_clauses(c: Candidate) -> list[str]:
    """The clauses of ``c`` that state a figure (not a date), as shown."""
    out = []
    for s, e in split_clauses(c.text):
        t = clause_text(c.text[s:e])
        if any(f.kind not in ("date", "period") for f in figures(t)):
            out.append(t)
    return out


def candidate_at(ev: Evidence, doc_id: str, s: int, e: int) -> Candidate | None:
    """A sentence of the document as a candidate (scored against the question)."""
    doc = ev.index.documents[doc_id]
    while s < e and doc.text[s].isspace():  # a span from a paragraph's start: its blank line
        s += 1
    j = ev.ctx.sentence_rows.get((doc_id, s))
    if j is None:
        return None
    cos = ev.ctx.sentence_cos(doc_id, s, ev.query_vector)
    end = int(ev.index.sentences.end[j])
    para = next((p for p in doc.paragraphs if p.start <= s < p.end), None)
    section = para.section if para else ()
    return Candidate(doc_id, section, s, end, doc.text[s:end], cos, cos, 0.0, 99, j)


def shown(ev: Evidence, c: Candidate) -> list[str]:
    """How a sentence is shown as a point: its clauses that state figures, else the whole
    sentence when short, else its clause closest to the question."""
    with_fig = figure_clauses(c)
    if with_fig:
        return with_fig
    text = c.text.strip().rstrip("。；;")
    return [text if len(text) <= 80 else ev.best_clause(c)]


def fits(kind: str, want: str) -> bool:
    """A sentence fits the time asked about unless it is of the other kind (a plan where
    results were asked, or a result where plans were)."""
    return kind == want or kind == "other"


def wanted_kind(ev: Evidence) -> str | None:
    """The kind of sentence the question asks about: results (已经…了吗, 去年…) or plans
    (打算, 今年/明年 in a yearly report, which gives last year's results and this year's
    plans); ``None`` when it does not say."""
    k = ev.analysis.constraints
    if k.status:
        return {"done": "achievement", "planned": "target"}.get(k.status)
    if k.relative_year is not None:
        return "achievement" if k.relative_year < 0 else "target"
    return None


def leading(ev: Evidence) -> Candidate:
    """The best sentence that says something (a bare topic line restating the question does
    not lead), of the time asked about (results or plans) when one of the close ones is."""
    want = wanted_kind(ev)
    says = [
        c
        for c in ev.close(limit=6)
        if len(c.text) >= MIN_SUPPORT_CHARS or not restates(ev.analysis, c.text)
    ]
    timely = [c for c in says if want and fits(sentence_kind(c.text, c.section), want)]
    return (timely or says or [ev.best])[0]


def unrelated(ev: Evidence, c: Candidate) -> bool:
    """The best sentence neither names what is asked in the report's words nor is close to
    the question in the model's space: the report does not speak of it."""
    r = ev.rules
    weak = r.weak_min_en if ev.analysis.english else r.weak_min
    return not ev.names_topic(c.text) and c.cos < weak
