"""Prometheus metrics: HTTP requests and latency (instrumentator) plus answer counters.

The answer counters are fed by :class:`web.service.AnswerService` only, so an answer is
counted once whichever surface asked (API, stream, OpenAI-compatible route, chat).
"""

from __future__ import annotations

from typing import Literal

from fastapi import FastAPI
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Histogram
from prometheus_client import generate_latest as _generate_latest
from prometheus_fastapi_instrumentator import Instrumentator

from rag.types import Answer

# where a question came from: the JSON API, its event stream, the OpenAI-compatible route,
# or the citizens' chat
Surface = Literal["api", "stream", "openai", "chat"]
CONTENT_TYPE = CONTENT_TYPE_LATEST


class Metrics:
    """One registry per app, so several apps (tests) never clash."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.answers = Counter(
            "rag_answers_total",
            "Answers composed, by outcome and by the surface that asked",
            ["status", "surface", "engine"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "rag_answer_seconds",
            "Question to cited answer, in process",
            buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5),
            registry=self.registry,
        )
        self.feedback = Counter(
            "rag_feedback_total", "Feedback stored", ["rating"], registry=self.registry
        )

    def instrument(self, app: FastAPI) -> None:
        """HTTP request counts and latency of ``app`` (its middleware; call before start)."""
        Instrumentator(
            registry=self.registry, excluded_handlers=["/metrics", "/healthz"]
        ).instrument(app)

    def observe(self, a: Answer, surface: Surface) -> None:
        self.answers.labels(status=a.status, surface=surface, engine=a.engine).inc()
        self.latency.observe(a.latency_ms / 1000)

    def render(self) -> bytes:
        return _generate_latest(self.registry)
