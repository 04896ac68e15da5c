"""The server's query embedder: one thread, concurrent queries batched, an LRU cache."""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest
from conftest import FakeEmbedder

from rag.batching import BatchingEmbedder
from rag.config import Settings
from rag.pipeline import Pipeline


class GatedEmbedder(FakeEmbedder):
    """The fake embedder, recording every forward pass; the first pass waits for ``gate``."""

    def __init__(self) -> None:
        self.calls: list[list[str]] = []
        self.threads: set[str] = set()
        self.passage_threads: set[str] = set()
        self.gate = threading.Event()
        self.entered = threading.Event()
        self.fail_on: str | None = None

    def embed_queries(self, texts: Sequence[str]) -> np.ndarray:
        self.calls.append(list(texts))
        self.threads.add(threading.current_thread().name)
        self.entered.set()
        self.gate.wait(10)
        if self.fail_on in texts:
            raise ValueError(f"cannot embed {self.fail_on!r}")
        return super().embed_queries(texts)

    def embed_passages(self, texts: Sequence[str], *, show_progress: bool = False) -> np.ndarray:
        self.passage_threads.add(threading.current_thread().name)
        return super().embed_queries(texts)


def _wait_for(cond, timeout: float = 10.0) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while not cond():
        assert time.monotonic() < deadline, "condition not reached"
        time.sleep(0.005)


def test_queries_queued_during_a_pass_share_the_next_one() -> None:
    inner = GatedEmbedder()
    emb = BatchingEmbedder(inner, cache_size=0)
    questions = [f"问题{i}：城镇化率要提高到多少" for i in range(6)]
    with ThreadPoolExecutor(6) as pool:
        first = pool.submit(emb.embed_queries, [questions[0]])
        assert inner.entered.wait(10)  # pass 1 is running (held at the gate)
        rest = [pool.submit(emb.embed_queries, [q]) for q in questions[1:]]
        _wait_for(lambda: emb._queue.qsize() == 5)
        inner.gate.set()
        results = [first.result(10)] + [f.result(10) for f in rest]
    assert inner.calls == [questions[:1], questions[1:]]  # two passes, not six
    assert inner.threads == {"rag-embed"}  # never on the callers' threads
    expected = FakeEmbedder().embed_queries(questions)
    for got, want in zip(results, expected, strict=True):  # each caller gets its own vector
        np.testing.assert_array_equal(got, want[None, :])
    counts = {k: v for k, v in emb.stats.items() if k != "embed_ms"}
    assert counts == {"passes": 2, "embedded": 6, "max_batch": 5, "cache_hits": 0}
    emb.close()


class SlowEmbedder(FakeEmbedder):
    def embed_queries(self, texts):  # type: ignore[no-untyped-def]
        time.sleep(0.05)
        return super().embed_queries(texts)


def test_stats_count_the_time_spent_in_forward_passes() -> None:
    emb = BatchingEmbedder(SlowEmbedder(), cache_size=0)
    for q in ("城镇化率是多少", "新增就业多少人"):
        emb.embed_queries([q])
    assert emb.stats["passes"] == 2
    assert 100 <= emb.stats["embed_ms"] < 2000  # two passes of 50 ms each
    emb.close()


def test_batches_are_capped_at_max_batch() -> None:
    inner = GatedEmbedder()
    emb = BatchingEmbedder(inner, max_batch=2, cache_size=0)
    with ThreadPoolExecutor(6) as pool:
        futs = [pool.submit(emb.embed_queries, ["首个"])]
        assert inner.entered.wait(10)
        futs += [pool.submit(emb.embed_queries, [f"第{i}个"]) for i in range(5)]
        _wait_for(lambda: emb._queue.qsize() == 5)
        inner.gate.set()
        for f in futs:
            f.result(10)
    assert [len(c) for c in inner.calls] == [1, 2, 2, 1]
    emb.close()


def test_cache_answers_repeats_and_evicts_least_recent() -> None:
    inner = GatedEmbedder()
    inner.gate.set()
    emb = BatchingEmbedder(inner, cache_size=2)
    a1 = emb.embed_queries(["甲问题"])
    emb.embed_queries(["乙问题"])
    a2 = emb.embed_queries(["甲问题"])  # cached; 甲 becomes the most recent
    np.testing.assert_array_equal(a1, a2)
    emb.embed_queries(["丙问题"])  # evicts 乙, the least recently used
    emb.embed_queries(["乙问题", "甲问题"])  # 乙 again → embedded; 甲 still cached
    assert inner.calls == [["甲问题"], ["乙问题"], ["丙问题"], ["乙问题"]]
    assert emb.stats["cache_hits"] == 2
    a1[0, 0] = 42.0  # a caller's array is its own: the cache is not changed through it
    assert emb.embed_queries(["甲问题"])[0, 0] != 42.0
    emb.close()


def test_an_error_reaches_every_caller_of_that_pass_and_the_thread_lives_on() -> None:
    inner = GatedEmbedder()
    inner.fail_on = "坏"
    emb = BatchingEmbedder(inner, cache_size=0)
    with ThreadPoolExecutor(3) as pool:
        first = pool.submit(emb.embed_queries, ["好"])
        assert inner.entered.wait(10)
        bad = [pool.submit(emb.embed_queries, [t]) for t in ("坏", "同批")]
        _wait_for(lambda: emb._queue.qsize() == 2)
        inner.gate.set()
        assert first.result(10).shape == (1, FakeEmbedder.dim)
        for f in bad:  # "同批" shared the failing pass
            with pytest.raises(ValueError, match="cannot embed"):
                f.result(10)
    assert emb.embed_queries(["之后"]).shape == (1, FakeEmbedder.dim)  # still serving
    emb.close()
    with pytest.raises(RuntimeError, match="stopped"):
        emb.embed_queries(["关闭之后"])


def test_everything_else_goes_straight_to_the_wrapped_embedder() -> None:
    inner = GatedEmbedder()
    inner.gate.set()
    emb = BatchingEmbedder(inner)
    assert (emb.engine, emb.model_id, emb.dim) == ("fake", "fake-bigram-64", 64)
    assert emb.token_count("五个字符串") == 7
    np.testing.assert_array_equal(
        emb.embed_passages(["段落一", "段落二"]),
        FakeEmbedder().embed_passages(["段落一", "段落二"]),
    )
    assert inner.calls == []  # passages never go through the query thread
    assert inner.passage_threads == {threading.current_thread().name}
    assert emb.embed_queries([]).shape == (0, 64)
    emb.close()


def test_pipeline_batches_query_embeddings_unless_turned_off(
    tiny_settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    import rag.embedding

    monkeypatch.setattr(rag.embedding, "load_embedder", lambda s: FakeEmbedder())
    on = Pipeline(tiny_settings.model_copy(update={"query_cache_size": 7})).load()
    assert isinstance(on.embedder, BatchingEmbedder) and on.embedder.cache_size == 7
    answer = on.answer("乐山的森林覆盖率是多少？")
    assert on.embedder.stats["embedded"] == 1 and answer.hits
    off = Pipeline(tiny_settings.model_copy(update={"query_batching": False})).load()
    assert isinstance(off.embedder, FakeEmbedder)
