"""Tests of rag.unigram: LeanTokenizer's ids equal ``tokenizers``' own, on a tiny hand-made
Unigram vocabulary (ties, unknown characters, runs of them) and (marked ``model``) on the e5
model's ``tokenizer.json`` over the report, the eval questions and the agreement texts."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st
from tokenizers import Tokenizer

from rag.unigram import LeanTokenizer, load_tokenizer

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))
from agreement_texts import varied_texts  # noqa: E402

META = "\u2581"
# scores chosen for ties: "ab" = "a" + "b", "abc" = "ab" + "c" = "a" + "bc"
PIECES = [
    ("<s>", 0.0),
    ("<pad>", 0.0),
    ("</s>", 0.0),
    ("<unk>", -100.0),
    (META, -2.0),
    ("a", -1.0),
    ("b", -1.0),
    ("c", -1.5),
    ("ab", -2.0),
    ("bc", -2.5),
    ("abc", -3.5),
    (META + "a", -2.5),
    ("乐山", -3.0),
    ("乐", -2.0),
    ("山", -2.0),
    ("x乐", -4.0),  # a piece that starts with a character that has no piece of its own
]


def tiny_config(*, split: bool = False) -> dict[str, Any]:
    pre: dict[str, Any] = {
        "type": "Metaspace",
        "replacement": META,
        "prepend_scheme": "always",
        "split": split,
    }
    return {
        "version": "1.0",
        "truncation": None,
        "padding": None,
        "added_tokens": [
            {
                "id": i,
                "content": p,
                "single_word": False,
                "lstrip": False,
                "rstrip": False,
                "normalized": False,
                "special": True,
            }
            for i, (p, _) in enumerate(PIECES[:4])
        ],
        "normalizer": {"type": "Replace", "pattern": {"Regex": " {2,}"}, "content": " "},
        "pre_tokenizer": pre,
        "post_processor": {
            "type": "TemplateProcessing",
            "single": [
                {"SpecialToken": {"id": "<s>", "type_id": 0}},
                {"Sequence": {"id": "A", "type_id": 0}},
                {"SpecialToken": {"id": "</s>", "type_id": 0}},
            ],
            "pair": [
                {"Sequence": {"id": "A", "type_id": 0}},
                {"Sequence": {"id": "B", "type_id": 1}},
            ],
            "special_tokens": {
                "<s>": {"id": "<s>", "ids": [0], "tokens": ["<s>"]},
                "</s>": {"id": "</s>", "ids": [2], "tokens": ["</s>"]},
            },
        },
        "decoder": None,
        "model": {"type": "Unigram", "unk_id": 3, "vocab": [list(p) for p in PIECES]},
    }


def library(config: dict[str, Any]) -> Tokenizer:
    tok = Tokenizer.from_str(json.dumps(config))
    tok.encode_special_tokens = True
    return tok


LEAN, LIB = LeanTokenizer(tiny_config()), library(tiny_config())
LEAN_SPLIT, LIB_SPLIT = LeanTokenizer(tiny_config(split=True)), library(tiny_config(split=True))


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet="abcx乐山 <s>\u200b", max_size=24))
@example("abc")  # three paths of equal score: the first one found is kept
@example("ab")
@example("xyz")  # a run of unknown characters: one <unk>
@example("x乐")  # "x" alone is unknown, "x乐" is a piece
@example("")
@example("   ")
@example("<s>abc</s>")  # special tokens inside a text are plain text here
def test_ids_equal_the_librarys(text: str) -> None:
    for lean, lib in ((LEAN, LIB), (LEAN_SPLIT, LIB_SPLIT)):
        assert lean.ids(text) == lib.encode(text).ids, text
        assert (
            lean.ids(text, add_special_tokens=False)
            == lib.encode(text, add_special_tokens=False).ids
        )


def test_ties_and_unknown_runs_resolve_like_the_library() -> None:
    # the cases above spelled out, so a regression names itself
    piece = {p: i for i, (p, _) in enumerate(PIECES)}
    # "▁a bc" and "▁a b c" score alike (-5.0): the library keeps the one found first
    assert LEAN.ids("abc", add_special_tokens=False) == [piece[META + "a"], piece["bc"]]
    assert LEAN.ids("yyy", add_special_tokens=False) == [piece[META], 3]  # fused <unk>
    assert LEAN.ids("乐山") == [0, piece[META], piece["乐山"], 2]


def test_load_tokenizer_falls_back_to_the_library(tmp_path: Path) -> None:
    path = tmp_path / "tokenizer.json"
    path.write_text(json.dumps(tiny_config()), encoding="utf-8")
    lean = load_tokenizer(path, split_special_tokens=True)
    assert isinstance(lean, LeanTokenizer)
    # special tokens recognized in the text: only the library does that
    lib = load_tokenizer(path, split_special_tokens=False)
    assert not isinstance(lib, LeanTokenizer)
    piece = {p: i for i, (p, _) in enumerate(PIECES)}
    assert lib.ids("<s>ab", add_special_tokens=False) == [0, piece[META + "a"], piece["b"]]
    word_level = {**tiny_config(), "model": {"type": "WordLevel", "vocab": {"a": 0, "[UNK]": 1}}}
    word_level["model"]["unk_token"] = "[UNK]"
    path.write_text(json.dumps(word_level), encoding="utf-8")
    assert not isinstance(load_tokenizer(path, split_special_tokens=True), LeanTokenizer)


def test_rejects_models_it_cannot_run() -> None:
    with pytest.raises(ValueError, match="Unigram"):
        LeanTokenizer({**tiny_config(), "model": {"type": "BPE", "vocab": {}, "merges": []}})


# --------------------------------------------------------------------------- the e5 tokenizer


@pytest.mark.model
def test_e5_ids_equal_the_librarys() -> None:
    from rag.config import Settings
    from rag.embedding import model_path
    from rag.ingest import load_documents

    model_dir = Path(model_path(Settings(model_cache_dir=ROOT / ".cache" / "models")))
    config = json.loads((model_dir / "tokenizer.json").read_text(encoding="utf-8"))
    lean, lib = LeanTokenizer(config), library(config)
    texts = varied_texts() + [
        line for doc in load_documents(ROOT / "seeds") for line in doc.text.splitlines()
    ]
    for line in (ROOT / "eval" / "questions.jsonl").read_text(encoding="utf-8").splitlines():
        texts.append(json.loads(line)["question"])
    assert len(texts) > 500
    for text in texts:
        for prefix in ("query: ", "passage: "):
            assert lean.ids(prefix + text) == lib.encode(prefix + text).ids, text
