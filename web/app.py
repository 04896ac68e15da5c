"""One server: the JSON answer API for staff and the Gradio chat for citizens.

Thin by design: the lifespan makes one :class:`~web.service.AnswerService` (model + index
loaded once, the query batcher closed on shutdown); the routers of ``web/routes/`` and the
chat call it.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import APIRouter, FastAPI
from fastapi.concurrency import run_in_threadpool

from rag.config import Settings, get_settings
from rag.feedback import FeedbackStore
from rag.pipeline import Pipeline

from . import errors
from .chat import build_chat, mount_chat
from .deps import API_KEY
from .guards import BodySizeLimit, RateLimit
from .metrics import Metrics
from .routes import answer, documents, feedback, health, openai, search
from .service import AnswerService


def create_app(settings: Settings | None = None, pipeline: Pipeline | None = None) -> FastAPI:
    """The app; ``pipeline`` (already loaded) replaces loading the model and index (tests)."""
    settings = settings or get_settings()
    metrics = Metrics()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        service = AnswerService(
            settings,
            metrics=metrics,
            pipeline=pipeline,
            feedback=FeedbackStore(settings.feedback_db),
        )
        app.state.service = await run_in_threadpool(service.load)
        try:
            yield
        finally:
            app.state.service = None
            await run_in_threadpool(service.close)

    app = FastAPI(
        title="报告问答 API",
        description="Cited answers from government work reports. Every quote is a verbatim "
        "slice of the cleaned report at the given offsets.",
        version="0.1.0",
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.metrics = metrics
    app.state.service = None
    metrics.instrument(app)
    app.add_middleware(RateLimit, per_minute=settings.chat_rate_limit, prefix="/gradio_api/")
    app.add_middleware(
        BodySizeLimit, max_bytes=settings.max_body_bytes, streamed=documents.STREAMED
    )
    errors.register(app)

    # the API key is declared once, for everything under /api and /v1
    api = APIRouter(dependencies=[API_KEY])
    for module in (answer, search, documents, feedback, openai):
        api.include_router(module.router)
    app.include_router(api)
    app.include_router(health.router)

    mount_chat(app, build_chat(lambda: app.state.service, settings))
    return app
