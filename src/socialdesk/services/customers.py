"""Customers: tags that describe the person on every channel (a "vip" tag raises priority)."""

from __future__ import annotations

from datetime import datetime

from socialdesk.domain.agents import Agent
from socialdesk.domain.customers import Customer
from socialdesk.domain.errors import InvalidInput, NotFound
from socialdesk.domain.events import CustomerTagged
from socialdesk.services.ports import UnitOfWork

MAX_TAGS = 100


def retag_customer(
    uow: UnitOfWork,
    actor: Agent,
    customer_id: int,
    add: list[str],
    remove: list[str],
    now: datetime,
) -> Customer:
    with uow:
        customer = uow.customers.get(customer_id, for_update=True)
        if customer is None:
            raise NotFound(f"customer {customer_id} does not exist")
        added, removed = customer.retag(add, remove)
        if len(customer.tags) > MAX_TAGS:
            raise InvalidInput(f"a customer carries at most {MAX_TAGS} tags", field="add")
        if added or removed:
            uow.customers.update(customer)
            uow.events.append(
                [
                    CustomerTagged(
                        occurred_at=now,
                        actor_agent_id=actor.id,
                        customer_id=customer_id,
                        added=added,
                        removed=removed,
                    )
                ]
            )
        uow.commit()
    return customer
