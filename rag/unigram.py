"""Token ids from a ``tokenizer.json``, with the Unigram vocabulary in plain dicts.

``tokenizers.Tokenizer.from_file`` holds a Unigram vocabulary of 250,002 pieces (the e5
model's) in a byte trie of HashMap nodes: 280 MB of RSS, more than the ONNX graph and the rest
of the server together. :class:`LeanTokenizer` keeps ``tokenizers`` for everything but the
vocabulary — the normalizer, the pre-tokenizer and the special tokens of the post-processor
come from the same ``tokenizer.json``, run by a ``tokenizers.Tokenizer`` whose model is a
one-piece stand-in — and runs the Unigram Viterbi search of ``tokenizers``
(``models/unigram/model.rs``, ``encode_optimized``) over the pieces in a ``marisa_trie.Trie``
(PyPI ``marisa-trie``, a compact static trie): a few MB.

The search is the library's, step for step, so ties resolve the same way: positions left to
right; at each, candidate pieces shortest first; a node keeps the first best score (strict
``>``); a character no piece starts with costs the unknown score (lowest piece score − 10),
and runs of unknown characters fuse into one ``<unk>``. Scores are float64 in both.
``tests/test_unigram.py`` checks the ids against ``tokenizers`` itself.

:func:`load_tokenizer` returns this for a Unigram ``tokenizer.json`` whose special tokens are
plain text (transformers' ``split_special_tokens``, as the e5 directory has), and the
library's own ``Tokenizer`` for anything else.
"""

from __future__ import annotations

import json
from array import array
from pathlib import Path
from typing import Any, Protocol

UNK_PENALTY = 10.0  # tokenizers' K_UNK_PENALTY


class TokenIds(Protocol):
    def ids(self, text: str, *, add_special_tokens: bool = True) -> list[int]: ...


class LeanTokenizer:
    """``tokenizers.Tokenizer(...).encode(text).ids`` with a dict instead of the trie."""

    def __init__(self, config: dict[str, Any]) -> None:
        from tokenizers import Tokenizer

        model = config["model"]
        if model.get("type") != "Unigram" or model.get("byte_fallback"):
            raise ValueError("LeanTokenizer reads Unigram models without byte fallback")
        import marisa_trie

        pieces = model["vocab"]
        self._trie = marisa_trie.Trie(piece for piece, _ in pieces)
        self._id = array("i", bytes(4 * len(self._trie)))  # trie key id -> token id
        for i, (piece, _) in enumerate(pieces):  # a repeated piece: the last id (tokenizers')
            self._id[self._trie.key_id(piece)] = i
        self._score = array("d", (float(score) for _, score in pieces))
        self._unk_id = int(model["unk_id"])
        self._unk_score = min(self._score) - UNK_PENALTY
        self._longest = max((len(piece) for piece, _ in pieces), default=1)
        stand_in = {"type": "Unigram", "unk_id": 0, "vocab": [["<unk>", 0.0]]}
        self._pipeline = Tokenizer.from_str(json.dumps({**config, "model": stand_in}))
        self._pipeline.encode_special_tokens = True
        probe = self._pipeline.encode("x")  # the post-processor's special tokens around "x"
        content = [k for k, special in enumerate(probe.special_tokens_mask) if not special]
        self._head = probe.ids[: content[0]]
        self._tail = probe.ids[content[-1] + 1 :]

    def ids(self, text: str, *, add_special_tokens: bool = True) -> list[int]:
        pipeline = self._pipeline
        normalized = pipeline.normalizer.normalize_str(text) if pipeline.normalizer else text
        splits = (
            [s for s, _ in pipeline.pre_tokenizer.pre_tokenize_str(normalized)]
            if pipeline.pre_tokenizer
            else [normalized]
        )
        out = [i for s in splits for i in self._viterbi(s)]
        return self._head + out + self._tail if add_special_tokens else out

    def _viterbi(self, s: str) -> list[int]:
        n = len(s)
        if n == 0:
            return []
        score: list[float] = [0.0] + [0.0] * n
        start: list[int] = [-1] * (n + 1)  # -1: no path ends here yet
        token: list[int] = [0] * (n + 1)
        for a in range(n):
            here = score[a]
            single = False
            # every piece that starts at a, shortest first (the trie's common-prefix search)
            for key, k in self._trie.iter_prefixes_with_ids(s[a : a + self._longest]):
                b, i = a + len(key), self._id[k]
                cand = here + self._score[i]
                if start[b] < 0 or cand > score[b]:
                    score[b], start[b], token[b] = cand, a, i
                single = single or b == a + 1
            if not single:
                cand = here + self._unk_score
                if start[a + 1] < 0 or cand > score[a + 1]:
                    score[a + 1], start[a + 1], token[a + 1] = cand, a, self._unk_id
        out: list[int] = []
        unknown: list[str] = []  # a run of unknown pieces, fused into one (as tokenizers does)
        end = n
        while end > 0:
            a = start[end]
            if token[end] == self._unk_id:
                unknown.append(s[a:end])
            else:
                if unknown:
                    out.append(self._lookup("".join(reversed(unknown))))
                    unknown = []
                out.append(token[end])
            end = a
        if unknown:
            out.append(self._lookup("".join(reversed(unknown))))
        out.reverse()
        return out

    def _lookup(self, piece: str) -> int:
        k = self._trie.get(piece)
        return self._unk_id if k is None else self._id[k]


class _Library:
    """The library's own ``Tokenizer`` behind the same method."""

    def __init__(self, path: Path, split_special_tokens: bool) -> None:
        from tokenizers import Tokenizer

        self._tok = Tokenizer.from_file(str(path))
        self._tok.no_truncation()
        self._tok.no_padding()
        self._tok.encode_special_tokens = split_special_tokens

    def ids(self, text: str, *, add_special_tokens: bool = True) -> list[int]:
        return list(self._tok.encode(text, add_special_tokens=add_special_tokens).ids)


def load_tokenizer(path: Path, *, split_special_tokens: bool) -> TokenIds:
    """The token ids of ``tokenizer.json`` at ``path``, the lean way where it applies."""
    config = json.loads(Path(path).read_text(encoding="utf-8"))
    model = config.get("model", {})
    if split_special_tokens and model.get("type") == "Unigram" and not model.get("byte_fallback"):
        return LeanTokenizer(config)
    return _Library(Path(path), split_special_tokens)
