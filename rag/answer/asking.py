"""The part of a question that asks: the sentence and clauses that ask (a long question
tells the resident's situation first), the questions of a question that asks several, and the
words of how it asks (question words, the frame's modifiers) as resource files."""

from __future__ import annotations

import re
from functools import lru_cache
from importlib import resources

from .cues import cue, tsv

_CLAUSE_SPLIT = re.compile(r"[,，;；:：]")
_ASK_CLAUSE_SPLIT = re.compile(r"(?<=[,，、;；])")
_SENTENCE_SPLIT = re.compile(r"(?<=[。!！?？])")
_ASK_START = cue("ask_start")


@lru_cache(maxsize=1)
def answer_type_cues() -> tuple[tuple[str, re.Pattern[str]], ...]:
    """(answer type, cue) rows in order; ``percent_noun`` is a percentage cued by the subject."""
    return tuple((kind, re.compile(pattern, re.I)) for kind, pattern in tsv("answer_types.tsv"))


def _word_list(name: str) -> list[str]:
    """The words of ``resources/<name>`` (several a line; ``#`` lines are comments)."""
    text = resources.files("rag").joinpath(f"resources/{name}").read_text("utf-8")
    return [w for line in text.splitlines() if not line.startswith("#") for w in line.split()]


@lru_cache(maxsize=1)
def question_words() -> frozenset[str]:
    return frozenset(_word_list("question_words.txt"))


@lru_cache(maxsize=1)
def frame_modifiers() -> tuple[str, ...]:
    return tuple(sorted(_word_list("frame_modifiers.txt"), key=len, reverse=True))


@lru_cache(maxsize=1)
def _frame_modifier_pattern() -> re.Pattern[str]:
    """A modifier of frame_modifiers.txt right before a word of question_words.txt."""
    frame = sorted((w for w in question_words() if len(w) >= 2), key=len, reverse=True)
    mods = "|".join(map(re.escape, frame_modifiers()))
    return re.compile(f"(?:{mods})(?=(?:{'|'.join(map(re.escape, frame))}))")


def drop_frame_modifiers(ask: str) -> str:
    """``ask`` without the modifiers of its frame: 主要 of 有哪些主要打算 (a word of
    question_words.txt follows it), not 主要 of 主要目标."""
    return _frame_modifier_pattern().sub("", ask)


def asks_of(text: str) -> tuple[str, ...]:
    """The questions of a text that asks two or more in a row ("什么时候开始用的？多了多少张
    病床？"), in order; empty when it asks one."""
    sentences = [s.strip() for s in _SENTENCE_SPLIT.split(text) if re.search(r"[\w]", s)]
    tail: list[str] = []
    for s in reversed(sentences):
        if not re.search(r"[?？]\s*$", s):
            break
        tail.insert(0, s)
    if len(tail) >= 2:
        return tuple(tail)
    if not tail:
        return ()
    # one sentence that asks in two clauses, each with its own question word ("改了多少个
    # 小区，装了多少部电梯？"): a clause that asks nothing goes with the next one that asks
    parts, pending = [], ""
    for piece in _ASK_CLAUSE_SPLIT.split(tail[0]):
        pending += piece
        if _is_question(piece.rstrip("?？ ")) or re.search(r"[?？]\s*$", piece):
            parts.append(pending.strip(" ，,、;；"))
            pending = ""
    if pending.strip(" ，,、;；?？"):
        parts[-1:] = [parts[-1] + pending] if parts else []
    asking = [p for p in parts if _is_question(p.rstrip("?？ "))]
    return tuple(parts) if len(parts) >= 2 and len(asking) == len(parts) else ()


def asking_part(text: str) -> str:
    """The part of a (long) question that asks: in its last sentence, from the first clause
    that holds a question cue (or an "I'd like to know" opener) to the end."""
    sentences = [s for s in _SENTENCE_SPLIT.split(text) if re.search(r"[\w\u4e00-\u9fff]", s)]
    if not sentences:
        return text
    # the last sentence that asks (a closing "谢谢。" asks nothing)
    asking = [s for s in sentences if _is_question(s)]
    # a closing request that names nothing ("…有哪些？大概说说。") frames the question before it
    while len(asking) > 1 and _frame_only(asking[-1]):
        asking.pop()
    last = asking[-1] if asking else sentences[-1]
    clauses = [c for c in _CLAUSE_SPLIT.split(last) if c.strip()]
    for i, clause in enumerate(clauses):
        if _ASK_START.search(clause) or _is_question(clause):
            return "，".join(c.strip() for c in clauses[i:])
    return last.strip()


def _frame_only(sentence: str) -> bool:
    """Whether a sentence is only words of how a question asks (大概说说, 详细讲讲一下)."""
    rest = re.sub(r"[\W\d_]+", "", sentence)
    for w in sorted(question_words(), key=len, reverse=True):
        rest = rest.replace(w, "")
    return not re.sub(r"[请再简单详细大概些吧呀啊哦]", "", rest)


def _is_question(text: str) -> bool:
    return bool(re.search(r"[?？]\s*$", text)) or any(p.search(text) for _, p in answer_type_cues())
