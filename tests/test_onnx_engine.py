"""Tests of rag.onnx_engine: the graph directory (made once, atomically, beside the model, with
the source's hash), the model-directory checks, the token table, and (marked ``model``) the
real engine against sentence-transformers: token ids, vectors, long texts, int8, batching,
threads, and no torch in the serving process."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from conftest import modules_after

from rag import onnx_engine as oe
from rag.config import Settings
from rag.embedding import EmbedderError, load_embedder
from rag.onnx_export import GRAPH, GRAPH_INT8, WORD_EMBEDDINGS

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))
from agreement_texts import long_texts, varied_texts  # noqa: E402

HEAVY = {"torch", "sentence_transformers", "transformers"}


# --------------------------------------------------------------------------- no model needed


def test_settings_know_the_onnx_engines(tmp_path: Path) -> None:
    for engine in ("onnx", "onnx-int8"):
        s = Settings(embedding_engine=engine, data_dir=tmp_path)
        assert s.index_dir == tmp_path / "index" / engine
    with pytest.raises(ValueError, match="embedding_engine"):
        Settings(embedding_engine="onnx-fp16")


def make_model_dir(root: Path, *, pooling: str = "mean", modules: list[str] | None = None) -> Path:
    """A sentence-transformers directory layout (files only, no weights)."""
    d = root / "tiny-model"
    (d / "1_Pooling").mkdir(parents=True)
    kinds = modules or ["Transformer", "Pooling", "Normalize"]
    paths = {"Transformer": "", "Pooling": "1_Pooling", "Normalize": "2_Normalize", "Dense": "2"}
    (d / "modules.json").write_text(
        json.dumps(
            [
                {"idx": i, "name": str(i), "path": paths[k], "type": f"sentence_transformers.{k}"}
                for i, k in enumerate(kinds)
            ]
        )
    )
    (d / "1_Pooling" / "config.json").write_text(
        json.dumps(
            {
                "pooling_mode_cls_token": pooling == "cls",
                "pooling_mode_mean_tokens": pooling == "mean",
                "include_prompt": True,
            }
        )
    )
    (d / "tokenizer.json").write_text("{}")
    (d / "model.safetensors").write_bytes(b"weights v1")
    return d


class FakeExport:
    """Writes the three graph files (or fails part-way); counts its calls."""

    def __init__(self, *, fail: bool = False, skip: str | None = None, delay: float = 0) -> None:
        self.calls = 0
        self.fail, self.skip, self.delay = fail, skip, delay

    def __call__(self, model_dir: Path, out: Path) -> dict[str, Any]:
        self.calls += 1
        time.sleep(self.delay)
        for name in (GRAPH, GRAPH_INT8, WORD_EMBEDDINGS):
            if name != self.skip:
                (out / name).write_bytes(f"{name} of {model_dir.name}".encode())
            if self.fail:
                raise RuntimeError("export died half-way")
        return {"opset": 17}


def _leftovers(cache: Path) -> list[str]:
    return sorted(p.name for p in cache.iterdir() if ".tmp-" in p.name or ".old-" in p.name)


def test_graph_is_made_once_beside_the_model_with_its_source_hash(tmp_path: Path) -> None:
    model = make_model_dir(tmp_path)
    export = FakeExport()
    graph = oe.ensure_graph(model, tmp_path, export=export)
    assert graph == tmp_path / "tiny-model-onnx" and export.calls == 1
    manifest = json.loads((graph / oe.MANIFEST_NAME).read_text())
    assert manifest["source_sha256"] == oe.source_sha256(model)
    assert manifest["opset"] == 17 and set(manifest["files"]) == {
        GRAPH,
        GRAPH_INT8,
        WORD_EMBEDDINGS,
    }
    assert oe.ensure_graph(model, tmp_path, export=export) == graph
    assert export.calls == 1  # reused
    assert _leftovers(tmp_path) == []


def test_a_rematerialized_model_with_the_same_bytes_keeps_its_graph(tmp_path: Path) -> None:
    model = make_model_dir(tmp_path)
    export = FakeExport()
    graph = oe.ensure_graph(model, tmp_path, export=export)
    weights = model / "model.safetensors"
    weights.write_bytes(weights.read_bytes())  # new mtime, same content
    assert oe.ensure_graph(model, tmp_path, export=export) == graph and export.calls == 1
    manifest = json.loads((graph / oe.MANIFEST_NAME).read_text())
    assert manifest["source_files"]["model.safetensors"][1] == weights.stat().st_mtime_ns


def test_a_changed_model_gets_a_new_graph(tmp_path: Path) -> None:
    model = make_model_dir(tmp_path)
    export = FakeExport()
    oe.ensure_graph(model, tmp_path, export=export)
    (model / "model.safetensors").write_bytes(b"weights v2")  # same size, other bytes
    graph = oe.ensure_graph(model, tmp_path, export=export)
    assert export.calls == 2
    manifest = json.loads((graph / oe.MANIFEST_NAME).read_text())
    assert manifest["source_sha256"] == oe.source_sha256(model)
    assert _leftovers(tmp_path) == []


def test_a_failed_export_leaves_the_previous_graph_and_no_debris(tmp_path: Path) -> None:
    model = make_model_dir(tmp_path)
    with pytest.raises(RuntimeError, match="half-way"):
        oe.ensure_graph(model, tmp_path, export=FakeExport(fail=True))
    assert not oe.graph_dir(model, tmp_path).exists() and _leftovers(tmp_path) == []
    graph = oe.ensure_graph(model, tmp_path, export=FakeExport())
    before = {p.name: p.read_bytes() for p in graph.iterdir()}
    (model / "model.safetensors").write_bytes(b"weights v3")  # stale: a new export is due
    with pytest.raises(oe.OnnxEngineError, match=WORD_EMBEDDINGS):
        oe.ensure_graph(model, tmp_path, export=FakeExport(skip=WORD_EMBEDDINGS))
    assert {p.name: p.read_bytes() for p in graph.iterdir()} == before
    assert _leftovers(tmp_path) == []


def test_concurrent_first_uses_export_once(tmp_path: Path) -> None:
    model = make_model_dir(tmp_path)
    export = FakeExport(delay=0.3)
    results: list[Path] = []
    threads = [
        threading.Thread(
            target=lambda: results.append(oe.ensure_graph(model, tmp_path, export=export))
        )
        for _ in range(2)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert export.calls == 1 and results == [oe.graph_dir(model, tmp_path)] * 2


def test_export_failure_message_names_the_way_out(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    def fake_run(cmd, **kw):  # type: ignore[no-untyped-def]
        assert cmd[1:3] == ["-m", "rag.onnx_export"]
        return subprocess.CompletedProcess(cmd, 1, "", "Traceback …\nRuntimeError: boom")

    monkeypatch.setattr(oe.subprocess, "run", fake_run)
    with pytest.raises(oe.OnnxEngineError, match="boom") as err:
        oe.run_export(tmp_path, tmp_path / "out")
    assert "RAG_EMBEDDING_ENGINE=sentence-transformers" in str(err.value)


def test_model_dir_checks(tmp_path: Path) -> None:
    oe.check_model_dir(make_model_dir(tmp_path / "ok"))
    for bad, match in (
        (make_model_dir(tmp_path / "cls", pooling="cls"), "pooling"),
        (make_model_dir(tmp_path / "dense", modules=["Transformer", "Pooling", "Dense"]), "Dense"),
        (tmp_path / "not-a-model", "not a sentence-transformers directory"),
    ):
        with pytest.raises(oe.OnnxEngineError, match=match):
            oe.check_model_dir(bad)
    no_tok = make_model_dir(tmp_path / "no-tok")
    (no_tok / "tokenizer.json").unlink()
    with pytest.raises(oe.OnnxEngineError, match="tokenizer.json"):
        oe.check_model_dir(no_tok)


def test_token_table_reads_the_rows_asked_for(tmp_path: Path) -> None:
    table = np.arange(12 * 4, dtype=np.float32).reshape(12, 4)
    np.save(tmp_path / "t.npy", table)
    t = oe.TokenTable(tmp_path / "t.npy")
    ids = np.array([[3, 0, 3], [11, 1, 1]])
    np.testing.assert_array_equal(t.lookup(ids), table[ids])
    assert (t.rows, t.dim) == (12, 4)
    with pytest.raises(ValueError, match="out of range"):
        t.lookup(np.array([[12]]))
    np.save(tmp_path / "f64.npy", table.astype(np.float64))
    with pytest.raises(oe.OnnxEngineError, match="float32"):
        oe.TokenTable(tmp_path / "f64.npy")
    cut = tmp_path / "cut.npy"
    cut.write_bytes((tmp_path / "t.npy").read_bytes()[:-8])
    with pytest.raises(oe.OnnxEngineError, match="truncated"):
        oe.TokenTable(cut)


def test_constructor_is_cheap_and_checks_its_engine(tmp_path: Path) -> None:
    cache = tmp_path / "models"
    e = oe.OnnxEmbedder(Settings(model_cache_dir=cache), engine="onnx-int8")
    assert (e.engine, e.model_id) == ("onnx-int8", "intfloat/multilingual-e5-small")
    assert not cache.exists() and e._tok is None
    with pytest.raises(ValueError, match="engine"):
        oe.OnnxEmbedder(Settings(), engine="onnx-fp16")


def test_a_hub_id_is_refused_with_the_settings_to_change(tmp_path: Path) -> None:
    s = Settings(embedding_engine="onnx", embedding_model="intfloat/multilingual-e5-base")
    with pytest.raises(EmbedderError, match="RAG_EMBEDDING_MODEL"):
        load_embedder(s.model_copy(update={"model_cache_dir": tmp_path}))


# --------------------------------------------------------------------------- the real engine


@pytest.fixture(scope="module")
def cache() -> Path:
    return ROOT / ".cache" / "models"  # shared with the real pipeline's fixture


@pytest.fixture(scope="module")
def onnx(cache: Path) -> oe.OnnxEmbedder:
    e = load_embedder(Settings(model_cache_dir=cache, embedding_engine="onnx"))
    assert isinstance(e, oe.OnnxEmbedder)
    return e


@pytest.fixture(scope="module")
def int8(cache: Path, onnx: oe.OnnxEmbedder) -> oe.OnnxEmbedder:
    e = load_embedder(Settings(model_cache_dir=cache, embedding_engine="onnx-int8"))
    assert isinstance(e, oe.OnnxEmbedder)
    return e


@pytest.fixture(scope="module")
def st(st_session):  # type: ignore[no-untyped-def]
    return st_session  # conftest: loaded once for every engine's tests


@pytest.fixture(scope="module")
def texts() -> list[str]:
    return varied_texts()


def _cos(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    assert a.shape == b.shape and a.dtype == b.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(a, axis=1), 1.0, atol=1e-4)
    return (a * b).sum(axis=1)


@pytest.mark.model
def test_the_graph_sits_beside_the_model_directory(onnx: oe.OnnxEmbedder, cache: Path) -> None:
    from rag.embedding import model_path

    model_dir = Path(model_path(onnx.settings))
    assert onnx.graph_dir == model_dir.with_name(model_dir.name + "-onnx")
    manifest = json.loads((onnx.graph_dir / oe.MANIFEST_NAME).read_text())
    assert manifest["source_sha256"] == oe.source_sha256(model_dir)
    assert manifest["opset"] == 17 and manifest["check_max_abs_diff"] < 1e-4
    assert oe.is_current(onnx.graph_dir, model_dir)


@pytest.mark.model
def test_token_ids_equal_the_sentence_transformers_tokenizer(
    onnx: oe.OnnxEmbedder, st: Any, texts: list[str]
) -> None:
    tok = st.model.tokenizer
    for text in texts:
        for prefix in ("query: ", "passage: "):
            ours = onnx._tokenizer().ids(prefix + text, add_special_tokens=False)
            assert ours == tok(prefix + text, add_special_tokens=False)["input_ids"], text
        assert onnx.token_count(text, is_query=True) == st.token_count(text, is_query=True)


@pytest.fixture(scope="module")
def query_vectors(
    onnx: oe.OnnxEmbedder,
    int8: oe.OnnxEmbedder,
    st_agreement_vectors: dict[str, np.ndarray],
    texts: list[str],
) -> dict[str, np.ndarray]:
    return {
        "st": st_agreement_vectors["queries"],
        "onnx": onnx.embed_queries(texts),
        "int8": int8.embed_queries(texts),
    }


@pytest.mark.model
def test_fp32_vectors_equal_sentence_transformers(
    onnx: oe.OnnxEmbedder,
    texts: list[str],
    query_vectors: dict[str, np.ndarray],
    st_agreement_vectors: dict[str, np.ndarray],
) -> None:
    assert query_vectors["onnx"].shape == (len(texts), 384)
    cos = _cos(query_vectors["onnx"], query_vectors["st"])
    assert cos.min() >= 0.9999, (cos.min(), texts[int(cos.argmin())])
    cos = _cos(onnx.embed_passages(texts), st_agreement_vectors["passages"])
    assert cos.min() >= 0.9999, (cos.min(), texts[int(cos.argmin())])


@pytest.mark.model
def test_long_texts_are_windowed_as_sentence_transformers_does(
    onnx: oe.OnnxEmbedder, texts: list[str], st_agreement_vectors: dict[str, np.ndarray]
) -> None:
    longs = long_texts()
    assert all(onnx.token_count(t) > 512 for t in longs)
    rows = [texts.index(t) for t in longs]
    cos = _cos(onnx.embed_passages(longs), st_agreement_vectors["passages"][rows])
    assert cos.min() >= 0.9999, cos


@pytest.mark.model
def test_int8_queries_stay_close_and_passages_are_the_fp32_ones(
    int8: oe.OnnxEmbedder,
    onnx: oe.OnnxEmbedder,
    texts: list[str],
    query_vectors: dict[str, np.ndarray],
) -> None:
    q = _cos(query_vectors["int8"], query_vectors["onnx"])
    # measured: mean 0.9965, min 0.982 (rag eval: hit@5 unchanged, see the README)
    assert q.mean() >= 0.993 and q.min() >= 0.97, (q.mean(), q.min())
    p = _cos(int8.embed_passages(texts[:40]), onnx.embed_passages(texts[:40]))
    assert p.min() >= 0.99999


@pytest.mark.model
def test_a_batch_gives_each_text_its_own_vector(
    onnx: oe.OnnxEmbedder, int8: oe.OnnxEmbedder, texts: list[str]
) -> None:
    for engine, floor in ((onnx, 0.99999), (int8, 0.99)):
        together = engine.embed_queries(texts[:16])
        alone = np.stack([engine.embed_queries([t])[0] for t in texts[:16]])
        # int8 activations are quantized per batch: batch-mates move a vector a little
        assert _cos(together, alone).min() >= floor, engine.engine
    assert onnx.embed_queries([]).shape == (0, 384)


@pytest.mark.model
def test_the_thread_setting_reaches_onnxruntime(onnx: oe.OnnxEmbedder) -> None:
    try:
        onnx.set_threads(1)
        opts = onnx._session(GRAPH).get_session_options()
        assert opts.intra_op_num_threads == 1
        assert opts.get_session_config_entry("session.intra_op.allow_spinning") == "0"
        assert onnx.embed_queries(["森林覆盖率"]).shape == (1, 384)
    finally:
        onnx.set_threads(None)
    assert onnx._session(GRAPH).get_session_options().intra_op_num_threads == 0  # all cores


@pytest.mark.model
def test_no_torch_in_the_serving_process(onnx: oe.OnnxEmbedder, cache: Path) -> None:
    # the graph exists (the fixture made it); a fresh process loads it and embeds
    code = (
        "from pathlib import Path; from rag.config import Settings;"
        "from rag.embedding import load_embedder;"
        f"e = load_embedder(Settings(model_cache_dir=Path({str(cache)!r}), "
        "embedding_engine='onnx-int8'));"
        "e.embed_queries(['森林覆盖率目标是多少?']); e.embed_passages(['森林覆盖率达到60%。'])"
    )
    loaded = modules_after(code, {"torch", "transformers", "sentence_transformers", "onnxruntime"})
    assert loaded == ["onnxruntime"]


@pytest.mark.model
def test_the_index_records_the_engine(int8: oe.OnnxEmbedder, tiny_settings: Settings) -> None:
    from rag.index import build_index, expected_manifest

    settings = tiny_settings.model_copy(update={"embedding_engine": "onnx-int8"})
    index = build_index(settings, int8)
    assert index.manifest["engine"] == "onnx-int8"
    assert expected_manifest(settings, int8)["engine"] == "onnx-int8"
