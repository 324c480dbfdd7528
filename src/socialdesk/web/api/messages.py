"""Ingest normalised messages from any platform: one, or a batch of up to 1,000.

A 201/200 answer means the messages are committed: durable before acknowledged.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Response, status

from socialdesk.domain.errors import InvalidInput, ItemInvalid
from socialdesk.services.intake import ingest
from socialdesk.web.api.schemas import BatchOut, IngestOut, MessageBatchIn, MessageIn
from socialdesk.web.deps import DeskDep, MetricsDep, Supervisor
from socialdesk.web.routing import StrictJsonRoute

router = APIRouter(prefix="/api/v1", tags=["messages"], route_class=StrictJsonRoute)

ERRORS: dict[int | str, dict[str, Any]] = {
    400: {"description": "the body is not JSON or not UTF-8"},
    401: {"description": "no valid API token"},
    403: {"description": "the token's role may not ingest"},
    413: {"description": "the body is too large"},
    415: {"description": "the body is not JSON"},
    422: {"description": "a message is invalid; nothing was stored"},
}


@router.post(
    "/messages",
    status_code=status.HTTP_201_CREATED,
    responses={200: {"model": IngestOut, "description": "already stored (a redelivery)"}, **ERRORS},
)
def ingest_message(
    body: MessageIn, response: Response, desk: DeskDep, metrics: MetricsDep, _: Supervisor
) -> IngestOut:
    """Take in one message. A redelivery (same channel and external id) answers 200, changing nothing."""
    try:
        result = ingest(
            desk.uow, [body.to_domain()], now=desk.clock.now(), policy=desk.policy, source="api"
        )
    except ItemInvalid as exc:
        raise InvalidInput(exc.reason, field=exc.field) from exc
    outcome = result.outcomes[0]
    if outcome.created:
        desk.notify_work()
    metrics.ingested.labels("api", "created" if outcome.created else "duplicate").inc()
    if not outcome.created:
        response.status_code = status.HTTP_200_OK
    response.headers["Location"] = f"/api/v1/conversations/{outcome.conversation_id}"
    return IngestOut(
        message_id=outcome.message_id,
        conversation_id=outcome.conversation_id,
        created=outcome.created,
    )


@router.post("/messages:batch", responses=ERRORS)
def ingest_batch(
    body: MessageBatchIn, desk: DeskDep, metrics: MetricsDep, _: Supervisor
) -> BatchOut:
    """Take in up to 1,000 messages in one transaction: all are stored, or (one being bad) none."""
    result = ingest(
        desk.uow,
        [m.to_domain() for m in body.messages],
        now=desk.clock.now(),
        policy=desk.policy,
        source="api",
    )
    if result.new_messages:
        desk.notify_work()
    metrics.ingested.labels("api", "created").inc(result.new_messages)
    metrics.ingested.labels("api", "duplicate").inc(result.duplicates)
    return BatchOut(
        results=[
            IngestOut(message_id=o.message_id, conversation_id=o.conversation_id, created=o.created)
            for o in result.outcomes
        ],
        created=result.new_messages,
        duplicates=result.duplicates,
        new_conversations=result.new_conversations,
    )
