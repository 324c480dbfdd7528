"""Import: history from files, through the same intake as live traffic, in batches.

A message intake refuses (say, a brand reply whose thread is unknown) is skipped with its reason
and the rest of its batch goes in; everything else about a batch is as for live ingest, so
re-importing a file adds nothing.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from itertools import islice
from typing import TypeVar

from socialdesk.domain.errors import ItemInvalid
from socialdesk.domain.messages import NormalisedMessage
from socialdesk.services.intake import IntakePolicy, ingest
from socialdesk.services.ports import Clock, UnitOfWorkFactory

BATCH = 1000
T = TypeVar("T")


@dataclass(slots=True)
class ImportReport:
    rows: int = 0
    messages: int = 0
    duplicates: int = 0
    conversations: int = 0
    customers: int = 0
    skipped: Counter[str] = field(default_factory=Counter)

    @property
    def skipped_total(self) -> int:
        return sum(self.skipped.values())


def batched(items: Iterable[T], size: int) -> Iterable[list[T]]:
    iterator = iter(items)
    while chunk := list(islice(iterator, size)):
        yield chunk


def import_messages(
    uow_factory: UnitOfWorkFactory,
    messages: Iterable[NormalisedMessage],
    *,
    clock: Clock,
    policy: IntakePolicy,
    source: str,
    report: ImportReport,
    on_batch: Callable[[int], None] | None = None,
) -> ImportReport:
    for batch in batched(messages, BATCH):
        size = len(batch)
        while batch:
            try:
                result = ingest(uow_factory, batch, now=clock.now(), policy=policy, source=source)
            except ItemInvalid as exc:
                report.skipped[exc.reason] += 1
                del batch[exc.index]
                continue
            report.messages += result.new_messages
            report.duplicates += result.duplicates
            report.conversations += result.new_conversations
            report.customers += result.new_customers
            break
        if on_batch is not None:
            on_batch(size)
    return report
