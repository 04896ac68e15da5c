"""Question analysis: the language, the kind of answer asked for, the words that say what a
question is about, and the figures of a text (for the figure check)."""

from __future__ import annotations

import re
from collections.abc import Sequence
from difflib import SequenceMatcher
from typing import TYPE_CHECKING, Literal

from .keyword import STOPWORDS

if TYPE_CHECKING:
    from .keyword import KeywordTokenizer

QuestionKind = Literal["figure", "when", "list", "which", "general"]


FIGURE_Q = re.compile(
    r"多少|(?<!好)几[个家项所条年倍大部届次成]|比例|比重|占比|增长|下降|提高到|目标是|百分|多大|多长|多远|"
    r"how (?:much|many|far|long|big)|percent|rate|target|figure|number of|increase|grow",
    re.I,
)
LIST_Q = re.compile(
    r"哪些|哪几|都有|包括|包含|列举|几大|分别|what are|which (?:\w+ )*(?:are|were)|"
    r"\blist\b|name the|what (?:\w+ )*(?:plans|measures|industries|items|goals|targets)",
    re.I,
)
# asking about plans or help in general ("有什么打算", "会不会…", "怎么办"): not a list
OPEN_Q = re.compile(r"打算|怎么办|办法|举措|怎么样|会不会|能不能|管不管|[吗嘛]\s*[？?]?$")
YES_NO = re.compile(r"会不会|能不能|是不是|管不管|有没有|[吗嘛]\s*[？?]?$")


WHEN_Q = re.compile(r"什么时候|何时|哪一年|哪年|几月|几号|几日|\bwhen\b|what year", re.I)
DATE = re.compile(r"\d{4}\s*年|\d{1,2}\s*月|\d{1,2}\s*日|\d{4}\s*[—-]")
# a figure written with Chinese numerals and a measure word: 两年, 五届, 十件, 翻一番
CN_FIGURE = re.compile(
    r"[一二两三四五六七八九十百千]+(?:个|年|届|件|部|家|项|倍|所|条|次|批|万|亿)|翻一番"
)
WHICH_Q = re.compile(r"什么|哪个|哪里|哪儿|哪座|谁|which|what|where|who", re.I)
LATIN = re.compile(r"[A-Za-z]")
CJK = re.compile(r"[\u4e00-\u9fff]")
DIGITS = re.compile(r"\d+(?:\.\d+)?")
FIGURE = re.compile(
    r"\d+(?:\.\d+)?\s*(?:%|％)?(?:[万亿千百])?[^\d\s,，。；;、：:“”()（）]{0,4}?"
    r"(?:以上|以内|以下|左右)?(?=[,，。；;、：:”)）]|$|[^\d])"
    r"|翻一番|全覆盖"
)


# measure words a figure question can name right after 多少/几 ("多少亿元", "几个", "多少公里")
UNITS = frozenset(
    """
    万人次 人次 万人 亿元 万元 千瓦 平方米 公里 元 人 户 个 部 件 年 米 亩 家 所 倍 届 天 次 座
    条 项 场 台 辆 名 位 张 套 吨 批
    """.split()  # noqa: SIM905
)
ASKED_UNIT = re.compile(r"(?:多少|几)(" + "|".join(sorted(UNITS, key=len, reverse=True)) + ")")
_NUMERAL = r"(?:\d+(?:\.\d+)?|[一二两三四五六七八九十百千]+)\s*[万亿千百]?"


# amounts of money: "总投资是多少", "多少钱" ask for a figure in 元 (亿元, 万元)
MONEY_Q = re.compile(
    r"(?:投资|收入|资金|经费|预算|金额|产值|总值|营收|费用)[^,，。？?]{0,6}多少|多少钱"
)


def asked_unit(question: str) -> str | None:
    """The measure word a figure question asks in (亿元 in "多少亿元", 元 for an amount of
    money), if it names one."""
    m = ASKED_UNIT.search(question)
    if m:
        return m.group(1)
    return "元" if MONEY_Q.search(question) else None


def has_figure_in(text: str, unit: str) -> bool:
    """Whether ``text`` holds a figure in ``unit`` (26.2万人 for 人, 两年 for 年)."""
    return re.search(_NUMERAL + re.escape(unit), text) is not None


def longest_run(part: str, whole: str) -> int:
    """Length of the longest run of ``part``'s characters that occurs in ``whole``."""
    matcher = SequenceMatcher(None, part, whole, autojunk=False)
    return matcher.find_longest_match(0, len(part), 0, len(whole)).size


def is_english(question: str) -> bool:
    text = re.sub(r"<[^>]*>", " ", question)  # markup is not language
    return len(LATIN.findall(text)) > 2 * len(CJK.findall(text))


def question_kind(question: str) -> QuestionKind:
    if WHEN_Q.search(question):
        return "when"
    if OPEN_Q.search(question) and not FIGURE_Q.search(question):
        return "general"
    if LIST_Q.search(question):
        return "list"
    if FIGURE_Q.search(question):
        return "figure"
    if WHICH_Q.search(question):
        return "which"
    return "general"


# question words and generic words that never name what a question is about
QUESTION_WORD = re.compile(
    r"^[几哪多什怎为啥谁]|[吗呢吧么]$|^(?:是否|是不是|有没有|能不能|会不会)$"
)
GENERIC = frozenset(
    """
    乐山 全市 我市 市里 今后 五年 今年 去年 未来 现在 目前 政府 报告 工作 方面
    情况 具体 主要 要求 提出 计划 打算 目标 措施 达到 提高 实现 建设 发展 推动
    推进 加强 哪些 什么 多少 怎么 怎样 如何 为什么 名字 分别 一共 总共 以后
    能否 可以 过去 这份 这次 当前 今后五年 具体措施 哪一年 时候 态度 看法 回顾 总结
    """.split()  # noqa: SIM905
)


def subject_words(question: str, tokenizer: KeywordTokenizer) -> list[str]:
    """The words that say what a Chinese question is about (not how it asks)."""
    out = []
    for w in tokenizer.words(question):
        if len(w) < 2 or not CJK.search(w) or w in STOPWORDS or w in GENERIC:
            continue
        if QUESTION_WORD.search(w):
            continue
        out.append(w)
    return out


def has_figure(text: str) -> bool:
    return bool(DIGITS.search(text) or CN_FIGURE.search(text))


def coverage(text: str, words: Sequence[str]) -> float:
    return sum(w in text for w in words) / len(words) if words else 0.0


def figures(text: str) -> list[str]:
    return [m.group(0) for m in FIGURE.finditer(text) if m.group(0).strip()]


def unsupported_figures(text: str, quotes: Sequence[str]) -> list[str]:
    """Digit groups in ``text`` that occur in none of ``quotes`` (the figure check)."""
    joined = "\n".join(quotes)
    return [d for d in DIGITS.findall(text) if d not in joined]
