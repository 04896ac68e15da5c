"""The ONNX Runtime engine: the same e5 model as sentence-transformers, without torch.

``RAG_EMBEDDING_ENGINE=onnx`` runs the fp32 graph exported from the materialized
sentence-transformers directory (its vectors equal sentence-transformers' to cosine 1.00000);
``onnx-int8`` runs the int8 graph for queries and keeps the fp32 graph for passages (see the
README, "Embedding engines", for why). Per text: the directory's own ``tokenizer.json``
(:mod:`rag.unigram`: ``tokenizers``' pipeline with a compact vocabulary; the same ids as the
sentence-transformers tokenizer), the token rows read from the token-embedding table on disk,
the graph, then mean pooling over the attention mask and L2 normalization in numpy. Texts
longer than the model's limit are windowed exactly as
:meth:`rag.embedding.SentenceTransformerEmbedder._embed_windows` does.

The graph is made on first use by :func:`ensure_graph`: ``python -m rag.onnx_export`` in a
child process (the only place torch is imported), into a temporary directory that is renamed
to ``<model dir>-onnx`` beside the model directory once its manifest, holding the source's
SHA-256, is written. A graph whose source changed is made again.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from .config import Settings
from .onnx_export import GRAPH, GRAPH_INT8, WORD_EMBEDDINGS
from .unigram import TokenIds, load_tokenizer

MANIFEST_NAME = "onnx-manifest.json"
MANIFEST_FORMAT = 1
# engine -> (graph for queries, graph for passages)
GRAPHS = {"onnx": (GRAPH, GRAPH), "onnx-int8": (GRAPH_INT8, GRAPH)}
# tokens (batch × padded width) per forward pass: bounds the attention's memory for long texts
MAX_BATCH_TOKENS = 8192
EXPORT_TIMEOUT_S = 1800

Exporter = Callable[[Path, Path], dict[str, Any]]


class OnnxEngineError(RuntimeError):
    """The graph cannot be made or loaded; the message names the setting to change."""


# --------------------------------------------------------------------------- the graph directory


def graph_dir(model_dir: Path, cache_dir: Path) -> Path:
    """Where the graph of ``model_dir`` lives: beside it when it is in the model cache."""
    return Path(cache_dir) / f"{Path(model_dir).name}-onnx"


def _source_files(model_dir: Path) -> dict[str, list[int]]:
    """Relative path -> [size, mtime_ns] of every file of the model directory."""
    return {
        p.relative_to(model_dir).as_posix(): [p.stat().st_size, p.stat().st_mtime_ns]
        for p in sorted(model_dir.rglob("*"))
        if p.is_file()
    }


def source_sha256(model_dir: Path) -> str:
    """One SHA-256 over the names and contents of every file of the model directory."""
    total = hashlib.sha256()
    for rel in _source_files(model_dir):
        h = hashlib.sha256()
        with open(model_dir / rel, "rb") as f:
            for block in iter(lambda: f.read(1 << 20), b""):
                h.update(block)
        total.update(f"{rel}\0{h.hexdigest()}\n".encode())
    return total.hexdigest()


def _read_manifest(directory: Path) -> dict[str, Any] | None:
    try:
        manifest = json.loads((directory / MANIFEST_NAME).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return manifest if isinstance(manifest, dict) else None


def _write_manifest(directory: Path, manifest: dict[str, Any]) -> None:
    tmp = directory / f".{MANIFEST_NAME}.{os.getpid()}.tmp"
    tmp.write_text(json.dumps(manifest, indent=2), encoding="utf-8")
    tmp.replace(directory / MANIFEST_NAME)


def is_current(directory: Path, model_dir: Path) -> bool:
    """True if ``directory`` holds a complete graph made from ``model_dir`` as it is now.

    The source's files are compared by size and mtime first; when only mtimes differ (the
    model was materialized again), the SHA-256 decides and the manifest is refreshed.
    """
    manifest = _read_manifest(directory)
    if manifest is None or manifest.get("format") != MANIFEST_FORMAT:
        return False
    try:
        files = manifest["files"]
        if not all((directory / rel).stat().st_size == size for rel, size in files.items()):
            return False
        now = _source_files(model_dir)
        seen = manifest["source_files"]
        if now == seen:
            return True
        if {k: v[0] for k, v in now.items()} != {k: v[0] for k, v in seen.items()}:
            return False
        if source_sha256(model_dir) != manifest["source_sha256"]:
            return False
    except (OSError, KeyError, TypeError, AttributeError):
        return False
    manifest["source_files"] = now
    with contextlib.suppress(OSError):  # a read-only cache still serves; hashed again next time
        _write_manifest(directory, manifest)
    return True


def run_export(model_dir: Path, out_dir: Path) -> dict[str, Any]:
    """``python -m rag.onnx_export`` in a child process (torch stays out of this one)."""
    env = dict(os.environ)
    root = str(Path(__file__).resolve().parent.parent)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (root, env.get("PYTHONPATH")) if p)
    env.setdefault("TOKENIZERS_PARALLELISM", "false")
    cmd = [sys.executable, "-m", "rag.onnx_export", str(model_dir), str(out_dir)]
    try:
        proc = subprocess.run(
            cmd, capture_output=True, text=True, timeout=EXPORT_TIMEOUT_S, env=env, check=False
        )
    except subprocess.TimeoutExpired as exc:
        raise OnnxEngineError(f"ONNX export of {model_dir} took over {EXPORT_TIMEOUT_S} s") from exc
    if proc.returncode != 0:
        tail = "\n".join(proc.stderr.strip().splitlines()[-8:])
        raise OnnxEngineError(
            f"ONNX export of {model_dir} failed (exit {proc.returncode}):\n{tail}\n"
            "Use RAG_EMBEDDING_ENGINE=sentence-transformers, or fix the model directory"
        )
    facts = json.loads(proc.stdout.strip().splitlines()[-1])
    return facts if isinstance(facts, dict) else {}


@contextlib.contextmanager
def _locked(path: Path) -> Iterator[None]:
    with path.open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # released when the file closes or the process dies
        yield


def ensure_graph(model_dir: Path, cache_dir: Path, *, export: Exporter = run_export) -> Path:
    """The graph directory of ``model_dir``, exported first if it is missing or stale.

    One exporter at a time (a file lock; a second process waits, then finds the graph made).
    The export writes into a temporary sibling; the manifest is written last, and the
    directory is renamed into place only when it is complete, so the final path never holds
    a half-written graph and a failed export leaves the previous one as it was.
    """
    model_dir, cache_dir = Path(model_dir), Path(cache_dir)
    final = graph_dir(model_dir, cache_dir)
    if is_current(final, model_dir):
        return final
    cache_dir.mkdir(parents=True, exist_ok=True)
    with _locked(cache_dir / f".{final.name}.lock"):
        if is_current(final, model_dir):  # another process made it while we waited
            return final
        tmp = Path(tempfile.mkdtemp(prefix=f".{final.name}.tmp-", dir=cache_dir))
        try:
            os.chmod(tmp, 0o755)  # mkdtemp makes it private
            t0 = time.perf_counter()
            facts = export(model_dir, tmp)
            manifest = {
                "format": MANIFEST_FORMAT,
                "source": str(model_dir.resolve()),
                "source_sha256": source_sha256(model_dir),
                "source_files": _source_files(model_dir),
                **facts,
                "export_seconds": round(time.perf_counter() - t0, 2),
                "built_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
                "files": {
                    name: (tmp / name).stat().st_size
                    for name in (GRAPH, GRAPH_INT8, WORD_EMBEDDINGS)
                },
            }
            _write_manifest(tmp, manifest)
            if not is_current(tmp, model_dir):
                raise OnnxEngineError(f"ONNX export of {model_dir} did not produce a graph")
            old = final.with_name(f".{final.name}.old-{os.getpid()}")
            if final.exists():
                os.replace(final, old)  # stale or broken; a process mapping it keeps its copy
            os.replace(tmp, final)
            shutil.rmtree(old, ignore_errors=True)
        except FileNotFoundError as exc:
            raise OnnxEngineError(f"ONNX export of {model_dir} left no {exc.filename}") from exc
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
    return final


# --------------------------------------------------------------------------- the model directory


def _json(path: Path) -> dict[str, Any]:
    return json.loads(path.read_text(encoding="utf-8")) if path.exists() else {}


def check_model_dir(model_dir: Path) -> None:
    """Refuse a directory whose sentence-transformers pipeline is not Transformer → mean
    Pooling (→ Normalize): the only one this engine reproduces."""
    try:
        modules = json.loads((model_dir / "modules.json").read_text(encoding="utf-8"))
        kinds = [m["type"].rsplit(".", 1)[-1] for m in modules]
        pooling = _json(model_dir / modules[1]["path"] / "config.json") if len(modules) > 1 else {}
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise OnnxEngineError(
            f"{model_dir} is not a sentence-transformers directory ({exc}); set "
            "RAG_EMBEDDING_MODEL to one, or use RAG_EMBEDDING_ENGINE=sentence-transformers"
        ) from exc
    modes = {k for k, v in pooling.items() if k.startswith("pooling_mode_") and v}
    if (
        kinds[:2] != ["Transformer", "Pooling"]
        or kinds[2:] not in ([], ["Normalize"])
        or modes != {"pooling_mode_mean_tokens"}
        or not pooling.get("include_prompt", True)
        or not (model_dir / "tokenizer.json").exists()
    ):
        raise OnnxEngineError(
            f"the onnx engine runs Transformer + mean pooling (+ Normalize) models with a "
            f"tokenizer.json; {model_dir} has {kinds} pooling {sorted(modes)}: use "
            "RAG_EMBEDDING_ENGINE=sentence-transformers"
        )


def max_seq_length(model_dir: Path) -> int:
    """The token limit sentence-transformers applies to this directory's model."""
    limit = _json(model_dir / "sentence_bert_config.json").get("max_seq_length")
    if limit:
        return int(limit)
    tok = _json(model_dir / "tokenizer_config.json").get("model_max_length", 10**9)
    return int(min(tok, _json(model_dir / "config.json").get("max_position_embeddings", 512)))


