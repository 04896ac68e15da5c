"""POST /api/answer, 200 sequential requests over loopback against a real `rag serve`.

Starts the server as a subprocess on a free 127.0.0.1 port (index built if missing), waits
for /readyz, then asks the eval questions in turn and prints p50 / p95 / max latency.

    .venv/bin/python bench/sequential.py [--n 200] [--engine sentence-transformers]
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=200)
    ap.add_argument("--engine", default="sentence-transformers")
    args = ap.parse_args()
    questions = [
        json.loads(line)["question"]
        for line in (ROOT / "eval" / "questions.jsonl").read_text("utf-8").splitlines()
    ]
    port = free_port()
    env = {**os.environ, "RAG_EMBEDDING_ENGINE": args.engine}
    t0 = time.perf_counter()
    server = subprocess.Popen(
        [sys.executable, "-m", "rag.cli", "serve", "--host", "127.0.0.1", "--port", str(port)],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        with httpx.Client(timeout=30) as client:
            while True:
                if server.poll() is not None:
                    raise SystemExit("server exited before it was ready")
                try:
                    if client.get(f"{base}/readyz").status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                if time.perf_counter() - t0 > 300:
                    raise SystemExit("server not ready after 300 s")
                time.sleep(0.2)
            ready_s = time.perf_counter() - t0
            lat, errors = [], 0
            for i in range(args.n):
                q = questions[i % len(questions)]
                t = time.perf_counter()
                r = client.post(f"{base}/api/answer", json={"question": q})
                lat.append((time.perf_counter() - t) * 1000)
                errors += r.status_code != 200
    finally:
        server.terminate()
        server.wait(timeout=30)
    lat.sort()
    p = lambda q: lat[max(0, int(round(q / 100 * len(lat))) - 1)]  # noqa: E731
    print(f"engine {args.engine}: cold start to ready {ready_s:.1f} s")
    print(
        f"{args.n} sequential POST /api/answer: errors {errors}, p50 {p(50):.1f} ms, "
        f"p95 {p(95):.1f} ms, max {lat[-1]:.1f} ms, mean {statistics.mean(lat):.1f} ms"
    )


if __name__ == "__main__":
    main()
