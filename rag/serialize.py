"""The one JSON shape of hits and answers, shared by the CLI, the API and ``rag eval``."""

from __future__ import annotations

from typing import Any

from .types import Answer, Chunk, Citation, Hit, SearchResult


def chunk_json(c: Chunk) -> dict[str, Any]:
    return {
        "chunk_id": c.chunk_id,
        "doc_id": c.doc_id,
        "section": list(c.section),
        "start": c.start,
        "end": c.end,
        "text": c.text,
    }


def hit_json(rank: int, hit: Hit) -> dict[str, Any]:
    return {"rank": rank, **chunk_json(hit.chunk), "score": round(hit.score, 6)}


def hits_json(hits: tuple[Hit, ...]) -> list[dict[str, Any]]:
    return [hit_json(i, h) for i, h in enumerate(hits, start=1)]


def search_json(result: SearchResult) -> dict[str, Any]:
    return {
        "question": result.question,
        "hits": hits_json(result.hits),
        "latency_ms": round(result.latency_ms, 2),
    }


def citation_json(c: Citation) -> dict[str, Any]:
    return {
        "n": c.n,
        "doc_id": c.doc_id,
        "section": list(c.section),
        "start": c.start,
        "end": c.end,
        "quote": c.quote,
        "kind": c.kind,
    }


def answer_json(a: Answer) -> dict[str, Any]:
    return {
        "question": a.question,
        "answer": a.answer,
        "direct_answer": a.direct_answer,
        "refused": a.refused,
        "status": a.status,
        "reason": a.reason,
        "citations": [citation_json(c) for c in a.citations],
        "hits": hits_json(a.hits),
        "engine": a.engine,
        "model": a.model,
        "index_version": a.index_version,
        "latency_ms": round(a.latency_ms, 2),
        "timings": {k: round(v, 2) for k, v in a.timings.items()},
        "notes": list(a.notes),
    }
