"""The complete-list strategies: every item of the asked kind, across sentences, or the
enumerations of a sentence; a count where names were asked makes a partial answer."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import TYPE_CHECKING

from ..chunking import clause_text
from .evidence import sentence_kind
from .leads import items_lead, partial_lead
from .spans import clause_of, item_spans, names_ending, related
from .tagging import pos_tags

if TYPE_CHECKING:
    pass

from .constraints import unmet_constraint
from .strategy import Evidence, Outcome, Quote, clause_with, fits, restates, wanted_kind

_WHICH = (
    r"(?:哪些|哪几个|哪几|哪几项|哪几类|哪个|哪家|哪座|哪条|哪一个|什么样的|都有什么|都有哪些|"
    r"哪[一二两三四五六七八九十\d]+[个家项所座条类])"
)
_CATEGORY = re.compile(_WHICH + r"\s*([^?？,，。]{1,14})")
# the kind named before the question word: "帮扶县是哪3个", "经济强县分别是哪几个"
_CATEGORY_BEFORE = re.compile(
    r"([^?？,，。]{1,14}?)(?:分别|具体|到底)?(?:是|有)" + _WHICH + r"\s*[?？]?$"
)


def category_head(ev: Evidence) -> str | None:
    """The kind of thing a list or which-one question asks for: the last noun of the noun
    phrase right after 哪些 / 哪几个 / 哪个 ("哪几个产业基地" → 基地, "哪个服务中心获得了…" →
    服务中心, "哪些全国性的城市称号" → 城市 when the report never says 称号), if the report
    uses it; jieba's part-of-speech tags end the phrase at its first verb or preposition."""
    ask = ev.analysis.ask.strip()
    m = _CATEGORY.search(ask)
    phrase = m.group(1) if m else ""
    if not phrase.strip("?？ "):
        before = _CATEGORY_BEFORE.search(ask)
        if not before:
            return None
        phrase = before.group(1)
    nouns: list[str] = []
    for word, flag in pos_tags(phrase):
        if word == "的":
            continue
        if flag in ("v", "p", "c", "d", "r", "x", "y", "u", "ul", "uj", "ud"):
            break  # the phrase ends at its first verb or preposition
        nouns.append(word)
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
    if head and is_place_kind(head):  # a place is named, not counted (2个…经济强县)
        named = {n: q for n, q in named.items() if not _COUNTED.search(n)}
    proper = {n: q for n, q in named.items() if _has_proper(n)}
    if len(proper) >= 2:
        return _listed(ev, proper)
    enumerated = _enumerations(ev, head)
    if enumerated:
        return enumerated
    if head and is_place_kind(head):
        return None  # places are named (犍为县), not described (经济强县, 百强县)
    return _listed(ev, named) if len(named) >= 2 else None


def _listed(ev: Evidence, found: dict[str, Quote]) -> Outcome:
    names = list(found)[: ev.rules.max_items]
    quotes = tuple(dict.fromkeys(found[n] for n in names))
    return Outcome("answered", items_lead(ev.analysis, names), quotes)


def _names_of_kind(ev: Evidence, head: str) -> dict[str, Quote]:
    """Names ending in ``head`` in the sentences close to the best, of the time asked about."""
    found: dict[str, Quote] = {}
    want = wanted_kind(ev)
    for c in ev.close(margin=ev.rules.evidence_margin * 2, limit=12):
        if want and not fits(sentence_kind(c.text, c.section), want):
            continue  # the titles it aims for are not the titles it won
        for name in names_ending(c.text, head):
            if not restates(ev.analysis, name) and name not in found:
                found[name] = ev.quote(c)
    return found


def _enumerations(ev: Evidence, head: str | None) -> Outcome | None:
    """The enumerations (X、Y、Z) of the best sentence about the topic that has some, when
    one of them is of the asked kind ("哪几个区县": 市中区、沙湾区、犍为县) — unless the sentence
    names that kind elsewhere (districts are not the 基地 of "以五通桥基地为核心,联动…区")."""
    want = wanted_kind(ev)
    for c in ev.close(limit=4):
        if want and not fits(sentence_kind(c.text, c.section), want):
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
        fits_kind = True
        if head:
            of_kind = any(head in p for p in parts) or any(
                _of_kind(item, head) for p in parts for item in re.split("、|和", p)
            )
            # a kind of thing the sentence does not name (措施 for "有哪些措施") leaves its
            # enumeration as the answer; a kind of place (哪几个县) needs items that are places
            fits_kind = of_kind or (head not in c.text and not is_place_kind(head))
        if parts and ev.names_topic(c.text) and fits_kind:
            return Outcome("answered", "；".join(parts), (ev.quote(c),))
    return None


def _of_kind(item: str, head: str) -> bool:
    """Whether an enumerated item is of the asked kind: it ends in the head word, or in one
    of its characters when the head is made of place suffixes (区县: 市中区, 犍为县). A place
    is named, not counted: "2个以上500亿元经济强县" is no county of a 哪两个县."""
    item = item.strip()
    if is_place_kind(head) and _COUNTED.search(item):
        return False
    if item.endswith(head):
        return True
    return is_place_kind(head) and bool(item) and item[-1] in head


_COUNTED = re.compile(r"\d|[一二两三四五六七八九十几]+[个座所]")


def unless_places(
    strategy: Callable[[Evidence], Outcome | None],
) -> Callable[[Evidence], Outcome | None]:
    """``strategy``, except for a question asking which places (哪两个县, 哪几个镇): a section's
    points or an overview are not places, and a count of them is a partial answer."""

    def guarded(ev: Evidence) -> Outcome | None:
        head = category_head(ev)
        return None if head and is_place_kind(head) else strategy(ev)

    guarded.__name__ = strategy.__name__
    return guarded


def is_place_kind(head: str) -> bool:
    """Whether the asked kind is made of place suffixes (县, 区县, 镇): a kind of place."""
    return all(ch in "区县市镇乡村州省" for ch in head)


def _has_proper(name: str) -> bool:
    return any(flag in ("ns", "nr", "nz", "nt", "nrt") for _, flag in pos_tags(name))


def count_instead(ev: Evidence) -> Outcome | None:
    """Names asked where the report gives only how many ("引进龙头企业3家"): partial."""
    for c in ev.close(limit=4):
        if not ev.names_topic(c.text):
            continue
        counts = related(c.text, "list")
        if counts:
            clause = clause_with(c, counts[0])
            lead = partial_lead(ev.analysis, clause, None)
            return Outcome("partial", lead, (ev.quote(c),), "detail_missing")
    return None


def places_not_named(ev: Evidence) -> Outcome | None:
    """Which places asked (哪几个县), and the report speaks of the subject without naming any
    ("力争县县都有三级医院"): partial, the sentence it gives cited."""
    head = category_head(ev)
    if not head or not is_place_kind(head):
        return None
    c = ev.best
    if not ev.names_topic(c.text):
        return None
    lead = partial_lead(ev.analysis, ev.best_clause(c), None)
    return Outcome("partial", lead, (ev.quote(c),), "detail_missing")
