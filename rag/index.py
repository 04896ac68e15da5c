"""The saved index: FAISS vectors + chunk store + documents + a manifest, in one directory.

Layout of ``settings.index_dir`` (a symlink to a versioned sibling directory, swapped
atomically, so a half-written index never replaces a good one)::

    manifest.json   format, model, engine, dimension, chunker settings, source SHA-256, counts,
                    build time, and the SHA-256 of each file below
    index.faiss     normalized vectors, inner product (= cosine)
    chunks.jsonl    one Chunk per line, in vector order
    documents.jsonl one cleaned Document per line (text, paragraphs, section paths)
    sentences.npz   every chunk's sentences: offsets, owning chunk, and their vectors
                    (answer composition picks and quotes sentences with these); and every
                    sentence's clauses: offsets, owning sentence, vectors (English leads)

With ``RAG_VECTOR_STORE=milvus`` the chunks and their vectors live in a Milvus collection
instead of ``index.faiss`` + ``chunks.jsonl``, and the sentences are one side file per document
(``sentences/<doc_id>.npz``); :mod:`rag.stores.milvus_index` reads and writes that layout.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import logging
import os
import shutil
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np

from .chunking import CHUNKER_VERSION, chunk_documents, clause_text, split_clauses, split_sentences
from .ingest import load_document, sha256_file, source_paths
from .types import Chunk, DocFilter, Document, Paragraph

if TYPE_CHECKING:
    import faiss

    from .config import Settings
    from .embedding import Embedder

log = logging.getLogger(__name__)

FORMAT_VERSION = 3  # 2: clause vectors in sentences.npz; 3: any format, a collection
FILES = ("index.faiss", "chunks.jsonl", "documents.jsonl", "sentences.npz")


class IndexUnusable(RuntimeError):
    """The saved index cannot be used; ``reasons`` says why (one line each)."""

    def __init__(self, reasons: list[str]) -> None:
        super().__init__("; ".join(reasons))
        self.reasons = reasons


_EMPTY = np.zeros(0, np.int32)


@dataclass
class Sentences:
    """The sentences of all chunks: ``documents[chunk.doc_id].text[start:end]``, and their
    clauses (``rag.chunking.split_clauses``: the units a direct answer quotes)."""

    chunk: np.ndarray  # int32, index into Index.chunks
    start: np.ndarray  # int32, offsets into the document text
    end: np.ndarray
    vectors: np.ndarray  # float32 (n, dim), L2-normalized
    clause_sentence: np.ndarray = field(default_factory=lambda: _EMPTY)  # int32, row above
    clause_start: np.ndarray = field(default_factory=lambda: _EMPTY)  # int32, document offsets
    clause_end: np.ndarray = field(default_factory=lambda: _EMPTY)
    # float32 (m, dim): the clause without its trailing punctuation, as a passage
    clause_vectors: np.ndarray = field(default_factory=lambda: np.zeros((0, 0), np.float32))

    @classmethod
    def of(cls, chunks: list[Chunk]) -> Sentences:
        """Offsets of every sentence of every chunk and of their clauses (no vectors yet)."""
        rows = [
            (i, c.start + s, c.start + e)
            for i, c in enumerate(chunks)
            for s, e in split_sentences(c.text)
        ]
        arr = np.asarray(rows, dtype=np.int32).reshape(-1, 3)
        clauses = [
            (j, cs, ce)
            for j, (i, s, e) in enumerate(rows)
            for cs, ce in split_clauses(
                chunks[i].text[s - chunks[i].start : e - chunks[i].start], s
            )
        ]
        cl = np.asarray(clauses, dtype=np.int32).reshape(-1, 3)
        return cls(
            arr[:, 0],
            arr[:, 1],
            arr[:, 2],
            np.zeros((len(rows), 0), np.float32),
            cl[:, 0],
            cl[:, 1],
            cl[:, 2],
            np.zeros((len(clauses), 0), np.float32),
        )

    def save(self, path: Path) -> None:
        with path.open("wb") as f:
            np.savez(f, **{k.name: getattr(self, k.name) for k in fields(self)})

    @classmethod
    def load(cls, path: Path) -> Sentences:
        with np.load(path, allow_pickle=False) as z:
            return cls(**{k.name: z[k.name] for k in fields(cls)})


class VectorStore(Protocol):
    """What retrieval needs from a vector store: top-k by inner product (cosine on normalized
    vectors), optionally among some documents only, the stored vectors back, and a keyword
    channel if the store has its own. Rows are positions in ``Index.chunks``. The subset is
    given twice: ``rows`` for stores that select rows (FAISS), ``where`` for stores that filter
    by expression (Milvus). The FAISS files are one implementation (:class:`FaissStore`), a
    Milvus collection the other (:class:`rag.stores.milvus.MilvusStore`)."""

    def __len__(self) -> int: ...

    def search(
        self,
        queries: np.ndarray,
        k: int,
        *,
        rows: np.ndarray | None = None,
        where: DocFilter | None = None,
    ) -> tuple[np.ndarray, np.ndarray]: ...

    def vectors(self, rows: np.ndarray) -> np.ndarray: ...

    def keyword(
        self, text: str, k: int, *, where: DocFilter | None = None
    ) -> list[tuple[int, float]] | None:
        """BM25 top-k (row, score) from the store itself; None: the store has no keyword
        channel (the retriever's in-memory bm25s index is it)."""
        ...


@dataclass
class FaissStore:
    """:class:`VectorStore` over a FAISS index (flat or HNSW, both keep the vectors)."""

    index: faiss.Index

    def __len__(self) -> int:
        return int(self.index.ntotal)

    def search(
        self,
        queries: np.ndarray,
        k: int,
        *,
        rows: np.ndarray | None = None,
        where: DocFilter | None = None,
    ) -> tuple[np.ndarray, np.ndarray]:
        """Scores and row ids (-1 past the end), like ``faiss.Index.search``; with ``rows``,
        only those rows are candidates (a FAISS ID selector, exact for a flat index; ``where``
        names the same subset and is not needed here)."""
        if rows is None:
            return self.index.search(queries, k)  # type: ignore[no-any-return]
        faiss = _faiss()
        selector = faiss.IDSelectorBatch(np.ascontiguousarray(rows, dtype=np.int64))
        if hasattr(self.index, "hnsw"):
            params = faiss.SearchParametersHNSW(sel=selector, efSearch=self.index.hnsw.efSearch)
        else:
            params = faiss.SearchParameters(sel=selector)
        return self.index.search(queries, min(k, len(rows)), params=params)  # type: ignore[no-any-return]

    def vectors(self, rows: np.ndarray) -> np.ndarray:
        if len(rows) == 0:
            return np.zeros((0, self.index.d), np.float32)
        return self.index.reconstruct_batch(np.asarray(rows, dtype=np.int64))  # type: ignore[no-any-return]

    def all_vectors(self) -> np.ndarray:
        return self.vectors(np.arange(len(self)))

    def keyword(
        self, text: str, k: int, *, where: DocFilter | None = None
    ) -> list[tuple[int, float]] | None:
        return None  # the keyword channel is rag.keyword's bm25s index, built in memory


@dataclass
class Index:
    """A loaded index: everything retrieval needs, in memory (with Milvus: all but the
    vectors and the BM25 postings, which stay in the collection, ``external``)."""

    manifest: dict[str, Any]
    vectors: faiss.Index | None
    chunks: list[Chunk]
    documents: dict[str, Document]
    sentences: Sentences
    external: VectorStore | None = None
    # documents whose rows leave the external store once this index is served (a remove)
    retired: tuple[str, ...] = ()

    @property
    def version(self) -> str:
        return str(self.manifest["index_version"])

    @property
    def store(self) -> VectorStore:
        if self.external is not None:
            return self.external
        assert self.vectors is not None
        return FaissStore(self.vectors)

    def chunk(self, chunk_id: str) -> Chunk | None:
        return self._by_id.get(chunk_id)

    @property
    def texts(self) -> int:
        """The texts embedded for this index: chunks, sentences and clauses."""
        s = self.sentences
        return len(self.chunks) + len(s.start) + len(s.clause_start)

    def __post_init__(self) -> None:
        self._by_id = {c.chunk_id: c for c in self.chunks}


def expected_manifest(settings: Settings, embedder: Embedder) -> dict[str, Any]:
    """The manifest fields that must match for a saved index to be reused."""
    return {
        "format_version": FORMAT_VERSION,
        "engine": embedder.engine,
        "model": embedder.model_id,
        "dimension": embedder.dim,
        "normalized": True,
        "metric": "inner_product",
        "passage_prefix": settings.passage_prefix,
        "chunker": {
            "version": CHUNKER_VERSION,
            "size": settings.chunk_size,
            "min_size": settings.chunk_min,
        },
        "sources": {key: sha256_file(p) for key, p in source_paths(settings).items()},
        **({} if settings.vector_store == "faiss" else _store_manifest(settings)),
    }


def _store_manifest(settings: Settings) -> dict[str, Any]:
    from .stores.milvus import redacted

    return {
        "vector_store": settings.vector_store,
        "milvus_uri": redacted(settings.milvus_uri or ""),
    }


def is_milvus(manifest: dict[str, Any]) -> bool:
    return manifest.get("vector_store") == "milvus"


def _faiss():  # type: ignore[no-untyped-def]
    import faiss

    return faiss


HNSW_EF_CONSTRUCTION = 40  # the graph's build-time search list (FAISS and Milvus alike)


def index_kind(n: int, settings: Settings) -> str:
    """The FAISS index type for ``n`` vectors, as recorded in the manifest."""
    if n <= settings.hnsw_above:
        return "IndexFlatIP"
    return f"IndexHNSWFlat(M={settings.hnsw_m}, efSearch={settings.hnsw_ef_search})"


def vector_index(dim: int, n: int, settings: Settings) -> tuple[faiss.Index, str]:
    """An empty FAISS index for ``n`` normalized vectors (inner product = cosine): exact
    search up to ``settings.hnsw_above`` vectors, an HNSW graph above (approximate, but its
    query time grows slowly with ``n``)."""
    faiss, kind = _faiss(), index_kind(n, settings)
    if kind == "IndexFlatIP":
        return faiss.IndexFlatIP(dim), kind
    index = faiss.IndexHNSWFlat(dim, settings.hnsw_m, faiss.METRIC_INNER_PRODUCT)
    index.hnsw.efConstruction = HNSW_EF_CONSTRUCTION
    index.hnsw.efSearch = settings.hnsw_ef_search  # saved in the file with the graph
    return index, kind


def _embed(embedder: Embedder, texts: list[str], show_progress: bool) -> np.ndarray:
    vecs = np.ascontiguousarray(
        embedder.embed_passages(texts, show_progress=show_progress), dtype=np.float32
    )
    if vecs.shape != (len(texts), embedder.dim):
        raise ValueError(
            f"embedder returned shape {vecs.shape}, expected ({len(texts)}, {embedder.dim})"
        )
    return vecs


def _document_vectors(
    docs: list[Document], settings: Settings, embedder: Embedder, show_progress: bool
) -> tuple[list[Chunk], np.ndarray, Sentences, int]:
    """Chunks of ``docs`` with their vectors and their sentences' and clauses' vectors
    (sentence rows point into these chunks); the last value counts the texts embedded."""
    chunks = chunk_documents(docs, size=settings.chunk_size, min_size=settings.chunk_min)
    vecs = _embed(embedder, [c.text for c in chunks], show_progress)
    sentences = Sentences.of(chunks)
    text = {d.doc_id: d.text for d in docs}
    sentences.vectors = _embed(
        embedder,
        [
            text[chunks[c].doc_id][s:e]
            for c, s, e in zip(sentences.chunk, sentences.start, sentences.end, strict=True)
        ],
        show_progress,
    )
    sentences.clause_vectors = _embed(
        embedder,
        [
            clause_text(text[chunks[sentences.chunk[j]].doc_id][s:e])
            for j, s, e in zip(
                sentences.clause_sentence, sentences.clause_start, sentences.clause_end, strict=True
            )
        ],
        show_progress,
    )
    return chunks, vecs, sentences, len(chunks) + len(sentences.start) + len(sentences.clause_start)


def _document_entry(d: Document, chunks: int, added: str) -> dict[str, Any]:
    return {
        "doc_id": d.doc_id,
        "source": d.source,
        "title": d.title,
        "city": d.city,
        "year": d.year,
        "kind": d.kind,
        "format": d.format,
        "sha256": d.sha256,
        "chars": len(d.text),
        "chunks": chunks,
        "added": d.metadata.get("added", added),
    }


def _assemble(
    settings: Settings,
    embedder: Embedder,
    docs: list[Document],
    chunks: list[Chunk],
    vecs: np.ndarray,
    sentences: Sentences,
    *,
    t0: float,
    added: dict[str, str] | None = None,
    vectors: faiss.Index | None = None,
    external: VectorStore | None = None,
    store_entry: dict[str, Any] | None = None,
) -> Index:
    """An Index over ``docs`` (their chunks, vectors, sentences) with a fresh manifest; with
    ``external`` (Milvus, described by ``store_entry``) the vectors are already stored there."""
    now = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    kind = index_kind(len(chunks), settings)
    if vectors is None and external is None:
        vectors, kind = vector_index(embedder.dim, len(chunks), settings)
        vectors.add(vecs)
    per_doc: dict[str, int] = {}
    for c in chunks:
        per_doc[c.doc_id] = per_doc.get(c.doc_id, 0) + 1
    manifest = expected_manifest(settings, embedder)
    manifest.update(
        {
            "index_version": f"{time.strftime('%Y%m%dT%H%M%S', time.gmtime())}-"
            f"{uuid.uuid4().hex[:6]}",
            "built_at": now,
            "build_seconds": round(time.perf_counter() - t0, 3),
            **({"faiss_index": kind} if external is None else {"milvus": store_entry}),
            "counts": {
                "documents": len(docs),
                "chunks": len(chunks),
                "sentences": len(sentences.start),
                "clauses": len(sentences.clause_start),
            },
            "documents": [
                _document_entry(d, per_doc.get(d.doc_id, 0), (added or {}).get(d.doc_id, now))
                for d in docs
            ],
        }
    )
    return Index(
        manifest=manifest,
        vectors=vectors,
        chunks=chunks,
        documents={d.doc_id: d for d in docs},
        sentences=sentences,
        external=external,
    )


def build_index(settings: Settings, embedder: Embedder, *, show_progress: bool = False) -> Index:
    """Clean, chunk and embed the collection (the seeds and the added documents); returns the
    index in memory (see :func:`save_index`)."""
    t0 = time.perf_counter()
    docs = [load_document(p) for p in source_paths(settings).values()]
    ids = [d.doc_id for d in docs]
    if len(set(ids)) != len(ids):
        raise ValueError(f"two source files map to the same document id: {sorted(ids)}")
    chunks, vecs, sentences, _ = _document_vectors(docs, settings, embedder, show_progress)
    if not chunks:
        raise ValueError(f"the documents in {settings.seeds_dir} produced no chunks")
    if settings.vector_store == "milvus":
        from .stores.milvus_index import build

        return build(settings, embedder, docs, chunks, vecs, sentences, t0=t0)
    return _assemble(settings, embedder, docs, chunks, vecs, sentences, t0=t0)


def _concat(a: Sentences, b: Sentences, chunk_offset: int) -> Sentences:
    """``a`` then ``b``, ``b``'s chunk and sentence rows shifted past ``a``'s."""
    dim = max(a.vectors.shape[1], b.vectors.shape[1])

    def vecs(x: np.ndarray) -> np.ndarray:
        return x if x.shape[1] == dim else np.zeros((len(x), dim), np.float32)

    return Sentences(
        np.concatenate([a.chunk, b.chunk + chunk_offset]).astype(np.int32),
        np.concatenate([a.start, b.start]).astype(np.int32),
        np.concatenate([a.end, b.end]).astype(np.int32),
        np.concatenate([vecs(a.vectors), vecs(b.vectors)]).astype(np.float32),
        np.concatenate([a.clause_sentence, b.clause_sentence + len(a.start)]).astype(np.int32),
        np.concatenate([a.clause_start, b.clause_start]).astype(np.int32),
        np.concatenate([a.clause_end, b.clause_end]).astype(np.int32),
        np.concatenate([vecs(a.clause_vectors), vecs(b.clause_vectors)]).astype(np.float32),
    )


def add_documents(
    index: Index, docs: list[Document], settings: Settings, embedder: Embedder
) -> tuple[Index, int]:
    """A new Index: ``index`` plus ``docs``. Only ``docs`` are embedded (their chunks,
    sentences and clauses: the count is returned); the old vectors are copied, not redone."""
    t0 = time.perf_counter()
    taken = set(index.documents) & {d.doc_id for d in docs}
    if taken:
        raise ValueError(f"document id(s) already in the index: {sorted(taken)}")
    chunks, vecs, sentences, embedded = _document_vectors(docs, settings, embedder, False)
    all_chunks = index.chunks + chunks
    if is_milvus(index.manifest):
        from .stores.milvus_index import add

        return add(index, docs, chunks, vecs, sentences, settings, embedder, t0=t0), embedded
    faiss = _faiss()
    if index_kind(len(all_chunks), settings) == index.manifest.get("faiss_index"):
        vectors = faiss.clone_index(index.vectors)  # HNSW: the graph grows, it is not rebuilt
        vectors.add(vecs)
    else:
        vectors, _ = vector_index(embedder.dim, len(all_chunks), settings)
        old = index.store.vectors(np.arange(len(index.chunks)))
        vectors.add(np.concatenate([old, vecs]))
    new = _assemble(
        settings,
        embedder,
        [*index.documents.values(), *docs],
        all_chunks,
        vecs,
        _concat(index.sentences, sentences, len(index.chunks)),
        t0=t0,
        added={e["doc_id"]: e.get("added", "") for e in index.manifest.get("documents", [])},
        vectors=vectors,
    )
    return new, embedded


def remove_documents(
    index: Index, doc_ids: set[str], settings: Settings, embedder: Embedder
) -> Index:
    """A new Index without ``doc_ids``; nothing is embedded (the kept vectors are copied)."""
    t0 = time.perf_counter()
    missing = doc_ids - set(index.documents)
    if missing:
        raise KeyError(f"no such document(s): {sorted(missing)}")
    keep = np.asarray([i for i, c in enumerate(index.chunks) if c.doc_id not in doc_ids], np.int64)
    remap = np.full(len(index.chunks), -1, np.int64)
    remap[keep] = np.arange(len(keep))
    sent = index.sentences
    s_keep = np.flatnonzero(remap[sent.chunk] >= 0)
    s_remap = np.full(len(sent.start), -1, np.int64)
    s_remap[s_keep] = np.arange(len(s_keep))
    c_keep = np.flatnonzero(s_remap[sent.clause_sentence] >= 0)
    sentences = Sentences(
        remap[sent.chunk[s_keep]].astype(np.int32),
        sent.start[s_keep],
        sent.end[s_keep],
        sent.vectors[s_keep],
        s_remap[sent.clause_sentence[c_keep]].astype(np.int32),
        sent.clause_start[c_keep],
        sent.clause_end[c_keep],
        sent.clause_vectors[c_keep],
    )
    if is_milvus(index.manifest):
        from .stores.milvus_index import remove

        return remove(index, doc_ids, keep, sentences, settings, embedder, t0=t0)
    vecs = index.store.vectors(keep)
    return _assemble(
        settings,
        embedder,
        [d for d in index.documents.values() if d.doc_id not in doc_ids],
        [index.chunks[i] for i in keep],
        vecs,
        sentences,
        t0=t0,
        added={e["doc_id"]: e.get("added", "") for e in index.manifest.get("documents", [])},
    )


def settle_store(index: Index) -> None:
    """Delete from an external store (Milvus) the rows of documents ``index`` does not list:
    what a killed add or remove left there. Nothing to do for FAISS (its files are the
    version). Call under the collection lock (another writer's rows are not stray)."""
    if is_milvus(index.manifest):
        from .stores.milvus_index import settle

        settle(index)


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _write_jsonl(path: Path, rows: list[dict[str, Any]]) -> None:
    with path.open("w", encoding="utf-8") as f:
        for row in rows:
            f.write(json.dumps(row, ensure_ascii=False) + "\n")


def save_index(index: Index, target: Path) -> Path:
    """Write ``index`` to ``target`` atomically.

    The files go to a fresh versioned directory next to ``target``; ``target`` is then
    a symlink swapped in one ``os.replace``. Readers see the old index or the new one,
    never a mix, and a crash mid-write leaves the old one in place. One writer at a time
    (a file lock), so what a dead build left behind can be cleared safely.
    """
    with _exclusive(target):
        final_dir = target.parent / f"{target.name}-{index.version}"
        tmp_dir = target.parent / f".tmp-{target.name}-{uuid.uuid4().hex}"
        tmp_dir.mkdir()
        try:
            if is_milvus(index.manifest):
                from .stores.milvus_index import write_files

                write_files(index, tmp_dir, served=target)
            else:
                _write_files(index, tmp_dir)
            os.replace(tmp_dir, final_dir)
        except BaseException:
            shutil.rmtree(tmp_dir, ignore_errors=True)
            raise
        link_tmp = target.parent / f".link-{target.name}-{uuid.uuid4().hex}"
        os.symlink(final_dir.name, link_tmp)
        if target.exists() and not target.is_symlink():
            shutil.rmtree(target)  # a plain directory from elsewhere: replace it
        os.replace(link_tmp, target)
        _remove_leftovers(target)
        if is_milvus(index.manifest):
            from .stores.milvus_index import after_swap

            after_swap(index)  # the rows of removed documents go only once nothing serves them
    return final_dir


def _write_files(index: Index, out: Path) -> None:
    _faiss().write_index(index.vectors, str(out / "index.faiss"))
    _write_jsonl(
        out / "chunks.jsonl",
        [{**asdict(c), "section": list(c.section)} for c in index.chunks],
    )
    index.sentences.save(out / "sentences.npz")
    _write_jsonl(out / "documents.jsonl", [_doc_row(d) for d in index.documents.values()])
    manifest = dict(index.manifest)
    manifest["files"] = {name: _sha256(out / name) for name in FILES}
    (out / "manifest.json").write_text(
        json.dumps(manifest, ensure_ascii=False, indent=2), encoding="utf-8"
    )
    for name in (*FILES, "manifest.json"):
        with (out / name).open("rb") as f:
            os.fsync(f.fileno())
    index.manifest = manifest


@contextmanager
def _exclusive(target: Path) -> Iterator[None]:
    """Hold the index's write lock (a second builder waits for the first)."""
    target.parent.mkdir(parents=True, exist_ok=True)
    with (target.parent / f".{target.name}.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # released when the file closes, or the process dies
        yield


def _remove_leftovers(target: Path) -> None:
    """Delete what builds left behind: the previous version, and the temporary or finished
    directories of builds that died (kill -9) before their swap. Called under the lock."""
    current = target.resolve()
    for pattern in (f".tmp-{target.name}-*", f".link-{target.name}-*", f"{target.name}-*"):
        for p in target.parent.glob(pattern):
            if p.resolve() == current:
                continue
            if p.is_symlink() or p.is_file():
                p.unlink(missing_ok=True)
            else:
                shutil.rmtree(p, ignore_errors=True)


def _doc_row(d: Document) -> dict[str, Any]:
    return {
        "doc_id": d.doc_id,
        "title": d.title,
        "source": d.source,
        "sha256": d.sha256,
        "metadata": d.metadata,
        "text": d.text,
        "paragraphs": [[p.start, p.end, list(p.section), p.is_heading] for p in d.paragraphs],
    }


def _doc_from_row(row: dict[str, Any]) -> Document:
    return Document(
        doc_id=row["doc_id"],
        title=row["title"],
        text=row["text"],
        sha256=row["sha256"],
        source=row["source"],
        metadata=row.get("metadata", {}),
        paragraphs=tuple(
            Paragraph(start=s, end=e, section=tuple(sec), is_heading=h)
            for s, e, sec, h in row["paragraphs"]
        ),
    )


def diff_manifest(saved: dict[str, Any], expected: dict[str, Any]) -> list[str]:
    """Human-readable differences between a saved manifest and the current settings."""
    out = []
    for key, want in expected.items():
        have = saved.get(key)
        if key == "sources" and isinstance(have, dict):
            for name in sorted(set(have) | set(want)):
                if name not in want:
                    out.append(f"source {name} was removed")
                elif name not in have:
                    out.append(f"source {name} is new")
                elif have[name] != want[name]:
                    out.append(
                        f"source {name} changed (sha256 {have[name][:12]}… → {want[name][:12]}…)"
                    )
        elif have != want:
            out.append(f"{key}: index has {have!r}, settings want {want!r}")
    return out


def load_index(
    path: Path, expected: dict[str, Any] | None = None, *, settings: Settings | None = None
) -> Index:
    """Load and verify a saved index; raises :class:`IndexUnusable` saying what is wrong.
    A Milvus index needs ``settings`` (the URI and token), or a client this process opened."""
    manifest_path = path / "manifest.json"
    if not manifest_path.exists():
        raise IndexUnusable([f"no index at {path}"])
    try:
        manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise IndexUnusable([f"{manifest_path} is not valid JSON ({exc})"]) from exc
    if expected is not None:
        reasons = diff_manifest(manifest, expected)
        if reasons:
            raise IndexUnusable(reasons)
    if is_milvus(manifest):
        from .stores.milvus_index import load

        return load(path, manifest, settings)
    problems = []
    for name, digest in manifest.get("files", {}).items():
        f = path / name
        if not f.exists():
            problems.append(f"{name} is missing")
        elif _sha256(f) != digest:
            problems.append(f"{name} does not match its checksum in manifest.json (corrupted?)")
    if problems or set(manifest.get("files", {})) != set(FILES):
        raise IndexUnusable(problems or ["manifest.json does not list the index files"])
    try:
        vectors = _faiss().read_index(str(path / "index.faiss"))
        chunks = [
            Chunk(**{**row, "section": tuple(row["section"])})
            for row in _read_jsonl(path / "chunks.jsonl")
        ]
        docs = [_doc_from_row(row) for row in _read_jsonl(path / "documents.jsonl")]
        sentences = Sentences.load(path / "sentences.npz")
    except Exception as exc:  # faiss raises RuntimeError, json ValueError, rows TypeError
        raise IndexUnusable([f"cannot read index files in {path}: {exc}"]) from exc
    counts = manifest.get("counts", {})
    if vectors.ntotal != len(chunks) or counts.get("chunks") != len(chunks):
        raise IndexUnusable(
            [
                f"index has {vectors.ntotal} vectors, {len(chunks)} chunks, manifest "
                f"says {counts.get('chunks')}"
            ]
        )
    if vectors.d != manifest.get("dimension"):
        raise IndexUnusable(
            [f"vectors have dimension {vectors.d}, manifest says {manifest.get('dimension')}"]
        )
    n_sent, n_cl = counts.get("sentences"), counts.get("clauses")
    if sentences.vectors.shape != (n_sent, vectors.d) or len(sentences.start) != n_sent:
        raise IndexUnusable(
            [f"sentences.npz holds {sentences.vectors.shape}, manifest says {n_sent} sentences"]
        )
    if sentences.clause_vectors.shape != (n_cl, vectors.d) or len(sentences.clause_start) != n_cl:
        raise IndexUnusable(
            [
                f"sentences.npz holds {sentences.clause_vectors.shape} clause vectors, "
                f"manifest says {n_cl} clauses"
            ]
        )
    return Index(
        manifest=manifest,
        vectors=vectors,
        chunks=chunks,
        documents={d.doc_id: d for d in docs},
        sentences=sentences,
    )


def _read_jsonl(path: Path) -> list[dict[str, Any]]:
    with path.open(encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def ensure_index(
    settings: Settings,
    embedder: Embedder,
    *,
    show_progress: bool = False,
    rebuild: bool = False,
    recovered: bool = False,
) -> Index:
    """Load the saved index if it matches settings and sources; otherwise (re)build it.

    First settles what a killed ``rag add`` / ``rag remove`` left pending (unless the caller
    holds the collection lock and did: ``recovered``)."""
    if not recovered:
        from .collection import recover

        recover(settings)
    expected = expected_manifest(settings, embedder)
    if not rebuild:
        try:
            loaded = load_index(settings.index_dir, expected, settings=settings)
            want = index_kind(len(loaded.chunks), settings)
            # a Milvus collection keeps the index type it was created with (docs/scale-out.md)
            if is_milvus(loaded.manifest) or loaded.manifest.get("faiss_index") == want:
                return loaded
            log.warning(
                "index at %s is %s, settings want %s for %d chunks; rebuilding",
                settings.index_dir,
                loaded.manifest.get("faiss_index"),
                want,
                len(loaded.chunks),
            )
        except IndexUnusable as exc:
            for reason in exc.reasons:
                log.warning("index at %s not usable: %s; rebuilding", settings.index_dir, reason)
    index = build_index(settings, embedder, show_progress=show_progress)
    save_index(index, settings.index_dir)
    log.info(
        "built index %s: %d chunks in %.1fs",
        index.version,
        len(index.chunks),
        index.manifest["build_seconds"],
    )
    return index
