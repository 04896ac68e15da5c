"""The document collection: incremental add / remove, duplicates, bad files, filters."""

from __future__ import annotations

import json
import threading
from pathlib import Path

import pytest
from conftest import CountingEmbedder, FakeEmbedder

from rag.collection import AddRefused, Collection, NotRemovable, documents
from rag.config import Settings
from rag.index import build_index, ensure_index, expected_manifest, load_index, save_index
from rag.pipeline import Pipeline
from rag.retrieval import UnknownDocument
from rag.types import DocFilter

REPORTS = Path(__file__).resolve().parent / "data" / "reports"


@pytest.fixture
def collection(tiny_settings: Settings) -> tuple[Collection, CountingEmbedder]:
    emb = CountingEmbedder()
    save_index(build_index(tiny_settings, emb), tiny_settings.index_dir)
    emb.passages = 0
    return Collection(tiny_settings, emb), emb


def _texts(index) -> int:  # type: ignore[no-untyped-def]
    return len(index.chunks) + len(index.sentences.start) + len(index.sentences.clause_start)


def test_add_embeds_only_the_new_document(collection, tiny_settings: Settings) -> None:
    coll, emb = collection
    before = load_index(tiny_settings.index_dir)
    change = coll.add([REPORTS / "qinghe-county-2024.txt"])
    after = load_index(tiny_settings.index_dir, expected_manifest(tiny_settings, emb))
    (o,) = change.outcomes
    assert (o.status, o.doc_id) == ("added", "qinghe-county-2024")
    assert change.embedded == emb.passages == _texts(after) - _texts(before) > 0
    assert change.texts == _texts(after) == after.texts
    assert change.index_version == after.version != before.version
    # the old document's vectors are copied, not recomputed
    n = len(before.chunks)
    assert (after.store.vectors(list(range(n))) == before.store.all_vectors()).all()
    assert after.chunks[:n] == before.chunks
    # the copy and its metadata are in the data dir, so a full rebuild finds the same
    stored = tiny_settings.documents_dir
    assert sorted(p.name for p in stored.iterdir()) == [
        "qinghe-county-2024.meta.json",
        "qinghe-county-2024.txt",
    ]
    meta = json.loads((stored / "qinghe-county-2024.meta.json").read_text(encoding="utf-8"))
    assert meta["city"] == "青禾县" and meta["original_name"] == "qinghe-county-2024.txt"
    rebuilt = build_index(tiny_settings, FakeEmbedder())
    assert [c.text for c in rebuilt.chunks] == [c.text for c in after.chunks]
    assert (rebuilt.vectors.reconstruct_n(0, n) == before.store.all_vectors()).all()


def test_remove_embeds_nothing_and_restores_the_rest(collection, tiny_settings: Settings) -> None:
    coll, emb = collection
    before = load_index(tiny_settings.index_dir)
    coll.add([REPORTS / "qinghe-county-2024.txt", REPORTS / "chengchuan-2024.md"])
    emb.passages = 0
    change = coll.remove("qinghe-county-2024")
    assert emb.passages == 0 and change.embedded == 0
    after = load_index(tiny_settings.index_dir, expected_manifest(tiny_settings, emb))
    assert set(after.documents) == {"tiny-report", "chengchuan-2024"}
    assert after.chunks[: len(before.chunks)] == before.chunks
    assert (
        after.store.vectors(list(range(len(before.chunks)))) == before.store.all_vectors()
    ).all()
    # sentence rows still point at their own chunks' text
    s = after.sentences
    for row in range(0, len(s.start), 7):
        chunk = after.chunks[s.chunk[row]]
        assert chunk.start <= s.start[row] < s.end[row] <= chunk.end
    assert not (tiny_settings.documents_dir / "qinghe-county-2024.txt").exists()
    # the same as a fresh build of what is left
    fresh = build_index(tiny_settings, FakeEmbedder())
    assert [c.chunk_id for c in fresh.chunks] == [c.chunk_id for c in after.chunks]
    assert (fresh.sentences.vectors == after.sentences.vectors).all()
    assert (fresh.sentences.clause_start == after.sentences.clause_start).all()


