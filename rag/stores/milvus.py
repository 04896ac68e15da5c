"""Chunks in a Milvus collection: the dense channel and the keyword channel in one store.

``RAG_VECTOR_STORE=milvus`` keeps each chunk as one row of a collection named
``<RAG_MILVUS_COLLECTION_PREFIX>_<index version>``::

    chunk_id  VARCHAR primary key      doc_id, city, year  VARCHAR (the DocFilter fields)
    section   ARRAY<VARCHAR>           start, end          INT64 offsets into the document
    text      VARCHAR, jieba analyzer  sparse              BM25 from Milvus's own function
    vector    FLOAT_VECTOR, inner product on normalized vectors (= cosine)

``doc_id`` is the partition key (a cluster routes each document's rows to one partition and a
filter on it prunes the rest). ``city`` holds :func:`rag.types.place_key` of the document's
city, so ``城市 in [...]`` compares without 市/县/区 as :meth:`DocFilter.matches` does.

The index directory beside it (see :mod:`rag.index`) still holds the manifest, the cleaned
documents and one side file per document, ``sentences/<doc_id>.npz``: that document's sentence
and clause offsets with their vectors (the answer layer's units). None of them repeats the chunk
text: chunks are read back from the collection and each must equal its document's slice.

What Milvus does and the client does not: dense top-k and BM25 top-k, each filtered by the
same expression. What the client does, identically for both stores: fusion
(:func:`rag.retrieval.fuse` over both candidate lists) and de-duplication. Milvus's BM25 score
includes the factor ``k1 + 1`` that bm25s leaves out, so keyword scores are divided by it
(the fusion saturation was tuned on bm25s scores); milvus-lite returns them negated.
"""

from __future__ import annotations

import json
import logging
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from ..keyword import STOPWORDS
from ..types import Chunk, DocFilter, Document, place_key

if TYPE_CHECKING:
    from pymilvus import MilvusClient

    from ..config import Settings

log = logging.getLogger(__name__)

# bm25s's defaults (rag.keyword builds with them): the same parameters make the same scores
BM25_K1, BM25_B = 1.5, 0.75
MAX_TEXT = 8192  # characters of one chunk (chunks are ~chunk_size; the limit only guards)
MAX_ID = 512
MAX_SECTION_DEPTH = 16
MAX_TOPK = 16_384  # Milvus's limit on one search's limit
OUTPUT = ["chunk_id", "doc_id", "section", "start", "end", "text"]
# the punctuation blocks jieba returns as tokens; rag.keyword drops tokens with no word
# character, so the analyzer's stop filter drops these
_PUNCT_BLOCKS: tuple[tuple[int, int], ...] = (
    (0x21, 0x7F),
    (0xA1, 0x100),
    (0x2000, 0x2070),
    (0x3000, 0x3040),
    (0xFE30, 0xFE50),
    (0xFF00, 0xFF66),
)


class MilvusUnavailable(RuntimeError):
    """The Milvus store cannot be reached or used (named URI, why)."""


def redacted(uri: str) -> str:
    """The URI without any ``user:password@`` part (for logs and the manifest)."""
    scheme, sep, rest = uri.partition("://")
    if not sep:
        return uri
    return f"{scheme}://{rest.rpartition('@')[2]}"


_clients: dict[str, MilvusClient] = {}


def connect(settings: Settings) -> MilvusClient:
    """One client per URI per process (milvus-lite: one process per database file; a second
    process fails to open it, so tests give each module its own path)."""
    token = settings.milvus_token.get_secret_value() if settings.milvus_token else ""
    return reopen(settings.milvus_uri or "", token)


def reopen(uri: str, token: str = "") -> MilvusClient:
    """This process's client of ``uri``, opened if there is none (see :func:`connect`)."""
    if uri not in _clients:
        try:
            from pymilvus import MilvusClient
        except ImportError as exc:  # pragma: no cover - a dependency of the project
            raise MilvusUnavailable(f"pymilvus is not installed ({exc})") from exc
        try:
            _clients[uri] = MilvusClient(uri=uri, token=token, **_local_options(uri))
        except Exception as exc:  # pymilvus raises MilvusException / ConnectionConfigException
            raise MilvusUnavailable(
                f"cannot open Milvus at {redacted(uri)}: {exc}"
                + (
                    " (milvus-lite: is another process using this file?)"
                    if uri.endswith(".db")
                    else ""
                )
            ) from exc
        log.info("connected to Milvus at %s", redacted(uri))
    return _clients[uri]


