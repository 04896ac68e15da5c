"""Input as people type it: width, script, spacing, homophone typos and pinyin words.

:func:`normalize` folds full-width forms (NFKC: "３２００" → "3200", "ＧＤＰ" → "GDP"), turns
traditional characters into simplified ones with OpenCC (``t2s``; when the question held
traditional characters, ``tw2sp`` as well, so that Taiwan wording such as 數位 / 資訊 becomes
数字 / 信息), drops emoji and zero-width characters and the spaces between Chinese characters.

:class:`Lexicon` bridges what is left to the report's own vocabulary, by sound: the report's
words are indexed by their toneless pinyin (``pypinyin``), so

- a same-sounding wrong character ("森林复盖率", "就叶", "比列") becomes the report's word when
  the replacement makes a longer stretch of the question occur verbatim in the report — the
  report itself is the language model that tells a typo from a word;
- a word typed in pinyin ("senlin覆盖率", "jiuye") becomes the report's word with that pinyin
  (only for Latin words that are not English words).

Only analysis and retrieval see the bridged text; quotes are always the report's own text.
"""

from __future__ import annotations

import re
import unicodedata
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from functools import lru_cache

from ..crosslingual import abbreviations as abbreviation_terms

_CJK = re.compile(r"[\u4e00-\u9fff]")
_CJK_RUN = re.compile(r"[\u4e00-\u9fff]+")
_LATIN_WORD = re.compile(r"[A-Za-z]+")
_SPACE_BETWEEN_CJK = re.compile(r"(?<=[\u4e00-\u9fff\d%])\s+(?=[\u4e00-\u9fff\d])")
JIEBA_TOTAL = 60_101_967  # the sum of the counts in jieba 0.42.1's dictionary (pinned)
MAX_WORD = 4  # longest window tried for a homophone
RARE_WORD = 5  # a word the general dictionary counts at most this often may be a typo


@lru_cache(maxsize=4)
def _opencc(config: str):  # type: ignore[no-untyped-def]
    import opencc

    return opencc.OpenCC(config)


def to_simplified(
    text: str,
    known: Callable[[str], bool] | None = None,
    segment: Callable[[str], list[str]] | None = None,
) -> str:
    """Traditional → simplified characters (OpenCC ``t2s``). When the text had traditional
    characters and the report's vocabulary is given (``known``, with ``segment`` to cut
    words), Taiwan wording becomes mainland wording too (``tw2sp``: 數位 → 数字, 資訊 → 信息),
    word by word, only where the report knows the mainland word and not the character-converted
    one: ``tw2sp`` also rewrites words both sides use (新增 → 添加), and those stay."""
    simple = _opencc("t2s").convert(text)
    if simple == text or known is None:
        return simple
    regional = _opencc("tw2sp").convert(text)
    if regional == simple or len(regional) != len(simple):
        return simple
    out, at = [], 0
    for word in (segment or list)(regional):
        i = regional.find(word, at)
        if i < 0:
            continue
        out.append(simple[at:i])
        plain = simple[i : i + len(word)]
        out.append(word if word != plain and known(word) and not known(plain) else plain)
        at = i + len(word)
    out.append(simple[at:])
    return "".join(out)


def _keep(ch: str) -> bool:
    cat = unicodedata.category(ch)
    return not (cat in ("So", "Cs", "Co", "Cn") or cat == "Cf")


def normalize(
    text: str,
    known: Callable[[str], bool] | None = None,
    segment: Callable[[str], list[str]] | None = None,
) -> str:
    """Width, script and spacing normalized (see the module docstring); ``known`` and
    ``segment`` give the report's words, for regional wording (see :func:`to_simplified`)."""
    t = unicodedata.normalize("NFKC", text)
    t = "".join(ch for ch in t if _keep(ch))
    t = to_simplified(t, known, segment)
    t = re.sub(r"\s+", " ", t)
    t = _SPACE_BETWEEN_CJK.sub("", t)
    return t.strip()


