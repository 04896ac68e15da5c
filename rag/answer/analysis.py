"""Question analysis: computed once per question, passed down, never re-derived.

:func:`analyze` turns what a person typed into an :class:`Analysis`: the normalized text
(:mod:`.normalize`), the part that asks (a long question tells its situation first), the
language, the answer type asked for (``resources/answer_types.tsv``), the unit a figure is
asked in, the constraints the evidence must meet (a year, "each year", "now", a place, done
or planned), the topic words (weighted later by how specific they are to the report), and
whether the question is an instruction or a request for personal data
(:mod:`.guards`) rather than a question about the report. A follow-up ("那教育呢？",
"What about railways?") is resolved against the previous turn: it keeps that turn's frame and
answer type and takes its own topic.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from functools import lru_cache
from typing import Literal, cast

from ..conversation import Turn, resolve_followup
from ..questions import is_english
from .asked import Constraints, constraints
from .asking import (
    answer_type_cues,
    asking_part,
    asks_of,
    drop_frame_modifiers,
    question_words,
)
from .cues import cue, tsv
from .figures import unit_categories
from .guards import guard
from .normalize import Lexicon, Replacement, normalize
from .tagging import pos_tags

Lang = Literal["zh", "en", "mixed"]
AnswerType = Literal[
    "overview",
    "rank",
    "ordinal",
    "date",
    "place",
    "multiple",
    "money",
    "percent",
    "quantity",
    "list",
    "named",
    "status",
    "yesno",
    "description",
]
# the answer types whose answer is a figure of the report
FIGURE_TYPES = frozenset({"rank", "ordinal", "date", "multiple", "money", "percent", "quantity"})

_CJK = re.compile(r"[\u4e00-\u9fff]")


@dataclass(frozen=True)
class Analysis:
    """Everything later stages need to know about a question."""

    question: str  # as typed (what the answer shows)
    text: str  # normalized, typos bridged, follow-up resolved: what retrieval uses
    ask: str  # the part of ``text`` that asks
    lang: Lang
    answer_type: AnswerType
    yes_no: bool  # asked as a yes/no question (on top of its answer type)
    unit: str | None  # the measure word a figure is asked in (亿元 → 元, 公里, %)
    constraints: Constraints
    topic: tuple[str, ...]  # words naming what the question is about
    focus: tuple[str, ...] = ()  # those of them in the part that asks (the rest is context)
    # an English question's topic words grouped by the English word they render (alternatives:
    # "forest" → 林业, 森林); empty when each topic word stands for itself
    groups: tuple[tuple[str, ...], ...] = ()
    change: bool = (
        False  # asks how much a figure changed (多了多少张, 比前年涨了多少), not its level
    )
    guard: str | None = None  # "instruction" | "personal_data": not a question about the report
    asks: tuple[str, ...] = ()  # the questions of a question that asks several ("…？…？")
    followup_of: str | None = None  # the previous question, when this one was resolved by it
    replacements: tuple[Replacement, ...] = ()
    notes: tuple[str, ...] = field(default=(), compare=False)

    @property
    def english(self) -> bool:
        return self.lang == "en"

    @property
    def topic_groups(self) -> tuple[tuple[str, ...], ...]:
        """The topic as groups of alternatives, each counted once by coverage (a Chinese
        topic word is a group of its own)."""
        return self.groups or tuple((w,) for w in self.topic)

    @property
    def wants_figure(self) -> bool:
        return self.answer_type in FIGURE_TYPES


@lru_cache(maxsize=1)
def event_patterns() -> tuple[tuple[str, re.Pattern[str]], ...]:
    """What happens at a date: a work's end (opens, runs) or start (resources/events.tsv)."""
    return tuple((kind, re.compile(pattern)) for kind, pattern in tsv("events.tsv"))


def language(text: str) -> Lang:
    """English when Latin letters outnumber Chinese characters two to one; mixed when it has
    a Latin word or more among Chinese."""
    if is_english(text):
        return "en"
    text = re.sub(r"<[^>]*>", " ", text)  # markup is not language
    if re.search(r"[A-Za-z]{2,}", text) and _CJK.search(text):
        return "mixed"
    return "zh"


