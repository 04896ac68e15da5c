"""The answer layer's word lists, read from resource files (``rag/resources/*.tsv``): each
line a name (or kind) and a regular expression, so the lists are data, not code."""

from __future__ import annotations

import re
from functools import cache
from importlib import resources


def tsv(name: str) -> list[tuple[str, str]]:
    """The (name, pattern) rows of ``rag/resources/<name>`` (comments and blanks skipped)."""
    text = resources.files("rag").joinpath(f"resources/{name}").read_text(encoding="utf-8")
    rows = []
    for line in text.splitlines():
        if line.strip() and not line.startswith("#"):
            kind, pattern = line.split("\t", 1)
            rows.append((kind.strip(), pattern.strip()))
    return rows


@cache
def cue(name: str) -> re.Pattern[str]:
    """The pattern named ``name`` in ``cues.tsv``."""
    for kind, pattern in tsv("cues.tsv"):
        if kind == name:
            return re.compile(pattern, re.I)
    raise KeyError(f"no cue {name!r} in rag/resources/cues.tsv")
