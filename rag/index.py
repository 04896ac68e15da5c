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
from typing import TYPE_CHECKING, Any

import numpy as np

from .chunking import CHUNKER_VERSION, chunk_documents, clause_text, split_clauses, split_sentences
from .ingest import load_documents, sha256_file, source_files
from .types import Chunk, Document, Paragraph

if TYPE_CHECKING:
    import faiss

    from .config import Settings
    from .embedding import Embedder

log = logging.getLogger(__name__)

FORMAT_VERSION = 2  # 2: clause vectors in sentences.npz
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


@dataclass
class Index:
    """A loaded index: everything retrieval needs, in memory."""

    manifest: dict[str, Any]
    vectors: faiss.Index
    chunks: list[Chunk]
    documents: dict[str, Document]
    sentences: Sentences

    @property
    def version(self) -> str:
        return str(self.manifest["index_version"])

    def chunk(self, chunk_id: str) -> Chunk | None:
        return self._by_id.get(chunk_id)

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
        "sources": {p.name: sha256_file(p) for p in source_files(settings.seeds_dir)},
    }


def _faiss():  # type: ignore[no-untyped-def]
    import faiss

    return faiss


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
    index.hnsw.efConstruction = 40
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


def build_index(settings: Settings, embedder: Embedder, *, show_progress: bool = False) -> Index:
    """Clean, chunk and embed the seeds; returns the index in memory (see :func:`save_index`)."""
    t0 = time.perf_counter()
    docs = load_documents(settings.seeds_dir)
    chunks = chunk_documents(docs, size=settings.chunk_size, min_size=settings.chunk_min)
    if not chunks:
        raise ValueError(f"the documents in {settings.seeds_dir} produced no chunks")
    vecs = _embed(embedder, [c.text for c in chunks], show_progress)
    vectors, kind = vector_index(embedder.dim, len(chunks), settings)
    vectors.add(vecs)
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
    manifest = expected_manifest(settings, embedder)
    manifest.update(
        {
            "index_version": f"{time.strftime('%Y%m%dT%H%M%S', time.gmtime())}-"
            f"{uuid.uuid4().hex[:6]}",
            "built_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "build_seconds": round(time.perf_counter() - t0, 3),
            "faiss_index": kind,
            "counts": {
                "documents": len(docs),
                "chunks": len(chunks),
                "sentences": len(sentences.start),
                "clauses": len(sentences.clause_start),
            },
            "documents": [
                {
                    "doc_id": d.doc_id,
                    "source": d.source,
                    "title": d.title,
                    "sha256": d.sha256,
                    "chars": len(d.text),
                }
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
    )


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


def load_index(path: Path, expected: dict[str, Any] | None = None) -> Index:
    """Load and verify a saved index; raises :class:`IndexUnusable` saying what is wrong."""
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
    settings: Settings, embedder: Embedder, *, show_progress: bool = False, rebuild: bool = False
) -> Index:
    """Load the saved index if it matches settings and sources; otherwise (re)build it."""
    expected = expected_manifest(settings, embedder)
    if not rebuild:
        try:
            loaded = load_index(settings.index_dir, expected)
            want = index_kind(len(loaded.chunks), settings)
            if loaded.manifest.get("faiss_index") == want:
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