def answer_type(ask: str, *, subject_cues: bool = True) -> tuple[AnswerType, bool]:
    """The answer type asked for, and whether it is asked as yes/no. ``subject_cues``: also
    the cues that lie in the subject's name (覆盖率, "coverage" ask a percentage), which an
    English follow-up on a new subject leaves with the old one."""
    found: AnswerType = "description"
    for kind, pattern in answer_type_cues():
        if kind in ("yesno", "status") or (kind == "percent_noun" and not subject_cues):
            continue
        if pattern.search(ask):
            found = "percent" if kind == "percent_noun" else cast(AnswerType, kind)
            break
    cues = dict(answer_type_cues())
    # "已经多少年了" asks how many; "已经建成了吗" asks yes or no
    yes_no = bool(cues["yesno"].search(ask)) or (
        found == "description" and bool(cues["status"].search(ask))
    )
    if found == "description" and cues["status"].search(ask):
        found = "status"
    elif found == "description" and yes_no:
        found = "yesno"
    return found, yes_no


def asked_unit(ask: str, kind: AnswerType) -> str | None:
    """The measure word a figure is asked in: 多少亿元 → 元, 几个 → 个, 比例 → %, 几倍 → 倍."""
    if kind == "percent":
        return "%"
    if kind == "multiple":
        return "倍"
    if kind == "money":
        return "元"
    if kind == "quantity" and re.search(r"(?:多少|好多|(?<![这近前那过后来去])几)\s*年(?!级)", ask):
        return "年"  # how many years: a span of years (十年禁渔, 连续9年)
    units = sorted(unit_categories(), key=len, reverse=True)
    m = re.search(r"(?:多少|好多|几)\s*[万亿千]?(" + "|".join(map(re.escape, units)) + ")", ask)
    return m.group(1) if m and kind == "quantity" else None


def _is_noun(word: str) -> bool:
    """Whether jieba tags ``word`` (or a part of it) as a noun: what names a subject, where
    a verb or a number does not (完成, 多了)."""
    return any(flag.startswith("n") or flag in ("vn", "eng") for _, flag in pos_tags(word))


def _names_subject(word: str) -> bool:
    """A word that may name a subject: not a verb (新建), not a place name (乐山 is where,
    not what), by jieba's tags."""
    if re.match(r"[几哪]|多少|什么|啥", word):
        return False  # 几届: how it asks
    tags = [flag for _, flag in pos_tags(word)]
    return not any(t.startswith("v") and t != "vn" or t == "ns" for t in tags)


_OPENS_WITH_ASK = re.compile(
    r"^(?:那|那么|还有|另外)?(?:什么|啥|多少|好多|几|哪|怎么|怎样|如何|为什么|为啥|何时|比|跟|和|与)"
)


def topic_words(ask: str, tokens: Callable[[str], list[str]]) -> tuple[str, ...]:
    """Content words of the asking part (question words and one-character words dropped)."""
    qw = question_words()
    units = unit_categories()
    out = []
    # 哪两个县 / 哪3个: the count after 哪 is how it asks (县 stays), not what it asks about
    ask = re.sub(r"哪\s*[一二两三四五六七八九十\d]+\s*[个家项所座条类位名]", "哪", ask)
    for t in tokens(drop_frame_modifiers(ask)):
        if len(t) < 2 or t in qw or re.fullmatch(r"(?:19|20)\d\d|\d", t):
            continue  # a year is a constraint, not a topic word (a figure such as 3200 is)
        if _CJK.search(t) and any(t.startswith(w) or t.endswith(w) for w in ("多少", "什么")):
            continue
        if re.match(r"[哪几]", t) or t in units:  # 哪几个, 几家, 公里: how it asks, not what
            continue
        out.append(t)
    # a part that drops the head of a word (a Chinese compound's head comes last: 总产 of
    # 总产量) names something else (总产值); a part that keeps it (产量) does not
    out = [t for t in out if not any(t in u and t != u and not u.endswith(t) for u in out)]
    return tuple(dict.fromkeys(out))


