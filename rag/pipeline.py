"""The answering pipeline: one object the CLI, the API and ``rag eval`` all call.

Construction is cheap; :meth:`Pipeline.load` loads the model and the index (building
the index when it is missing or stale).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from .config import Settings
from .retrieval import Mode, Retriever
from .types import Answer, SearchResult

if TYPE_CHECKING:
    from .embedding import Embedder
    from .index import Index

log = logging.getLogger(__name__)


@dataclass
class Turn:
    """One earlier exchange of a conversation (for follow-up questions)."""

    question: str
    answer: str = ""


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
        """Retrieve passages and compose a cited answer."""
        t0 = time.perf_counter()
        result = self.search(question, top_k=top_k, mode=mode)
        assert self.embedder is not None and self.index is not None
        total = (time.perf_counter() - t0) * 1000
        return Answer(
            question=result.question,
            answer="",
            direct_answer="",
            refused=False,
            citations=(),
            hits=result.hits,
            engine=self.embedder.engine,
            model=self.embedder.model_id,
            index_version=self.index.version,
            latency_ms=total,
            timings={"embed_ms": result.embed_ms, "search_ms": result.search_ms, "compose_ms": 0.0},
        )
