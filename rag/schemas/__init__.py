"""The JSON shapes of the product: one pydantic model per thing, the only place they are defined.

``rag ask --json``, ``rag search --json``, ``rag eval`` (``results.jsonl``) and the HTTP API
(``web/``) all dump these models, and the API's OpenAPI document is generated from them.

They live in ``rag`` rather than ``web`` because the CLI and the eval runner are part of the
library: ``web`` imports ``rag.schemas``; ``rag`` never imports ``web`` (an import-linter
contract in ``pyproject.toml`` keeps it so). They are not the library's records either: the
frozen dataclasses of :mod:`rag.types` stay what stages pass each other, and each ``*Out.of()``
here turns a record into its public shape (lists for tuples, figures rounded) in one place.
"""

from .answers import (
    AnswerOut,
    ChunkOut,
    CitationOut,
    DeltaOut,
    HitOut,
    SearchOut,
    ServedAnswerOut,
)
from .api import (
    AnswerRequest,
    ErrorOut,
    FeedbackIn,
    FeedbackOut,
    HealthOut,
    ReadyOut,
    SearchRequest,
    TurnIn,
)
from .documents import (
    AddOutcomeOut,
    ChangeOut,
    DocumentFields,
    DocumentListed,
    DocumentOut,
    DocumentSummary,
    FigureOut,
    OutlineItem,
    OutlineNodeOut,
)
from .openai import (
    AssistantMessage,
    ChatChoice,
    ChatCompletionChunkOut,
    ChatCompletionOut,
    ChatMessage,
    ChatRequest,
    ChunkChoice,
    ChunkDelta,
    Usage,
)

__all__ = [
    "AddOutcomeOut",
    "AnswerOut",
    "AnswerRequest",
    "AssistantMessage",
    "ChatChoice",
    "ChatCompletionChunkOut",
    "ChatCompletionOut",
    "ChatMessage",
    "ChangeOut",
    "ChatRequest",
    "ChunkChoice",
    "ChunkDelta",
    "ChunkOut",
    "CitationOut",
    "DeltaOut",
    "DocumentFields",
    "DocumentOut",
    "DocumentListed",
    "DocumentSummary",
    "ErrorOut",
    "FeedbackIn",
    "FeedbackOut",
    "FigureOut",
    "HealthOut",
    "HitOut",
    "OutlineItem",
    "OutlineNodeOut",
    "ReadyOut",
    "SearchOut",
    "SearchRequest",
    "ServedAnswerOut",
    "TurnIn",
    "Usage",
]
