"""Span finders: where in a sentence the answer of a given type is.

Each finder takes a sentence (and, where it matters, the question's analysis) and returns the
spans of the asked type, offsets relative to the sentence. :data:`FINDERS` says which finder
serves which answer type; :func:`related` finds what a sentence gives *instead* (a rough
standing where a rank was asked, a count where names were asked, a quantity where a cost was
asked), which makes an honest partial answer.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from ..chunking import split_clauses
from .analysis import Analysis, AnswerType
from .cues import cue
from .figures import Figure, figures, has_unit, unit_base, unit_categories
from .tagging import pos_tags


@dataclass(frozen=True)
class Span:
    start: int  # offsets in the sentence
    end: int
    text: str
    kind: str  # a figure kind, or "name", "place", "items"
    figure: Figure | None = None


def _figure_spans(sentence: str, kinds: tuple[str, ...], unit: str | None = None) -> list[Span]:
    out = []
    for f in figures(sentence):
        if f.kind not in kinds:
            continue
        if unit and not has_unit(f, unit):
            continue
        out.append(Span(f.start, f.end, f.text, f.kind, f))
    return out


# "how many km / hectares / yuan / years …": a measure asked by name (else things are counted)
_ASKS_MEASURE = re.compile(
    r"\bhow many (?:[a-z-]+ ){0,2}?(?:km|kilomet|met(?:er|re)s?\b|mu\b|hectares?|acres?|tons?\b|"
    r"tonnes?|square|cubic|yuan|dollars?|days?\b|hours?\b|years?\b|months?\b|kilowatt|megawatt|"
    r"k[vw]\b|mw\b|gwh\b)",
    re.I,
)


def _counts(span: Span) -> bool:
    """Whether a figure counts people or things (人, 户, 个, 条), not a measure (公里, 亩)."""
    unit = unit_base(span.figure.unit) if span.figure else ""
    return unit_categories().get(unit) in ("people", "count")


def quantity_spans(sentence: str, a: Analysis) -> list[Span]:
    """A number with its measure word; in the asked unit when the question names one. A
    question that asks only 多少 is answered by a percentage or a multiple as well."""
    if a.unit:
        kinds: tuple[str, ...] = ("quantity", "money", "period")
    elif re.search(r"\bhow many\b", a.text, re.I):  # a count, not a share or a growth
        # "how many lines": things, not 300 公里 (unless it asks "how much" too)
        if not _ASKS_MEASURE.search(a.text) and not re.search(r"\bhow much\b", a.text, re.I):
            return [s for s in _figure_spans(sentence, ("quantity",)) if _counts(s)]
        kinds = ("quantity", "money")
    else:  # 多少 alone: any figure but a span of years ("今后五年" is not how many)
        kinds = ("quantity", "money", "percent", "multiple")
    return _figure_spans(sentence, kinds, a.unit)


def percent_spans(sentence: str, a: Analysis) -> list[Span]:
    return _figure_spans(sentence, ("percent",))


def multiple_spans(sentence: str, a: Analysis) -> list[Span]:
    return _figure_spans(sentence, ("multiple",))


def money_spans(sentence: str, a: Analysis) -> list[Span]:
    return _figure_spans(sentence, ("money",))


def date_spans(sentence: str, a: Analysis) -> list[Span]:
    return _figure_spans(sentence, ("date",))


def rank_spans(sentence: str, a: Analysis) -> list[Span]:
    return _figure_spans(sentence, ("rank",))


def ordinal_spans(sentence: str, a: Analysis) -> list[Span]:
    return _figure_spans(sentence, ("ordinal",))


_QUOTED = re.compile(r"“[^“”]{2,20}”|《[^《》]{2,30}》")
_ENUMERATION = re.compile(r"(?:[^、,，。；;：:()（）]{1,16}、){1,}[^、,，。；;：:()（）]{1,16}")


def is_list(span_text: str, least: int = 3) -> bool:
    """An enumeration worth listing: three items or more ("全国、全省", "…高于全国、全省平均水平"
    are phrases, not lists), or ``least`` when the question asks for that many."""
    return len([t for t in re.split(r"、", span_text) if t.strip()]) >= least


_ASKED_TWO = re.compile(r"哪\s*[两二2]\s*[个条家项所座类位名种块]|\bwhich two\b", re.I)


def _named(span_text: str) -> bool:
    """Every item of an enumeration is a name (a proper noun, or a number that is no figure:
    省道215…), and none states a figure: what makes two items a list, where "因地制宜、特色发
    展" is a phrase and "2个以上…强县、4个以上…大县" are counts."""
    items = [t for t in span_text.split("、") if t.strip()]
    return all(
        not figures(t) and (re.search(r"\d", t) or any(f in _PROPER for _, f in pos_tags(t)))
        for t in items
    )


