"""An index whose chunks live in Milvus: build, add, remove, save, load.

Layout: the collection (:mod:`rag.stores.milvus`) holds every chunk with its text, offsets,
metadata, dense vector and BM25 postings. The versioned index directory (swapped atomically
by :func:`rag.index.save_index`, as for FAISS) holds::

    manifest.json          as for FAISS, with "milvus": {collection, index, previous}
    documents.jsonl        the cleaned documents (the chunk text is their slice)
    sentences/<doc_id>.npz that document's sentences and clauses: offsets (document
                           characters), owning chunk / sentence (counted within the document),
                           vectors. Unchanged documents' files are hard links to the served ones.

What is committed when: the manifest swap is the commit point, as for FAISS. An add inserts its
rows first (a killed add leaves rows of a document the served manifest does not list: searches
drop them, the next add or remove prunes them); a remove deletes its rows after the swap (a
killed remove leaves rows of a document no longer listed: the same). A rebuild fills a new
collection and drops collections older than the previous one after its swap, so a process still
serving the previous version keeps working until it refreshes.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import time
import uuid
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from ..index import (
    HNSW_EF_CONSTRUCTION,
    Index,
    IndexUnusable,
    Sentences,
    _assemble,
    _concat,
    _doc_from_row,
    _doc_row,
    _read_jsonl,
    _sha256,
    _write_jsonl,
    index_kind,
)
from ..keyword import coined_terms, place_words
from . import milvus as mv

log = logging.getLogger(__name__)

if TYPE_CHECKING:
    from ..config import Settings
    from ..embedding import Embedder
    from ..types import Chunk, Document

SENTENCES_DIR = "sentences"


def _hnsw(n: int, settings: Settings) -> dict[str, int] | None:
    """The same rule as FAISS (rag.index.index_kind): exact up to ``hnsw_above`` chunks."""
    if index_kind(n, settings) == "IndexFlatIP":
        return None
    return {"M": settings.hnsw_m, "efConstruction": HNSW_EF_CONSTRUCTION}


def _store(
    index_manifest: dict[str, Any], client: Any, chunks: list[Chunk], dim: int
) -> mv.MilvusStore:
    entry = index_manifest["milvus"]
    return mv.MilvusStore(
        client=client,
        collection=entry["collection"],
        chunk_ids=[c.chunk_id for c in chunks],
        dim=dim,
        ef_search=entry.get("ef_search"),
    )


def build(
    settings: Settings,
    embedder: Embedder,
    docs: list[Document],
    chunks: list[Chunk],
    vecs: np.ndarray,
    sentences: Sentences,
    *,
    t0: float,
) -> Index:
    """A new collection filled with ``chunks`` (nothing serves it until the swap)."""
    client = mv.connect(settings)
    stamp = time.strftime("%Y%m%dT%H%M%S", time.gmtime())
    name = mv.collection_name(settings.milvus_collection_prefix, f"{stamp}_{uuid.uuid4().hex[:6]}")
    hnsw = _hnsw(len(chunks), settings)
    terms = coined_terms(docs)
    mv.create_collection(
        client, name, dim=embedder.dim, terms=terms, hnsw=hnsw, stop=place_words(docs)
    )
    try:
        mv.insert(
            client,
            name,
            chunks,
            vecs,
            {d.doc_id: d for d in docs},
            batch=settings.milvus_insert_batch,
        )
    except BaseException:
        client.drop_collection(name)
        raise
    served: dict[str, Any] = {}
    with contextlib.suppress(OSError, ValueError):  # no served index yet
        served = json.loads((settings.index_dir / "manifest.json").read_text(encoding="utf-8"))
    before = served.get("milvus") or {}
    ef: int | None = None if hnsw is None else settings.hnsw_ef_search
    entry = {
        "collection": name,
        "index": "FLAT"
        if hnsw is None
        else f"HNSW(M={hnsw['M']}, efConstruction={hnsw['efConstruction']})",
        "ef_search": ef,
        "analyzer_terms": len(terms),
        # the served version's collection stays until the next rebuild (a process serving
        # it keeps working until it refreshes); the one before it goes after the swap
        "previous_collection": before.get("collection"),
        "drop_after_swap": before.get("previous_collection"),
    }
    store = mv.MilvusStore(client, name, [c.chunk_id for c in chunks], embedder.dim, ef)
    return _assemble(
        settings, embedder, docs, chunks, vecs, sentences, t0=t0, external=store, store_entry=entry
    )


def add(
    index: Index,
    docs: list[Document],
    chunks: list[Chunk],
    vecs: np.ndarray,
    sentences: Sentences,
    settings: Settings,
    embedder: Embedder,
    *,
    t0: float,
) -> Index:
    """``index`` plus ``docs``: their rows are inserted now, served from the swap on."""
    store = index.store
    assert isinstance(store, mv.MilvusStore)
    mv.insert(
        store.client,
        store.collection,
        chunks,
        vecs,
        {d.doc_id: d for d in docs},
        batch=settings.milvus_insert_batch,
    )
    all_chunks = index.chunks + chunks
    entry = dict(index.manifest["milvus"])
    return _assemble(
        settings,
        embedder,
        [*index.documents.values(), *docs],
        all_chunks,
        vecs,
        _concat(index.sentences, sentences, len(index.chunks)),
        t0=t0,
        added={e["doc_id"]: e.get("added", "") for e in index.manifest.get("documents", [])},
        external=_store(index.manifest, store.client, all_chunks, store.dim),
        store_entry=entry,
    )


def remove(
    index: Index,
    doc_ids: set[str],
    keep: np.ndarray,
    sentences: Sentences,
    settings: Settings,
    embedder: Embedder,
    *,
    t0: float,
) -> Index:
    """``index`` without ``doc_ids``; their rows are deleted after the swap (``retired``)."""
    store = index.store
    assert isinstance(store, mv.MilvusStore)
    kept = [index.chunks[i] for i in keep]
    new = _assemble(
        settings,
        embedder,
        [d for d in index.documents.values() if d.doc_id not in doc_ids],
        kept,
        np.zeros((0, store.dim), np.float32),
        sentences,
        t0=t0,
        added={e["doc_id"]: e.get("added", "") for e in index.manifest.get("documents", [])},
        external=_store(index.manifest, store.client, kept, store.dim),
        store_entry=dict(index.manifest["milvus"]),
    )
    new.retired = tuple(sorted(doc_ids))
    return new


def _per_document(index: Index) -> dict[str, Sentences]:
    """``index.sentences`` cut by document, rows counted from the document's first chunk and
    first sentence (chunks are grouped by document, in order)."""
    out: dict[str, Sentences] = {}
    sent, lo = index.sentences, 0
    bounds: dict[str, tuple[int, int]] = {}
    for i, c in enumerate(index.chunks):
        a, _ = bounds.get(c.doc_id, (i, i))
        if c.doc_id in bounds and bounds[c.doc_id][1] != i:
            raise ValueError(f"chunks of {c.doc_id} are not contiguous")
        bounds[c.doc_id] = (a, i + 1)
    for doc_id in index.documents:
        a, b = bounds.get(doc_id, (lo, lo))
        s_rows = np.flatnonzero((sent.chunk >= a) & (sent.chunk < b))
        s0 = int(s_rows[0]) if len(s_rows) else 0
        c_rows = np.flatnonzero(np.isin(sent.clause_sentence, s_rows))
        out[doc_id] = Sentences(
            (sent.chunk[s_rows] - a).astype(np.int32),
            sent.start[s_rows],
            sent.end[s_rows],
            sent.vectors[s_rows],
            (sent.clause_sentence[c_rows] - s0).astype(np.int32),
            sent.clause_start[c_rows],
            sent.clause_end[c_rows],
            sent.clause_vectors[c_rows],
        )
        lo = b
    return out


def _reusable(served: Path, manifest: dict[str, Any]) -> dict[str, tuple[Path, str]]:
    """The served side files a new version may link to: same document, same bytes (sha256),
    same model and chunker (the manifest fields that decide the vectors)."""
    try:
        old = json.loads((served / "manifest.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    keys = ("model", "engine", "dimension", "chunker", "passage_prefix")
    if any(old.get(k) != manifest.get(k) for k in keys):
        return {}
    before = {e["doc_id"]: e for e in old.get("documents", [])}
    same = {e["doc_id"] for e in manifest.get("documents", []) if before.get(e["doc_id"]) == e}
    files = old.get("files", {})
    return {
        d: (served / SENTENCES_DIR / f"{d}.npz", files[f"{SENTENCES_DIR}/{d}.npz"])
        for d in same
        if f"{SENTENCES_DIR}/{d}.npz" in files
    }


def write_files(index: Index, out: Path, *, served: Path) -> None:
    """documents.jsonl, one sentences file per document, manifest.json (last, with checksums)."""
    (out / SENTENCES_DIR).mkdir()
    _write_jsonl(out / "documents.jsonl", [_doc_row(d) for d in index.documents.values()])
    files = {"documents.jsonl": _sha256(out / "documents.jsonl")}
    reuse = _reusable(served, index.manifest)
    for doc_id, sents in _per_document(index).items():
        if "/" in doc_id or doc_id.startswith("."):
            raise ValueError(f"document id {doc_id!r} cannot name a file")
        name = f"{SENTENCES_DIR}/{doc_id}.npz"
        if doc_id in reuse and reuse[doc_id][0].exists():
            os.link(reuse[doc_id][0], out / name)
            files[name] = reuse[doc_id][1]
            continue
        sents.save(out / name)
        with (out / name).open("rb") as f:
            os.fsync(f.fileno())
        files[name] = _sha256(out / name)
    manifest = dict(index.manifest)
    manifest["files"] = files
    (out / "manifest.json").write_text(
        json.dumps(manifest, ensure_ascii=False, indent=2), encoding="utf-8"
    )
    for name in ("documents.jsonl", "manifest.json"):
        with (out / name).open("rb") as f:
            os.fsync(f.fileno())
    index.manifest = manifest


def after_swap(index: Index) -> None:
    """Once ``index`` is served: delete the rows of the documents it removed, and drop the
    collections of versions older than the previous one."""
    store = index.store
    assert isinstance(store, mv.MilvusStore)
    mv.delete_documents(store.client, store.collection, index.retired)
    index.retired = ()
    old = index.manifest["milvus"].get("drop_after_swap")
    if old and old != store.collection and store.client.has_collection(old):
        store.client.drop_collection(old)


def settle(index: Index) -> int:
    """Delete rows of documents ``index`` does not list (a killed add or remove); call under
    the collection lock. Returns the rows deleted."""
    store = index.store
    assert isinstance(store, mv.MilvusStore)
    return mv.prune(store.client, store.collection, index.documents)


def load(path: Path, manifest: dict[str, Any], settings: Settings | None) -> Index:
    """Read a Milvus index: files checked against the manifest, chunks from the collection,
    each chunk checked against its document's text."""
    problems = []
    files = manifest.get("files", {})
    for name, digest in files.items():
        f = path / name
        if not f.exists():
            problems.append(f"{name} is missing")
        elif _sha256(f) != digest:
            problems.append(f"{name} does not match its checksum in manifest.json (corrupted?)")
    order = [e["doc_id"] for e in manifest.get("documents", [])]
    wanted = {"documents.jsonl", *(f"{SENTENCES_DIR}/{d}.npz" for d in order)}
    if problems or set(files) != wanted:
        raise IndexUnusable(problems or ["manifest.json does not list the index files"])
    entry = manifest.get("milvus") or {}
    uri = manifest.get("milvus_uri", "")
    try:
        client = mv.connect(settings) if settings is not None else mv.client_for(uri)
        if client is None:
            raise IndexUnusable([f"the index lives in Milvus at {uri}: settings are needed"])
        docs = [_doc_from_row(row) for row in _read_jsonl(path / "documents.jsonl")]
        try:
            chunks = mv.read_chunks(client, entry["collection"], order)
        except Exception as exc:  # a truncated milvus-lite sidecar: rebuild it, read again
            local = settings.milvus_uri if settings is not None else uri
            removed = mv.drop_lite_sidecars(local or "", entry["collection"])
            if not removed:
                raise
            log.warning(
                "milvus-lite could not load %s (%s); removed %d index sidecar(s), rebuilding",
                entry["collection"], exc, len(removed),
            )  # fmt: skip
            client = mv.connect(settings) if settings is not None else mv.reopen(uri)
            chunks = mv.read_chunks(client, entry["collection"], order)
    except mv.MilvusUnavailable as exc:
        raise IndexUnusable([str(exc)]) from exc
    except IndexUnusable:
        raise
    except Exception as exc:  # pymilvus MilvusException, json ValueError, rows KeyError
        raise IndexUnusable(
            [f"cannot read the Milvus index ({entry.get('collection')}): {exc}"]
        ) from exc
    by_id = {d.doc_id: d for d in docs}
    counts = {e["doc_id"]: e.get("chunks", 0) for e in manifest.get("documents", [])}
    have: dict[str, int] = {}
    drifted = []
    for c in chunks:
        have[c.doc_id] = have.get(c.doc_id, 0) + 1
        if by_id[c.doc_id].text[c.start : c.end] != c.text:
            drifted.append(c.chunk_id)
    if drifted:
        raise IndexUnusable(
            [f"{len(drifted)} chunk(s) in Milvus differ from their document's text: {drifted[:3]}"]
        )
    short = [d for d in order if have.get(d, 0) != counts.get(d)]
    if short:
        raise IndexUnusable(
            [
                f"Milvus holds {have.get(d, 0)} chunks of {d}, the manifest says {counts.get(d)}"
                for d in short[:5]
            ]
        )
    sentences = Sentences.of([])
    dim = int(manifest.get("dimension", 0))
    sentences.vectors = np.zeros((0, dim), np.float32)
    sentences.clause_vectors = np.zeros((0, dim), np.float32)
    offset = 0
    try:
        for d in order:
            part = Sentences.load(path / SENTENCES_DIR / f"{d}.npz")
            sentences = _concat(sentences, part, offset)
            offset += have.get(d, 0)
    except Exception as exc:
        raise IndexUnusable([f"cannot read the sentence files in {path}: {exc}"]) from exc
    n_sent, n_cl = manifest["counts"].get("sentences"), manifest["counts"].get("clauses")
    if len(sentences.start) != n_sent or len(sentences.clause_start) != n_cl:
        raise IndexUnusable(
            [f"sentence files hold {len(sentences.start)} sentences, manifest says {n_sent}"]
        )
    return Index(
        manifest=manifest,
        vectors=None,
        chunks=chunks,
        documents=by_id,
        sentences=sentences,
        external=_store(manifest, client, chunks, dim),
    )
