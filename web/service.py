"""The answering service: one object behind every surface (JSON API, stream, OpenAI route, chat).

It holds the pipeline, the cache of recent answers (so feedback can name an answer by id),
the feedback store and the answer metrics. "Answer, count, remember" happens in :meth:`ask`
and nowhere else. Errors are domain errors (:class:`NotReady`, :class:`NotFound`,
:class:`BadFeedback`, and the library's :class:`~rag.retrieval.InvalidQuestion`); the app maps
them to HTTP codes (``web/errors.py``), the chat to a sentence.

The app's lifespan makes one service, loads it (model + index: heavy) and closes it (the query
batcher's thread included) on shutdown.
"""

from __future__ import annotations

import logging
import shutil
import threading
import time
import uuid
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from rag.collection import Change, Collection, NotRemovable
from rag.config import Settings
from rag.conversation import Turn
from rag.feedback import FeedbackStore, Rating
from rag.index import Index
from rag.overview import figure_sentences, outline
from rag.pipeline import Pipeline
from rag.schemas import CitationOut, ReadyOut
from rag.types import (
    Answer,
    Chunk,
    DocFilter,
    Document,
    FigureSentence,
    OutlineNode,
    Paragraph,
    SearchResult,
)

from .metrics import Metrics, Surface

log = logging.getLogger("rag.web")

REFRESH_SECONDS = 2.0  # how stale the served index may be after `rag add` / `rag remove`
# an upload's temporary folder older than this at start-up was left by a killed server
STALE_UPLOAD_SECONDS = 3600.0


class ServiceError(Exception):
    """A request the service cannot serve; ``str(exc)`` is the message for the caller."""


class NotReady(ServiceError):
    """The model and the index are not loaded (yet)."""


class NotFound(ServiceError):
    """No such document, chunk or answer id."""


class BadFeedback(ServiceError):
    """Feedback that names neither an answer nor a question."""


class Conflict(ServiceError):
    """The change conflicts with the collection (a seed document cannot be removed)."""


@dataclass(frozen=True)
class Served:
    """An answer and the id it is kept under."""

    id: str
    answer: Answer


class AnswerCache:
    """Recent answers by id (thread-safe; the oldest go first past ``size``)."""

    def __init__(self, size: int = 1000) -> None:
        self.size = size
        self._items: OrderedDict[str, Answer] = OrderedDict()
        self._lock = threading.Lock()

    def put(self, answer: Answer) -> str:
        answer_id = uuid.uuid4().hex
        with self._lock:
            self._items[answer_id] = answer
            while len(self._items) > self.size:
                self._items.popitem(last=False)
        return answer_id

    def get(self, answer_id: str) -> Answer | None:
        with self._lock:
            return self._items.get(answer_id)


