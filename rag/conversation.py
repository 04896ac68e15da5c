"""Follow-up questions: resolve a short elliptical question against earlier turns.

"那教育呢？" after "医疗方面有什么打算？" becomes "教育方面有什么打算" (the new topic in the
old question's frame); "具体有哪些？" becomes the previous question plus the new words.
Only retrieval uses the resolved question; the answer still shows what the user asked.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from .keyword import STOPWORDS

# "那教育呢" / "那么城镇化率呢" / "还有就业呢" / "what about education?"
_WHAT_ABOUT = re.compile(
    r"^(?:那么?|还有|那关于|关于)?(?P<topic>[^，,。？?！!]{1,12}?)(?:呢|怎么样|如何)[?？]?$"
)
_WHAT_ABOUT_EN = re.compile(r"^(?:and |what about |how about )(?P<topic>.{1,40}?)[?.]?$", re.I)
# a time a follow-up may ask about instead of the last one's (那明年呢, 以后呢, 过去五年呢)
_TIME = re.compile(
    r"(?:过去|今后|未来|近|这)?[一二三四五六七八九十\d]+年(?:来|里|间|内)?|"
    r"今后|以后|未来|将来|接下来|往后|过去|以前|之前|去年|今年|明年|前年|后年|现在|目前|如今"
)
_ELLIPTICAL = re.compile(
    r"^(?:具体|详细|那|那么|还有|其中|它|这些|这个|那些|他们|and\b|what else)", re.I
)
# words that frame a question rather than name its topic
FRAME = frozenset(
    [
        "目标",
        "打算",
        "计划",
        "措施",
        "政策",
        "方面",
        "情况",
        "工作",
        "多少",
        "几",
        "哪些",
        "什么",
        "怎么",
        "怎样",
        "如何",
        "有",
        "是",
        "会",
        "要",
        "今后",
        "五年",
        "未来",
        "过去",
        "提高",
        "达到",
        "新增",
        "具体",
    ]
)
MAX_FOLLOWUP_CHARS = 14


@dataclass(frozen=True)
class Turn:
    """One earlier exchange of a conversation."""

    question: str
    answer: str = ""


def _swap_topic(
    previous: str, topic: str, tokens: Sequence[str], naming: Callable[[str], bool]
) -> str:
    """Replace the first run of topic words in ``previous`` with ``topic``: words that name
    a subject (``naming``: 高速公路, not the verb 新建 of "新建多少公里高速公路"), when it has
    some."""
    content = [t for t in tokens if t not in STOPWORDS and t not in FRAME and len(t) > 1]
    named = [i for i, t in enumerate(content) if naming(t)]
    if named:
        content = content[named[0] :]
    if not content:
        return f"{topic} {previous}"
    first = content[0]
    start = previous.find(first)
    if start < 0:
        return f"{topic} {previous}"
    end = start + len(first)
    for t in content[1:]:  # extend over adjacent topic words ("森林" "覆盖率")
        if previous.startswith(t, end):
            end += len(t)
    return previous[:start] + topic + previous[end:]


_EN_WORD = re.compile(r"[A-Za-z][A-Za-z'-]*")
_EN_LEAD = re.compile(r"^(?:(?:for|on|in|about|regarding|with|of|the)\s+)+", re.I)
_EN_ASKS = re.compile(
    r"^(?:what|which|who|whom|when|where|why|how|is|are|was|were|do|does|did|will|can|has|have)"
    r"\b",
    re.I,
)


def resolve_followup(
    question: str,
    history: Sequence[Turn],
    words: Callable[[str], list[str]],
    *,
    names_nothing: bool = False,
    naming: Callable[[str], bool] = lambda w: True,
) -> str:
    """The question to retrieve with, given the conversation so far.

    ``words`` segments Chinese into words (jieba's precise mode); ``names_nothing``: the
    question names no subject of its own ("什么时候完成？"), so a short one asks about the
    previous question's; ``naming`` tells a word that names a subject.
    """
    q = question.strip()
    if not history or len(q) > MAX_FOLLOWUP_CHARS and not _WHAT_ABOUT_EN.match(q):
        return q
    previous = history[-1].question.strip()
    m = _WHAT_ABOUT.match(q)
    if m and _TIME.fullmatch(m.group("topic").strip()):
        # "以后呢？" asks the same of another time: the time is swapped, the subject stays
        when = m.group("topic").strip()
        swapped = _TIME.sub(when, previous, count=1)
        return swapped if swapped != previous else f"{when}{previous}"
    if m:
        return _swap_topic(previous, m.group("topic").strip(), words(previous), naming)
    m = _WHAT_ABOUT_EN.match(q)
    if m:
        topic = _EN_LEAD.sub("", m.group("topic").strip()) or m.group("topic").strip()
        if not _EN_ASKS.match(topic) and not _EN_WORD.search(previous):
            # asked before in Chinese ("污染防治有哪些举措？"): the new subject in its frame
            return _swap_topic(previous, topic, words(previous), naming)
        # no English segmentation here: the new subject ("for" dropped) first, the old frame
        return f"{topic}: {previous}"
    if _ELLIPTICAL.match(q) or len(q) <= 6 or names_nothing:
        return f"{previous} {q}"
    return q
