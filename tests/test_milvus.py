"""The Milvus store (milvus-lite, one database file per module) against the FAISS files: the
same chunks, sentences and top-5, filters as expressions, incremental add / remove with their
failure cases, and the settings. The retrieval and answer contract tests also run on both
stores (test_retrieval, test_answer: the ``retriever`` / ``pipe`` fixtures)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
from conftest import ROOT, SEEDS, TINY_REPORT, CountingEmbedder, FakeEmbedder, on_store
from pydantic import ValidationError

from rag.collection import Collection
from rag.config import Settings
from rag.evaluate import covers, load_questions
from rag.index import IndexUnusable, build_index, ensure_index, load_index, save_index
from rag.retrieval import Retriever
from rag.stores import milvus as mv
from rag.types import DocFilter

pytestmark = pytest.mark.milvus

REPORTS = Path(__file__).resolve().parent / "data" / "reports"
QUESTIONS = load_questions(ROOT / "eval" / "questions.jsonl")


@pytest.fixture(scope="module")
def both(tmp_path_factory: pytest.TempPathFactory) -> tuple[Retriever, Retriever]:
    """The report indexed in FAISS and in Milvus (saved, then loaded back from Milvus)."""
    root = tmp_path_factory.mktemp("both")
    emb = FakeEmbedder()
    faiss_s = Settings(seeds_dir=SEEDS, data_dir=root / "faiss")
    milvus_s = on_store(Settings(seeds_dir=SEEDS, data_dir=root / "milvus"), "milvus", root)
    faiss_ix = ensure_index(faiss_s, emb)
    ensure_index(milvus_s, emb)
    milvus_ix = load_index(milvus_s.index_dir, settings=milvus_s)
    return (
        Retriever(index=faiss_ix, embedder=emb, settings=faiss_s).warm_up(),
        Retriever(index=milvus_ix, embedder=emb, settings=milvus_s).warm_up(),
    )


def test_the_same_chunks_and_sentences_come_back_from_milvus(both) -> None:
    f, m = (r.index for r in both)
    assert m.chunks == f.chunks
    assert m.vectors is None
    for name in ("chunk", "start", "end", "vectors", "clause_sentence", "clause_start"):
        assert (getattr(m.sentences, name) == getattr(f.sentences, name)).all(), name
    rows = np.arange(len(f.chunks))
    np.testing.assert_allclose(m.store.vectors(rows), f.store.vectors(rows), atol=1e-6)


def test_no_second_copy_of_the_chunk_text(both) -> None:
    m = both[1].index
    folder = both[1].settings.index_dir.resolve()
    files = sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file())
    assert files == sorted(["manifest.json", *m.manifest["files"]])
    assert files == [
        "documents.jsonl",
        "manifest.json",
        "sentences/leshan-government-work-report-excerpt.npz",
    ]
    assert m.manifest["milvus"]["collection"].startswith("baogao_")


@pytest.mark.parametrize("mode", ["dense", "keyword", "fused"])
def test_the_stores_agree_on_the_eval_questions(both, mode) -> None:
    """Top-5 chunk ids per eval question, and hit@5 on the answerable ones (fake embedder;
    README "Two stores" gives the real model's figures from `rag eval`)."""
    f, m = both
    same, hit = 0, {"faiss": 0, "milvus": 0}
    answerable = [q for q in QUESTIONS if q.answerable]
    for q in QUESTIONS:
        a = [h.chunk.chunk_id for h in f.search(q.question, top_k=5, mode=mode).hits]
        b = [h.chunk.chunk_id for h in m.search(q.question, top_k=5, mode=mode).hits]
        same += a == b
        if q.answerable:
            for name, ids in (("faiss", a), ("milvus", b)):
                texts = [f.index.chunk(i).text for i in ids]  # type: ignore[union-attr]
                hit[name] += any(covers(t, e) for t in texts for e in q.evidence)
    assert same / len(QUESTIONS) >= 0.95, same
    assert abs(hit["faiss"] - hit["milvus"]) / len(answerable) <= 0.01, hit


def test_keyword_scores_are_on_the_bm25s_scale(both) -> None:
    f, m = both
    q = "森林覆盖率提高到多少"
    a = {h.chunk.chunk_id: h.score for h in f.search(q, mode="keyword").hits}
    b = {h.chunk.chunk_id: h.score for h in m.search(q, mode="keyword").hits}
    assert list(a) == list(b)
    np.testing.assert_allclose(list(b.values()), list(a.values()), rtol=0.02)


def test_expressions_quote_values_and_compare_cities_without_suffix() -> None:
    assert mv.expression(None) == "" and mv.expression(DocFilter()) == ""
    e = mv.expression(DocFilter.of(doc='a"b', city="澄川市", year=2024))
    assert e == 'doc_id in ["a\\"b"] and city in ["澄川"] and year in ["2024"]'


def test_settings_name_what_milvus_needs() -> None:
    with pytest.raises(ValidationError, match="RAG_MILVUS_URI"):
        Settings(vector_store="milvus")
    with pytest.raises(ValidationError, match="ending in .db"):
        Settings(vector_store="milvus", milvus_uri="/tmp/milvus")
    s = Settings(vector_store="milvus", milvus_uri="https://h:19530", milvus_token="root:s3cret")
    assert "s3cret" not in repr(s) and "s3cret" not in str(s.model_dump())
    assert mv.redacted("https://root:s3cret@h:19530") == "https://h:19530"


@pytest.fixture(scope="module")
def milvus_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("collection")


@pytest.fixture
def collection(milvus_root: Path, tmp_path: Path) -> tuple[Collection, CountingEmbedder]:
    """A fresh collection (its own data dir; the module's database file, a new collection)."""
    (tmp_path / "seeds").mkdir()
    (tmp_path / "seeds" / "tiny-report.txt").write_text(TINY_REPORT, encoding="utf-8")
    s = Settings(
        seeds_dir=tmp_path / "seeds", data_dir=tmp_path / "data", chunk_size=40, chunk_min=10
    )
    s = on_store(s, "milvus", milvus_root)
    emb = CountingEmbedder()
    save_index(build_index(s, emb), s.index_dir)
    emb.passages = 0
    return Collection(s, emb), emb


def _rows(index) -> int:  # type: ignore[no-untyped-def]
    store = index.store
    return len(
        store.client.query(store.collection, filter="", output_fields=["chunk_id"], limit=16_384)
    )


def test_add_embeds_only_the_new_document_and_remove_deletes_its_rows(collection) -> None:
    coll, emb = collection
    before = ensure_index(coll.settings, emb)
    change = coll.add([REPORTS / "qinghe-county-2024.txt"])
    after = ensure_index(coll.settings, emb)
    texts = len(after.chunks) + len(after.sentences.start) + len(after.sentences.clause_start)
    texts -= len(before.chunks) + len(before.sentences.start) + len(before.sentences.clause_start)
    assert change.embedded == emb.passages == texts > 0
    assert _rows(after) == len(after.chunks) > len(before.chunks)
    # the seed's side file is the same file (a hard link), not rewritten
    old = before.manifest["files"]["sentences/tiny-report.npz"]
    assert after.manifest["files"]["sentences/tiny-report.npz"] == old
    emb.passages = 0
    coll.remove("qinghe-county-2024")
    gone = ensure_index(coll.settings, emb)
    assert emb.passages == 0 and gone.chunks == before.chunks and _rows(gone) == len(before.chunks)
    hits = Retriever(index=gone, embedder=emb, settings=coll.settings).search("粮食总产量").hits
    assert {h.chunk.doc_id for h in hits} == {"tiny-report"}


def test_filters_are_expressions_and_find_what_faiss_finds(collection, tmp_path: Path) -> None:
    coll, emb = collection
    names = ("chengchuan-2023.txt", "chengchuan-2024.md", "qinghe-county-2024.txt")
    coll.add([REPORTS / n for n in names])
    m = Retriever(index=ensure_index(coll.settings, emb), embedder=emb, settings=coll.settings)
    fs = coll.settings.model_copy(update={"vector_store": "faiss"})
    Collection(fs, emb).add([REPORTS / n for n in names])
    f = Retriever(index=ensure_index(fs, emb), embedder=emb, settings=fs)
    for where in (
        DocFilter.of(doc="chengchuan-2023"),
        DocFilter.of(city="澄川"),
        DocFilter.of(city="澄川市", year=2024),
        DocFilter.of(year="2024"),
    ):
        allowed = {d for d, doc in m.index.documents.items() if where.matches(doc)}
        for mode in ("dense", "keyword", "fused"):
            got = m.search("地区生产总值增长多少", top_k=5, mode=mode, where=where)
            want = f.search("地区生产总值增长多少", top_k=5, mode=mode, where=where)
            assert got.hits and {h.chunk.doc_id for h in got.hits} <= allowed
            ids = [h.chunk.chunk_id for h in got.hits]
            if mode == "fused":  # what is served: the same passages
                assert ids == [h.chunk.chunk_id for h in want.hits]
            elif mode == "dense":  # the same scores (equal cosines may come in either order)
                np.testing.assert_allclose(
                    [h.score for h in got.hits], [h.score for h in want.hits], atol=1e-5
                )
            else:  # after adds lite's BM25 statistics are per segment and its jieba dictionary
                # is the one of the collection's creation: the best passage is the same
                assert ids[0] == want.hits[0].chunk.chunk_id
    assert m.search("粮食", where=DocFilter.of(year=1999)).hits == ()


def test_a_failed_add_leaves_the_served_index_and_its_rows_are_pruned(
    collection, monkeypatch: pytest.MonkeyPatch
) -> None:
    coll, emb = collection
    before = ensure_index(coll.settings, emb)

    def boom(*a, **k):  # type: ignore[no-untyped-def]
        raise OSError("disk full")

    monkeypatch.setattr("rag.index._exclusive", boom)  # after the insert, before the swap
    with pytest.raises(OSError, match="disk full"):
        coll.add([REPORTS / "qinghe-county-2024.txt"])
    monkeypatch.undo()
    served = ensure_index(coll.settings, emb)
    assert served.version == before.version and served.chunks == before.chunks
    assert _rows(served) > len(served.chunks)  # the stray rows are there...
    r = Retriever(index=served, embedder=emb, settings=coll.settings)
    for mode in ("dense", "keyword", "fused"):  # ...and never returned
        assert {h.chunk.doc_id for h in r.search("森林覆盖率 粮食总产量", mode=mode).hits} == {
            "tiny-report"
        }
    coll.add([REPORTS / "chengchuan-2023.txt"])  # the next writer prunes them
    now = ensure_index(coll.settings, emb)
    assert _rows(now) == len(now.chunks) and "qinghe-county-2024" not in now.documents


def test_a_chunk_that_drifted_from_its_document_is_refused(collection) -> None:
    coll, emb = collection
    index = ensure_index(coll.settings, emb)
    store = index.store
    fields = ["chunk_id", "doc_id", "city", "year", "section", "start", "end", "text", "vector"]
    row = store.client.get(store.collection, ids=[index.chunks[0].chunk_id], output_fields=fields)[
        0
    ]
    store.client.upsert(store.collection, [{**row, "text": row["text"] + "（改）"}])
    store.client.flush(store.collection)
    with pytest.raises(IndexUnusable, match="differ from their document"):
        load_index(coll.settings.index_dir, settings=coll.settings)


KILL = textwrap.dedent(
    """
    import os, sys
    sys.path.insert(0, {tests!r})
    from pathlib import Path
    from conftest import FakeEmbedder
    from rag.collection import Collection
    from rag.config import Settings
    import rag.index as ix
    s = Settings.model_validate_json(Path(sys.argv[1]).read_text())
    if sys.argv[2] == "build":
        ix.ensure_index(s, FakeEmbedder())
        sys.exit(0)
    def die(*a, **k):
        os.kill(os.getpid(), 9)
    if sys.argv[2] == "add":
        ix._exclusive = die  # rows inserted, the swap not done
        Collection(s, FakeEmbedder()).add([Path(sys.argv[3])])
    else:
        import rag.stores.milvus_index as mi
        mi.after_swap = die  # the swap done, the rows not deleted
        Collection(s, FakeEmbedder()).remove(sys.argv[3])
    """
)


def _tiny_on_milvus(tmp_path: Path) -> tuple[Settings, Path]:
    """The tiny report on a milvus-lite file of its own, and the settings as JSON for a child
    process (milvus-lite: one process per file)."""
    (tmp_path / "seeds").mkdir()
    (tmp_path / "seeds" / "tiny-report.txt").write_text(TINY_REPORT, encoding="utf-8")
    s = on_store(
        Settings(
            seeds_dir=tmp_path / "seeds", data_dir=tmp_path / "data", chunk_size=40, chunk_min=10
        ),
        "milvus",
        tmp_path,
    )
    s_file = tmp_path / "s.json"
    s_file.write_text(s.model_dump_json(), encoding="utf-8")
    return s, s_file


@pytest.mark.parametrize("point", ["add", "remove"])
def test_kill_9_during_add_or_remove_keeps_the_served_index(tmp_path: Path, point: str) -> None:
    """Another process (milvus-lite: one process per file, so the test opens the file only
    after the child died) is killed between Milvus and the manifest swap."""
    s, s_file = _tiny_on_milvus(tmp_path)
    script = tmp_path / "kill.py"
    script.write_text(KILL.format(tests=str(ROOT / "tests")), encoding="utf-8")
    env = {**os.environ, "PYTHONPATH": str(ROOT)}

    def child(*args: str) -> int:
        return subprocess.run(
            [sys.executable, str(script), str(s_file), *args], env=env, cwd=ROOT, timeout=300
        ).returncode

    assert child("build") == 0
    qinghe = REPORTS / "qinghe-county-2024.txt"
    if point == "remove":
        proc = subprocess.run(
            [sys.executable, "-c", "import sys; sys.path.insert(0, 'tests'); "
             "from conftest import FakeEmbedder; from pathlib import Path; "
             "from rag.collection import Collection; from rag.config import Settings; "
             f"s = Settings.model_validate_json(Path({str(s_file)!r}).read_text()); "
             f"Collection(s, FakeEmbedder()).add([Path({str(qinghe)!r})])"],
            env=env, cwd=ROOT, timeout=300,
        )  # fmt: skip
        assert proc.returncode == 0
    before = json.loads((s.index_dir / "manifest.json").read_text(encoding="utf-8"))
    arg = str(qinghe) if point == "add" else "qinghe-county-2024"
    assert child(point, arg) == -9
    after = json.loads((s.index_dir / "manifest.json").read_text(encoding="utf-8"))
    emb = FakeEmbedder()
    served = load_index(s.index_dir, settings=s)
    docs = {d["doc_id"] for d in served.manifest["documents"]}
    if point == "add":  # not committed: the previous version is served, whole
        assert (
            after["index_version"] == before["index_version"] and "qinghe-county-2024" not in docs
        )
    else:  # committed: the new version is served; the rows wait to be pruned
        assert (
            after["index_version"] != before["index_version"] and "qinghe-county-2024" not in docs
        )
    assert _rows(served) > len(served.chunks)
    hits = Retriever(index=served, embedder=emb, settings=s).search("森林覆盖率 粮食总产量").hits
    assert {h.chunk.doc_id for h in hits} == {"tiny-report"}
    Collection(s, emb).add([REPORTS / "chengchuan-2023.txt"])
    now = ensure_index(s, emb)
    assert _rows(now) == len(now.chunks)


def test_a_truncated_lite_sidecar_is_rebuilt_from_the_data(tmp_path: Path) -> None:
    """milvus-lite writes a segment's index sidecar in place; a process killed mid-write (as
    in the kill -9 test, when its background index build was running) leaves it truncated,
    and every later process failed to load the collection. Loading now removes the
    collection's sidecars and reads again: they are caches of the Parquet data."""
    s, s_file = _tiny_on_milvus(tmp_path)
    script = tmp_path / "build_and_load.py"
    script.write_text(
        "import sys; sys.path.insert(0, 'tests')\n"
        "from pathlib import Path\n"
        "from conftest import FakeEmbedder\n"
        "from rag.config import Settings\n"
        "from rag.index import ensure_index, load_index\n"
        "s = Settings.model_validate_json(Path(sys.argv[1]).read_text())\n"
        "ensure_index(s, FakeEmbedder())\n"
        "print(len(load_index(s.index_dir, settings=s).chunks))\n",
        encoding="utf-8",
    )
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    out = subprocess.run(
        [sys.executable, str(script), str(s_file)], env=env, cwd=ROOT, timeout=300,
        capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    sidecars = sorted(Path(s.milvus_uri).glob("collections/*/partitions/*/indexes/*.idx"))
    assert sidecars
    for f in sidecars:
        f.write_bytes(f.read_bytes()[: f.stat().st_size // 3])
    emb = FakeEmbedder()
    try:
        served = load_index(s.index_dir, settings=s)
        assert len(served.chunks) == int(out.split()[-1])
        hits = Retriever(index=served, embedder=emb, settings=s).search("森林覆盖率").hits
        assert hits and hits[0].chunk.doc_id == "tiny-report"
    finally:
        mv.close_all()


def test_refresh_serves_a_document_added_meanwhile(collection) -> None:
    """The pipeline reloads a new version from Milvus with the client it opened (no settings
    passed to load_index), and answers from the added document."""
    from rag.pipeline import Pipeline

    coll, emb = collection
    pipe = Pipeline(coll.settings, embedder=emb, index=ensure_index(coll.settings, emb)).load()
    assert not pipe.refresh()
    coll.add([REPORTS / "qinghe-county-2024.txt"])
    assert pipe.refresh()
    hits = pipe.search("粮食总产量", where=DocFilter.of(city="青禾")).hits
    assert hits and {h.chunk.doc_id for h in hits} == {"qinghe-county-2024"}
    answer = pipe.answer("青禾县粮食总产量是多少？")
    assert all(
        pipe.index.documents[c.doc_id].text[c.start : c.end] == c.quote for c in answer.citations
    )
