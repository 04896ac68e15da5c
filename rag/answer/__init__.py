"""Answer composition: question analysis → answer typing → evidence → answer extraction →
answerability → the cited answer. See :mod:`rag.answer.compose`."""

from .analysis import Analysis, Analyzer
from .compose import Composition, compose
from .context import AnswerContext
from .evidence import sentence_kind
from .render import render
from .rules import RULES, Rules

__all__ = [
    "RULES",
    "Analysis",
    "Analyzer",
    "AnswerContext",
    "Composition",
    "Rules",
    "compose",
    "render",
    "sentence_kind",
]
