"""Growth: the two stores at 10³, 10⁴, 10⁵ chunks — add time, query p50/p95, RSS, disk.

Prints a markdown table (and writes bench/out/growth.json). Asserts nothing.

Each (store, size) runs in a fresh process, so its RSS is its own. The corpus: synthetic chunks
recombined from the report's sentences (seeded), ~chunk_size characters each, spread over
documents of 100 chunks with a city and a year. Vectors: random unit vectors of the real
model's dimension (384), seeded — the real engine would take hours for 10⁵ chunks on two cores,
and the store's cost depends on the dimension, not on what the vectors mean. Queries: 200 eval
questions, embedded by the deterministic hashed-bigram fake (tests/conftest.py) at 384
dimensions, searched through :class:`rag.retrieval.Retriever` in fused mode (dense top-k, BM25
top-k, the one fusion formula), so a query costs what a served one costs minus the model.

Stores, all through the library's own functions: ``faiss-flat`` / ``faiss-hnsw``
(:func:`rag.index.vector_index`, with the settings' HNSW parameters; bm25s in memory via
:class:`rag.keyword.KeywordIndex`), ``milvus-lite`` (:func:`rag.stores.milvus.create_collection`
and :func:`~rag.stores.milvus.insert`, the index type by the same rule as FAISS).

Run: ``.venv/bin/python bench/growth.py`` (~15 min; ``--sizes 1000 10000`` for less,
``--milvus-max`` caps the milvus-lite sizes).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

OUT = ROOT / "bench" / "out"
DIM = 384  # multilingual-e5-small
PER_DOC = 100
STORES = ("faiss-flat", "faiss-hnsw", "milvus-lite")


def proc_mb() -> dict[str, float]:
    out = {}
    with open("/proc/self/status", encoding="ascii") as f:
        for line in f:
            key, _, val = line.partition(":")
            if key in ("VmRSS", "VmHWM"):
                out[key] = round(int(val.split()[0]) / 1024, 1)
    return out


def disk_mb(path: Path) -> float:
    total = sum(p.stat().st_size for p in path.rglob("*") if p.is_file()) if path.is_dir() else 0
    return round(total / 2**20, 1)


def corpus(n: int, seed: int):  # type: ignore[no-untyped-def]
    """``n`` chunks recombined from the report's sentences, their documents, their vectors."""
    import numpy as np

    from rag.chunking import split_sentences
    from rag.config import Settings
    from rag.ingest import load_documents
    from rag.types import Chunk, Document

    settings = Settings()
    sents = [
        d.text[p.start : p.end][s:e].strip()
        for d in load_documents(ROOT / "seeds")
        for p in d.paragraphs
        if not p.is_heading
        for s, e in split_sentences(d.text[p.start : p.end])
    ]
    sents = [s for s in sents if len(s) >= 6]
    rng = random.Random(seed)
    chunks, docs = [], {}
    for d0 in range(0, n, PER_DOC):
        doc_id = f"synthetic-{d0 // PER_DOC:05d}"
        parts, pos = [], 0
        for j in range(min(PER_DOC, n - d0)):
            text = ""
            while len(text) < settings.chunk_size * 0.8:
                text += rng.choice(sents)
            chunks.append(Chunk(f"{doc_id}:{j:04d}", doc_id, ("合成",), pos, pos + len(text), text))
            parts.append(text)
            pos += len(text)
        city, year = rng.choice(["澄川市", "青禾县", "乐山市"]), str(rng.choice([2023, 2024]))
        docs[doc_id] = Document(
            doc_id,
            doc_id,
            "".join(parts),
            "0" * 64,
            f"{doc_id}.txt",
            (),
            {"city": city, "year": year},
        )
    vecs = np.random.default_rng(seed).standard_normal((n, DIM)).astype(np.float32)
    vecs /= np.linalg.norm(vecs, axis=1, keepdims=True)
    return chunks, docs, vecs


class QueryEmbedder:
    """The tests' hashed-bigram fake, at the real model's dimension (queries only)."""

    engine, model_id, dim = "fake", "fake-bigram-384", DIM

    def __init__(self) -> None:
        from conftest import FakeEmbedder

        self._fake = FakeEmbedder()
        self._fake.dim = DIM

    def embed_queries(self, texts):  # type: ignore[no-untyped-def]
        return self._fake.embed_queries(texts)


