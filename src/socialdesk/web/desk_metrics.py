"""Prometheus gauges of the desk's state (queue depth, SLA breaches, triage backlog, outbox
backlog and failures), read from the database when /metrics is scraped.

A collector rather than gauges set by the jobs: the numbers are desk-wide facts, so every web
process answers the same whichever one the scrape reaches, and nothing goes stale when a worker
stops (which is when they matter most). A scrape whose database read fails reports
`socialdesk_desk_state_up 0` instead of failing the whole page.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import structlog
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from socialdesk.queries.operations import DeskState

log = structlog.get_logger("socialdesk.metrics")


class DeskStateCollector(Collector):
    def __init__(self, read: Callable[[], DeskState]) -> None:
        self.read = read

    def collect(self) -> Iterator[GaugeMetricFamily]:
        up = GaugeMetricFamily(
            "socialdesk_desk_state_up", "1 when the desk state below could be read"
        )
        try:
            state = self.read()
        except Exception as exc:
            log.warning("desk_state_unreadable", error=type(exc).__name__)
            up.add_metric([], 0)
            yield up
            return
        up.add_metric([], 1)
        yield up
        queue = GaugeMetricFamily(
            "socialdesk_open_conversations", "Open conversations (the queue)", labels=["assigned"]
        )
        queue.add_metric(["no"], state.open_unassigned)
        queue.add_metric(["yes"], state.open_assigned)
        yield queue
        yield GaugeMetricFamily(
            "socialdesk_sla_breached_conversations",
            "Open conversations past an SLA due time",
            value=state.open_breached,
        )
        yield GaugeMetricFamily(
            "socialdesk_triage_backlog",
            "Inbound messages waiting for triage",
            value=state.untriaged,
        )
        for name, what, counts in (
            ("socialdesk_outbox_items", "Replies waiting to be sent or failed", state.outbox),
            (
                "socialdesk_notification_items",
                "Escalations and alerts waiting to be sent or failed",
                state.notifications,
            ),
        ):
            family = GaugeMetricFamily(name, what, labels=["state"])
            for label, n in counts.items():
                family.add_metric([label], n)
            yield family
