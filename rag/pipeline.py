"""The answering pipeline: one object the CLI, the API and ``rag eval`` all call.

Construction is cheap; :meth:`Pipeline.load` loads the model and the index (building
the index when it is missing or stale).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING

from .answer import RULES, Analysis, AnswerContext, Composition, Rules, compose, render
from .config import Settings
from .conversation import Turn
from .llm import llm_answer
from .retrieval import Mode, Retriever, validate_question
from .types import Answer, SearchResult

if TYPE_CHECKING:
    from .embedding import Embedder
    from .index import Index

log = logging.getLogger(__name__)


@dataclass
class Pipeline:
    settings: Settings
    embedder: Embedder | None = None
    index: Index | None = None
    rules: Rules = RULES
    _retriever: Retriever | None = field(default=None, repr=False)
    _context: AnswerContext | None = field(default=None, repr=False)

    def load(self, *, show_progress: bool = False) -> Pipeline:
        """Load the embedder and the index (heavy; call once, e.g. in the app's lifespan)."""
        t0 = time.perf_counter()
        if self.embedder is None:
            from .embedding import load_embedder

            self.embedder = load_embedder(self.settings)
            if self.settings.query_batching:
                from .batching import BatchingEmbedder

                self.embedder = BatchingEmbedder(
                    self.embedder,
                    max_batch=self.settings.query_batch_max,
                    cache_size=self.settings.query_cache_size,
                )
        if self.index is None:
            from .index import ensure_index

            self.index = ensure_index(self.settings, self.embedder, show_progress=show_progress)
        self._retriever = Retriever(
            index=self.index, embedder=self.embedder, settings=self.settings
        ).warm_up()
        assert self._retriever.keyword is not None and self._retriever.glossary is not None
        self._context = AnswerContext.build(
            self.index,
            self._retriever.keyword,
            english_terms=self._retriever.glossary.terms,
            english_words=self._retriever.glossary.entries,
        )
        log.info(
            "pipeline ready in %.1fs: %s (%s), index %s, %d chunks",
            time.perf_counter() - t0,
            self.embedder.model_id,
            self.embedder.engine,
            self.index.version,
            len(self.index.chunks),
        )
        return self

    @property
    def context(self) -> AnswerContext:
        if self._context is None:
            raise RuntimeError("Pipeline.load() must be called first")
        return self._context

    @property
    def retriever(self) -> Retriever:
        if self._retriever is None:
            raise RuntimeError("Pipeline.load() must be called first")
        return self._retriever

    def search(
        self, question: str, *, top_k: int | None = None, mode: Mode | None = None
    ) -> SearchResult:
        return self.retriever.search(question, top_k=top_k, mode=mode)

    def explain(
        self,
        question: str,
        *,
        history: Sequence[Turn] = (),
        top_k: int | None = None,
        mode: Mode | None = None,
    ) -> tuple[Analysis, SearchResult, Composition, float]:
        """The stages of an answer: the question's analysis, the retrieved passages and the
        composition (and when composition started, for the timings)."""
        analysis = self.context.analyzer(question, history)
        k = self.settings.top_k if top_k is None else top_k
        result = self.retriever.search(
            analysis.text, top_k=max(k, self.rules.pool_hits_wide), mode=mode
        )
        tc = time.perf_counter()
        comp = compose(
            analysis, result.hits, self.context, query_vector=result.query_vector, rules=self.rules
        )
        return analysis, result, comp, tc

    def answer(
        self,
        question: str,
        *,
        history: Sequence[Turn] = (),
        top_k: int | None = None,
        mode: Mode | None = None,
    ) -> Answer:
        """Retrieve passages and compose a cited answer (see :mod:`rag.answer`); with
        ``llm_base_url`` set, an LLM rewrites it from the citations (see :mod:`rag.llm`)."""
        t0 = time.perf_counter()
        assert self.embedder is not None and self.index is not None
        q = validate_question(question, self.settings.max_question_chars)
        k = self.settings.top_k if top_k is None else top_k
        analysis, result, comp, tc = self.explain(q, history=history, top_k=k, mode=mode)
        notes: list[str] = list(analysis.notes)
        notes += [n for n in comp.notes if n not in notes]
        if comp.refused:
            notes.append(f"refused: {comp.reason}")
        text = render(comp, result.hits)
        compose_ms = (time.perf_counter() - tc) * 1000
        timings = {
            "embed_ms": result.embed_ms,
            "search_ms": result.search_ms,
            "compose_ms": compose_ms,
        }
        if self.settings.llm_base_url and comp.status == "answered" and comp.citations:
            tl = time.perf_counter()
            llm_text, llm_notes = llm_answer(self.settings, analysis.text, comp.citations)
            if llm_text is not None:
                # the LLM's checked text, then the same quote list the extractive answer
                # shows (rendered without a direct answer, the lead is one fixed line)
                quotes = render(replace(comp, direct_answer=""), result.hits)
                text = llm_text + "\n\n" + quotes.partition("\n\n")[2]
                notes.append("answer written by LLM (checked against citations)")
            notes.extend(llm_notes)
            timings["llm_ms"] = (time.perf_counter() - tl) * 1000
        return Answer(
            question=q,
            answer=text,
            direct_answer=comp.direct_answer,
            refused=comp.refused,
            citations=comp.citations,
            hits=result.hits[:k],
            engine=self.embedder.engine,
            model=self.embedder.model_id,
            index_version=self.index.version,
            latency_ms=(time.perf_counter() - t0) * 1000,
            timings=timings,
            notes=tuple(notes),
            status=comp.status,
            reason=comp.reason,
        )
