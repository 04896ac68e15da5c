"""Small text checks shared by retrieval, the LLM check and evaluation (the question analysis
proper lives in :mod:`rag.answer.analysis`)."""

from __future__ import annotations

import re
from collections.abc import Sequence
from difflib import SequenceMatcher

_LATIN = re.compile(r"[A-Za-z]")
_CJK = re.compile(r"[\u4e00-\u9fff]")
DIGITS = re.compile(r"\d+(?:\.\d+)?")


def is_english(question: str) -> bool:
    """Latin letters outnumber Chinese characters two to one (markup is not language)."""
    text = re.sub(r"<[^>]*>", " ", question)
    return len(_LATIN.findall(text)) > 2 * len(_CJK.findall(text))


def longest_run(part: str, whole: str) -> int:
    """Length of the longest run of ``part``'s characters that occurs in ``whole``."""
    matcher = SequenceMatcher(None, part, whole, autojunk=False)
    return matcher.find_longest_match(0, len(part), 0, len(whole)).size


def unsupported_figures(text: str, quotes: Sequence[str]) -> list[str]:
    """Digit groups in ``text`` that occur in none of ``quotes`` (the figure check)."""
    joined = "\n".join(quotes)
    return [d for d in DIGITS.findall(text) if d not in joined]
