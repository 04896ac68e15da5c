"""Liveness, readiness and Prometheus metrics (no API key: for the operator's probes)."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response

from rag.schemas import HealthOut, ReadyOut

from ..deps import ServiceDep
from ..metrics import CONTENT_TYPE
from .responses import NOT_READY

router = APIRouter(tags=["health"])


@router.get("/healthz", response_model=HealthOut)
def healthz() -> HealthOut:
    return HealthOut()


@router.get("/readyz", response_model=ReadyOut, responses=NOT_READY)
def readyz(service: ServiceDep) -> ReadyOut:
    return service.status()


@router.get("/metrics", include_in_schema=False)
def metrics(request: Request) -> Response:
    return Response(request.app.state.metrics.render(), media_type=CONTENT_TYPE)
