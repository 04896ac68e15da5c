"""The answering pipeline: one object the CLI, the API and ``rag eval`` all call.

Construction is cheap; :meth:`Pipeline.load` loads the model and the index (building
the index when it is missing or stale).
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING

from .answer import RULES, Analysis, AnswerContext, Composition, Rules, compose, render
from .answer.compose import merge, refusal
from .answer.documents import (
    cities_named,
    comparison,
    named_in,
    report_not_held,
    scope_filter,
)
from .config import Settings
from .conversation import Turn
from .llm import llm_answer
from .retrieval import Mode, Retriever, validate_question
from .types import Answer, DocFilter, SearchResult, place_key

if TYPE_CHECKING:
    from .embedding import Embedder
    from .index import Index

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Stages:
    """What :meth:`Pipeline.explain` computed for one question."""

    analysis: Analysis
    result: SearchResult
    composition: Composition
    index: Index
    t: float  # when composition started (perf_counter), for the timings


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
        self._retriever, self._context = self._serving(self.index)
        log.info(
            "pipeline ready in %.1fs: %s (%s), index %s, %d chunks",
            time.perf_counter() - t0,
            self.embedder.model_id,
            self.embedder.engine,
            self.index.version,
            len(self.index.chunks),
        )
        return self

    def _serving(self, index: Index) -> tuple[Retriever, AnswerContext]:
        """The retriever and the answer context over ``index`` (built before being swapped in)."""
        assert self.embedder is not None
        retriever = Retriever(index=index, embedder=self.embedder, settings=self.settings).warm_up()
        assert retriever.keyword is not None and retriever.glossary is not None
        context = AnswerContext.build(
            index,
            retriever.keyword,
            english_groups=retriever.glossary.groups,
            english_words=retriever.glossary.entries,
        )
        return retriever, context

    def refresh(self) -> bool:
        """Serve the saved index if another process (``rag add`` / ``rag remove``) swapped in
        a new version; cheap when nothing changed (one small file read). Returns whether it
        reloaded. The new index, retriever and context are built first, then swapped in."""
        from .index import IndexUnusable, load_index

        try:
            manifest = (self.settings.index_dir / "manifest.json").read_text(encoding="utf-8")
            version = json.loads(manifest).get("index_version")
        except (OSError, ValueError):
            return False
        if self.index is None or self.embedder is None or version == self.index.version:
            return False
        try:
            index = load_index(self.settings.index_dir, settings=self.settings)
        except IndexUnusable as exc:
            log.warning("not reloading index %s: %s", version, exc)
            return False
        retriever, context = self._serving(index)
        self.index, self._retriever, self._context = index, retriever, context
        log.info(
            "reloaded index %s: %d documents, %d chunks",
            index.version,
            len(index.documents),
            len(index.chunks),
        )
        return True

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
        self,
        question: str,
        *,
        top_k: int | None = None,
        mode: Mode | None = None,
        where: DocFilter | None = None,
    ) -> SearchResult:
        return self.retriever.search(question, top_k=top_k, mode=mode, where=where)

    def explain(
        self,
        question: str,
        *,
        history: Sequence[Turn] = (),
        top_k: int | None = None,
        mode: Mode | None = None,
        where: DocFilter | None = None,
    ) -> Stages:
        """The stages of an answer: the question's analysis, the retrieved passages and the
        composition, over one index (even if :meth:`refresh` swaps in another meanwhile)."""
        retriever, context = self.retriever, self.context
        analysis = context.analyzer(question, history)
        k = max(self.settings.top_k if top_k is None else top_k, self.rules.pool_hits_wide)
        docs = retriever.index.documents.values()
        named = where is None and scope_filter(analysis, docs)
        if named:  # the question names a city or a report's year
            where = named
            analysis = replace(analysis, notes=(*analysis.notes, f"limited to: {named}"))
        cities = named.cities if named else cities_named(named_in(analysis), docs)
        if cities:  # (one document's city too: 去年澄川的空气… asked of 澄川's report)
            own = {place_key(c) for c in cities}
            places = tuple(p for p in analysis.constraints.places if place_key(p) not in own)

            def other(words: tuple[str, ...]) -> tuple[str, ...]:
                # the city the documents are about is not a topic word of their sentences
                return tuple(w for w in words if place_key(w) not in own and w not in own)

            analysis = replace(
                analysis,
                constraints=replace(analysis.constraints, places=places),
                topic=other(analysis.topic),
                focus=other(analysis.focus),
                groups=tuple(g for g in map(other, analysis.groups) if g),
            )
        elsewhere = report_not_held(analysis, docs)
        if elsewhere:  # another place's report asked for: none of these answers for it
            analysis = replace(analysis, notes=(*analysis.notes, f"no report of {elsewhere}"))
        items = comparison(analysis, docs)
        result = retriever.search(analysis.text, top_k=k, mode=mode, where=where)
        tc = time.perf_counter()
        if elsewhere:
            comp = refusal(analysis, "not_in_report")
            return Stages(analysis, result, comp, retriever.index, tc)
        if not items:
            comp = compose(
                analysis, result.hits, context, query_vector=result.query_vector, rules=self.rules
            )
            return Stages(analysis, result, comp, retriever.index, tc)
        parts = []
        for item in items:  # a comparison: each side searched and answered on its own
            side = item.where or where  # a city's reports (or the question's own limit)
            sub = retriever.search(analysis.text, top_k=k, mode=mode, where=side)
            narrowed = replace(
                analysis,
                constraints=replace(
                    analysis.constraints,
                    year=analysis.constraints.year if item.year is None else item.year,
                    places=(),
                ),
            )
            parts.append(
                (
                    item.label,
                    compose(
                        narrowed,
                        sub.hits,
                        context,
                        query_vector=sub.query_vector,
                        rules=self.rules,
                    ),
                )
            )
        return Stages(analysis, result, merge(parts), retriever.index, tc)

    def answer(
        self,
        question: str,
        *,
        history: Sequence[Turn] = (),
        top_k: int | None = None,
        mode: Mode | None = None,
        where: DocFilter | None = None,
    ) -> Answer:
        """Retrieve passages and compose a cited answer (see :mod:`rag.answer`); with
        ``llm_base_url`` set, an LLM rewrites it from the citations (see :mod:`rag.llm`)."""
        t0 = time.perf_counter()
        assert self.embedder is not None
        q = validate_question(question, self.settings.max_question_chars)
        k = self.settings.top_k if top_k is None else top_k
        st = self.explain(q, history=history, top_k=k, mode=mode, where=where)
        analysis, result, comp, index, tc = st.analysis, st.result, st.composition, st.index, st.t
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
            index_version=index.version,
            latency_ms=(time.perf_counter() - t0) * 1000,
            timings=timings,
            notes=tuple(notes),
            status=comp.status,
            reason=comp.reason,
        )