def pinyin_key(word: str) -> str:
    """Toneless pinyin of a word, syllables joined: 覆盖率 → fugailv."""
    from pypinyin import lazy_pinyin

    return "".join(lazy_pinyin(word))


_FUZZY = ((re.compile(r"^([zcs])h"), r"\1"),)


def _likely_typo(typed: str, word: str, frequency: Callable[[str], int]) -> bool:
    """Whether a run of one-character words (就/叶) is more likely a mistyped ``word`` (就业)
    than the words it is: a homophone typo changes one character of a word, and the word is
    more common than the characters side by side would be if independent (我/是 is 我是, not
    我市; 路/还 is not 陆海, two characters apart). Counts are jieba's general dictionary."""
    if sum(a != b for a, b in zip(typed, word, strict=True)) != 1:
        return False
    together = 1.0
    for ch in typed:
        together *= max(frequency(ch), 1) / JIEBA_TOTAL
    return frequency(word) / JIEBA_TOTAL > together


def sound_key(word: str) -> str:
    """Pinyin with the distinction many speakers (and their typing) merge: zh/z, ch/c, sh/s
    (高束 and 高速 sound alike: gaosu)."""
    from pypinyin import lazy_pinyin

    out = []
    for syllable in lazy_pinyin(word):
        for pattern, repl in _FUZZY:
            syllable = pattern.sub(repl, syllable)
        out.append(syllable)
    return "".join(out)


@dataclass(frozen=True)
class Replacement:
    original: str
    replacement: str
    why: str  # "homophone" | "pinyin" | "abbreviation"