def test_the_same_file_or_text_is_not_added_twice(
    collection, tiny_settings: Settings, tmp_path: Path
) -> None:
    coll, _ = collection
    coll.add([REPORTS / "qinghe-county-2024.txt"])
    again = coll.add([REPORTS / "qinghe-county-2024.txt"])
    (o,) = again.outcomes
    assert (o.status, o.doc_id) == ("duplicate", "qinghe-county-2024") and "sha256" in o.reason
    assert again.embedded == 0
    renamed = tmp_path / "copy-of-qinghe.txt"
    renamed.write_text((REPORTS / "qinghe-county-2024.txt").read_text(encoding="utf-8") + "\n\n")
    (o,) = coll.add([renamed]).outcomes
    assert o.status == "duplicate" and "same text" in o.reason
    assert len(load_index(tiny_settings.index_dir).documents) == 2


def test_a_bad_file_is_rejected_and_nothing_of_it_is_added(
    collection, tiny_settings: Settings, tmp_path: Path
) -> None:
    coll, emb = collection
    before = load_index(tiny_settings.index_dir).version
    empty, scan = tmp_path / "empty.txt", tmp_path / "notes.xlsx"
    empty.write_bytes(b"")
    scan.write_bytes(b"PK")
    change = coll.add([empty, scan])
    assert [(o.status, o.error.__class__.__name__) for o in change.outcomes] == [
        ("rejected", "UnreadableDocument"),
        ("rejected", "UnsupportedFormat"),
    ]
    assert change.index_version == before == load_index(tiny_settings.index_dir).version
    assert emb.passages == 0 and not list(tiny_settings.documents_dir.glob("*"))
    # a good file beside a bad one is added
    mixed = coll.add([empty, REPORTS / "qinghe-county-2024.txt"])
    assert [o.status for o in mixed.outcomes] == ["rejected", "added"]


def test_an_all_or_none_add_with_a_bad_file_adds_nothing(
    collection, tiny_settings: Settings, tmp_path: Path
) -> None:
    coll, emb = collection
    before = load_index(tiny_settings.index_dir).version
    empty = tmp_path / "empty.txt"
    empty.write_bytes(b"")
    good = REPORTS / "qinghe-county-2024.txt"
    with pytest.raises(AddRefused, match=r"empty.txt: the file is empty \(nothing was added\)"):
        coll.add([good, empty], all_or_none=True)
    assert load_index(tiny_settings.index_dir).version == before
    assert emb.passages == 0 and not list(tiny_settings.documents_dir.glob("*"))
    # without the bad file it goes in
    (o,) = coll.add([good], all_or_none=True).outcomes
    assert o.status == "added"


def test_a_failed_add_leaves_the_previous_index_and_no_files(
    collection, tiny_settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    coll, _ = collection
    before = load_index(tiny_settings.index_dir).version

    def broken(*args, **kwargs):  # type: ignore[no-untyped-def]
        raise RuntimeError("disk full")

    monkeypatch.setattr("rag.index._write_files", broken)
    with pytest.raises(RuntimeError, match="disk full"):
        coll.add([REPORTS / "qinghe-county-2024.txt"])
    assert load_index(tiny_settings.index_dir).version == before
    assert list(tiny_settings.documents_dir.iterdir()) == []


def test_seeds_cannot_be_removed_and_unknown_ids_are_named(collection) -> None:
    coll, _ = collection
    with pytest.raises(NotRemovable, match="is a seed"):
        coll.remove("tiny-report")
    with pytest.raises(NotRemovable, match="no document 'nope'"):
        coll.remove("nope")


def test_same_stem_gets_a_new_id(collection, tmp_path: Path) -> None:
    coll, _ = collection
    other = tmp_path / "tiny-report.txt"
    other.write_text(
        "某县2024年政府工作报告\n\n一、回顾\n\n全县粮食总产量41.8万吨。\n", encoding="utf-8"
    )
    (o,) = coll.add([other]).outcomes
    assert o.doc_id == "tiny-report-2"


def test_concurrent_adds_are_serialized(collection, tiny_settings: Settings) -> None:
    coll, emb = collection
    files = [REPORTS / "qinghe-county-2024.txt", REPORTS / "chengchuan-2024.md"]
    errors: list[BaseException] = []

    def add(path: Path) -> None:
        try:
            Collection(tiny_settings, FakeEmbedder()).add([path])
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=add, args=(f,)) for f in files]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert not errors
    index = load_index(tiny_settings.index_dir)
    assert set(index.documents) == {"tiny-report", "qinghe-county-2024", "chengchuan-2024"}
    assert {d.doc_id for d in documents(index) if d.origin == "added"} == {
        "qinghe-county-2024",
        "chengchuan-2024",
    }


