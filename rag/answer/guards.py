"""Is a question a question about the report? Instructions inside a question are data.

Two layers, both read from resource files and matched on the normalized question:

* ``guards.tsv``: whole forms known to be attempts (``【系统通知】``, "ignore all previous
  instructions", ``越狱``), each one regular expression;
* ``guard_features.tsv``: the parts attempts are made of, and rules that combine them. A
  feature is a class of words (an override such as 忽略/不管/ignore, the system's own
  settings, a made-up text, a persona, a dictated answer, a person, a private contact); a rule
  names the features that must all occur in the question. New wordings of the same attempt
  combine the same parts, so the rules reach them without a pattern per wording; a feature
  alone never flags a question (residents say 你, and ask about rules, roles and phones).

``guard`` returns the reason ("instruction" / "personal_data") or ``None``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache
from importlib import resources

from .cues import tsv


@dataclass(frozen=True)
class GuardRule:
    """A reason and the features it needs: each entry is a set of alternatives (any one)."""

    kind: str
    needs: tuple[frozenset[str], ...]

    def holds(self, present: frozenset[str]) -> bool:
        return all(alternatives & present for alternatives in self.needs)


@cache
def guard_patterns() -> tuple[tuple[str, re.Pattern[str]], ...]:
    return tuple((kind, re.compile(pattern, re.I)) for kind, pattern in tsv("guards.tsv"))


@cache
def guard_grammar() -> tuple[dict[str, re.Pattern[str]], tuple[GuardRule, ...]]:
    """The features and the rules of ``guard_features.tsv``; a rule naming an unknown feature
    is an error, so a typo in the file cannot switch a rule off silently."""
    text = resources.files("rag").joinpath("resources/guard_features.tsv").read_text("utf-8")
    features: dict[str, re.Pattern[str]] = {}
    rules: list[GuardRule] = []
    for line in text.splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        cells = line.split("\t")
        if cells[0] == "rule":
            needs = tuple(frozenset(cell.split("|")) for cell in cells[2:])
            unknown = {f for alternatives in needs for f in alternatives} - features.keys()
            if len(cells) < 3 or unknown:
                raise ValueError(f"guard_features.tsv: bad rule {line!r} (unknown: {unknown})")
            rules.append(GuardRule(cells[1], needs))
        else:
            features[cells[0]] = re.compile(cells[1], re.I)
    return features, tuple(rules)


def features_of(text: str) -> frozenset[str]:
    """The guard features that occur in ``text``."""
    features, _ = guard_grammar()
    return frozenset(name for name, pattern in features.items() if pattern.search(text))


def guard(text: str) -> str | None:
    """Why a question is not a question about the report ("instruction" / "personal_data"),
    or ``None``: a known form first, then the first rule whose features all occur."""
    for kind, pattern in guard_patterns():
        if pattern.search(text):
            return kind
    present = features_of(text)
    _, rules = guard_grammar()
    for rule in rules:
        if rule.holds(present):
            return rule.kind
    return None
