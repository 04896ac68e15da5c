import json
import os

import numpy as np
import pytest

from rag.index import (
    IndexUnusable,
    build_index,
    diff_manifest,
    ensure_index,
    expected_manifest,
    load_index,
    save_index,
)


@pytest.fixture
def saved(tiny_settings, fake_embedder):
    index = build_index(tiny_settings, fake_embedder)
    save_index(index, tiny_settings.index_dir)
    return index


def test_saved_index_is_a_directory_with_a_manifest(saved, tiny_settings):
    d = tiny_settings.index_dir
    assert d.is_symlink() and d.is_dir()
    names = {p.name for p in d.iterdir()}
    assert names == {
        "manifest.json",
        "index.faiss",
        "chunks.jsonl",
        "documents.jsonl",
        "sentences.npz",
    }
    m = json.loads((d / "manifest.json").read_text(encoding="utf-8"))
    assert m["engine"] == "fake" and m["model"] == "fake-bigram-64" and m["dimension"] == 64
    assert m["normalized"] is True and m["metric"] == "inner_product"
    assert m["chunker"]["size"] == 40
    assert list(m["sources"]) == ["tiny-report.txt"] and len(m["sources"]["tiny-report.txt"]) == 64
    assert m["counts"]["documents"] == 1 and m["counts"]["chunks"] == len(saved.chunks)
    assert m["format_version"] == 3 and m["built_at"].endswith("Z")
    assert m["counts"]["clauses"] == len(saved.sentences.clause_start) > m["counts"]["sentences"]
    assert set(m["files"]) == {"index.faiss", "chunks.jsonl", "documents.jsonl", "sentences.npz"}


def test_round_trip(saved, tiny_settings, fake_embedder):
    loaded = load_index(tiny_settings.index_dir, expected_manifest(tiny_settings, fake_embedder))
    assert loaded.chunks == saved.chunks
    assert loaded.documents.keys() == saved.documents.keys()
    doc = next(iter(loaded.documents.values()))
    assert doc.paragraphs == next(iter(saved.documents.values())).paragraphs
    for c in loaded.chunks:
        assert doc.text[c.start : c.end] == c.text
    assert loaded.vectors.ntotal == len(saved.chunks)


def test_faiss_matches_brute_force(saved, fake_embedder):
    texts = [c.text for c in saved.chunks]
    mat = fake_embedder.embed_passages(texts)
    q = fake_embedder.embed_queries(["新增城镇就业多少人"])
    scores, ids = saved.vectors.search(q.astype(np.float32), 5)
    brute = np.argsort(-(mat @ q[0]), kind="stable")[:5]
    np.testing.assert_allclose(scores[0], (mat @ q[0])[brute], atol=1e-5)
    assert list(ids[0][:3]) == list(brute[:3])  # the rest are ties at ~0


def test_changed_settings_or_source_are_named(saved, tiny_settings, fake_embedder):
    other = tiny_settings.model_copy(update={"chunk_size": 50})
    with pytest.raises(IndexUnusable) as err:
        load_index(tiny_settings.index_dir, expected_manifest(other, fake_embedder))
    assert any("chunker" in r for r in err.value.reasons)

    src = tiny_settings.seeds_dir / "tiny-report.txt"
    src.write_text(src.read_text(encoding="utf-8") + "\n新的一段。", encoding="utf-8")
    with pytest.raises(IndexUnusable) as err:
        load_index(tiny_settings.index_dir, expected_manifest(tiny_settings, fake_embedder))
    assert any("tiny-report.txt changed" in r for r in err.value.reasons)


def test_diff_manifest_names_new_and_removed_sources():
    reasons = diff_manifest(
        {"sources": {"a.txt": "1", "b.txt": "2"}}, {"sources": {"a.txt": "1", "c.txt": "3"}}
    )
    assert reasons == ["source b.txt was removed", "source c.txt is new"]


def test_stale_index_is_rebuilt(saved, tiny_settings, fake_embedder, caplog):
    src = tiny_settings.seeds_dir / "tiny-report.txt"
    src.write_text(src.read_text(encoding="utf-8") + "\n新增一段关于地铁的话。", encoding="utf-8")
    index = ensure_index(tiny_settings, fake_embedder)
    assert index.version != saved.version
    assert any("地铁" in c.text for c in index.chunks)
    assert "changed" in caplog.text