def _local_options(uri: str) -> dict[str, Any]:
    """For milvus-lite (a local path): no keepalive pings. pymilvus pings every 10 s even
    without calls; milvus-lite's in-process gRPC server keeps grpc's default policy (at most
    one ping in 5 minutes without data) and may answer an idle client with GOAWAY "too many
    pings" — seen in test runs under load, as a failed call on a client left idle between
    test modules. A local server needs no liveness probe."""
    if "://" in uri:
        return {}
    return {
        "grpc_options": {
            "grpc.keepalive_time_ms": 2**31 - 1,
            "grpc.keepalive_permit_without_calls": 0,
        }
    }


def client_for(uri: str) -> MilvusClient | None:
    """The client this process already opened for ``uri`` (as :func:`redacted` shows it;
    None: none yet). Lets :func:`rag.index.load_index` reload without settings."""
    return next((c for u, c in _clients.items() if redacted(u) == redacted(uri)), None)


def drop_lite_sidecars(uri: str, name: str) -> list[str]:
    """Delete the index sidecars (``*.idx``, ``*.sidx``) of collection ``name`` in the
    milvus-lite database at ``uri`` (a local path), closing this process's client of it first;
    returns the files removed. Sidecars are caches milvus-lite rebuilds from its Parquet data
    on the next load, but it writes them in place (``open(path, "wb")`` then ``np.save``), so a
    process killed mid-write leaves a truncated one that every later load fails on. The data
    files and the manifest are written atomically; only sidecars need this repair."""
    root = Path(uri) / "collections" / name
    if "://" in uri or not root.is_dir():
        return []
    for u in [u for u in _clients if redacted(u) == redacted(uri)]:
        _clients.pop(u).close()
    removed = [p for p in root.glob("partitions/*/indexes/*") if p.suffix in {".idx", ".sidx"}]
    for p in removed:
        p.unlink(missing_ok=True)
    return [str(p) for p in removed]


def close_all() -> None:
    """Close every client this process opened (tests; milvus-lite frees its file lock at exit)."""
    for client in _clients.values():
        client.close()
    _clients.clear()


def analyzer_params(terms: Iterable[str], stop: Iterable[str] = ()) -> dict[str, Any]:
    """jieba in search mode with the documents' coined terms, lower case, and rag.keyword's
    stop words and punctuation filtered out: the tokens :class:`rag.keyword.KeywordTokenizer`
    makes. ``removepunct`` is for servers (milvus-lite ignores filters it does not know)."""
    punct = {
        chr(c)
        for lo, hi in _PUNCT_BLOCKS
        for c in range(lo, hi)
        if unicodedata.category(chr(c))[0] in "PSZ"
    }
    return {
        "tokenizer": {"type": "jieba", "mode": "search", "dict": ["_default_", *sorted(terms)]},
        "filter": [
            "lowercase",
            "removepunct",
            {"type": "stop", "stop_words": sorted(STOPWORDS | punct | set(stop))},
        ],
    }


def collection_name(prefix: str, version: str) -> str:
    return f"{prefix}_{version}".replace("-", "_")


def expression(where: DocFilter | None) -> str:
    """``where`` as a Milvus boolean expression ('' for no filter); values JSON-quoted."""
    if not where:
        return ""
    parts = []
    if where.doc_ids:
        parts.append(f"doc_id in {json.dumps(list(where.doc_ids), ensure_ascii=False)}")
    if where.cities:
        cities = sorted({place_key(c) for c in where.cities})
        parts.append(f"city in {json.dumps(cities, ensure_ascii=False)}")
    if where.years:
        parts.append(f"year in {json.dumps(list(where.years))}")
    return " and ".join(parts)


