"""Part-of-speech tags of Chinese text (jieba), remembered. A leaf module: question analysis
and the span finders both read tags, and neither may import the other's stage for it."""

from __future__ import annotations

from functools import lru_cache


@lru_cache(maxsize=8192)
def pos_tags(text: str) -> tuple[tuple[str, str], ...]:
    """jieba's words and part-of-speech tags of ``text``, remembered: the report's sentences
    come back question after question, and tagging is the slow part of reading them."""
    import jieba.posseg

    return tuple((p.word, p.flag) for p in jieba.posseg.lcut(text))