@dataclass(frozen=True)
class Analyzer:
    """Builds :class:`Analysis` records with the report's vocabulary (cheap to call)."""

    tokens: Callable[[str], list[str]]  # keyword tokens (jieba search mode)
    words: Callable[[str], list[str]]  # precise segmentation (for follow-ups)
    lexicon: Lexicon | None = None
    english_groups: Callable[[str], list[tuple[str, ...]]] = lambda q: []
    corpus_has: Callable[[str], bool] = lambda w: False
    frequency: Callable[[str], int] = lambda w: 0  # a word's count in the general dictionary

    def __call__(self, question: str, history: Sequence[Turn] = ()) -> Analysis:
        lexicon = self.lexicon
        known = (lambda w: w in lexicon.corpus) if lexicon is not None else None
        text = normalize(question, known, self.words)
        replacements: tuple[Replacement, ...] = ()
        lang = language(text)
        if self.lexicon is not None and lang != "en":
            bridged, reps = self.lexicon.bridge(text, self.words, self.frequency)
            text, replacements = bridged, tuple(reps)
        g = guard(text)
        own = self._analyze(question, text, lang, g, replacements)
        if not history:
            return own
        previous = normalize(history[-1].question)
        # "什么时候完成？" / "比五年前多了多少？" open with how they ask and name no subject:
        # they ask about the last one ("就业情况怎么样？" opens with its subject)
        # (nor does one whose words are all question and time words: "以后还打算做什么？")
        subject = lang == "en" or (
            bool(own.topic)
            and (not _OPENS_WITH_ASK.match(text) or any(_is_noun(w) for w in own.topic))
        )
        resolved = resolve_followup(
            text,
            [Turn(previous, history[-1].answer)],
            self.words,
            names_nothing=not subject,
            naming=_names_subject,
        )
        if resolved == text:
            return own
        prev = self._analyze(previous, previous, language(previous), None, ())
        # (an English follow-up is resolved as "new subject: old question", which still names
        # the old subject: its subject cues are not the way of asking)
        frame = self._analyze(question, resolved, lang, g, replacements, subject_cues=lang != "en")
        # a follow-up asks its own way, or the way the previous question asked of its new
        # topic (那森林蓄积量呢 after 森林覆盖率…多少 asks a quantity, not a percentage: the cue
        # 覆盖率 went with the old topic); a unit only when it names one itself (那城乡居民收入
        # 呢 after …多少人 asks no 人)
        kind = own.answer_type if own.answer_type != "description" else frame.answer_type
        topic = (
            own.topic
            if subject
            else prev.topic + tuple(w for w in own.topic if w not in prev.topic)
        )
        focus = (
            own.focus
            if subject
            else prev.focus + tuple(w for w in own.focus if w not in prev.focus)
        )
        return replace(
            frame,
            answer_type=kind,
            yes_no=own.yes_no,
            unit=own.unit if own.answer_type != "description" else None,
            change=own.change,
            asks=own.asks,
            constraints=_merge(own.constraints, prev.constraints),
            topic=topic or prev.topic,
            focus=focus or prev.focus,
            groups=own.groups if own.topic else prev.groups,
            followup_of=history[-1].question,
            notes=(f"follow-up resolved as: {resolved}",),
        )

    def _analyze(
        self,
        question: str,
        text: str,
        lang: Lang,
        g: str | None,
        replacements: tuple[Replacement, ...],
        *,
        subject_cues: bool = True,
    ) -> Analysis:
        ask = asking_part(text) if lang != "en" else text
        kind, yes_no = answer_type(ask, subject_cues=subject_cues)
        groups: tuple[tuple[str, ...], ...] = ()
        if lang == "en":  # the report's words for its English words, and any Chinese ones
            own = tuple(w for w in topic_words(text, self.tokens) if _CJK.search(w) or w.isdigit())
            if self.lexicon is not None:  # names spelt in pinyin (the Luting port → 鹭汀)
                own += tuple(w for w in self.lexicon.pinyin_names(text) if w not in own)
            rendered = self.english_groups(text)
            groups = tuple((w,) for w in own) + tuple(rendered)
            topic = focus = tuple(dict.fromkeys((*own, *(t for alt in rendered for t in alt))))
        else:
            # the asking part's words first, then those of the situation told before it
            focus = topic_words(ask, self.tokens)
            topic = focus + tuple(w for w in topic_words(text, self.tokens) if w not in focus)
            if lang == "mixed":  # the English words of a mixed question, in the report's words
                # (those of the part that asks name what is asked, as its Chinese words do)
                asked = [t for alt in self.english_groups(ask) for t in alt]
                focus += tuple(t for t in dict.fromkeys(asked) if t not in focus)
                terms = [t for alt in self.english_groups(text) for t in alt]
                topic = focus + tuple(t for t in dict.fromkeys((*topic, *terms)) if t not in focus)
        notes = tuple(f"read “{r.original}” as “{r.replacement}”" for r in replacements)
        return Analysis(
            question=question,
            text=text,
            ask=ask,
            asks=asks_of(text) if lang != "en" else (),
            lang=lang,
            answer_type=kind,
            yes_no=yes_no,
            unit=asked_unit(ask, kind),
            change=bool(cue("asked_change").search(ask)),
            constraints=constraints(text, ask, self.corpus_has, self.words),
            topic=topic,
            focus=focus,
            groups=groups,
            guard=g,
            replacements=replacements,
            notes=notes,
        )

    def _ask_constraints(self, text: str, ask: str) -> Constraints:
        """One question's constraints: the time it states itself ("去年是多少？今年要到多少？":
        the second asks this year's), else the time of the whole question."""
        whole = constraints(text, ask, self.corpus_has, self.words)
        own = constraints(ask, ask, self.corpus_has, self.words)
        if own.year is None and own.relative_year is None:
            return whole
        return replace(whole, year=own.year, relative_year=own.relative_year)

    def for_ask(self, a: Analysis, ask: str) -> Analysis:
        """``a`` narrowed to one of its questions (its answer type, unit, focus and
        constraints), keeping the whole question's topic for what it leaves unsaid."""
        kind, yes_no = answer_type(ask)
        focus = topic_words(ask, self.tokens)
        earlier = a.asks[: a.asks.index(ask)] if ask in a.asks else ()
        if earlier and not focus:
            # one that names nothing asks of the last one's subject, the way it asked when it
            # asks only how much ("一网通办的实现率去年是多少？今年要到多少？")
            last = self.for_ask(replace(a, asks=earlier), earlier[-1])
            focus = last.focus
            if kind == "quantity" and last.wants_figure:
                kind = last.answer_type
        # a later question of a sentence speaks of what the earlier ones named (a topic
        # chain: "光伏产业往哪个方向发展，规模目标有多大" asks the size of 光伏产业)
        for e in earlier:
            if not re.search(r"[?？]\s*$", e):
                focus += tuple(w for w in topic_words(e, self.tokens) if w not in focus)
        return replace(
            a,
            ask=ask,
            asks=(),
            answer_type=kind,
            yes_no=yes_no,
            unit=asked_unit(ask, kind),
            change=bool(cue("asked_change").search(ask)),
            constraints=self._ask_constraints(a.text, ask),
            focus=focus,
            topic=focus + tuple(w for w in a.topic if w not in focus),
        )


def _merge(own: Constraints, prev: Constraints) -> Constraints:
    """A follow-up's constraints: its own, else those of the turn it follows."""
    return Constraints(
        year=own.year or prev.year,
        relative_year=own.relative_year if own.relative_year is not None else prev.relative_year,
        scope=own.scope or prev.scope,
        places=own.places or prev.places,
        status=own.status or prev.status,
    )
