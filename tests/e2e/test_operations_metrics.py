"""/metrics as an operator's Prometheus reads it, over real HTTP on SQLite and PostgreSQL: the
desk-wide gauges (queue depth, SLA breaches, triage backlog, outbox backlog and failures) match
the database, and ingest, webhook rejects and request latency are counted."""

from __future__ import annotations

from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import update

from socialdesk.adapters.db import tables as t
from tests.e2e.conftest import Api

REQUIRED = {
    "socialdesk_ingested_messages": "ingest rate",
    "socialdesk_open_conversations": "queue depth",
    "socialdesk_outbox_items": "outbox backlog and failures",
    "socialdesk_sla_breached_conversations": "SLA breaches",
    "socialdesk_webhook_rejects": "webhook rejects",
    "socialdesk_http_request_seconds": "request latency",
    "socialdesk_triage_backlog": "messages waiting for triage",
}


def scrape(api: Api) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    r = api.get("/metrics", as_=None)
    assert r.status_code == 200
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(r.text)
        for sample in family.samples
    }


def test_the_gauges_and_counters_operators_alert_on(api: Api) -> None:
    first, second, third = (api.ingest(name) for name in ("ann", "bob", "cy"))
    me = api.get("/api/v1/me", as_="agent").json()["id"]
    r = api.post(f"/api/v1/conversations/{second}/assign", json={"assignee_id": me})
    assert r.status_code == 200, r.text
    r = api.post(f"/api/v1/conversations/{first}/reply", json={"text": "On it"}, as_="agent")
    assert r.status_code == 201, r.text
    with api.desk.engine.begin() as conn:  # the SLA sweep's verdict, arranged
        conn.execute(
            update(t.conversations)
            .where(t.conversations.c.id == third)
            .values(sla_state="breached")
        )
    assert api.post(f"/webhooks/x/{api.channel_id}", content=b"{}").status_code >= 400
    assert api.post("/webhooks/nosuch/1", content=b"{}").status_code == 404

    found = scrape(api)
    names = {name for name, _ in found}
    missing = [
        what for name, what in REQUIRED.items() if not any(n.startswith(name) for n in names)
    ]
    assert not missing, missing
    assert found["socialdesk_desk_state_up", ()] == 1
    # the first was replied to: pending on the customer, out of the queue
    assert found["socialdesk_open_conversations", (("assigned", "no"),)] == 1
    assert found["socialdesk_open_conversations", (("assigned", "yes"),)] == 1
    assert found["socialdesk_sla_breached_conversations", ()] == 1
    assert found["socialdesk_triage_backlog", ()] == 3  # no worker runs here
    assert found["socialdesk_outbox_items", (("state", "queued"),)] == 1
    assert found["socialdesk_outbox_items", (("state", "failed"),)] == 0
    assert (
        found["socialdesk_ingested_messages_total", (("outcome", "created"), ("source", "api"))]
        == 3
    )
    rejects = {
        labels: n
        for (name, labels), n in found.items()
        if name == "socialdesk_webhook_rejects_total"
    }
    assert sum(n for labels, n in rejects.items() if ("connector", "x") in labels) == 1
    assert sum(n for labels, n in rejects.items() if ("connector", "unknown") in labels) == 1
    assert any(
        name == "socialdesk_http_request_seconds_count" and ("route", "/api/v1/messages") in labels
        for name, labels in found
    )
