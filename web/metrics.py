"""Prometheus metrics: HTTP requests and latency (instrumentator) plus answer counters."""

from __future__ import annotations

from fastapi import FastAPI
from prometheus_client import CollectorRegistry, Counter, Histogram
from prometheus_fastapi_instrumentator import Instrumentator

from rag.types import Answer


class Metrics:
    """One registry per app, so several apps (tests) never clash."""

    def __init__(self, app: FastAPI) -> None:
        self.app = app
        self.registry = CollectorRegistry()
        self.answers = Counter(
            "rag_answers_total", "Answers composed", ["refused", "engine"], registry=self.registry
        )
        self.latency = Histogram(
            "rag_answer_seconds",
            "Question to cited answer, in process",
            buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5),
            registry=self.registry,
        )
        self.instrumentator = Instrumentator(
            registry=self.registry, excluded_handlers=["/metrics", "/healthz"]
        ).instrument(app)

    def observe(self, a: Answer) -> None:
        self.answers.labels(refused=str(a.refused).lower(), engine=a.engine).inc()
        self.latency.observe(a.latency_ms / 1000)

    def expose(self) -> None:
        self.instrumentator.expose(self.app, endpoint="/metrics", include_in_schema=False)
