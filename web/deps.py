"""What routes depend on: the one service (made in the lifespan) and the API key check."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from .guards import require_api_key
from .service import AnswerService, NotReady


def get_service(request: Request) -> AnswerService:
    service: AnswerService | None = getattr(request.app.state, "service", None)
    if service is None:
        raise NotReady("index not loaded yet / 索引尚未加载")
    return service


ServiceDep = Annotated[AnswerService, Depends(get_service)]
# on the routers of /api and /v1 (not on /healthz, /readyz, /metrics)
API_KEY = Depends(require_api_key)