def test_documents_list_names_each_document(collection) -> None:
    coll, _ = collection
    coll.add([REPORTS / "chengchuan-2024.md"], metadata={"city": "别的市"})
    rows = {r.doc_id: r for r in coll.documents()}
    r = rows["chengchuan-2024"]
    # the .meta.json beside the file wins over the flag
    assert (r.title, r.city, r.year, r.kind, r.format) == (
        "2024年澄川市政府工作报告", "澄川市", "2024", "政府工作报告", "md",
    )  # fmt: skip
    assert r.chunks > 0 and r.chars > 0 and len(r.sha256) == 64 and r.added.endswith("Z")
    assert rows["tiny-report"].origin == "seed"


@pytest.fixture(scope="module")
def three(tmp_path_factory: pytest.TempPathFactory) -> Pipeline:
    from conftest import TINY_REPORT

    root = tmp_path_factory.mktemp("three")
    (root / "seeds").mkdir()
    (root / "seeds" / "tiny-report.txt").write_text(TINY_REPORT, encoding="utf-8")
    tiny_settings = Settings(
        seeds_dir=root / "seeds", data_dir=root / "data", chunk_size=40, chunk_min=10
    )
    emb = FakeEmbedder()
    save_index(build_index(tiny_settings, emb), tiny_settings.index_dir)
    Collection(tiny_settings, emb).add(
        [
            REPORTS / n
            for n in ("chengchuan-2023.txt", "chengchuan-2024.md", "qinghe-county-2024.txt")
        ]
    )
    return Pipeline(tiny_settings, embedder=emb, index=ensure_index(tiny_settings, emb)).load()


@pytest.mark.parametrize(
    "where,docs",
    [
        (DocFilter.of(doc="chengchuan-2023"), {"chengchuan-2023"}),
        (DocFilter.of(city="澄川"), {"chengchuan-2023", "chengchuan-2024"}),
        (DocFilter.of(city="澄川市", year=2024), {"chengchuan-2024"}),
        (DocFilter.of(year="2024"), {"chengchuan-2024", "qinghe-county-2024"}),
        (DocFilter.of(city="青禾县"), {"qinghe-county-2024"}),
    ],
)
@pytest.mark.parametrize("mode", ["dense", "keyword", "fused"])
def test_filters_limit_hits_and_citations(
    three: Pipeline, where: DocFilter, docs: set[str], mode
) -> None:  # type: ignore[no-untyped-def]
    result = three.search("地区生产总值增长多少", top_k=10, mode=mode, where=where)
    assert result.hits and {h.chunk.doc_id for h in result.hits} <= docs
    answer = three.answer("地区生产总值增长多少？", where=where)
    assert {c.doc_id for c in answer.citations} <= docs
    assert {h.chunk.doc_id for h in answer.hits} <= docs


def test_filters_find_what_the_unfiltered_search_ranks_lower(three: Pipeline) -> None:
    everything = three.search("粮食总产量", top_k=50, mode="keyword")
    only = three.search(
        "粮食总产量", top_k=5, mode="keyword", where=DocFilter.of(doc="tiny-report")
    )
    wanted = [h.chunk.chunk_id for h in everything.hits if h.chunk.doc_id == "tiny-report"][:5]
    assert [h.chunk.chunk_id for h in only.hits] == wanted


def test_a_filter_matching_nothing_and_an_unknown_id(three: Pipeline) -> None:
    assert three.search("粮食", where=DocFilter.of(year=1999)).hits == ()
    assert three.answer("粮食总产量多少？", where=DocFilter.of(city="不存在市")).refused
    with pytest.raises(UnknownDocument, match="no document nope"):
        three.search("粮食", where=DocFilter.of(doc="nope"))
    with pytest.raises(ValueError, match="four-digit year"):
        DocFilter.of(year="24")


def test_refresh_serves_a_document_added_by_another_process(tiny_settings: Settings) -> None:
    emb = FakeEmbedder()
    pipe = Pipeline(tiny_settings, embedder=emb, index=ensure_index(tiny_settings, emb)).load()
    assert not pipe.refresh()
    Collection(tiny_settings, FakeEmbedder()).add([REPORTS / "qinghe-county-2024.txt"])
    assert pipe.refresh()
    hits = pipe.search("粮食总产量", where=DocFilter.of(city="青禾")).hits
    assert hits and hits[0].chunk.doc_id == "qinghe-county-2024"
    assert pipe.index is not None and pipe.index.documents["qinghe-county-2024"].year == "2024"