class AnswerService:
    """Cheap to construct; :meth:`load` loads the model and the index unless a loaded
    pipeline is given (tests), :meth:`close` releases what the service loaded itself."""

    def __init__(
        self,
        settings: Settings,
        *,
        metrics: Metrics,
        pipeline: Pipeline | None = None,
        feedback: FeedbackStore | None = None,
        cache_size: int = 1000,
    ) -> None:
        self.settings = settings
        self.metrics = metrics
        self.feedback = feedback or FeedbackStore(settings.feedback_db)
        self.answers = AnswerCache(cache_size)
        self._pipeline = pipeline
        self._owns_pipeline = False
        self._refresh_lock = threading.Lock()
        self._refreshed_at = time.monotonic()

    # -- life cycle ----------------------------------------------------------------------

    def load(self) -> AnswerService:
        self._clear_stale_uploads()
        if self._pipeline is None:
            t0 = time.perf_counter()
            self._pipeline = Pipeline(self.settings).load()
            self._owns_pipeline = True
            log.info("ready in %.1fs", time.perf_counter() - t0)
        return self

    def close(self) -> None:
        """Stop the query batcher's thread of a pipeline this service loaded (idempotent)."""
        pipe, self._pipeline = self._pipeline, None
        if pipe is not None and self._owns_pipeline:
            close = getattr(pipe.embedder, "close", None)
            if callable(close):
                close()

    @property
    def pipeline(self) -> Pipeline:
        pipe = self._pipeline
        if pipe is None or pipe.index is None:
            raise NotReady("index not loaded yet / 索引尚未加载")
        self._refresh(pipe)
        return pipe

    def require_ready(self) -> None:
        """Raise :class:`NotReady` unless the model and the index are loaded."""
        self.pipeline  # noqa: B018 - the property raises NotReady

    def _refresh_now(self, pipe: Pipeline) -> None:
        """Serve the version this process just swapped in (an add or remove), waiting for a
        refresh already under way; a failure leaves the periodic refresh to try again."""
        with self._refresh_lock:
            self._refreshed_at = time.monotonic()
            try:
                pipe.refresh()
            except Exception:
                log.exception("index refresh after a change failed; the next request retries")
                self._refreshed_at = 0.0

    def _refresh(self, pipe: Pipeline) -> None:
        """Serve a new index version that ``rag add`` / ``rag remove`` swapped in meanwhile
        (:meth:`rag.pipeline.Pipeline.refresh`): looked for at most every REFRESH_SECONDS, by
        one request at a time (the others go on with the index being served)."""
        now = time.monotonic()
        if now - self._refreshed_at < REFRESH_SECONDS or not self._refresh_lock.acquire(False):
            return
        try:
            self._refreshed_at = now
            pipe.refresh()
        except Exception:  # a broken new version must not take the served one down
            log.exception("index refresh failed; still serving the index loaded before")
        finally:
            self._refresh_lock.release()

    # -- answers ---------------------------------------------------------------------------

    def ask(
        self,
        question: str,
        *,
        surface: Surface,
        history: Sequence[Turn] = (),
        top_k: int | None = None,
        where: DocFilter | None = None,
    ) -> Served:
        """A cited answer (from the documents ``where`` allows), counted in the metrics and
        kept for feedback."""
        a = self.pipeline.answer(question, history=history, top_k=top_k, where=where)
        self.metrics.observe(a, surface)
        return Served(self.answers.put(a), a)

    def search(
        self, question: str, *, top_k: int | None = None, where: DocFilter | None = None
    ) -> SearchResult:
        return self.pipeline.search(question, top_k=top_k, where=where)

    def record_feedback(
        self,
        rating: Rating,
        *,
        answer_id: str | None = None,
        question: str | None = None,
        comment: str | None = None,
    ) -> int:
        """Store 👍/👎; an answer id brings the question, answer and citations along."""
        a = self.answers.get(answer_id) if answer_id else None
        if answer_id and a is None and not question:
            raise NotFound(f"unknown answer id {answer_id!r}; send the question instead")
        if a is None and not (question and question.strip()):
            raise BadFeedback("send answer_id or question")
        item = self.feedback.add(
            question=a.question if a else str(question),
            rating=rating,
            comment=comment,
            answer_id=answer_id,
            answer=a.answer if a else None,
            citations=[CitationOut.of(c).model_dump() for c in a.citations] if a else [],
        )
        self.metrics.feedback.labels(rating=rating).inc()
        return item

    # -- changing the collection (blocking: embedding; the routes call these in a thread) ----

    @property
    def upload_dir(self) -> Path:
        """Where uploads are streamed to before they are added (one folder per request)."""
        return self.settings.data_dir / "uploads"

    def _clear_stale_uploads(self) -> None:
        if not self.upload_dir.is_dir():
            return
        for p in self.upload_dir.iterdir():
            try:
                if time.time() - p.stat().st_mtime > STALE_UPLOAD_SECONDS:
                    shutil.rmtree(p, ignore_errors=True)
            except OSError:
                continue

    def _collection(self) -> tuple[Pipeline, Collection]:
        pipe = self.pipeline
        assert pipe.embedder is not None
        return pipe, Collection(pipe.settings, pipe.embedder)

    def add_documents(self, paths: Sequence[Path], *, metadata: dict[str, str]) -> Change:
        """Add the files as one new index version, all or none (a file that cannot be read
        raises :class:`rag.collection.AddRefused` and nothing is added), and serve it at once.
        Adds and removes are serialized by the collection's lock, in and across processes."""
        pipe, collection = self._collection()
        change = collection.add(paths, metadata=metadata, all_or_none=True)
        if any(o.status == "added" for o in change.outcomes):
            self._refresh_now(pipe)
        return change

    def remove_document(self, doc_id: str) -> Change:
        """Remove an added document and serve the version without it at once; a seed
        raises :class:`Conflict`, an unknown id :class:`NotFound`."""
        pipe, collection = self._collection()
        try:
            change = collection.remove(doc_id)
        except NotRemovable as exc:
            self._refresh_now(pipe)  # what the collection holds now decides the answer
            assert pipe.index is not None
            if doc_id not in pipe.index.documents:
                raise NotFound(f"no document {doc_id!r}; GET /api/documents lists them") from exc
            raise Conflict(
                f"{doc_id!r} is a seed document: it cannot be removed through the API (delete "
                "its file from RAG_SEEDS_DIR and run `rag index`) / 种子报告不能通过接口删除"
            ) from exc
        self._refresh_now(pipe)
        return change

    # -- the documents -----------------------------------------------------------------------

    def index(self) -> Index:
        """The index served now."""
        index = self.pipeline.index
        assert index is not None
        return index

    def documents(self) -> list[Document]:
        return list(self.index().documents.values())

    def document(self, doc_id: str) -> Document:
        index = self.pipeline.index
        assert index is not None
        doc = index.documents.get(doc_id)
        if doc is None:
            raise NotFound(f"no document {doc_id!r}")
        return doc

    def chunk(self, chunk_id: str) -> Chunk:
        index = self.pipeline.index
        assert index is not None
        c = index.chunk(chunk_id)
        if c is None:
            raise NotFound(f"no chunk {chunk_id!r}")
        return c

    def paragraph_at(self, doc_id: str, offset: int) -> Paragraph:
        """The paragraph of a document that holds character ``offset``."""
        doc = self.document(doc_id)
        for p in doc.paragraphs:
            if p.start <= offset < p.end:
                return p
        raise NotFound(f"no paragraph at offset {offset} of {doc_id!r}")

    def outline(self, doc_id: str) -> tuple[OutlineNode, ...]:
        return outline(self.document(doc_id))

    def figures(self, doc_id: str | None = None) -> list[FigureSentence]:
        if doc_id is not None:
            self.document(doc_id)  # NotFound for an unknown id
        index = self.pipeline.index
        assert index is not None
        return figure_sentences(index, doc_id)

    def status(self) -> ReadyOut:
        pipe = self.pipeline
        assert pipe.index is not None and pipe.embedder is not None
        return ReadyOut(
            ready=True,
            model=pipe.embedder.model_id,
            engine=pipe.embedder.engine,
            index_version=pipe.index.version,
            documents=len(pipe.index.documents),
            chunks=len(pipe.index.chunks),
            query_embedding=getattr(pipe.embedder, "stats", None),
        )
