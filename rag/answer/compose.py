"""Composition: from the analysed question and the retrieved passages to a cited answer.

question analysis (:mod:`.analysis`) → evidence (:mod:`.evidence`) → answerability → answer
extraction by strategy (below) → leads (:mod:`.leads`).

A strategy is a small function that gets the :class:`Evidence` and returns an
:class:`Outcome` or ``None``; :data:`STRATEGIES` says which strategies each answer type tries,
in order. Three outcomes, each said plainly: *answered*; *partial* — the report speaks of the
subject but does not give what was asked (a rough standing where a rank was asked, a count
where names were, a five-year total where one year's figure was, a target where the current
figure was), cited; and *refused* — the report does not speak of it, or the question is not
a question about the report.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING

import numpy as np

from ..chunking import clause_text, split_clauses, split_sentences
from ..questions import longest_run
from ..types import AnswerStatus, Citation, Hit
from .analysis import Analysis, AnswerType, event_patterns
from .context import AnswerContext
from .cues import cue
from .documents import document_label
from .evidence import Candidate, Scope, base_year, candidates, coverage, scope_of, sentence_kind
from .figures import figures
from .leads import figure_lead_en, items_lead, partial_lead, yes_no_lead
from .outline import Point
from .rules import RULES, Rules
from .spans import FINDERS, Span, clause_of, is_list, item_spans, names_ending, related

if TYPE_CHECKING:
    from ..index import Index

Quote = tuple[str, int, int, tuple[str, ...]]  # doc_id, start, end, section
_MIN_SUPPORT_CHARS = 16  # a shorter line (a bare topic line) supports nothing on its own


@dataclass(frozen=True)
class Outcome:
    status: AnswerStatus
    direct: str
    quotes: tuple[Quote, ...]
    reason: str = "evidence_found"
    unmet: str | None = None
    extra_quotes: bool = True  # add other close sentences as support


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

    def names_topic(self, text: str, *, strict: bool = False) -> bool:
        """Whether ``text`` holds one of the words (the report's own) naming what is asked;
        the situation told before a long question's ask does not count when the ask has some.
        ``strict``: at least half of them, weighted by how specific they are (IDF)."""
        focus = self.visible(self.analysis.focus) or self.visible(self.analysis.topic)
        if strict and focus:
            return coverage(text, focus, self.ctx.idf) >= 0.5
        return any(w in text for w in focus)

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
            cos += self.rules.keyword_weight * coverage(text, self.analysis.topic, self.ctx.idf)
            if cos > best_cos:
                best, best_cos = text, cos
        return best or clause_text(c.text)


# --------------------------------------------------------------------------- constraints


def _report_year(ev: Evidence, doc_id: str) -> int | None:
    doc = ev.index.documents[doc_id]
    year = doc.metadata.get("year", "")
    if year.isdigit():
        return int(year)
    m = re.search(r"((?:19|20)\d{2})\s*年", doc.title)
    return int(m.group(1)) if m else None


def unmet_constraint(ev: Evidence, c: Candidate, clause: tuple[int, int]) -> str | None:
    """The first constraint of the question that the sentence ``c`` (its figure in
    ``clause``) does not meet, or ``None``."""
    a = ev.analysis
    k = a.constraints
    doc = ev.index.documents[c.doc_id]
    para = next((p for p in doc.paragraphs if p.start <= c.start < p.end), None)
    opening = doc.text[para.start : para.end] if para else ""
    opening = doc.text[para.start : split_sentences(opening, para.start)[0][1]] if para else ""
    levels = [c.text[clause[0] : clause[1]], c.text, opening, *reversed(c.section)]
    scope = scope_of(levels)
    kind = sentence_kind(c.text, c.section)
    year = _report_year(ev, c.doc_id)
    if scope is None and year:
        # a yearly report that says no other time: its results are the year before's, the
        # rest (its plans) its own year's ("2024年政府工作报告": 2023's results, 2024's targets)
        scope = Scope("year", year - 1 if kind == "achievement" else year)
    if k.places and not any(p[:-1] in c.text or p in c.text for p in k.places):
        return "place"
    if k.year and f"{k.year}年" not in c.text and not (scope and scope.year == k.year):
        return "year"
    asked_base = base_year(a.text)
    if asked_base and base_year(c.text) != asked_base:
        return "base_year"
    if k.relative_year is not None:
        wanted = year + k.relative_year if year else None
        if not (scope and scope.kind == "year" and wanted and scope.year == wanted):
            return "relative_year"
    one_year = scope is not None and scope.kind in ("annual", "year")
    if k.scope == "annual" and not one_year:
        return "annual"
    if k.scope == "current" and kind == "target":
        return "current"
    if k.status == "planned" and kind == "achievement" and a.wants_figure:
        return "planned"  # a result is not the target asked for
    if k.status == "done" and kind == "target" and a.wants_figure and not a.yes_no:
        return "done"  # a target is not the result asked for
    if k.scope == "total" and _ANNUAL_PART.search(levels[0]):
        return "total"  # 全年完成投资35亿元 is one year's part of a total
    if a.answer_type == "date":
        asked, given = _events(a.ask), _events(levels[0])
        if asked and given and not asked & given:
            return "event"  # when it opens is not when it started
    return None


_ANNUAL_PART = cue("figure_one_year_part")


def _events(text: str) -> set[str]:
    return {kind for kind, pattern in event_patterns() if pattern.search(text)}


# --------------------------------------------------------------------------- strategies


def _restates(a: Analysis, text: str, share: float = 0.6, *, whole: bool = False) -> bool:
    """Whether ``text`` is mostly (``share``, one run) the words of the part that asks (of
    the whole question, with ``whole``)."""
    t = text.strip("“”。 ")
    return bool(t) and longest_run(t, a.text if whole else a.ask) >= share * len(t)


def typed_span(ev: Evidence) -> Outcome | None:
    """A span of the asked type in a sentence about the topic that meets the constraints;
    else a partial answer naming what the report gives instead. Among several spans, the one
    whose clause is closest to the question in the model's space wins."""
    a = ev.analysis
    finder = FINDERS[a.answer_type]
    found: list[tuple[float, Candidate, str]] = []
    proper_found: list[tuple[float, Candidate, str]] = []
    unmet_at: tuple[Candidate, str, str] | None = None
    # where: the place must sit in the clause naming the topic ("…美食园区…,建设…博物馆" does
    # not say where the museum goes); which one: in the sentence ("以峨眉山基地为重点,
    # 大力发展…食品饮料产业")
    head = category_head(ev) if a.answer_type == "named" else None
    # a place has a proper name: "哪个县" is not answered by 经济强县
    proper_only = head is not None and all(ch in "区县市镇乡村州省" for ch in head)
    subject = subject_head(ev)
    # the sentences close to the best; when one of them fails only a constraint (another
    # year, a target where a result was asked), the others of the wider pool are read too
    first, wider = ev.close(), ev.close(margin=ev.rules.evidence_margin * 2, limit=12)
    for c in first + [c for c in wider if c not in first]:
        if found or (c not in first and not unmet_at):
            break
        for sp in finder(c.text, a):
            if sp.kind in ("name", "items", "place", "term") and _restates(
                a, sp.text, 0.7, whole=True
            ):
                continue  # the question's own words are not its answer
            bare = sp.text.strip("“”《》")
            if sp.figure is not None and sp.text in a.text:
                continue  # the figure the question itself states is not its answer
            if head and not (bare.endswith(head) or c.text.startswith(head, sp.end)):
                continue  # "哪个县" is not answered by a 镇 (“心连心”服务中心 names one)
            if proper_only and sp.kind == "term":
                continue
            cs, ce = clause_of(c.text, sp)
            clause = clause_text(c.text[cs:ce])
            cos = ev.ctx.clause_cos(c.doc_id, c.start + cs, ev.query_vector)
            # the clause is about what is asked: it names it in the report's words, or the
            # model puts it close to the question (a resident's own words)
            scope = c.text if a.answer_type == "named" else clause
            # (a name of the asked kind, …纲要 for 哪个规划纲要, needs the sentence to name
            # the topic at all)
            # (a place names most of the topic; English topic words come from a dictionary)
            strict = a.answer_type == "place" and not a.english
            if not ev.names_topic(scope, strict=strict) and cos < ev.about_min:
                continue
            if a.answer_type == "place" and subject and subject not in clause:
                continue  # where the museum goes is said next to the museum
            unmet = unmet_constraint(ev, c, (cs, ce))
            if unmet:
                unmet_at = unmet_at or (c, clause, unmet)
                continue
            found.append((cos + c.score, c, clause))
            if sp.kind == "name":
                proper_found.append(found[-1])
    if a.answer_type == "named" and proper_found:
        found = proper_found  # a proper name (夹江基地) over a description (…供应基地)
    if found:
        _, c, clause = max(found, key=lambda x: x[0])
        clauses = [clause] + _companions(ev, c, clause, [x for x in found if x[1] is c])
        return Outcome("answered", _figure_lead(ev, c, "；".join(clauses)), (ev.quote(c),))
    if unmet_at:
        c, clause, unmet = unmet_at
        return Outcome(
            "partial", partial_lead(a, clause, unmet), (ev.quote(c),), "detail_missing", unmet
        )
    c = ev.best
    instead = related(c.text, a.answer_type)
    clause = _clause_with(c, instead[0]) if instead else ev.best_clause(c)
    return Outcome("partial", partial_lead(a, clause, None), (ev.quote(c),), "detail_missing")


def subject_head(ev: Evidence) -> str | None:
    """What the part that asks is about, as the report names it: its last topic word (the
    head of a Chinese noun phrase comes last: 特色美食主题博物馆 → 博物馆), the longest of
    those starting there."""
    a = ev.analysis
    if a.english:
        return None
    placed = [(a.ask.find(w), len(w), w) for w in ev.visible(a.focus) if w in a.ask]
    return max(placed)[2] if placed else None


def _companions(
    ev: Evidence, c: Candidate, chosen: str, same: list[tuple[float, Candidate, str]]
) -> list[str]:
    """Other answer clauses of the same sentence that name a topic word the chosen one does
    not ("地方性法规5部" and "政府规章2部" for "出台了多少地方性法规和政府规章"), in order."""
    focus = ev.visible(ev.analysis.focus)
    covered = {w for w in focus if w in chosen}
    out = []
    for _, _, clause in sorted(same, key=lambda x: c.text.find(x[2])):
        new = {w for w in focus if w in clause} - covered
        if clause != chosen and clause not in out and new:
            out.append(clause)
            covered |= new
    return out


def _clause_with(c: Candidate, span: Span) -> str:
    cs, ce = clause_of(c.text, span)
    return clause_text(c.text[cs:ce])


def _figure_lead(ev: Evidence, c: Candidate, clause: str) -> str:
    if ev.analysis.english:
        return figure_lead_en(clause, sentence_kind(c.text, c.section))
    if ev.analysis.yes_no:  # said as the clause shown says it (将于…建成: not yet)
        return yes_no_lead(ev.analysis, clause, sentence_kind(clause, c.section))
    return clause


def status_answer(ev: Evidence) -> Outcome | None:
    """A yes/no or done-or-planned question: the best sentence, said as done or planned (and
    "不是" when the question states a figure the report does not)."""
    c = _leading(ev)
    if _unrelated(ev, c):
        return Outcome("refused", "", (), "not_in_report")
    clause = ev.best_clause(c)
    lead = yes_no_lead(ev.analysis, clause, sentence_kind(clause, c.section))
    return Outcome("answered", lead, (ev.quote(c),))


def _leading(ev: Evidence) -> Candidate:
    """The best sentence that says something (a bare topic line restating the question does
    not lead), of the time asked about (results or plans) when one of the close ones is."""
    want = _wanted_kind(ev)
    says = [
        c
        for c in ev.close(limit=6)
        if len(c.text) >= _MIN_SUPPORT_CHARS or not _restates(ev.analysis, c.text)
    ]
    timely = [c for c in says if want and _fits(sentence_kind(c.text, c.section), want)]
    return (timely or says or [ev.best])[0]


def _fits(kind: str, want: str) -> bool:
    """A sentence fits the time asked about unless it is of the other kind (a plan where
    results were asked, or a result where plans were)."""
    return kind == want or kind == "other"


def _wanted_kind(ev: Evidence) -> str | None:
    return {"done": "achievement", "planned": "target"}.get(ev.analysis.constraints.status or "")


def _unrelated(ev: Evidence, c: Candidate) -> bool:
    """The best sentence neither names what is asked in the report's words nor is close to
    the question in the model's space: the report does not speak of it."""
    r = ev.rules
    weak = r.weak_min_en if ev.analysis.english else r.weak_min
    return not ev.names_topic(c.text) and c.cos < weak


def description(ev: Evidence) -> Outcome | None:
    """An open question: the best sentence, shown whole when short, else its best clause."""
    c = _leading(ev)
    if _unrelated(ev, c):
        return Outcome("refused", "", (), "not_in_report")
    text = c.text.strip().rstrip("。；;")
    direct = text if len(text) <= 60 else ev.best_clause(c)
    if ev.analysis.english:
        direct = f"The report says ({sentence_kind(c.text, c.section)}): “{direct}”"
    return Outcome("answered", direct, (ev.quote(c),))


def _key_clauses(
    ev: Evidence, doc_id: str, start: int, end: int, limit: int
) -> list[tuple[str, Quote]]:
    """Up to ``limit`` clauses of the text ``[start, end)`` that carry its content: those
    stating a figure first (closest to the question first, shown in document order), else
    the clause closest to the question; each with the sentence to cite."""
    doc = ev.index.documents[doc_id]
    scored: list[tuple[float, int, str, Quote]] = []
    for s, e in split_sentences(doc.text[start:end], start):
        c = _candidate_at(ev, doc_id, s, e)
        if c is None:
            continue
        for cs, ce in split_clauses(c.text, c.start):
            t = clause_text(doc.text[cs:ce])
            if len(t) < 4:
                continue
            # what a point says: its figures first, then its enumerations, then the rest
            bonus = 1.0 if any(f.kind not in ("date", "period") for f in figures(t)) else 0.0
            bonus = bonus or (0.5 if is_list(t) else 0.0)
            cos = ev.ctx.clause_cos(doc_id, cs, ev.query_vector)
            scored.append((cos + bonus, cs, t, ev.quote(c)))
    top = sorted(scored, key=lambda x: -x[0])[:limit]
    return [(t, q) for _, _, t, q in sorted(top, key=lambda x: x[1])]


def _point_items(ev: Evidence, node: Point, doc_id: str) -> list[tuple[str, list[Quote]]]:
    """The points under ``node``, each as "label（key clauses）" with the sentences to cite;
    a leaf's points are the clauses of its sentences that state figures (or its sentences)."""
    doc = ev.index.documents[doc_id]
    out: list[tuple[str, list[Quote]]] = []
    if not node.children:
        for s, e in split_sentences(doc.text[node.end : node.body_end], node.end):
            c = _candidate_at(ev, doc_id, s, e)
            if c is None or len(c.text.strip()) < 6:
                continue
            out += [(t, [ev.quote(c)]) for t in _shown(ev, c)]
        return out[: ev.rules.max_items]
    first = node.children[0]
    intro = _key_clauses(ev, doc_id, node.end, first.start, 1) if first.start > node.end else []
    for t, q in intro:
        if any(f.kind not in ("date", "period") for f in figures(t)):
            out.append((t, [q]))
    for p in node.children[: ev.rules.max_items]:
        keys = _key_clauses(ev, doc_id, p.end, p.body_end, 2)
        label = p.label.strip()
        shown = [t for t, _ in keys if t != label]
        text = f"{label}（{'；'.join(shown)}）" if shown else label
        out.append((text, [q for _, q in keys] or [(doc_id, p.start, p.end, ())]))
    return out


def _figure_clauses(c: Candidate) -> list[str]:
    """The clauses of ``c`` that state a figure (not a date), as shown."""
    out = []
    for s, e in split_clauses(c.text):
        t = clause_text(c.text[s:e])
        if any(f.kind not in ("date", "period") for f in figures(t)):
            out.append(t)
    return out


def _candidate_at(ev: Evidence, doc_id: str, s: int, e: int) -> Candidate | None:
    """A sentence of the document as a candidate (scored against the question)."""
    doc = ev.index.documents[doc_id]
    j = ev.ctx.sentence_rows.get((doc_id, s))
    if j is None:
        return None
    cos = ev.ctx.sentence_cos(doc_id, s, ev.query_vector)
    end = int(ev.index.sentences.end[j])
    para = next((p for p in doc.paragraphs if p.start <= s < p.end), None)
    section = para.section if para else ()
    return Candidate(doc_id, section, s, end, doc.text[s:end], cos, cos, 0.0, 99, j)


def _node_kind(ev: Evidence, node: Point, doc_id: str) -> str:
    """Whether a point reports results or plans (the kind of most of its first sentences)."""
    doc = ev.index.documents[doc_id]
    para = next((p for p in doc.paragraphs if p.start <= node.body_start < p.end), None)
    section = para.section if para else ()
    spans = split_sentences(doc.text[node.body_start : node.body_end], node.body_start)[:4]
    kinds: list[str] = [sentence_kind(doc.text[s:e], section) for s, e in spans]
    return max(("achievement", "target"), key=kinds.count)


def _node_for(ev: Evidence) -> tuple[Point, str] | None:
    """The outline point an overview question names: among the points holding the best
    sentences, one whose label covers most of the topic (IDF-weighted; at least
    ``rules.node_label_min``), of the time asked about (results or plans); a point with points
    under it is preferred to one of them that names the topic only a little better."""
    a = ev.analysis
    want = {"done": "achievement", "planned": "target"}.get(a.constraints.status or "")
    best: tuple[float, int, Point, str] | None = None
    seen: set[int] = set()
    for c in ev.wide[:6]:
        root = ev.ctx.outlines.get(c.doc_id)
        if root is None:
            continue
        for node in root.path_to(c.start)[1:]:
            if id(node) in seen:
                continue
            seen.add(id(node))
            if a.english:
                cov = ev.ctx.sentence_cos(c.doc_id, node.start, ev.query_vector) - 0.3
            else:
                cov = coverage(node.label, a.topic, ev.ctx.idf)
            if cov < ev.rules.node_label_min:
                continue
            if want and not _fits(_node_kind(ev, node, c.doc_id), want):
                continue
            body = ev.index.documents[c.doc_id].text[node.end : node.body_end]
            if len(node.children) < 2 and len(split_sentences(body)) < 2:
                continue
            score = cov + (ev.rules.node_parent_bonus if node.children else 0.0)
            if best is None or score > best[0] or score == best[0] and node.depth > best[1]:
                best = (score, node.depth, node, c.doc_id)
    return (best[2], best[3]) if best else None


def overview(ev: Evidence, *, gather: bool = True) -> Outcome | None:
    """A question about a theme or section: the section's own points, in order, each with
    its key clauses, cited; when no section is named, the best sentences on the topic (of
    the time asked about), in document order (unless ``gather`` is off)."""
    found = _node_for(ev)
    if found is not None:
        node, doc_id = found
        items = _point_items(ev, node, doc_id)
        if len(items) < 2:
            return None
    elif gather:
        items = _gathered(ev)
        if not items:
            return None
    else:
        return None
    extra = found is None  # a section's points are complete; gathered sentences may not be
    texts = list(dict.fromkeys(t for t, _ in items))  # the report repeats itself at times
    quotes = tuple(dict.fromkeys(q for _, qs in items for q in qs))[: ev.rules.max_items]
    return Outcome("answered", items_lead(ev.analysis, texts), quotes, extra_quotes=extra)


def _gathered(ev: Evidence) -> list[tuple[str, list[Quote]]]:
    """The sentences within ``rules.gather_margin`` of the best, of the time asked about,
    each shown by its clauses that state figures (or its best clause), in document order."""
    want = {"done": "achievement", "planned": "target"}.get(ev.analysis.constraints.status or "")
    picked = [
        c
        for c in ev.close(margin=ev.rules.gather_margin, limit=12)
        if len(c.text) >= _MIN_SUPPORT_CHARS
        and (not want or _fits(sentence_kind(c.text, c.section), want))
    ][: ev.rules.max_items]
    picked.sort(key=lambda c: (c.doc_id, c.start))
    out: list[tuple[str, list[Quote]]] = []
    for c in picked:
        out.append(("；".join(_shown(ev, c)[:3]), [ev.quote(c)]))
    return out


def _shown(ev: Evidence, c: Candidate) -> list[str]:
    """How a sentence is shown as a point: its clauses that state figures, else the whole
    sentence when short, else its clause closest to the question."""
    with_fig = _figure_clauses(c)
    if with_fig:
        return with_fig
    text = c.text.strip().rstrip("。；;")
    return [text if len(text) <= 80 else ev.best_clause(c)]


_CATEGORY = re.compile(
    r"(?:哪些|哪几个|哪几|哪几项|哪几类|哪个|哪家|哪座|哪条|哪一个|什么样的|都有什么|都有哪些)"
    r"\s*([^?？,，。]{1,14})"
)


def category_head(ev: Evidence) -> str | None:
    """The kind of thing a list or which-one question asks for: the last noun of the noun
    phrase right after 哪些 / 哪几个 / 哪个 ("哪几个产业基地" → 基地, "哪个服务中心获得了…" →
    服务中心, "哪些全国性的城市称号" → 城市 when the report never says 称号), if the report
    uses it; jieba's part-of-speech tags end the phrase at its first verb or preposition."""
    import jieba.posseg

    m = _CATEGORY.search(ev.analysis.ask)
    if not m:
        return None
    nouns: list[str] = []
    for p in jieba.posseg.lcut(m.group(1)):
        if p.word == "的":
            continue
        if p.flag in ("v", "p", "c", "d", "r", "x", "y", "u", "ul", "uj", "ud"):
            break  # the phrase ends at its first verb or preposition
        nouns.append(p.word)
    for w in reversed(nouns):
        if len(w) == 1 and w in "县区市镇乡村":
            return w  # a kind of place, whatever the keyword channel makes of one character
        if len(w) < 2:
            continue
        for head in (w, w[-2:]):
            if ev.ctx.in_report(head):
                return head
    return None


def complete_list(ev: Evidence) -> Outcome | None:
    """Every item of the report that fits the question, from sentences of the time asked
    about: the proper names of the asked kind across sentences (五通桥基地, 夹江基地, …), else
    the enumerations of a sentence about the topic, else any names of that kind."""
    head = category_head(ev)
    named = _names_of_kind(ev, head) if head else {}
    proper = {n: q for n, q in named.items() if _has_proper(n)}
    if len(proper) >= 2:
        return _listed(ev, proper)
    enumerated = _enumerations(ev, head)
    if enumerated:
        return enumerated
    return _listed(ev, named) if len(named) >= 2 else None


def _listed(ev: Evidence, found: dict[str, Quote]) -> Outcome:
    names = list(found)[: ev.rules.max_items]
    quotes = tuple(dict.fromkeys(found[n] for n in names))
    return Outcome("answered", items_lead(ev.analysis, names), quotes)


def _names_of_kind(ev: Evidence, head: str) -> dict[str, Quote]:
    """Names ending in ``head`` in the sentences close to the best, of the time asked about."""
    found: dict[str, Quote] = {}
    want = _wanted_kind(ev)
    for c in ev.close(margin=ev.rules.evidence_margin * 2, limit=12):
        if want and not _fits(sentence_kind(c.text, c.section), want):
            continue  # the titles it aims for are not the titles it won
        for name in names_ending(c.text, head):
            if not _restates(ev.analysis, name) and name not in found:
                found[name] = ev.quote(c)
    return found


def _enumerations(ev: Evidence, head: str | None) -> Outcome | None:
    """The enumerations (X、Y、Z) of the best sentence about the topic that has some, when
    one of them is of the asked kind ("哪几个区县": 市中区、沙湾区、犍为县) — unless the sentence
    names that kind elsewhere (districts are not the 基地 of "以五通桥基地为核心,联动…区")."""
    want = _wanted_kind(ev)
    for c in ev.close(limit=4):
        if want and not _fits(sentence_kind(c.text, c.section), want):
            continue
        if unmet_constraint(ev, c, (0, len(c.text))):
            continue  # this year's ten projects are not last year's
        parts: list[str] = []
        for sp in item_spans(c.text, ev.analysis):
            if sp.kind != "items":
                continue
            cs, ce = clause_of(c.text, sp)
            clause = clause_text(c.text[cs:ce])
            if clause not in parts:
                parts.append(clause)
        if (
            parts
            and ev.names_topic(c.text)
            and (
                not head
                or head not in c.text
                or any(head in p for p in parts)
                or any(_of_kind(item, head) for p in parts for item in re.split("、|和", p))
            )
        ):
            return Outcome("answered", "；".join(parts), (ev.quote(c),))
    return None


def _of_kind(item: str, head: str) -> bool:
    """Whether an enumerated item is of the asked kind: it ends in the head word, or in one
    of its characters when the head is made of place suffixes (区县: 市中区, 犍为县)."""
    item = item.strip()
    if item.endswith(head):
        return True
    return all(ch in "区县市镇乡村州省" for ch in head) and bool(item) and item[-1] in head


def _has_proper(name: str) -> bool:
    import jieba.posseg

    return any(p.flag in ("ns", "nr", "nz", "nt", "nrt") for p in jieba.posseg.lcut(name))


def section_points(ev: Evidence) -> Outcome | None:
    """The points of the outline section a list question names ("主要目标里有哪些…")."""
    return overview(ev, gather=False)


def count_instead(ev: Evidence) -> Outcome | None:
    """Names asked where the report gives only how many ("引进龙头企业3家"): partial."""
    for c in ev.close(limit=4):
        if not ev.names_topic(c.text):
            continue
        counts = related(c.text, "list")
        if counts:
            clause = _clause_with(c, counts[0])
            lead = partial_lead(ev.analysis, clause, None)
            return Outcome("partial", lead, (ev.quote(c),), "detail_missing")
    return None


STRATEGIES: dict[AnswerType, tuple[Callable[[Evidence], Outcome | None], ...]] = {
    "overview": (overview, complete_list, description),
    "list": (complete_list, section_points, count_instead, overview, description),
    "status": (status_answer,),
    "yesno": (status_answer,),
    "description": (description,),
    **{t: (typed_span,) for t in FINDERS if t != "list"},  # type: ignore[misc]
}


# --------------------------------------------------------------------------- composition


def _answer(ev: Evidence) -> Outcome:
    """The first outcome of the strategies of the question's answer type."""
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
        a.topic,
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
        parts = [_answer(replace(ev, analysis=ctx.analyzer.for_ask(a, q))) for q in a.asks]
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
            if len(c.text) < _MIN_SUPPORT_CHARS:
                continue
            if not any(c.doc_id == d and c.start < e and s < c.end for d, s, e, _ in quotes):
                quotes.append(ev.quote(c))
    citations = _citations(ctx.index, quotes)
    direct = outcome.direct
    if not _quoted_supported(direct, citations):
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


def _quoted_supported(direct: str, citations: Sequence[Citation]) -> bool:
    """Every digit group of the direct answer's Chinese (quoted) part occurs in a quote; the
    English words around a figure ("262,000 people") are derived from the quoted clause."""
    joined = "\n".join(c.quote for c in citations)
    quoted = re.findall(r"“([^”]*)”", direct)
    if not quoted:
        quoted = [re.sub(r"^(?:共\d+项：|\d+ in all: )", "", direct)]
    return all(d in joined for part in quoted for d in _DIGITS.findall(part))
