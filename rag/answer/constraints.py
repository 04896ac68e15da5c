"""The constraints of a question checked against a sentence: the place, the year, the
base year, one year or several, now or a target, a total, done or planned, the step of a
work a date is about."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from ..chunking import split_sentences
from .analysis import event_patterns
from .cues import cue
from .evidence import Candidate, Scope, base_year, scope_of, sentence_kind

if TYPE_CHECKING:
    pass

from .strategy import Evidence


def report_year(ev: Evidence, doc_id: str) -> int | None:
    doc = ev.index.documents[doc_id]
    year = doc.metadata.get("year", "")
    if year.isdigit():
        return int(year)
    m = re.search(r"((?:19|20)\d{2})\s*年", doc.title)
    return int(m.group(1)) if m else None


def unmet_constraint(
    ev: Evidence, c: Candidate, clause: tuple[int, int], *, after: str = ""
) -> str | None:
    """The first constraint of the question that the sentence ``c`` (its figure in
    ``clause``) does not meet, or ``None``. ``after``: for a date, the words right after it
    in its item, which say what happens then (9月底前开工: a start)."""
    a = ev.analysis
    k = a.constraints
    doc = ev.index.documents[c.doc_id]
    para = next((p for p in doc.paragraphs if p.start <= c.start < p.end), None)
    opening = doc.text[para.start : para.end] if para else ""
    opening = doc.text[para.start : split_sentences(opening, para.start)[0][1]] if para else ""
    levels = [c.text[clause[0] : clause[1]], c.text, opening, *reversed(c.section)]
    scope = scope_of(levels)
    kind = sentence_kind(c.text, c.section)
    year = report_year(ev, c.doc_id)
    if scope is not None and scope.kind == "year" and scope.year is None:
        scope = Scope("year", year, scope.base_year) if year else None  # "今年": the report's
    if (
        scope is not None
        and scope.kind == "multi_year"
        and year
        and kind == "achievement"
        and _LEVEL_REACHED.search(levels[0])
        and not _ADDED.search(levels[0])
        and scope_of(levels[:1]) is None
    ):
        # a level reached in a review of several years (五年来…研发投入强度达到2.46%) is the
        # level at its end: the year before the report's
        scope = Scope("year", year - 1, scope.base_year)
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
    if k.scope == "annual" and not one_year and not _LEVEL_HELD.search(levels[0]):
        return "annual"  # (a level held over the years is each year's level)
    if k.scope == "current" and kind == "target":
        return "current"
    if k.status == "planned" and kind == "achievement" and a.wants_figure:
        return "planned"  # a result is not the target asked for
    if k.status == "done" and kind == "target" and a.wants_figure and not a.yes_no:
        return "done"  # a target is not the result asked for
    if k.scope == "total" and _ANNUAL_PART.search(levels[0]):
        return "total"  # 全年完成投资35亿元 is one year's part of a total
    if a.answer_type == "date":
        asked, given = _events(a.ask), _events(after) or _events(levels[0])
        if asked and given and not asked & given:
            return "event"  # when it opens is not when it started
    return None


_ANNUAL_PART = cue("figure_one_year_part")
_LEVEL_REACHED = cue("figure_level_reached")
_ADDED = cue("figure_added")
_LEVEL_HELD = cue("figure_level_held")


def _events(text: str) -> set[str]:
    return {kind for kind, pattern in event_patterns() if pattern.search(text)}


# --------------------------------------------------------------------------- strategies
