"""The document collection: the seeds plus the documents added with ``rag add``.

How the two relate: the files in ``RAG_SEEDS_DIR`` are the initial collection, read in place
and never changed here (a seed is removed by deleting its file and running ``rag index``).
``add`` copies each new file into ``RAG_DATA_DIR/documents/<doc_id><suffix>`` with a
``<doc_id>.meta.json`` holding its metadata, so ``rag index`` can rebuild the whole index from
the seeds and that folder at any time; ``remove`` deletes the copy.

Incremental and atomic: an add embeds only the new documents and a remove embeds nothing
(:func:`rag.index.add_documents`, :func:`rag.index.remove_documents`); the new index version
is written beside the old one and swapped in with one rename (:func:`rag.index.save_index`).
The copies follow the swap: an added file waits as ``.pending-<name>`` and a removed one as
``.removing-<name>`` until the swap is done; whatever a killed process left pending is settled
by the next add, remove or start (:func:`recover`): a pending file is kept exactly when the
index now being served lists it. One writer at a time: a file lock serializes adds and removes
across processes.

With ``RAG_VECTOR_STORE=milvus`` the same holds for what is served (the manifest swap is still
the commit point; see :mod:`rag.stores.milvus_index` for when rows are written and deleted),
and stray rows a killed add or remove left in the collection are deleted at the next one.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import logging
import os
import time
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from .ingest import META_SUFFIX, SUFFIXES, load_document, slugify
from .readers import IngestError, UnsupportedFormat
from .types import Document

if TYPE_CHECKING:
    from .config import Settings
    from .embedding import Embedder
    from .index import Index

log = logging.getLogger(__name__)

PENDING, REMOVING = ".pending-", ".removing-"
FLAG_KEYS = ("title", "city", "year")

AddStatus = Literal["added", "duplicate", "rejected"]


class NotRemovable(ValueError):
    """The document is a seed, or not in the collection."""


class AddRefused(ValueError):
    """An all-or-none add (``Collection.add(..., all_or_none=True)``) met files that cannot
    be read, so nothing was added; ``rejected`` holds their outcomes, each with its error."""

    def __init__(self, rejected: Sequence[AddOutcome]) -> None:
        self.rejected = tuple(rejected)
        reasons = "; ".join(f"{o.path.name}: {o.reason}" for o in self.rejected)
        super().__init__(f"{reasons} (nothing was added)")


@dataclass(frozen=True)
class AddOutcome:
    """What became of one file: added (as ``doc_id``), a duplicate of ``doc_id``, or rejected
    (``error`` is the :class:`~rag.readers.IngestError` saying why; nothing was added)."""

    path: Path
    status: AddStatus
    doc_id: str = ""
    reason: str = ""
    chars: int = 0
    chunks: int = 0
    error: IngestError | None = field(default=None, compare=False, repr=False)


@dataclass(frozen=True)
class Change:
    """One add or remove: the files' outcomes, the index version now served, the texts
    embedded (chunks + sentences + clauses of the new documents only), the texts of the whole
    collection in that version, and the time taken."""

    outcomes: tuple[AddOutcome, ...]
    index_version: str
    embedded: int
    seconds: float
    removed: tuple[str, ...] = ()
    texts: int = 0


@dataclass(frozen=True)
class DocumentInfo:
    """One row of ``rag documents`` (and of the documents API)."""

    doc_id: str
    title: str
    city: str
    year: str
    kind: str
    format: str
    chars: int
    chunks: int
    sha256: str
    added: str
    origin: Literal["seed", "added"]


def documents(index: Index) -> list[DocumentInfo]:
    """The documents of a loaded index, in index order."""
    return [
        DocumentInfo(
            doc_id=e["doc_id"],
            title=e.get("title", ""),
            city=e.get("city", ""),
            year=e.get("year", ""),
            kind=e.get("kind", ""),
            format=e.get("format", ""),
            chars=int(e.get("chars", 0)),
            chunks=int(e.get("chunks", 0)),
            sha256=e.get("sha256", ""),
            added=e.get("added", ""),
            origin="added" if _is_added(index, e["doc_id"]) else "seed",
        )
        for e in index.manifest.get("documents", [])
    ]


def _is_added(index: Index, doc_id: str) -> bool:
    doc = index.documents.get(doc_id)
    return doc is not None and f"documents/{doc.source}" in index.manifest.get("sources", {})


def expand(paths: Iterable[Path]) -> list[Path]:
    """Files to add: each file given, and the supported files inside each folder given (not
    their ``.meta.json``); a missing path is an error."""
    out: list[Path] = []
    for p in paths:
        if p.is_dir():
            out += sorted(
                f
                for f in p.rglob("*")
                if f.is_file() and f.suffix.lower() in SUFFIXES and not f.name.startswith(".")
            )
        elif p.exists():
            out.append(p)
        else:
            raise FileNotFoundError(f"no such file or folder: {p}")
    return out


@contextmanager
def _writer(settings: Settings) -> Iterator[None]:
    """The collection's write lock (adds and removes, in any process, one at a time)."""
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    with (settings.data_dir / ".collection.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        yield


def recover(settings: Settings) -> None:
    """Settle what a killed add or remove left pending: keep each pending file exactly when
    the index being served lists it. Takes the collection lock."""
    with _writer(settings):
        _recover(settings)


def _recover(settings: Settings) -> None:
    folder = settings.documents_dir
    if not folder.is_dir():
        return
    try:
        manifest = json.loads((settings.index_dir / "manifest.json").read_text(encoding="utf-8"))
        listed = set(manifest.get("sources", {}))
    except (OSError, ValueError):
        listed = set()
    for p in sorted(folder.iterdir()):
        for prefix in (PENDING, REMOVING):
            if not p.name.startswith(prefix):
                continue
            name = p.name[len(prefix) :]
            source = name[: -len(META_SUFFIX)] if name.endswith(META_SUFFIX) else name
            stem = Path(source).stem
            keys = {f"documents/{stem}{s}" for s in SUFFIXES}
            if keys & listed:
                os.replace(p, folder / name)
                log.info("recovered %s (the index lists it)", name)
            else:
                p.unlink()
                log.info("dropped %s (the index does not list it)", p.name)


def _fsync_copy(data: bytes, target: Path) -> None:
    with target.open("wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())


class Collection:
    """Adds and removes documents, updating the saved index incrementally."""

    def __init__(self, settings: Settings, embedder: Embedder) -> None:
        self.settings = settings
        self.embedder = embedder

    def _current(self) -> Index:
        from .index import ensure_index

        return ensure_index(self.settings, self.embedder, recovered=True)

    def served(self) -> Index:
        """The index served now (what a killed add or remove left pending settled first)."""
        recover(self.settings)
        return self._current()

    def documents(self) -> list[DocumentInfo]:
        return documents(self.served())

    def add(
        self,
        paths: Sequence[Path],
        *,
        metadata: dict[str, str] | None = None,
        all_or_none: bool = False,
    ) -> Change:
        """Add ``paths`` (files) in one new index version. A file that cannot be read is
        rejected with its reason and nothing of it is added (``all_or_none``: nothing of any
        file is added, and :class:`AddRefused` says which files and why); a file whose bytes
        (sha256) or cleaned text is already in the collection is reported as a duplicate, not
        added."""
        from .index import add_documents, save_index, settle_store

        t0 = time.perf_counter()
        flags = {k: str(v) for k, v in (metadata or {}).items() if k in FLAG_KEYS and v}
        with _writer(self.settings):
            _recover(self.settings)
            index = self._current()
            settle_store(index)
            by_sha = {d.sha256: d.doc_id for d in index.documents.values()}
            by_text = {_text_key(d): d.doc_id for d in index.documents.values()}
            taken = set(index.documents)
            outcomes: list[AddOutcome] = []
            new: list[tuple[Document, Path, bytes]] = []
            for path in paths:
                outcome, doc = self._read(path, flags, by_sha, by_text, taken)
                outcomes.append(outcome)
                if doc is not None:
                    new.append((doc, path, path.read_bytes()))
                    by_sha[doc.sha256], by_text[_text_key(doc)] = doc.doc_id, doc.doc_id
                    taken.add(doc.doc_id)
            if all_or_none and any(o.status == "rejected" for o in outcomes):
                raise AddRefused([o for o in outcomes if o.status == "rejected"])
            if not new:
                elapsed = time.perf_counter() - t0
                return Change(tuple(outcomes), index.version, 0, elapsed, texts=index.texts)
            folder = self.settings.documents_dir
            folder.mkdir(parents=True, exist_ok=True)
            pending: list[tuple[Path, Path]] = []
            stored: list[Document] = []
            try:
                for doc, path, data in new:
                    name = doc.doc_id + path.suffix.lower()
                    meta = {
                        **_given_metadata(path, flags),
                        "added": _now(),
                        "original_name": path.name,
                    }
                    pairs = [(folder / (PENDING + name), folder / name)]
                    pairs.append(
                        (
                            folder / (PENDING + doc.doc_id + META_SUFFIX),
                            folder / (doc.doc_id + META_SUFFIX),
                        )
                    )
                    _fsync_copy(data, pairs[0][0])
                    _fsync_copy(
                        json.dumps(meta, ensure_ascii=False, indent=2).encode(), pairs[1][0]
                    )
                    pending += pairs
                    # the document as a rebuild will read it back: the stored name, its metadata
                    stored.append(
                        load_document(pairs[0][0], doc_id=doc.doc_id, metadata={**flags, **meta})
                    )
                stored = [
                    _renamed(d, n)
                    for d, n in zip(
                        stored, [d.doc_id + p.suffix.lower() for d, p, _ in new], strict=True
                    )
                ]
                updated, embedded = add_documents(index, stored, self.settings, self.embedder)
                updated.manifest["sources"] = {
                    **index.manifest.get("sources", {}),
                    **{f"documents/{d.source}": d.sha256 for d in stored},
                }
                save_index(updated, self.settings.index_dir)  # the commit point
            except BaseException:
                for tmp, _ in pending:
                    tmp.unlink(missing_ok=True)
                raise
            for tmp, final in pending:
                os.replace(tmp, final)
            chunks = {e["doc_id"]: e["chunks"] for e in updated.manifest["documents"]}
            outcomes = [
                AddOutcome(o.path, o.status, o.doc_id, o.reason, o.chars, chunks.get(o.doc_id, 0))
                if o.status == "added"
                else o
                for o in outcomes
            ]
            seconds = time.perf_counter() - t0
            log.info(
                "added %d document(s): %d texts embedded in %.2fs", len(new), embedded, seconds
            )
            return Change(tuple(outcomes), updated.version, embedded, seconds, texts=updated.texts)

    def _read(
        self,
        path: Path,
        flags: dict[str, str],
        by_sha: dict[str, str],
        by_text: dict[str, str],
        taken: set[str],
    ) -> tuple[AddOutcome, Document | None]:
        if path.suffix.lower() not in SUFFIXES:
            err: IngestError = UnsupportedFormat(path)
            return AddOutcome(path, "rejected", reason=err.reason, error=err), None
        try:
            digest = hashlib.sha256(path.read_bytes()).hexdigest()
            if digest in by_sha:
                return AddOutcome(
                    path,
                    "duplicate",
                    by_sha[digest],
                    "the same file (sha256) is already in the collection",
                ), None
            doc = load_document(
                path,
                doc_id=_free_id(slugify(path.stem), taken),
                metadata=flags,
                max_bytes=self.settings.max_upload_bytes,
            )
        except IngestError as exc:
            return AddOutcome(path, "rejected", reason=exc.reason, error=exc), None
        except OSError as exc:
            err = IngestError(path, f"cannot read the file ({exc.strerror or exc})")
            return AddOutcome(path, "rejected", reason=err.reason, error=err), None
        if _text_key(doc) in by_text:
            return AddOutcome(
                path,
                "duplicate",
                by_text[_text_key(doc)],
                "the same text is already in the collection",
            ), None
        return AddOutcome(path, "added", doc.doc_id, chars=len(doc.text)), doc

    def remove(self, doc_id: str) -> Change:
        """Remove an added document: a new index version without it, nothing embedded."""
        from .index import remove_documents, save_index, settle_store

        t0 = time.perf_counter()
        with _writer(self.settings):
            _recover(self.settings)
            index = self._current()
            settle_store(index)
            doc = index.documents.get(doc_id)
            if doc is None:
                raise NotRemovable(f"no document {doc_id!r}; `rag documents` lists them")
            if not _is_added(index, doc_id):
                raise NotRemovable(
                    f"{doc_id!r} is a seed ({self.settings.seeds_dir / doc.source}): delete the "
                    "file from RAG_SEEDS_DIR and run `rag index` to remove it"
                )
            folder = self.settings.documents_dir
            files = [folder / doc.source, folder / (doc_id + META_SUFFIX)]
            moved = [(f, folder / (REMOVING + f.name)) for f in files if f.exists()]
            for f, tmp in moved:
                os.replace(f, tmp)
            try:
                updated = remove_documents(index, {doc_id}, self.settings, self.embedder)
                updated.manifest["sources"] = {
                    k: v
                    for k, v in index.manifest.get("sources", {}).items()
                    if k != f"documents/{doc.source}"
                }
                save_index(updated, self.settings.index_dir)  # the commit point
            except BaseException:
                for f, tmp in moved:
                    os.replace(tmp, f)
                raise
            for _, tmp in moved:
                tmp.unlink()
            seconds = time.perf_counter() - t0
            log.info("removed %s in %.2fs (nothing embedded)", doc_id, seconds)
            return Change((), updated.version, 0, seconds, removed=(doc_id,), texts=updated.texts)


def _text_key(doc: Document) -> str:
    return hashlib.sha256(doc.text.encode("utf-8")).hexdigest()


def _free_id(base: str, taken: set[str]) -> str:
    if base not in taken:
        return base
    n = 2
    while f"{base}-{n}" in taken:
        n += 1
    return f"{base}-{n}"


def _given_metadata(path: Path, flags: dict[str, str]) -> dict[str, str]:
    """What is said about the file (its .meta.json over the flags): stored with the copy."""
    from .ingest import read_metadata

    return {**flags, **read_metadata(path)}


def _renamed(doc: Document, source: str) -> Document:
    from dataclasses import replace

    return replace(doc, source=source)


def _now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
