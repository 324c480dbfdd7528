"""A customer's permanent record across channels, and their tags."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from socialdesk.domain.errors import NotFound
from socialdesk.queries.conversation_view import CustomerRecord, get_customer_record
from socialdesk.services.customers import retag_customer
from socialdesk.web.api.schemas import TagsIn
from socialdesk.web.deps import CurrentAgent, DeskDep, ReadConn
from socialdesk.web.routing import StrictJsonRoute

router = APIRouter(prefix="/api/v1/customers", tags=["customers"], route_class=StrictJsonRoute)

ERRORS: dict[int | str, dict[str, Any]] = {
    400: {"description": "the body is not JSON or not UTF-8"},
    401: {"description": "no valid API token"},
    404: {"description": "no such customer"},
    415: {"description": "the body is not JSON"},
    422: {"description": "invalid input; nothing was changed"},
}


def _record(conn: ReadConn, customer_id: int) -> CustomerRecord:
    record = get_customer_record(conn, customer_id)
    if record is None:
        raise NotFound(f"customer {customer_id} does not exist")
    return record


@router.get("/{customer_id}", responses=ERRORS)
def customer(customer_id: int, conn: ReadConn, _: CurrentAgent) -> CustomerRecord:
    """Identities on every platform and every conversation, newest first."""
    return _record(conn, customer_id)


@router.post("/{customer_id}/tags", responses=ERRORS)
def tags(
    customer_id: int, body: TagsIn, desk: DeskDep, conn: ReadConn, agent: CurrentAgent
) -> CustomerRecord:
    """Add and remove the customer's tags ("vip" raises the priority of their messages)."""
    retag_customer(desk.uow(), agent, customer_id, body.add, body.remove, desk.clock.now())
    return _record(conn, customer_id)
