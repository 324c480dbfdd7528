"""The survey on the agent's conversation page: asked, then the customer's score."""

from __future__ import annotations

import re

from socialdesk.services import conversations as actions
from socialdesk.services.intake import ingest
from socialdesk.services.playbooks import save_version
from socialdesk.services.surveys import answer_by_link, ask_after_close
from tests import factories as f
from tests.e2e.conftest import Web

RULES = """\
version: 1
rules:
  - name: NPS after close
    trigger: close
    then: [{survey: nps}]
"""
TOKEN = "t" * 43


def test_the_conversation_page_shows_the_survey_and_its_score(web: Web) -> None:
    desk = web.desk
    now = desk.clock.now()
    save_version(desk.uow(), desk.parse_playbook, None, RULES, "nps", now)
    found = ingest(
        desk.uow, [f.inbound(web.channel_id, "t1", at=now)], now=now, policy=desk.policy, source="t"
    )
    conversation = found.outcomes[0].conversation_id
    with desk.uow(read_only=True) as unit:
        supervisor = unit.agents.find("supervisor")
    assert supervisor is not None
    actions.close(desk.uow(), supervisor, conversation, "resolved", now)
    runtime = desk.playbook_runtime()
    assert ask_after_close(desk.analytics_uow, runtime, now=now, token=lambda: TOKEN).sent == 1

    client = web.sign_in("agent")
    page = client.get(f"/conversations/{conversation}").text
    assert re.search(r'<p id="survey" class="small">NPS survey: asked .*, no answer', page)

    answer_by_link(desk.analytics_uow, TOKEN, 9, now)
    page = client.get(f"/conversations/{conversation}").text
    assert "NPS survey: <strong>9</strong> (on the answer page" in page