class TokenTable:
    """The ``.npy`` token-embedding table, read row by row with ``os.pread``.

    A query needs a few dozen of the table's 250,037 rows (384 MB in all). The rows are read
    from the page cache when needed, not held: a memory map would add every touched page to
    the process's RSS (and the kernel maps 64 KB around each fault, so the whole table soon
    counts), holding the table in memory would add 384 MB.
    """

    def __init__(self, path: Path) -> None:
        with open(path, "rb") as f:
            version = np.lib.format.read_magic(f)
            read = (
                np.lib.format.read_array_header_1_0
                if version == (1, 0)
                else np.lib.format.read_array_header_2_0
            )
            shape, fortran, dtype = read(f)
            self._offset = f.tell()
        if fortran or dtype != np.float32 or len(shape) != 2:
            raise OnnxEngineError(f"{path}: expected a C-order float32 matrix, got {dtype} {shape}")
        self.rows, self.dim = int(shape[0]), int(shape[1])
        self._row_bytes = self.dim * 4
        if path.stat().st_size < self._offset + self.rows * self._row_bytes:
            raise OnnxEngineError(f"{path} is truncated")
        self._fd = os.open(path, os.O_RDONLY)

    def lookup(self, ids: np.ndarray) -> np.ndarray:
        """Rows of ``ids`` (any shape) → float32 array of shape ``ids.shape + (dim,)``."""
        unique, inverse = np.unique(ids, return_inverse=True)
        if len(unique) and not 0 <= unique[0] <= unique[-1] < self.rows:
            raise ValueError(f"token id out of range 0..{self.rows - 1}")
        out = np.empty((len(unique), self.dim), dtype=np.float32)
        for k, i in enumerate(unique.tolist()):
            raw = os.pread(self._fd, self._row_bytes, self._offset + i * self._row_bytes)
            out[k] = np.frombuffer(raw, dtype=np.float32)
        return out[inverse.reshape(ids.shape)]

    def __del__(self) -> None:
        fd = getattr(self, "_fd", None)
        if fd is not None:
            os.close(fd)