@dataclass
class Lexicon:
    """The report's words by their pinyin, and the report's text to check context against."""

    corpus: str
    words: Counter[str]
    by_sound: dict[tuple[int, str], list[str]] = field(default_factory=dict)
    by_pinyin: dict[str, list[str]] = field(default_factory=dict)
    english: frozenset[str] = frozenset()  # Latin words that are English, never pinyin
    abbreviations: dict[str, str] = field(default_factory=dict)  # "gdp" → 经济总量

    @classmethod
    def build(
        cls,
        texts: Iterable[str],
        segment: Callable[[str], list[str]],
        *,
        english: Iterable[str] = (),
    ) -> Lexicon:
        texts = list(texts)
        words: Counter[str] = Counter()
        for t in texts:
            words.update(w for w in segment(t) if 2 <= len(w) <= MAX_WORD and _CJK.fullmatch(w[0]))
        words = Counter({w: n for w, n in words.items() if _CJK_RUN.fullmatch(w)})
        by_sound: dict[tuple[int, str], list[str]] = {}
        by_pinyin: dict[str, list[str]] = {}
        for w, _ in words.most_common():
            by_sound.setdefault((len(w), sound_key(w)), []).append(w)
            by_pinyin.setdefault(pinyin_key(w), []).append(w)
        corpus = "\n".join(texts)
        # an abbreviation is read as the report's own word for it (GDP → 经济总量), the one
        # it uses most when it uses several
        abbreviations = {
            word: max(sorted(terms), key=corpus.count)
            for word, terms in abbreviation_terms(corpus).items()
        }
        return cls(corpus, words, by_sound, by_pinyin, frozenset(english), abbreviations)

    def context(self, text: str, i: int, j: int) -> int:
        """Length of the longest stretch of ``text`` around ``[i, j)`` that occurs verbatim in
        the report (0 when ``text[i:j]`` itself does not)."""
        if text[i:j] not in self.corpus:
            return 0
        best = j - i
        for a in range(i, max(-1, i - 6), -1):
            if text[a:j] not in self.corpus:
                break
            for b in range(j, min(len(text), j + 6) + 1):
                if text[a:b] not in self.corpus:
                    break
                best = max(best, b - a)
        return best

    def _homophone(self, text: str, i: int, length: int, strict: bool) -> str | None:
        """The report's word that sounds like ``text[i:i+length]`` and fits the context: it
        must occur in the report joined to a neighbouring character of the question
        (``strict``), or at least as itself."""
        window = text[i : i + length]
        if not _CJK_RUN.fullmatch(window) or window in self.corpus:
            return None
        best: tuple[int, str] | None = None
        for cand in self.by_sound.get((length, sound_key(window)), []):
            fixed = text[:i] + cand + text[i + length :]
            ctx = self.context(fixed, i, i + length)
            if ctx >= length + (1 if strict else 0) and (best is None or ctx > best[0]):
                best = (ctx, cand)
        return best[1] if best else None

    def pinyin_names(self, text: str) -> list[str]:
        """The report's words that the Latin words of an English question spell in pinyin
        ("the Luting port" → 鹭汀, "Mount Emei" → 峨眉): names, which no dictionary renders.
        A word of four letters or more that is not an English word, as for :meth:`bridge`."""
        out = []
        for m in _LATIN_WORD.finditer(text):
            token = m.group(0).lower()
            word = None if token in self.abbreviations else self._pinyin_word(token)
            if word:
                out.append(word)
        return list(dict.fromkeys(out))

    def _pinyin_word(self, token: str) -> str | None:
        """The report's word a lower-case Latin token spells in pinyin: four letters or more,
        not an English word."""
        if len(token) < 4 or token in self.english:
            return None
        words = self.by_pinyin.get(token)
        return words[0] if words else None

    def bridge(
        self, text: str, tokens: Callable[[str], list[str]], frequency: Callable[[str], int]
    ) -> tuple[str, list[Replacement]]:
        """``text`` with homophone typos and pinyin words replaced by the report's words.

        ``tokens`` segments the question (jieba, precise mode) and ``frequency`` gives a word's
        count in the general dictionary. A typo is looked for only where the segmenter found
        no common word: a run of one-character tokens (就/叶, 高/束) or rare ones (复盖), never
        across a common word (乐山/是 is not 乐山市). A run of single characters needs the
        replacement to occur in the report; a rare word needs it joined to its context."""
        out: list[Replacement] = []
        for m in reversed(list(_LATIN_WORD.finditer(text))):
            token = m.group(0).lower()
            if token in self.abbreviations:
                word = self.abbreviations[token]
                out.append(Replacement(m.group(0), word, "abbreviation"))
                text = text[: m.start()] + word + text[m.end() :]
                continue
            spelt = self._pinyin_word(token)
            if spelt:
                out.append(Replacement(m.group(0), spelt, "pinyin"))
                text = text[: m.start()] + spelt + text[m.end() :]
        spans, pos = [], 0
        for tok in tokens(text):
            at = text.find(tok, pos)
            if at < 0:
                continue
            spans.append((at, at + len(tok), tok))
            pos = at + len(tok)
        k = 0
        while k < len(spans):
            done = False
            for n in range(min(MAX_WORD, len(spans) - k), 0, -1):
                group = spans[k : k + n]
                start, end = group[0][0], group[-1][1]
                if any(b[0] != a[1] for a, b in zip(group, group[1:], strict=False)):
                    continue  # not contiguous (spaces, punctuation)
                if not 2 <= end - start <= MAX_WORD:
                    continue
                rare = [t for _, _, t in group if len(t) > 1]
                if any(frequency(t) > RARE_WORD for t in rare):
                    continue
                if n == 1 and not rare:
                    continue
                whole = frequency(text[start:end])  # 建+在 is the word 建在, if a rare one
                if whole > RARE_WORD:
                    continue
                strict = bool(rare) or whole > 0
                cand = self._homophone(text, start, end - start, strict=strict)
                if cand is None:
                    continue
                if not rare and not _likely_typo(text[start:end], cand, frequency):
                    continue
                out.append(Replacement(text[start:end], cand, "homophone"))
                text = text[:start] + cand + text[end:]
                k += n
                done = True
                break
            if not done:
                k += 1
        return text, out