def least_items(a: Analysis) -> int:
    """How many items make a list for this question: two when it asks for two (哪两条), else
    three."""
    return 2 if _ASKED_TWO.search(a.ask) else 3


# a proper name ends in the kind of thing it names
_NAME_SUFFIX = (
    "区|县|市|镇|乡|村|州|省|基地|园区|产业园|开发区|高新区|片区|景区|机场|铁路|高速|港|枢纽|"
    "航道|大道|公司|集团|企业|中心|医院|学校|大学|学院|博物馆|图书馆|节|会|论坛|博会|工程|计划|"
    "行动|项目|品牌|城市|示范区|示范市|模范城|试点|名片|称号|研究院|院|实验室|站|厂|馆|赛|奖"
)
_NAME_END = re.compile(rf"(?:{_NAME_SUFFIX})$")
_PROPER = frozenset({"ns", "nz", "nr", "nrt", "nt", "j", "eng"})
_COUNT = re.compile(  # 3家, 十大 — not 一批 / 一个, which say "some"
    r"(?:\d+|(?!一[个家批项])[一两二三四五六七八九十百千]+)\s*(?:个|家|所|座|条|项|部|件|批|类|大)(?:以上)?"
)


def name_spans(sentence: str, a: Analysis) -> list[Span]:
    """Names the sentence gives: quoted terms, enumerated items, and names ending in what
    they name (…基地, …县, …节): ``name`` when a proper noun is part of it (夹江基地, 乐山国际
    美食节), ``term`` when it is a common one (百强县, 卫生城市)."""
    out = [Span(m.start(), m.end(), m.group(0), "name") for m in _QUOTED.finditer(sentence)]
    for m in _ENUMERATION.finditer(sentence):
        if is_list(m.group(0)) or (is_list(m.group(0), least_items(a)) and _named(m.group(0))):
            out.append(Span(m.start(), m.end(), m.group(0), "items"))
    out += _proper_names(sentence)
    return out


def _proper_names(sentence: str) -> list[Span]:
    """Words that end in what they name (百强县, 研究院, 节), with the words right before
    them that can be part of a name (nouns, adjectives, numerals: 五通桥 + 基地, 第十一届 +
    中国 + 曲艺 + 节), stopping at a verb, a preposition or punctuation. ``name`` when a proper
    noun (jieba's part-of-speech tags ns, nr, nz, nt, j) is part of it, else ``term``."""
    out: list[Span] = []
    words: list[tuple[int, str, str]] = []  # start, word, flag
    at = 0
    for word, flag in pos_tags(sentence):
        i = sentence.find(word, at)
        if i < 0:
            continue
        at = i + len(word)
        words.append((i, word, flag))
    for k, (i, word, _flag) in enumerate(words):
        if not _NAME_END.search(word):
            continue
        j = k
        while j > 0 and words[j - 1][2].startswith(_NAMEISH) and k - j < 5:
            if words[j - 1][0] + len(words[j - 1][1]) != words[j][0]:
                break
            j -= 1
        start, end = words[j][0], i + len(word)
        if end - start < 2:
            continue
        proper = any(f in _PROPER for _, _, f in words[j : k + 1])
        out.append(Span(start, end, sentence[start:end], "name" if proper else "term"))
    return out


# part-of-speech tags of the words a name can be made of
_NAMEISH = ("n", "a", "m", "j", "b", "eng", "vn", "q")


def place_spans(sentence: str, a: Analysis) -> list[Span]:
    """Where: a place name (jieba's ``ns``) or a named site (…片区, …基地, …园区) in the
    sentence, other than what the question itself names."""
    out, at = [], 0
    for word, flag in pos_tags(sentence):
        i = sentence.find(word, at)
        at = i + len(word) if i >= 0 else at
        if i >= 0 and flag == "ns" and len(word) >= 2 and word not in a.text:
            out.append(Span(i, i + len(word), word, "place"))
    for head in _SITES:
        for name in names_ending(sentence, head):
            i = sentence.find(name)
            if name not in a.text and i >= 0:
                out.append(Span(i, i + len(name), name, "place"))
    return out


