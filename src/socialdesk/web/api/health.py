"""Liveness, readiness and Prometheus metrics."""

from __future__ import annotations

from fastapi import APIRouter, Response
from fastapi.responses import JSONResponse, PlainTextResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from socialdesk.web.deps import DeskDep, MetricsDep

router = APIRouter(tags=["operations"])


@router.get("/healthz")
def healthz() -> dict[str, str]:
    """The process is alive."""
    return {"status": "ok"}


@router.get(
    "/readyz",
    responses={503: {"description": "no database, or its schema is not this code's version"}},
)
def readyz(desk: DeskDep) -> JSONResponse:
    """The database answers and its schema is at the version this code expects."""
    try:
        current, head = desk.schema_revisions()
    except Exception as exc:
        return JSONResponse(
            {"status": "unavailable", "reason": type(exc).__name__}, status_code=503
        )
    if current != head:
        return JSONResponse(
            {"status": "migrating", "database": current, "expected": head}, status_code=503
        )
    return JSONResponse({"status": "ok", "schema": current})


@router.get("/metrics", response_class=PlainTextResponse)
def metrics(metrics: MetricsDep) -> Response:
    """Prometheus's text format: this process's counters and the desk-wide gauges."""
    return Response(generate_latest(metrics.registry), media_type=CONTENT_TYPE_LATEST)
