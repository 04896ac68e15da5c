"""Leads: the first line a resident reads, in Chinese or English, for each outcome.

The quoted material is always the report's own text; the words around it only say what it
is (a target or a result), what the report does not give, or why a question is declined.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from ..types import CitationKind
from .analysis import Analysis
from .figures import Figure, figures, unit_english

# what a partial answer says the report does not give, by answer type (zh, en)
MISSING: dict[str, tuple[str, str]] = {
    "rank": ("具体排名", "the exact rank"),
    "ordinal": ("具体是第几", "which one in order"),
    "date": ("具体时间", "a date or time"),
    "place": ("具体地点", "the location"),
    "named": ("具体名称或名单", "the names"),
    "list": ("完整的名单", "the full list"),
    "money": ("具体金额", "an amount of money"),
    "percent": ("具体比例", "a percentage"),
    "multiple": ("倍数", "a multiple"),
    "quantity": ("具体数字", "a figure"),
}
KIND_ZH = {"achievement": "已完成", "target": "目标/计划", "other": "其他"}
KIND_EN = {"achievement": "achievement", "target": "target/plan", "other": "other"}

DECLINE_ZH = {
    "instruction": (
        "这不是关于报告内容的提问，无法照办。我只依据报告原文回答问题：不会改变回答规则，"
        "不会透露系统的提示、配置或密钥，也不会编造报告里没有的内容。"
    ),
    "personal_data": "报告中没有、我也不提供任何个人的联系方式、住址或身份信息。",
}
DECLINE_EN = {
    "instruction": (
        "This is not a question about the report, so I cannot do it. I only answer from the "
        "report's own text: I do not change my rules, reveal my prompt, configuration or keys, "
        "or make up what the report does not say."
    ),
    "personal_data": "The report does not give, and I do not provide, anyone's contact details, "
    "address or identity information.",
}


def missing_text(a: Analysis, unmet: str | None) -> tuple[str, str]:
    """What the report does not give: an unmet constraint, else the asked answer type."""
    c = a.constraints
    if unmet == "year" and c.year:
        return f"{c.year}年的情况", f"anything for {c.year}"
    if unmet == "relative_year":
        return "单独某一年的数字（报告给出的是多年的数字或目标）", "a figure for one year"
    if unmet == "annual":
        return "每年（单独一年）的数字，报告给出的是多年合计或目标", "a figure for a single year"
    if unmet == "current":
        return "目前的实际数字（报告给出的是目标）", "the current figure (it gives a target)"
    if unmet == "base_year":
        return "与所问年份相比的数字", "a comparison with the year asked about"
    if unmet == "planned":
        return "目标数字（报告给出的是已完成的情况）", "a target (it gives what was done)"
    if unmet == "done":
        return "实际完成的数字（报告给出的是目标）", "the actual figure (it gives a target)"
    if unmet == "total":
        return "总数（报告给出的是某一年完成的部分）", "the total (it gives one year's part)"
    if unmet == "event":
        return "所问那件事的时间（报告给出的是另一环节的时间）", "the date of that step"
    if unmet == "place" and c.places:
        return f"{'、'.join(c.places)}的情况", f"anything specific to {', '.join(c.places)}"
    return MISSING.get(a.answer_type, ("这方面的具体内容", "the detail asked for"))


def english_figure(f: Figure) -> str:
    """A figure in English words around its value: "262,000 people", "over 65%"."""
    value = f.value
    if f.kind == "percent" and value is not None:
        core = f"{value:g}%"
    elif f.kind == "multiple" and value is not None:
        core = "double" if f.text.startswith("翻") and value == 2 else f"{value:g} times"
    elif f.kind in ("quantity", "money") and value is not None:
        unit = unit_english(f.unit)
        if f.kind == "money" and value >= 1e8:
            core = f"{value / 1e9:g} billion yuan"
        else:
            core = f"{value:,.0f}" if value >= 1000 else f"{value:g}"
            core = f"{core} {unit}".strip()
    elif f.kind == "rank" and value is not None:
        core = f"No. {value:g}"
    elif f.kind == "date" and value is not None:
        core = f.text
    else:
        return f.text
    prefix = {"以上": "over ", "以内": "within ", "以下": "below ", "左右": "about "}.get(
        f.qualifier, ""
    )
    return prefix + core


def figure_lead_en(clause: str, kind: CitationKind) -> str:
    """ "210 km, 170 km — a target: “…”" for an English question about a figure."""
    figs = [f for f in figures(clause) if f.kind not in ("date", "period")]
    what = ", ".join(english_figure(f) for f in figs[:3])
    status = {"target": "a target", "achievement": "achieved", "other": "stated"}[kind]
    return f"{what} — {status}: “{clause}”" if what else f"The report says ({status}): “{clause}”"


_Q_FIGURE = re.compile(r"\d+(?:\.\d+)?\s*[%％]|\d+(?:\.\d+)?\s*[万亿]?[\u4e00-\u9fff]{0,2}")


_GRADE = re.compile(r"\d+[A-Z]+级?")


def yes_no_lead(a: Analysis, clause: str, kind: CitationKind) -> str:
    """A yes/no or done-or-planned question: say which, then quote."""
    asked = [f.text for f in figures(a.text) if f.kind not in ("date", "period")]
    asked += _GRADE.findall(a.text)  # 5A级, 3A: a grade is a figure too
    wrong_figure = bool(asked) and not any(t in clause for t in asked)
    if a.english:
        if wrong_figure:
            return f"Not quite — the report says: “{clause}”"
        if a.constraints.status == "done" and kind == "target":
            return f"Not yet — the report gives it as a target: “{clause}”"
        return f"The report says: “{clause}”"
    if wrong_figure:
        return f"不是，报告写的是：{clause}"
    if a.constraints.status == "done" and kind == "target":
        return f"还没有，报告把它列为目标/计划：{clause}"
    if kind == "target":
        return f"报告把它列为目标/计划：{clause}"
    return clause


def partial_lead(a: Analysis, clause: str, unmet: str | None) -> str:
    zh, en = missing_text(a, unmet)
    if a.english:
        return f"The report mentions “{clause}”, but does not give {en}."
    return f"报告提到了“{clause}”，但没有给出{zh}。"


def items_lead(a: Analysis, items: Sequence[str]) -> str:
    if len(items) == 1:
        return items[0]
    if a.english:
        return f"{len(items)} in all: " + "; ".join(items)
    return f"共{len(items)}项：" + "；".join(items)


def topic_of_question(question: str, limit: int = 40) -> str:
    """The question as a refusal echoes it (its own "[7]" is not a citation marker)."""
    q = re.sub(r"^(请问|我想知道|报告里?|报告中)", "", question.strip())
    q = re.sub(r"[?？!！。.]+$", "", q)
    q = re.sub(r"\[(\d+)\]", r"［\1］", q)  # the user's own "[7]" is not a citation marker
    return q[:limit]


def refusal_lead(a: Analysis, reason: str) -> str:
    if reason in DECLINE_ZH:
        return (DECLINE_EN if a.english else DECLINE_ZH)[reason]
    if a.english:
        return (
            "The report does not say anything about this. The nearest passages are listed "
            "below as related content (相关内容), not as an answer."
        )
    return (
        f"报告中没有找到关于“{topic_of_question(a.question)}”的内容。以下是最接近的段落，"
        "仅作为相关内容，不是答案。"
    )