def create_collection(
    client: MilvusClient,
    name: str,
    *,
    dim: int,
    terms: Iterable[str],
    hnsw: dict[str, int] | None,
    stop: Iterable[str] = (),
) -> None:
    """An empty chunk collection (see the module docstring); ``hnsw`` None: exact search."""
    from pymilvus import DataType, Function, FunctionType

    schema = client.create_schema(auto_id=False, enable_dynamic_field=False)
    schema.add_field("chunk_id", DataType.VARCHAR, is_primary=True, max_length=MAX_ID)
    schema.add_field("doc_id", DataType.VARCHAR, max_length=MAX_ID, is_partition_key=True)
    schema.add_field("city", DataType.VARCHAR, max_length=MAX_ID)
    schema.add_field("year", DataType.VARCHAR, max_length=8)
    schema.add_field(
        "section",
        DataType.ARRAY,
        element_type=DataType.VARCHAR,
        max_capacity=MAX_SECTION_DEPTH,
        max_length=MAX_ID,
    )
    schema.add_field("start", DataType.INT64)
    schema.add_field("end", DataType.INT64)
    schema.add_field(
        "text",
        DataType.VARCHAR,
        max_length=MAX_TEXT,
        enable_analyzer=True,
        analyzer_params=analyzer_params(terms, stop),
    )
    schema.add_field("sparse", DataType.SPARSE_FLOAT_VECTOR)
    schema.add_field("vector", DataType.FLOAT_VECTOR, dim=dim)
    schema.add_function(
        Function(
            name="text_bm25",
            function_type=FunctionType.BM25,
            input_field_names=["text"],
            output_field_names=["sparse"],
        )
    )
    index = client.prepare_index_params()
    index.add_index(
        field_name="sparse",
        index_type="SPARSE_INVERTED_INDEX",
        metric_type="BM25",
        params={"bm25_k1": BM25_K1, "bm25_b": BM25_B},
    )
    if hnsw is None:
        index.add_index(field_name="vector", index_type="FLAT", metric_type="IP")
    else:
        index.add_index(
            field_name="vector",
            index_type="HNSW",
            metric_type="IP",
            params={"M": hnsw["M"], "efConstruction": hnsw["efConstruction"]},
        )
    client.create_collection(name, schema=schema, index_params=index)
    client.load_collection(name)


def insert(
    client: MilvusClient,
    name: str,
    chunks: Sequence[Chunk],
    vectors: np.ndarray,
    documents: dict[str, Document],
    *,
    batch: int,
) -> None:
    """Write ``chunks`` with their vectors, ``batch`` rows per call, then flush (sealed)."""
    for lo in range(0, len(chunks), batch):
        rows = []
        for c, v in zip(chunks[lo : lo + batch], vectors[lo : lo + batch], strict=True):
            doc = documents[c.doc_id]
            if len(c.section) > MAX_SECTION_DEPTH or len(c.text) > MAX_TEXT:
                raise ValueError(f"chunk {c.chunk_id} exceeds the collection's field limits")
            rows.append(
                {
                    "chunk_id": c.chunk_id,
                    "doc_id": c.doc_id,
                    "city": place_key(doc.city) if doc.city else "",
                    "year": doc.year,
                    "section": list(c.section),
                    "start": c.start,
                    "end": c.end,
                    "text": c.text,
                    "vector": v.tolist(),
                }
            )
        client.insert(name, rows)
    client.flush(name)


def delete_documents(client: MilvusClient, name: str, doc_ids: Iterable[str]) -> None:
    ids = sorted(doc_ids)
    if ids:
        client.delete(name, filter=f"doc_id in {json.dumps(ids, ensure_ascii=False)}")
        client.flush(name)


def prune(client: MilvusClient, name: str, keep: Iterable[str]) -> int:
    """Delete the rows of documents the served index does not list (what a killed add or
    remove left behind); returns how many. Call only under the collection's write lock."""
    where = f"doc_id not in {json.dumps(sorted(keep), ensure_ascii=False)}"
    stray = client.query(name, filter=where, output_fields=["chunk_id"], limit=16_384)
    if stray:
        client.delete(name, filter=where)
        client.flush(name)
        log.info("pruned %d row(s) of documents %s does not list", len(stray), name)
    return len(stray)


def read_chunks(client: MilvusClient, name: str, doc_ids: Sequence[str]) -> list[Chunk]:
    """The chunks of ``doc_ids``, in that document order and by offset within each."""
    if not client.has_collection(name):
        raise MilvusUnavailable(f"no collection {name!r} in Milvus")
    client.load_collection(name)  # idempotent; a new milvus-lite process starts released
    rows: list[dict[str, Any]] = []
    step = 256  # documents per query: an expression of bounded length
    quiet = logging.getLogger("pymilvus")
    level = quiet.level
    quiet.setLevel(logging.ERROR)  # the iterator warns about lite's missing MVCC timestamps
    try:
        for lo in range(0, len(doc_ids), step):
            ids = json.dumps(list(doc_ids[lo : lo + step]), ensure_ascii=False)
            it = client.query_iterator(
                name, batch_size=4096, filter=f"doc_id in {ids}", output_fields=OUTPUT
            )
            while batch := it.next():
                rows += batch
            it.close()
    finally:
        quiet.setLevel(level)
    order = {d: i for i, d in enumerate(doc_ids)}
    rows.sort(key=lambda r: (order[r["doc_id"]], int(r["start"])))
    return [
        Chunk(
            chunk_id=r["chunk_id"],
            doc_id=r["doc_id"],
            section=tuple(r["section"]),
            start=int(r["start"]),
            end=int(r["end"]),
            text=r["text"],
        )
        for r in rows
    ]