def one(store: str, n: int, seed: int, n_questions: int, work: Path) -> dict[str, Any]:
    """Build ``store`` over ``n`` synthetic chunks, then time fused queries."""

    from rag.config import Settings
    from rag.evaluate import load_questions, percentile
    from rag.index import Index, Sentences, _write_jsonl, vector_index
    from rag.keyword import KeywordIndex, KeywordTokenizer, coined_terms
    from rag.retrieval import Retriever

    chunks, docs, vecs = corpus(n, seed)
    base = proc_mb()["VmRSS"]
    if work.exists():
        shutil.rmtree(work)
    work.mkdir(parents=True)
    settings = Settings(
        data_dir=work, crosslingual=False, hnsw_above=0 if store == "faiss-hnsw" else 10**9
    )
    if store == "milvus-lite":
        settings = settings.model_copy(
            update={"vector_store": "milvus", "milvus_uri": str(work / "milvus.db")}
        )
    empty = Sentences.of([])
    t0 = time.perf_counter()
    keyword = None
    if store.startswith("faiss"):
        import faiss

        vectors, kind = vector_index(DIM, n, settings)
        vectors.add(vecs)
        keyword = KeywordIndex(KeywordTokenizer(coined_terms(docs.values()))).build(chunks)
        index = Index({"index_version": "bench"}, vectors, chunks, docs, empty)
        add_s = time.perf_counter() - t0
        faiss.write_index(vectors, str(work / "index.faiss"))
        _write_jsonl(
            work / "chunks.jsonl", [c.__dict__ | {"section": list(c.section)} for c in chunks]
        )
    else:
        from rag.stores import milvus as mv
        from rag.stores.milvus_index import _hnsw

        client = mv.connect(settings)
        hnsw = _hnsw(n, settings)
        kind = "FLAT" if hnsw is None else f"HNSW{hnsw}"
        mv.create_collection(client, "bench", dim=DIM, terms=coined_terms(docs.values()), hnsw=hnsw)
        mv.insert(client, "bench", chunks, vecs, docs, batch=settings.milvus_insert_batch)
        store_ = mv.MilvusStore(client, "bench", [c.chunk_id for c in chunks], DIM, None)
        index = Index({"index_version": "bench"}, None, chunks, docs, empty, external=store_)
        add_s = time.perf_counter() - t0
    retriever = Retriever(
        index=index,
        embedder=QueryEmbedder(),
        settings=settings,
        keyword=keyword,  # type: ignore[arg-type]
    )
    questions = [q.question for q in load_questions(ROOT / "eval" / "questions.jsonl")]
    questions = [q for q in questions if not q.isascii()][:n_questions]
    retriever.search(questions[0])  # warm (jieba, the glossary)
    times = []
    for q in questions:
        t = time.perf_counter()
        retriever.search(q)
        times.append((time.perf_counter() - t) * 1000)
    mem = proc_mb()
    out = {
        "store": store,
        "chunks": n,
        "index": kind,
        "add_s": round(add_s, 2),
        "add_per_1k_s": round(add_s / n * 1000, 3),
        "query_p50_ms": round(percentile(times, 50) or 0, 2),
        "query_p95_ms": round(percentile(times, 95) or 0, 2),
        "rss_mb": mem["VmRSS"],
        "rss_over_corpus_mb": round(mem["VmRSS"] - base, 1),
        "disk_mb": disk_mb(work),
        "bytes_per_chunk_disk": round(disk_mb(work) * 2**20 / n),
        "questions": len(times),
    }
    if store == "milvus-lite":
        mv.close_all()
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--sizes", type=int, nargs="+", default=[1_000, 10_000, 100_000])
    ap.add_argument("--stores", nargs="+", default=list(STORES), choices=STORES)
    ap.add_argument("--milvus-max", type=int, default=100_000)
    ap.add_argument("--questions", type=int, default=200)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--one", nargs=2, metavar=("STORE", "N"), help=argparse.SUPPRESS)
    args = ap.parse_args()
    work = OUT / "growth"
    if args.one:
        store, n = args.one[0], int(args.one[1])
        print(json.dumps(one(store, n, args.seed, args.questions, work / f"{store}-{n}")))
        return
    rows = []
    for n in args.sizes:
        for store in args.stores:
            if store == "milvus-lite" and n > args.milvus_max:
                continue
            cmd = [sys.executable, __file__, "--one", store, str(n), "--seed", str(args.seed)]
            cmd += ["--questions", str(args.questions)]
            proc = subprocess.run(cmd, capture_output=True, text=True, env=os.environ.copy())
            if proc.returncode != 0:
                print(proc.stderr[-2000:], file=sys.stderr)
                continue
            rows.append(json.loads(proc.stdout.strip().splitlines()[-1]))
            print(json.dumps(rows[-1]), file=sys.stderr)
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "growth.json").write_text(json.dumps(rows, indent=2), encoding="utf-8")
    cols = ["store", "chunks", "index", "add_s", "query_p50_ms", "query_p95_ms", "rss_mb"]
    cols += ["rss_over_corpus_mb", "disk_mb", "bytes_per_chunk_disk"]
    print("| " + " | ".join(cols) + " |")
    print("|" + "---|" * len(cols))
    for r in rows:
        print("| " + " | ".join(str(r[c]) for c in cols) + " |")
    flat = {r["chunks"]: r for r in rows if r["store"] == "faiss-flat"}
    for r in rows:
        if r["store"] != "faiss-flat" and r["chunks"] in flat:
            f = flat[r["chunks"]]
            q = r["query_p50_ms"] / f["query_p50_ms"]
            a = r["add_s"] / max(f["add_s"], 1e-9)
            print(f"{r['store']} at {r['chunks']}: query p50 ×{q:.1f}, add ×{a:.1f} vs faiss-flat")


if __name__ == "__main__":
    main()