# --------------------------------------------------------------------------- the engine


class OnnxEmbedder:
    """The e5 model on ONNX Runtime; ``engine`` is ``"onnx"`` (fp32) or ``"onnx-int8"``."""

    def __init__(self, settings: Settings, *, engine: str = "onnx") -> None:
        if engine not in GRAPHS:
            raise ValueError(f"engine must be one of {sorted(GRAPHS)}, got {engine!r}")
        self.settings = settings
        self.engine = engine
        self.model_id = settings.embedding_model
        self.graph_dir: Path | None = None
        self._tok: TokenIds | None = None
        self._table: TokenTable | None = None
        self._sessions: dict[str, Any] = {}
        # onnxruntime session config entries. No spinning: idle pool threads that spin take
        # the cores the server's request threads need (bench/load.py, 16 clients, same run:
        # 53 -> 70 req/s; one query at 2 threads on a busy machine 21 -> 13 ms)
        self.session_config: dict[str, str] = {
            "session.intra_op.allow_spinning": "0",
            "session.inter_op.allow_spinning": "0",
        }
        self._lock = threading.Lock()
        self._head: list[int] = []
        self._tail: list[int] = []
        self._window = 0
        self._pad = 0

    def load(self) -> OnnxEmbedder:
        """Make the graph if needed, then load the tokenizer, table and query session."""
        if self._tok is not None:
            return self
        from .embedding import EmbedderError, model_path

        model_dir = Path(model_path(self.settings))
        try:
            if not model_dir.is_dir():
                raise OnnxEngineError(
                    f"the onnx engine needs a local model directory, not {self.model_id!r}: set "
                    "RAG_EMBEDDING_MODEL to one, or use RAG_EMBEDDING_ENGINE=sentence-transformers"
                )
            check_model_dir(model_dir)
            self.graph_dir = ensure_graph(model_dir, self.settings.model_cache_dir)
            tok = self._load_tokenizer(model_dir)
            self._table = TokenTable(self.graph_dir / WORD_EMBEDDINGS)
            self._session(GRAPHS[self.engine][0])
            self._tok = tok  # last: a failed load is tried again in full
        except ImportError as exc:
            raise EmbedderError(
                f"onnxruntime or tokenizers is missing ({exc}); install them or use "
                "RAG_EMBEDDING_ENGINE=sentence-transformers"
            ) from exc
        except (OnnxEngineError, OSError, ValueError) as exc:
            raise EmbedderError(str(exc)) from exc
        return self

    def _load_tokenizer(self, model_dir: Path) -> TokenIds:
        config = _json(model_dir / "tokenizer_config.json")
        # transformers' split_special_tokens: "<s>" inside a text is plain text
        tok = load_tokenizer(
            model_dir / "tokenizer.json",
            split_special_tokens=bool(config.get("split_special_tokens", False)),
        )
        probe = tok.ids("x", add_special_tokens=False)
        full = tok.ids("x")
        at = next((i for i in range(len(full)) if full[i : i + len(probe)] == probe), None)
        if at is not None:  # the special tokens the tokenizer wraps around a text
            self._head, self._tail = list(full[:at]), list(full[at + len(probe) :])
        self._window = max_seq_length(model_dir) - len(self._head) - len(self._tail)
        # what sentence-transformers pads with; masked out, but int8 activations are
        # quantized per batch, padding included
        self._pad = int(_json(model_dir / "config.json").get("pad_token_id") or 0)
        return tok

    def _session(self, graph: str) -> Any:
        """The ONNX Runtime session of one graph file (made once; ``run`` is thread-safe)."""
        with self._lock:
            if graph not in self._sessions:
                import onnxruntime as ort

                assert self.graph_dir is not None
                opts = ort.SessionOptions()
                opts.intra_op_num_threads = self.settings.embedding_threads or 0  # 0: all cores
                opts.inter_op_num_threads = 1
                opts.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
                for key, value in self.session_config.items():
                    opts.add_session_config_entry(key, value)
                self._sessions[graph] = ort.InferenceSession(
                    str(self.graph_dir / graph), opts, providers=["CPUExecutionProvider"]
                )
            return self._sessions[graph]

    def set_threads(self, n: int | None) -> None:
        """Intra-op threads from now on (the sessions are made again; for benchmarks)."""
        with self._lock:
            self.settings = self.settings.model_copy(update={"embedding_threads": n})
            self._sessions.clear()

    def _tokenizer(self) -> TokenIds:
        tok = self.load()._tok
        assert tok is not None
        return tok

    @property
    def dim(self) -> int:
        table = self.load()._table
        assert table is not None
        return table.dim

    def token_count(self, text: str, *, is_query: bool = False) -> int:
        prefix = self.settings.query_prefix if is_query else self.settings.passage_prefix
        return len(self._tokenizer().ids(prefix + text))

    def embed_queries(self, texts: Sequence[str]) -> np.ndarray:
        prefixed = [self.settings.query_prefix + t for t in texts]
        return self._embed(prefixed, GRAPHS[self.engine][0], False)

    def embed_passages(self, texts: Sequence[str], *, show_progress: bool = False) -> np.ndarray:
        prefixed = [self.settings.passage_prefix + t for t in texts]
        return self._embed(prefixed, GRAPHS[self.engine][1], show_progress)

    def _embed(self, texts: list[str], graph: str, show_progress: bool) -> np.ndarray:
        """Windows of at most ``self._window`` content tokens, each wrapped in the special
        tokens; a text's vector is the mean of its windows' mean-pooled states, weighted by
        content tokens, L2-normalized (one window: plain mean pooling)."""
        self.load()
        table, dim, w = self._table, self.dim, self._window
        assert table is not None
        sums = np.zeros((len(texts), dim), dtype=np.float32)
        if not texts:
            return sums
        from tqdm import tqdm

        session, tok = self._session(graph), self._tokenizer()
        owner: list[int] = []
        windows: list[list[int]] = []
        for i, text in enumerate(texts):
            ids = tok.ids(text, add_special_tokens=False)
            for a in range(0, max(len(ids), 1), w):
                owner.append(i)
                windows.append(ids[a : a + w])
        weights = np.zeros(len(texts), dtype=np.float32)
        order = sorted(range(len(windows)), key=lambda j: len(windows[j]))
        with tqdm(
            total=len(windows), disable=not show_progress, desc="embedding", unit="text"
        ) as bar:
            for batch in self._batches(order, windows):
                means = self._forward(session, table, [windows[j] for j in batch])
                for j, mean in zip(batch, means, strict=True):
                    weight = float(max(len(windows[j]), 1))
                    sums[owner[j]] += weight * mean
                    weights[owner[j]] += weight
                bar.update(len(batch))
        vecs = sums / weights[:, None]
        norms = np.maximum(np.linalg.norm(vecs, axis=1, keepdims=True), 1e-12)
        return (vecs / norms).astype(np.float32)

    def _batches(self, order: list[int], windows: list[list[int]]) -> Iterator[list[int]]:
        """Consecutive runs of ``order`` (sorted by length) of at most the batch size and
        :data:`MAX_BATCH_TOKENS` padded tokens."""
        extra = len(self._head) + len(self._tail)
        batch: list[int] = []
        for j in order:
            width = len(windows[j]) + extra  # the longest so far: ``order`` is sorted
            if batch and (
                len(batch) >= self.settings.embedding_batch_size
                or (len(batch) + 1) * width > MAX_BATCH_TOKENS
            ):
                yield batch
                batch = []
            batch.append(j)
        if batch:
            yield batch

    def _forward(self, session: Any, table: TokenTable, windows: list[list[int]]) -> np.ndarray:
        """Mean-pooled last hidden states of one padded batch of windows."""
        seqs = [self._head + win + self._tail for win in windows]
        width = max(map(len, seqs))
        ids = np.full((len(seqs), width), self._pad, dtype=np.int64)
        mask = np.zeros((len(seqs), width), dtype=np.int64)
        for k, s in enumerate(seqs):
            ids[k, : len(s)] = s
            mask[k, : len(s)] = 1
        (hidden,) = session.run(None, {"inputs_embeds": table.lookup(ids), "attention_mask": mask})
        m = mask.astype(np.float32)
        return np.einsum("bld,bl->bd", hidden, m) / np.maximum(m.sum(axis=1, keepdims=True), 1e-9)
