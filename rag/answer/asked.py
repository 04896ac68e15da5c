"""What a question asks the evidence to meet, from its own words: a calendar year or one
relative to the report (去年, "two years ago"), a scope (每年 / 现在 / 一共), the places it
names, and whether it asks about something done or planned. Checked against the sentences in
:mod:`.constraints`."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

from .cues import cue

_CJK = re.compile(r"[\u4e00-\u9fff]")
_ASK_START = cue("ask_start")
_YEAR = re.compile(r"((?:19|20)\d{2})\s*年")
# a year something is compared with: 较2015年, 比2020年, 和2015年比, 2015年的(1.5倍); not
# the years of "2023年和2024年…分别" (two years asked about)
_BASE_YEAR = re.compile(
    r"(?:较|比|相比)\s*(?:19|20)\d{2}\s*年|(?:和|跟|与|同)\s*(?:19|20)\d{2}\s*年(?:相)?比"
    r"|(?:19|20)\d{2}\s*年的\s*[\d.一二两三四五六七八九十]+倍"
)
_EN_YEAR = re.compile(r"\b(?:in|for|of|during)\s+((?:19|20)\d{2})\b", re.I)
_AGO = re.compile(
    r"\b(one|two|three|four|five|six|seven|eight|nine|ten|\d+)\s+years?\s+ago\b", re.I
)
_EN_NUMBER = {"one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7}
_EN_NUMBER.update({"eight": 8, "nine": 9, "ten": 10})
_RELATIVE = {"去年": -1, "上一年": -1, "今年": 0, "本年": 0, "明年": 1, "last year": -1}
_RELATIVE.update({"this year": 0, "next year": 1})
_ANNUAL = cue("asked_annual")
# "in all" (a total over the whole work, not one year's part); 经济总量 is a noun, not this
_TOTAL = cue("asked_total")
_CURRENT = cue("asked_current")
_DONE_ASKED = cue("asked_done")
_PLAN_ASKED = cue("asked_planned")


_ADMIN_SUFFIX = "市县区镇乡州"


@dataclass(frozen=True)
class Constraints:
    """What the evidence must also meet, from the question's own words."""

    year: int | None = None  # a calendar year asked about (2020年的…; not a base year 较2015年)
    relative_year: int | None = None  # -1 去年, 0 今年, +1 明年
    scope: Literal["annual", "current", "total"] | None = None  # 每年 ; 现在 ; 一共 / 总投资
    places: tuple[str, ...] = ()  # places the question names that the report names too
    status: Literal["done", "planned"] | None = None  # asked (or presumed) done, or planned

    @property
    def any(self) -> bool:
        return bool(self.year or self.relative_year is not None or self.scope or self.places)


def constraints(
    text: str,
    ask: str,
    corpus_has: Callable[[str], bool],
    words: Callable[[str], list[str]] = lambda t: [t],
) -> Constraints:
    """Year, scope, places and status asked, from the question's words. When the part that
    asks opens with its own opener ("…孩子明年要上幼儿园了，想问问政府今后几年…"), the time
    told before it is the resident's situation, not the time asked about."""
    if _ASK_START.match(ask.strip()):
        text = ask
    base = {m.group(0) for m in _BASE_YEAR.finditer(text)}
    years = [
        int(m.group(1)) for m in _YEAR.finditer(text) if not any(m.group(0) in b for b in base)
    ]
    years += [int(m.group(1)) for m in _EN_YEAR.finditer(text)]
    relative = next((v for k, v in _RELATIVE.items() if k in text.lower()), None)
    ago = _AGO.search(text)
    if ago and relative is None:
        n = ago.group(1).lower()
        relative = -(int(n) if n.isdigit() else _EN_NUMBER[n])
    scope: Literal["annual", "current", "total"] | None = None
    if _TOTAL.search(ask):
        scope = "total"
    elif _ANNUAL.search(ask):
        scope = "annual"
    elif _CURRENT.search(ask):
        scope = "current"
    # a place named where the resident tells their situation is not a constraint
    places = tuple(dict.fromkeys(p for p in place_names(ask, words) if corpus_has(p)))
    status: Literal["done", "planned"] | None = None
    if _DONE_ASKED.search(ask):
        status = "done"
    elif _PLAN_ASKED.search(ask):
        status = "planned"
    return Constraints(
        year=years[-1] if years else None,
        relative_year=relative,
        scope=scope,
        places=places,
        status=status,
    )


# words ending in 区 that name a kind of area, not a place (老旧小区, 开发区, 景区)
_COMMON_AREA = cue("common_area")


def place_names(text: str, words: Callable[[str], list[str]]) -> list[str]:
    """Names of administrative places in ``text``: a word ending in 市, 县, 区, 镇, 乡 or 州
    (a suffix standing alone joins the word before it: 青禾 + 县), three characters or more,
    not a kind of area (小区, 开发区)."""
    out: list[str] = []
    prev = ""
    for w in words(text):
        name = prev + w if w in _ADMIN_SUFFIX and prev else w
        admin = len(name) >= 3 and name[-1] in _ADMIN_SUFFIX and _CJK.fullmatch(name[0])
        if admin and not _COMMON_AREA.search(name):
            out.append(name)
        prev = w if _CJK.search(w) else ""
    return out
