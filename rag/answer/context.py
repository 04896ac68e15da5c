"""What the answer layer knows about the indexed documents, built once per index.

:class:`AnswerContext` holds the question analyzer (with the report's vocabulary for typo
bridging), the IDF of the keyword channel, each document's outline, and a lookup from clause
offsets to the clause vectors stored in the index. Building it is cheap (≈ 1 s for a report,
dominated by pinyin of its words) and happens in :meth:`rag.pipeline.Pipeline.load`.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from .analysis import Analyzer
from .normalize import Lexicon
from .outline import Point, build_outline

if TYPE_CHECKING:
    from ..index import Index
    from ..keyword import KeywordIndex


@dataclass
class AnswerContext:
    index: Index
    analyzer: Analyzer
    idf: Callable[[str], float]
    outlines: dict[str, Point] = field(default_factory=dict)
    clause_rows: dict[tuple[str, int], int] = field(default_factory=dict)
    sentence_rows: dict[tuple[str, int], int] = field(default_factory=dict)
    build_ms: float = 0.0
    _uses: dict[str, int] = field(default_factory=dict, repr=False)

    @classmethod
    def build(
        cls,
        index: Index,
        keyword: KeywordIndex,
        english_groups: Callable[[str], list[tuple[str, ...]]] = lambda q: [],
        english_words: Iterable[str] = (),
    ) -> AnswerContext:
        t0 = time.perf_counter()
        tok = keyword.tokenizer
        texts = [d.text for d in index.documents.values()]
        corpus = "\n".join(texts)
        # words and their parts (search mode: 高速公路 gives 高速 and 公路 too)
        lexicon = Lexicon.build(texts, lambda t: tok.words(t) + tok(t), english=english_words)
        n_par = sum(len(d.paragraphs) for d in index.documents.values()) or 1

        def specific(word: str) -> bool:
            """In the report, but not in most of its paragraphs (a sub-place, not the city)."""
            if word not in corpus:
                return False
            stem = word[:-1] if len(word) > 2 else word
            hits = sum(
                stem in d.text[p.start : p.end]
                for d in index.documents.values()
                for p in d.paragraphs
            )
            return hits / n_par < 0.2

        analyzer = Analyzer(
            tokens=tok,
            words=tok.words,
            lexicon=lexicon,
            english_groups=english_groups,
            corpus_has=specific,
            frequency=tok.frequency,
        )
        chunk_doc = [c.doc_id for c in index.chunks]
        sents = index.sentences
        sentence_rows = {
            (chunk_doc[int(c)], int(s)): j
            for j, (c, s) in enumerate(zip(sents.chunk, sents.start, strict=True))
        }
        clause_rows = {
            (chunk_doc[int(sents.chunk[int(j)])], int(s)): k
            for k, (j, s) in enumerate(zip(sents.clause_sentence, sents.clause_start, strict=True))
        }
        ctx = cls(
            index=index,
            analyzer=analyzer,
            idf=keyword.idf,
            outlines={d.doc_id: build_outline(d) for d in index.documents.values()},
            clause_rows=clause_rows,
            sentence_rows=sentence_rows,
        )
        import jieba.posseg

        jieba.posseg.lcut("预热")  # its tagger loads on first use: not on the first question
        ctx.build_ms = (time.perf_counter() - t0) * 1000
        return ctx

    def uses(self, word: str) -> int:
        """How many times the indexed documents use ``word``."""
        if word not in self._uses:
            lexicon = self.analyzer.lexicon
            self._uses[word] = lexicon.corpus.count(word) if lexicon is not None else 0
        return self._uses[word]

    def in_report(self, text: str) -> bool:
        """Whether ``text`` occurs in the indexed documents."""
        lexicon = self.analyzer.lexicon
        return lexicon is not None and text in lexicon.corpus

    def clause_cos(self, doc_id: str, start: int, query_vector: np.ndarray | None) -> float:
        """The model's cosine between the question and the clause stored at ``start``."""
        k = self.clause_rows.get((doc_id, start))
        if k is None or query_vector is None:
            return 0.0
        return float(self.index.sentences.clause_vectors[k] @ np.ravel(query_vector))

    def sentence_cos(self, doc_id: str, start: int, query_vector: np.ndarray | None) -> float:
        j = self.sentence_rows.get((doc_id, start))
        if j is None or query_vector is None:
            return 0.0
        return float(self.index.sentences.vectors[j] @ np.ravel(query_vector))