@pytest.mark.parametrize("damage", ["truncate", "garbage", "delete", "chunks"])
def test_corrupted_files_are_detected_and_rebuilt(
    saved, tiny_settings, fake_embedder, damage, caplog
):
    d = tiny_settings.index_dir
    if damage == "truncate":
        data = (d / "index.faiss").read_bytes()
        (d / "index.faiss").write_bytes(data[: len(data) // 2])
    elif damage == "garbage":
        (d / "index.faiss").write_bytes(b"\x00not faiss")
    elif damage == "delete":
        (d / "index.faiss").unlink()
    else:
        lines = (d / "chunks.jsonl").read_text(encoding="utf-8").splitlines()
        (d / "chunks.jsonl").write_text("\n".join(lines[:-1]) + "\n", encoding="utf-8")
    with pytest.raises(IndexUnusable):
        load_index(d, expected_manifest(tiny_settings, fake_embedder))
    index = ensure_index(tiny_settings, fake_embedder)
    assert len(index.chunks) == len(saved.chunks)
    assert load_index(d).vectors.ntotal == len(saved.chunks)
    assert "rebuilding" in caplog.text


def test_broken_manifest_is_reported(saved, tiny_settings):
    (tiny_settings.index_dir / "manifest.json").write_text("{oops", encoding="utf-8")
    with pytest.raises(IndexUnusable, match="not valid JSON"):
        load_index(tiny_settings.index_dir)


def test_failed_write_keeps_the_previous_index(saved, tiny_settings, fake_embedder, monkeypatch):
    import rag.index as index_mod

    newer = build_index(tiny_settings, fake_embedder)

    def boom(rows_path, rows):
        raise OSError("disk full")

    monkeypatch.setattr(index_mod, "_write_jsonl", boom)
    with pytest.raises(OSError):
        save_index(newer, tiny_settings.index_dir)
    loaded = load_index(tiny_settings.index_dir)
    assert loaded.version == saved.version
    leftovers = [p for p in tiny_settings.index_dir.parent.iterdir() if p.name.startswith(".tmp")]
    assert leftovers == []


def test_rebuild_replaces_old_version_directory(saved, tiny_settings, fake_embedder):
    first = os.path.realpath(tiny_settings.index_dir)
    ensure_index(tiny_settings, fake_embedder, rebuild=True)
    second = os.path.realpath(tiny_settings.index_dir)
    assert first != second and not os.path.exists(first)


def test_sentences_are_stored_with_offsets_and_vectors(saved, tiny_settings, fake_embedder):
    loaded = load_index(tiny_settings.index_dir)
    sents = loaded.sentences
    doc = next(iter(loaded.documents.values()))
    assert len(sents.start) == loaded.manifest["counts"]["sentences"] > len(loaded.chunks)
    for c, s, e, v in zip(sents.chunk, sents.start, sents.end, sents.vectors, strict=True):
        chunk = loaded.chunks[c]
        assert chunk.start <= s < e <= chunk.end
        np.testing.assert_allclose(v, fake_embedder.embed_passages([doc.text[s:e]])[0], atol=1e-6)


def test_large_corpora_get_an_hnsw_index_that_finds_what_flat_finds(
    saved, tiny_settings, fake_embedder, caplog
):
    assert saved.manifest["faiss_index"] == "IndexFlatIP"
    hnsw_settings = tiny_settings.model_copy(update={"hnsw_above": 2, "hnsw_ef_search": 32})
    # the saved flat index no longer fits the settings: named, rebuilt as HNSW, reloaded
    index = ensure_index(hnsw_settings, fake_embedder)
    assert "settings want IndexHNSWFlat(M=32, efSearch=32)" in caplog.text
    assert index.manifest["faiss_index"] == "IndexHNSWFlat(M=32, efSearch=32)"
    loaded = ensure_index(hnsw_settings, fake_embedder)
    assert loaded.version == index.version  # reused, not rebuilt again
    assert type(loaded.vectors).__name__ == "IndexHNSWFlat"
    assert loaded.vectors.hnsw.efSearch == 32  # kept in the file
    for q in ("新增城镇就业多少人", "森林覆盖率", "机场"):
        qv = fake_embedder.embed_queries([q]).astype(np.float32)
        k = min(3, len(saved.chunks))
        flat_scores, _ = saved.vectors.search(qv, k)
        hnsw_scores, _ = loaded.vectors.search(qv, k)
        # a tiny graph is searched exhaustively: the same best scores as exact search
        np.testing.assert_allclose(hnsw_scores[0], flat_scores[0], atol=1e-5)


def test_clauses_tile_their_sentences_and_carry_their_own_vectors(saved, fake_embedder):
    from rag.chunking import clause_text

    sents, doc = saved.sentences, next(iter(saved.documents.values()))
    for j in range(len(sents.start)):
        rows = np.flatnonzero(sents.clause_sentence == j)
        assert len(rows) >= 1
        spans = list(zip(sents.clause_start[rows], sents.clause_end[rows], strict=True))
        assert spans[0][0] == sents.start[j] and spans[-1][1] == sents.end[j]
        assert all(a[1] == b[0] for a, b in zip(spans, spans[1:], strict=False))
    texts = [
        clause_text(doc.text[s:e])
        for s, e in zip(sents.clause_start, sents.clause_end, strict=True)
    ]
    np.testing.assert_allclose(sents.clause_vectors, fake_embedder.embed_passages(texts), atol=1e-6)