_SITES = ("基地", "片区", "园区", "新区", "开发区", "高新区", "产业园")


def names_ending(sentence: str, head: str) -> list[str]:
    """The names in ``sentence`` that end in ``head``: within the stretch between punctuation
    (and 、) that holds the head, what follows the verb that opens it ("获评|全国…优秀城市",
    "成功创建|国家卫生城市") or, with no such verb, what follows a leading preposition
    ("以|五通桥基地为核心"); jieba's part-of-speech tags tell verbs and prepositions."""
    out = []
    for piece in re.split(r"[，,；;：:、。！？“”()（）]", sentence):
        if head not in piece:
            continue
        words = list(pos_tags(piece))
        for h, (w, _) in enumerate(words):
            if not w.endswith(head):
                continue
            start = 0
            verbs = [i for i, (_, f) in enumerate(words[:h]) if f == "v"]
            if verbs:
                start = verbs[0] + 1
            else:
                while start < h and words[start][1] in ("p", "c", "d", "u"):
                    start += 1
            name = "".join(x for x, _ in words[start : h + 1])
            if len(name) > len(head):
                out.append(name)
    return out


def item_spans(sentence: str, a: Analysis) -> list[Span]:
    """The items of a list: an enumeration (X、Y、Z) or names."""
    spans = name_spans(sentence, a)
    return [s for s in spans if s.kind == "items"] or spans


Finder = Callable[[str, Analysis], list[Span]]


def proper_name_spans(sentence: str, a: Analysis) -> list[Span]:
    """For "which one": quoted terms and names (not enumerations)."""
    return [s for s in name_spans(sentence, a) if s.kind in ("name", "term")]


# which finder answers which answer type (the types without one are answered by the sentence)
FINDERS: dict[AnswerType, Finder] = {
    "quantity": quantity_spans,
    "percent": percent_spans,
    "multiple": multiple_spans,
    "money": money_spans,
    "date": date_spans,
    "rank": rank_spans,
    "ordinal": ordinal_spans,
    "named": proper_name_spans,
    "place": place_spans,
    "list": item_spans,
}

# what a sentence may give instead, when it lacks the asked type: said in a partial answer
RELATED: dict[AnswerType, tuple[str, ...]] = {
    "rank": ("standing",),
    "named": ("count",),
    "list": ("count",),
    "money": ("quantity", "percent"),
    "percent": ("quantity",),
    "date": ("period",),
    "place": (),
    "multiple": ("percent",),
}


def related(sentence: str, kind: AnswerType) -> list[Span]:
    """Spans of ``sentence`` that are near the asked type but not it (see :data:`RELATED`)."""
    wanted = RELATED.get(kind, ())
    out = []
    for f in figures(sentence):
        if f.kind in wanted:
            out.append(Span(f.start, f.end, f.text, f.kind, f))
    if "count" in wanted:
        out += [Span(m.start(), m.end(), m.group(0), "count") for m in _COUNT.finditer(sentence)]
    return out


def clause_of(sentence: str, span: Span) -> tuple[int, int]:
    """The clause of ``sentence`` holding ``span`` (offsets in the sentence)."""
    for s, e in split_clauses(sentence):
        if s <= span.start < e:
            return s, max(e, span.end)
    return 0, len(sentence)


def piece_of(sentence: str, span: Span) -> tuple[int, int]:
    """The item of an enumeration (…、…) in the clause of ``span`` that holds it: the work a
    date of "推动甲项目6月底前竣工、乙项目9月底前开工" is about (the whole clause when it
    enumerates nothing)."""
    cs, ce = clause_of(sentence, span)
    start = sentence.rfind("、", cs, span.start) + 1 or cs
    end = sentence.find("、", span.end, ce)
    return max(start, cs), end if end >= 0 else ce


def is_change(sentence: str, span: Span) -> bool:
    """Whether the figure ``span`` of ``sentence`` says how much something changed (新增床位
    500张, 增长6.2%) rather than its level (床位总数达到1300张): a change word shortly before
    it in its clause."""
    if span.figure is not None and span.figure.kind == "multiple":
        return True  # 是2015年的1.5倍, 翻一番: a multiple is how much something grew
    cs, _ = clause_of(sentence, span)
    return bool(cue("figure_change").search(sentence[cs : span.start]))
