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

from .answer import compose, render
from .config import Settings
from .conversation import Turn, resolve_followup
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
    _retriever: Retriever | None = field(default=None, repr=False)

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
    def retriever(self) -> Retriever:
        if self._retriever is None:
            raise RuntimeError("Pipeline.load() must be called first")
        return self._retriever

    def search(
        self, question: str, *, top_k: int | None = None, mode: Mode | None = None
    ) -> SearchResult:
        return self.retriever.search(question, top_k=top_k, mode=mode)

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
        retriever = self.retriever
        assert self.embedder is not None and self.index is not None
        q = validate_question(question, self.settings.max_question_chars)
        notes: list[str] = []
        query = q
        if history:
            assert retriever.keyword is not None
            query = resolve_followup(q, history, retriever.keyword.tokenizer.words)
            if query != q:
                notes.append(f"follow-up resolved as: {query}")
        result = retriever.search(query, top_k=top_k, mode=mode)
        tc = time.perf_counter()
        comp = compose(
            query,
            result.hits[: self.settings.compose_hits],
            self.index,
            query_vector=result.query_vector,
            tokenizer=retriever.keyword.tokenizer if retriever.keyword else None,
            refuse_below=self.settings.refuse_below,
            refuse_below_en=self.settings.refuse_below_en,
            english_terms=retriever.english_terms(query),
        )
        if comp.refused and comp.refusal_reason:
            notes.append(f"refused: {comp.refusal_reason}")
        text = render(q, comp, result.hits)
        compose_ms = (time.perf_counter() - tc) * 1000
        timings = {
            "embed_ms": result.embed_ms,
            "search_ms": result.search_ms,
            "compose_ms": compose_ms,
        }
        if self.settings.llm_base_url and not comp.refused and comp.citations:
            tl = time.perf_counter()
            llm_text, llm_notes = llm_answer(self.settings, query, comp.citations)
            if llm_text is not None:
                # the LLM's checked text, then the same quote list the extractive answer
                # shows (rendered without a direct answer, the lead is one fixed line)
                quotes = render(q, replace(comp, direct_answer=""), result.hits)
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
            hits=result.hits,
            engine=self.embedder.engine,
            model=self.embedder.model_id,
            index_version=self.index.version,
            latency_ms=(time.perf_counter() - t0) * 1000,
            timings=timings,
            notes=tuple(notes),
            status="refused" if comp.refused else "answered",
            reason=(
                ("no_passages" if comp.refusal_reason == "no passages" else "not_in_report")
                if comp.refused
                else "evidence_found"
            ),
        )
