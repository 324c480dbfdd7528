"""Platform webhooks: `/webhooks/{connector}/{channel}` for every installed connector.

GET answers the platform's verification handshake; POST takes a delivery. The raw body is read
here (signatures are over the exact bytes) and handed to the webhook service in a worker thread.
A 200 means everything in the delivery is stored; 401 a bad signature (nothing stored), 400 a
delivery we could not read (kept in quarantine), 404 a path that names no channel of that
connector.
"""

from __future__ import annotations

from fastapi import APIRouter, Request, Response
from starlette.concurrency import run_in_threadpool

from socialdesk.domain.connectors import WebhookRequest
from socialdesk.domain.errors import DomainError
from socialdesk.services import webhooks
from socialdesk.web.deps import DeskDep, MetricsDep
from socialdesk.web.routing import ProblemRoute

router = APIRouter(prefix="/webhooks", tags=["webhooks"], route_class=ProblemRoute)

RESPONSES: dict[int | str, dict[str, str]] = {
    400: {"description": "the delivery cannot be read; it was quarantined"},
    401: {"description": "the signature is missing or wrong; nothing was stored"},
    403: {"description": "the verification handshake did not prove the shared secret"},
    404: {"description": "no such connector, or no active channel of it with this id"},
}


def _request(request: Request, body: bytes) -> WebhookRequest:
    return WebhookRequest(
        method=request.method,
        query=dict(request.query_params),
        headers={k.lower(): v for k, v in request.headers.items()},
        body=body,
    )


@router.get("/{connector}/{channel_id}", responses=RESPONSES)
async def handshake(connector: str, channel_id: int, request: Request, desk: DeskDep) -> Response:
    """The platform's check that this endpoint is ours (X's CRC, Meta's hub.challenge)."""
    answer = await run_in_threadpool(
        webhooks.handshake, desk.uow, desk.connectors, connector, channel_id, _request(request, b"")
    )
    return Response(answer.body, status_code=answer.status, media_type=answer.media_type)


@router.post("/{connector}/{channel_id}", responses=RESPONSES)
async def deliver(
    connector: str, channel_id: int, request: Request, desk: DeskDep, metrics: MetricsDep
) -> Response:
    """A delivery of events; answered once what it carries is stored."""
    body = await request.body()
    try:
        received = await run_in_threadpool(
            lambda: webhooks.receive(
                desk.uow,
                desk.connectors,
                connector,
                channel_id,
                _request(request, body),
                now=desk.clock.now(),
                policy=desk.policy,
            )
        )
    except DomainError as exc:
        # The path is the sender's to choose: only installed connectors become label values.
        known = connector in {c.name for c in desk.connectors.all()}
        metrics.webhook_rejects.labels(connector if known else "unknown", exc.code).inc()
        raise
    counter = metrics.webhook_events
    if received.result is not None:
        counter.labels(connector, "new", "message").inc(received.result.new_messages)
        counter.labels(connector, "duplicate", "message").inc(received.result.duplicates)
        metrics.ingested.labels(f"webhook:{connector}", "created").inc(received.result.new_messages)
        metrics.ingested.labels(f"webhook:{connector}", "duplicate").inc(received.result.duplicates)
        if received.result.new_messages:
            desk.notify_work()
    if received.changed:
        counter.labels(connector, "applied", "change").inc(received.changed)
    for kind, count in received.ignored.items():
        counter.labels(connector, "ignored", kind).inc(count)
    answer = received.response
    return Response(answer.body, status_code=answer.status, media_type=answer.media_type)
