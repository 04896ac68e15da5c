"""The Chinese grammar of figures, dates and units: the spans of a text that state a number.

:func:`figures` finds every figure of a text as written, with its kind and parsed value:

- ``quantity``  26.2万人, 6000公里, 五届, 2500个以上 (a number with a measure word)
- ``money``     800亿元, 2000亿元 (a quantity in 元)
- ``percent``   65%以上, 百分之六十
- ``multiple``  1.5倍, 翻一番
- ``date``      2020年, 2018—2020年, 6月
- ``period``    五年来, 今后五年, 近三年, 三年行动 (a span of years, not a point in time)
- ``rank``      第3位, 前5位; ``standing`` 前列, 领先 (a rough standing, not an exact rank)
- ``ordinal``   第十四届, 首批

Chinese numerals are parsed (五届 = 5, 26.2万 = 262,000, 两 = 2), so questions asked with
多少 / 几 / 多大 / 增长了多少 find the same spans. Measure words come from
``resources/units.txt``; nothing here knows any one report.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from typing import Literal

FigureKind = Literal[
    "quantity", "money", "percent", "multiple", "date", "period", "rank", "standing", "ordinal"
]

_CN_DIGIT = {"零": 0, "〇": 0, "一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5}
_CN_DIGIT.update({"六": 6, "七": 7, "八": 8, "九": 9})
_CN_UNIT = {"十": 10, "百": 100, "千": 1000}
_MAGNITUDE = {"万": 1e4, "亿": 1e8, "万亿": 1e12, "千": 1e3}

ARABIC = r"\d+(?:\.\d+)?"
CHINESE = r"[零〇一二两三四五六七八九十百千]+"
NUMBER = rf"(?:{ARABIC}|{CHINESE})"
MAGNITUDE = r"(?:万亿|万|亿)?"
QUAL_AFTER = r"(?:以上|以内|以下|之内|左右|多|余)?"
# words right before a figure that qualify it ("力争…", "超过…", "控制在…")
_QUAL_BEFORE = re.compile(
    r"(超过|突破|达到|力争|不低于|不少于|不超过|近|约|增至|提高到|控制在|稳定在)\s*$"
)


@dataclass(frozen=True)
class Figure:
    """A figure of a text: ``text == source[start:end]``."""

    start: int
    end: int
    text: str
    kind: FigureKind
    value: float | None  # the number (a year for dates; 2.0 for 翻一番)
    unit: str  # the measure word without magnitude: 人, 元, 公里, %, 倍, 年
    qualifier: str = ""  # 以上 / 以内 / 左右 … right after it, as written
    lead: str = ""  # 力争 / 超过 / 控制在 … right before it, as written


@lru_cache(maxsize=1)
def _unit_table() -> dict[str, tuple[str, str]]:
    text = resources.files("rag").joinpath("resources/units.txt").read_text(encoding="utf-8")
    out = {}
    for line in text.splitlines():
        if line.strip() and not line.startswith("#"):
            unit, category, english = (line.split("\t") + [""])[:3]
            out[unit.strip()] = (category.strip(), english.strip())
    return out


def unit_categories() -> dict[str, str]:
    """Measure word → category (money, people, count, length, …), from resources/units.txt."""
    return {u: c for u, (c, _) in _unit_table().items()}


def unit_english(unit: str) -> str:
    """The English name of a measure word ("" for a bare count: 个, 家)."""
    return _unit_table().get(unit, ("", ""))[1]


def _unit_pattern() -> str:
    units = sorted(unit_categories(), key=len, reverse=True)
    return "(?:" + "|".join(re.escape(u) for u in units) + ")"


def chinese_number(text: str) -> float | None:
    """二十六 → 26, 五 → 5, 两千 → 2000, 十四 → 14; None when ``text`` is not a numeral."""
    if not text or any(c not in _CN_DIGIT and c not in _CN_UNIT for c in text):
        return None
    if all(c in _CN_DIGIT for c in text) and len(text) > 1:  # 二〇二〇: digit by digit
        return float("".join(str(_CN_DIGIT[c]) for c in text))
    total, current = 0, 0
    for c in text:
        if c in _CN_DIGIT:
            current = _CN_DIGIT[c]
        else:
            total += (current or 1) * _CN_UNIT[c]
            current = 0
    return float(total + current)


def parse_number(number: str, magnitude: str = "") -> float | None:
    """The value of a numeral (Arabic or Chinese) times its magnitude (万, 亿)."""
    number = number.strip()
    value = float(number) if re.fullmatch(ARABIC, number) else chinese_number(number)
    if value is None:
        return None
    return value * _MAGNITUDE.get(magnitude, 1.0)


@lru_cache(maxsize=1)
def _patterns() -> list[tuple[FigureKind, re.Pattern[str]]]:
    unit = _unit_pattern()
    n = rf"(?P<num>{NUMBER})\s*(?P<mag>{MAGNITUDE})"
    return [
        ("date", re.compile(r"(?P<num>\d{4})\s*[—–\-~至到]\s*\d{4}\s*年")),
        (
            "date",
            re.compile(r"(?P<num>(?:19|20)\d{2})\s*年(?:\s*\d{1,2}\s*月(?:\s*\d{1,2}\s*日)?)?"),
        ),
        ("date", re.compile(r"(?<![\d.])(?P<num>\d{1,2})\s*月(?:\s*\d{1,2}\s*日)?")),
        (
            "period",
            re.compile(
                rf"(?:今后|未来|过去|近|连续)\s*(?P<num>{NUMBER})\s*年(?:来|内|间)?"
                rf"|(?P<num2>{NUMBER})\s*年(?:来|内|间|行动|过渡期)"
                # a span of years that names a programme: 长江“十年禁渔”, 五年行动计划
                rf"|(?<![\d零〇一二两三四五六七八九十百千])(?P<num3>{CHINESE})\s*年(?=[\u4e00-\u9fff])"
            ),
        ),
        ("percent", re.compile(rf"(?P<num>{ARABIC})\s*[%％]{QUAL_AFTER}")),
        ("percent", re.compile(rf"百分之(?P<num>{NUMBER}){QUAL_AFTER}")),
        ("multiple", re.compile(rf"(?P<num>{NUMBER})\s*倍")),
        ("multiple", re.compile(r"翻(?P<num>[一两三四])?番")),
        (
            "rank",
            re.compile(rf"第\s*(?P<num>{NUMBER})\s*(?:位|名)|前\s*(?P<num2>{NUMBER})\s*(?:位|名)"),
        ),
        ("standing", re.compile(r"前列|前茅|领先|靠前|第一方阵|首位")),
        (
            "ordinal",
            re.compile(rf"第\s*(?P<num>{NUMBER})\s*(?:届|次|批|期|轮|个)|首(?:批|届|个|家)"),
        ),
        ("quantity", re.compile(rf"{n}(?P<unit>{unit}){QUAL_AFTER}")),
        # a bare magnitude with no measure word: "14.5万户" has one, "增至19.5万" may not
        ("quantity", re.compile(rf"(?P<num>{ARABIC})\s*(?P<mag>万亿|万|亿){QUAL_AFTER}")),
    ]


def _value(kind: FigureKind, m: re.Match[str]) -> float | None:
    groups = m.groupdict()
    num = groups.get("num") or groups.get("num2") or groups.get("num3")
    if kind == "multiple" and m.group(0).startswith("翻"):
        return 2.0 ** (chinese_number(num) if num else 1.0)  # type: ignore[operator]
    if num is None:
        return 1.0 if kind == "ordinal" else None  # 首批 is the first
    return parse_number(num, groups.get("mag") or "")


def _unit(kind: FigureKind, m: re.Match[str]) -> str:
    if kind == "percent":
        return "%"
    if kind == "multiple":
        return "倍"
    if kind in ("date", "period"):
        return "年"
    if kind in ("quantity", "money"):
        return m.groupdict().get("unit") or ""
    return ""


def figures(text: str) -> list[Figure]:
    """Every figure of ``text``, left to right, the longest at each place."""
    found: list[Figure] = []
    taken = [False] * len(text)
    for kind, pattern in _patterns():
        for m in pattern.finditer(text):
            s, e = m.span()
            if e <= s or any(taken[s:e]):
                continue
            unit = _unit(kind, m)
            k: FigureKind = kind
            if kind == "quantity" and unit_categories().get(unit) == "money":
                k = "money"
            if kind == "quantity" and unit == "年":
                k = "period"  # 连续9年, 两年: a span of years
            if k == "quantity" and m.group("num") == "一" and not m.group("mag"):
                continue  # 一批, 一个: a manner of speaking ("新办一批实事"), not a figure
            qual = re.search(r"(以上|以内|以下|之内|左右|多|余)$", m.group(0))
            before = _QUAL_BEFORE.search(text[max(0, s - 4) : s])
            found.append(
                Figure(
                    s,
                    e,
                    m.group(0),
                    k,
                    _value(kind, m),
                    unit,
                    qual.group(1) if qual else "",
                    before.group(1) if before else "",
                )
            )
            for i in range(s, e):
                taken[i] = True
    return sorted(found, key=lambda f: f.start)


def unit_base(unit: str) -> str:
    """A measure word without its magnitude: 万人 → 人, 亿元 → 元, km → 公里."""
    unit = unit.lstrip("万亿千")
    return {"km": "公里", "千米": "公里"}.get(unit, unit)


def has_unit(fig: Figure, unit: str) -> bool:
    """Whether ``fig`` is stated in ``unit`` (magnitudes aside: 26.2万人 is in 人)."""
    if unit == "%":
        return fig.kind == "percent"
    if unit == "倍":
        return fig.kind == "multiple"
    return fig.kind in ("quantity", "money", "period") and unit_base(fig.unit) == unit_base(unit)
