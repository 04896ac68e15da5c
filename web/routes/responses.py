"""OpenAPI declarations shared by the routes: the error body and the event-stream content."""

from __future__ import annotations

from typing import Any

from rag.schemas import ErrorOut

ERROR: dict[str, Any] = {"model": ErrorOut}
# what every route with a JSON body can answer besides 200: an undecodable body (400, from
# FastAPI), a body over RAG_MAX_BODY_BYTES (413, BodySizeLimit) and an invalid request
# (422: FastAPI's validation list or InvalidQuestion's message, both fit ErrorOut)
BODY_ERRORS: dict[int | str, dict[str, Any]] = {400: ERROR, 413: ERROR, 422: ERROR}
NOT_FOUND: dict[int | str, dict[str, Any]] = {404: ERROR}
NOT_READY: dict[int | str, dict[str, Any]] = {503: ERROR}
EVENT_STREAM: dict[str, Any] = {"content": {"text/event-stream": {}}}
# pieces of the answer text sent per stream event
DELTA_CHARS = 24
