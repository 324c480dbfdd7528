"""What a spike alert carries to the webhook and the e-mail."""

from __future__ import annotations

from datetime import UTC, datetime

from socialdesk.domain.alerts import Alert, SubjectKind
from socialdesk.domain.spikes import SpikeState
from socialdesk.services.spikes import alert_payload

NOW = datetime(2026, 3, 2, 9, 30, tzinfo=UTC)


def test_the_payload_names_the_subject_the_size_and_the_samples() -> None:
    post = {"handle": "@ann", "text": "down again", "conversation_id": 7, "message_id": 3}
    alert = Alert(
        id=12,
        subject_kind=SubjectKind.QUERY,
        subject="Outage Watch",
        kinds=["volume"],
        summary="Volume 6.2× normal (31 posts so far against 5 expected at Mon 10:00)",
        details={"observed": 31, "posts": [post]},
        opened_at=NOW,
        state=SpikeState(active=True, announced=True),
    )
    payload = alert_payload(alert, "https://desk.example/")
    assert payload["event"] == "spike_alert"
    assert payload["alert"]["url"] == "https://desk.example/supervisor/alerts#alert-12"
    assert payload["alert"]["details"]["observed"] == 31
    assert payload["subject"].startswith("[socialdesk] spike: query 'Outage Watch': Volume 6.2×")
    assert "- @ann: down again\n  https://desk.example/conversations/7" in payload["text"]
