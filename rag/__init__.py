"""报告问答 — cited question answering over a government work report.

The pipeline, one module a stage: ingest → chunking → embedding → index → retrieval.
Heavy things (the model, the index) load only when asked: importing ``rag`` is cheap.
"""

from .config import Settings, get_settings
from .types import Chunk, Document, Hit, SearchResult

__all__ = ["Chunk", "Document", "Hit", "SearchResult", "Settings", "get_settings"]
