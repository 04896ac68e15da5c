"""Which documents a question is about, when several are indexed.

A question that names a city the collection has a report of ("青禾县的…", "澄川…") is limited
to that city's reports; one that names a report by its year ("2023年的报告里…", "2024年政府工作
报告") to the reports of that year. A question that names two of either ("2023年和2024年的…
分别是多少", "澄川市和青禾县…") compares them: :func:`comparison` gives one item per year or
city, and the answer gives one cited line per item. A plain year ("2023年新增就业多少人") is a
constraint on the evidence, not on the document: a 2024 report tells what happened in 2023.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from ..types import DocFilter, Document, place_key
from .analysis import Analysis
from .tagging import pos_tags

_REPORT_YEAR = re.compile(r"((?:19|20)\d{2})\s*年(?:的|度)?(?:政府工作)?报告")
_YEAR = re.compile(r"((?:19|20)\d{2})\s*年")
# "眉山今年的政府工作报告", "成都市2023年工作报告": a report asked for by its place
_REPORT_OF = re.compile(
    r"([\u4e00-\u9fff]{2,6}?)(?:今年|去年|明年|(?:19|20)\d{2}\s*年)?(?:的)?(?:政府)?工作报告"
)
_COMPARE = re.compile(r"和|与|跟|及|、|对比|相比|比较|分别|各自|\bvs\.?\b|\band\b|\bcompare", re.I)


@dataclass(frozen=True)
class Item:
    """One side of a comparison: a label ("2023年", "青禾县") and what limits it."""

    label: str
    where: DocFilter | None = None  # a city's reports
    year: int | None = None  # the year the evidence must be about


def _cities(docs: Iterable[Document]) -> dict[str, str]:
    """City key (without 市/县 suffix) → the city as the documents write it."""
    out: dict[str, str] = {}
    for d in docs:
        if d.city:
            out.setdefault(place_key(d.city), d.city)
    return out


def cities_named(question: str, docs: Iterable[Document]) -> list[str]:
    """The cities of the collection that ``question`` names, in the order it names them."""
    cities = _cities(docs)
    found = [(question.find(key), city) for key, city in cities.items() if key in question]
    return [city for at, city in sorted(found) if at >= 0]


def named_in(a: Analysis) -> str:
    """Where a question names places: its text, and its topic words (an English question's
    names spelt in pinyin are read as the report's words: "Songling" → 松陵)."""
    return " ".join((a.text, *a.topic))


def scope_filter(a: Analysis, docs: Iterable[Document]) -> DocFilter | None:
    """The documents a question limits itself to (None: all)."""
    docs = list(docs)
    if len({d.doc_id for d in docs}) < 2:
        return None
    cities = cities_named(named_in(a), docs)
    years = sorted({m.group(1) for m in _REPORT_YEAR.finditer(a.text)})
    known_years = {d.year for d in docs if d.year}
    years = [y for y in years if y in known_years]
    if not cities and not years:
        return None
    return DocFilter.of(city=cities or None, year=years or None)


def comparison(a: Analysis, docs: Iterable[Document]) -> list[Item]:
    """The sides of a comparison question (two years or two cities), else []."""
    docs = list(docs)
    if not _COMPARE.search(a.text):
        return []
    cities = cities_named(a.text, docs)
    if len(cities) >= 2:
        return [Item(c, where=DocFilter.of(city=c)) for c in cities]
    years = sorted({int(m.group(1)) for m in _YEAR.finditer(a.text)})
    if len(years) >= 2:
        return [Item(f"{y}年", year=y) for y in years]
    return []


def document_label(doc: Document) -> str:
    """How a citation names its document when several are indexed: its title (with the year
    when the title does not say it)."""
    title = doc.title or doc.doc_id
    return title if not doc.year or doc.year in title else f"{title}（{doc.year}）"


def report_not_held(a: Analysis, docs: Iterable[Document]) -> str | None:
    """The place whose report the question asks for ("眉山今年的政府工作报告说了什么？") when
    the collection holds no report of it (every document knowing its city), else ``None``:
    a report of one place does not answer for another's."""
    docs = list(docs)
    if not docs or any(not d.city for d in docs):
        return None
    held = _cities(docs)
    for m in _REPORT_OF.finditer(a.text):
        place = m.group(1)
        key = place_key(place)
        if any(key == k or key in k or k in key for k in held):
            return None
        tags = [flag for _, flag in pos_tags(place)]
        if tags == ["ns"] or re.search(r"[市县区州]$", place):
            return place
    return None