@dataclass
class MilvusStore:
    """:class:`rag.index.VectorStore` over one collection, plus its BM25 keyword channel.

    Rows are the positions of the served index's chunks; a row Milvus returns whose chunk the
    served index does not hold (another process's add before its swap) is dropped."""

    client: MilvusClient = field(repr=False)
    collection: str
    chunk_ids: list[str] = field(repr=False)
    dim: int
    ef_search: int | None = None  # HNSW's search list; None for a flat index
    _rows: dict[str, int] = field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        self._rows = {c: i for i, c in enumerate(self.chunk_ids)}

    def __len__(self) -> int:
        return len(self.chunk_ids)

    def _hits(self, result: Any, k: int, scale: float) -> tuple[np.ndarray, np.ndarray]:
        scores = np.full((len(result), k), -np.inf, np.float32)
        ids = np.full((len(result), k), -1, np.int64)
        for q, hits in enumerate(result):
            # rows of chunks the served index lists, ties by row as FAISS orders them
            known = sorted(
                (
                    (self._rows[h["chunk_id"]], abs(float(h["distance"])) * scale)
                    for h in hits
                    if h["chunk_id"] in self._rows
                ),
                key=lambda rs: (-rs[1], rs[0]),
            )
            for j, (row, score) in enumerate(known[:k]):
                ids[q, j], scores[q, j] = row, score
        return scores, ids

    def search(
        self,
        queries: np.ndarray,
        k: int,
        *,
        rows: np.ndarray | None = None,
        where: DocFilter | None = None,
    ) -> tuple[np.ndarray, np.ndarray]:
        """Dense top-``k`` by inner product, like ``faiss.Index.search`` (row -1 past the
        end); filtered by ``where``'s expression (``rows``, the same subset by row, is for
        stores that select rows)."""
        params: dict[str, Any] = {"metric_type": "IP"}
        if self.ef_search is not None:
            params["params"] = {"ef": max(self.ef_search, k)}
        result = self._search(np.asarray(queries, np.float32).tolist(), "vector", k, where, params)
        return self._hits(result, k, 1.0)

    def _search(
        self, data: list[Any], field: str, k: int, where: DocFilter | None, params: dict[str, Any]
    ) -> Any:
        """Milvus's top-``k``, fetched again deeper (×4, up to Milvus's 16,384) while rows the
        served index does not list (a killed add's, another process's add before its swap)
        crowd out the ones it does."""
        limit = k
        while True:
            if "params" in params:
                params = {
                    **params,
                    "params": {**params["params"], "ef": max(params["params"]["ef"], limit)},
                }
            result = self.client.search(
                self.collection,
                data=data,
                anns_field=field,
                limit=limit,
                filter=expression(where),
                output_fields=["chunk_id"],
                search_params=params,
            )
            short = any(
                len(hits) == limit and sum(h["chunk_id"] in self._rows for h in hits) < k
                for hits in result
            )
            if not short or limit >= MAX_TOPK:
                return result
            limit = min(limit * 4, MAX_TOPK)

    def keyword(
        self, text: str, k: int, *, where: DocFilter | None = None
    ) -> list[tuple[int, float]]:
        """BM25 top-``k`` for ``text`` (Milvus analyzes it), on bm25s's scale: (row, score)."""
        if not text.strip():
            return []
        result = self._search([text], "sparse", k, where, {"metric_type": "BM25"})
        scores, ids = self._hits(result, k, 1.0 / (BM25_K1 + 1.0))
        return [
            (int(i), float(s)) for i, s in zip(ids[0], scores[0], strict=True) if i >= 0 and s > 0
        ]

    def vectors(self, rows: np.ndarray) -> np.ndarray:
        """The stored vectors of ``rows``, in that order."""
        if len(rows) == 0:
            return np.zeros((0, self.dim), np.float32)
        ids = [self.chunk_ids[int(r)] for r in rows]
        got = {
            g["chunk_id"]: g["vector"]
            for g in self.client.get(self.collection, ids=ids, output_fields=["vector"])
        }
        missing = [i for i in ids if i not in got]
        if missing:
            raise MilvusUnavailable(
                f"{len(missing)} chunk(s) missing from {self.collection}: {missing[:3]}"
            )
        return np.asarray([got[i] for i in ids], np.float32)

    def all_vectors(self) -> np.ndarray:
        return self.vectors(np.arange(len(self)))
