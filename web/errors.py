"""Domain errors to HTTP: one table, registered on the app."""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from rag.retrieval import InvalidQuestion

from .service import BadFeedback, NotFound, NotReady

STATUS: dict[type[Exception], int] = {
    InvalidQuestion: 422,
    BadFeedback: 422,
    NotFound: 404,
    NotReady: 503,
}


async def _reply(request: Request, exc: Exception) -> JSONResponse:
    status = next(code for kind, code in STATUS.items() if isinstance(exc, kind))
    return JSONResponse({"detail": str(exc)}, status_code=status)


def register(app: FastAPI) -> None:
    for kind in STATUS:
        app.add_exception_handler(kind, _reply)
