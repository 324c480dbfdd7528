"""The rubric page over real HTTP, on SQLite and PostgreSQL: a supervisor renames, reweights,
adds and removes criteria and saves a new version, which is then in force while the earlier one
stays listed with the reviews scored on it; a wrong weight or an empty label is shown beside its
field and saves nothing; agents are refused; labels are escaped; a form without the session's
CSRF token changes nothing."""

from __future__ import annotations

import html
import re

import httpx2
import pytest

from socialdesk.domain.agents import Agent
from socialdesk.services.reviews import current_rubric
from tests.e2e.conftest import Web
from tests.support.reviewing import handled

PAGE = "/supervisor/quality/rubric"
SCRIPT = "<script>alert(1)</script>"
ROW_INPUT = re.compile(
    r'<input name="(criteria\.\d+\.(?:key|label|weight|max))"[^>]*? value="([^"]*)"'
)


def user(web: Web, username: str) -> Agent:
    with web.desk.uow(read_only=True) as unit:
        found = unit.agents.find(username)
    assert found is not None
    return found


def text_of(page: str) -> str:
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", page)).split())


def form_of(page: str) -> dict[str, str]:
    """The rubric form's rows as a browser would send them untouched."""
    return {name: html.unescape(value) for name, value in ROW_INPUT.findall(page)}


def section(page: str, element_id: str) -> str:
    found = re.search(rf'<(\w+) [^>]*id="{element_id}".*?</\1>', page, re.S)
    assert found is not None, element_id
    return text_of(found.group(0))


@pytest.fixture
def supervisor(web: Web) -> httpx2.Client:
    return web.sign_in("supervisor")


def test_a_supervisor_saves_a_new_version_and_sees_it(web: Web, supervisor: httpx2.Client) -> None:
    home = supervisor.get("/supervisor/quality")
    assert f'<a href="{PAGE}"' in home.text  # the quality pages' own navigation

    page = supervisor.get(PAGE)
    assert page.status_code == 200, page.text
    assert "style=" not in page.text
    assert 'name="csrf_token"' in page.text
    assert "The default rubric is in force" in page.text
    assert "No version saved yet" in page.text
    form = form_of(page.text)
    assert form["criteria.0.key"] == "tone"
    assert form["criteria.4.label"] == "Policy"
    assert form["criteria.5.key"] == ""  # spare rows to add criteria in
    assert "criteria.8.key" not in form

    form |= {
        "criteria.0.label": "Tone of voice",  # renamed
        "criteria.1.weight": "2.5",  # reweighted
        "criteria.4.remove": "yes",  # policy removed
        "criteria.6.key": "empathy",  # added after an empty row
        "criteria.6.label": "Empathy",
        "criteria.6.max": "3",
    }
    saved = web.post_form(supervisor, PAGE, form)
    assert saved.status_code == 303, saved.text
    first = current_rubric(web.desk.analytics_uow)
    assert first.id is not None
    assert saved.headers["location"] == f"{PAGE}?saved={first.id}"
    assert [c.as_json() for c in first.criteria] == [
        {"key": "tone", "label": "Tone of voice", "weight": 1, "max": 5},
        {"key": "accuracy", "label": "Accuracy", "weight": 2.5, "max": 5},
        {"key": "brand_voice", "label": "Brand voice", "weight": 1, "max": 5},
        {"key": "resolution", "label": "Resolution", "weight": 1, "max": 5},
        {"key": "empathy", "label": "Empathy", "weight": 1, "max": 3},
    ]

    shown = supervisor.get(saved.headers["location"])
    assert f"Saved as version {first.id}: reviews from now on are scored on it." in shown.text
    assert f"Version {first.id} is in force" in shown.text
    assert form_of(shown.text)["criteria.0.label"] == "Tone of voice"
    listed = section(shown.text, f"version-{first.id}")
    assert f"Version {first.id} · in force" in listed
    assert "by The supervisor · 0 reviews" in listed
    assert "empathy Empathy 1 3" in listed

    # a review scored on this version keeps pointing at it after the next save
    conversation_id = handled(
        web.desk, web.channel_id, 1, user(web, "admin"), assignee=user(web, "agent")
    )
    scores = {f"score.{c.key}": "3" for c in first.criteria}
    reviewed = web.post_form(supervisor, f"/supervisor/quality/{conversation_id}", scores)
    assert reviewed.status_code == 303, reviewed.text
    form = form_of(shown.text) | {"criteria.4.weight": "4"}
    again = web.post_form(supervisor, PAGE, form)
    assert again.status_code == 303, again.text
    second = current_rubric(web.desk.analytics_uow)
    assert second.id is not None
    assert second.id > first.id
    assert second.criteria[4].weight == 4

    latest = supervisor.get(again.headers["location"])
    assert f"Version {second.id} · in force" in section(latest.text, f"version-{second.id}")
    earlier = section(latest.text, f"version-{first.id}")
    assert "in force" not in earlier
    assert "1 review" in earlier
    assert "empathy Empathy 1 3" in earlier
    assert 'name="criteria.0.key" id="criteria-0-key" value="tone"' in latest.text
    assert latest.text.index(f'id="version-{second.id}"') < latest.text.index(
        f'id="version-{first.id}"'
    )


@pytest.mark.parametrize(
    ("changes", "wrong", "says"),
    [
        (
            {"criteria.1.weight": "0"},
            "criteria.1.weight",
            "criterion 'accuracy': weight must be a number above 0 and at most 100",
        ),
        (
            {"criteria.1.weight": "heavy"},
            "criteria.1.weight",
            "criterion 'accuracy': weight must be a number above 0 and at most 100",
        ),
        (
            {"criteria.3.label": "   "},
            "criteria.3.label",
            "criterion 'resolution': the label is empty; give the name reviewers see",
        ),
        # rows before it removed or left empty: the mark stays on the row it was typed in
        (
            {"criteria.0.remove": "yes", "criteria.6.key": "speed", "criteria.6.max": "11"},
            "criteria.6.max",
            "criterion 'speed': max must be a whole number from 1 to 10",
        ),
    ],
)
def test_a_wrong_field_is_shown_beside_it_and_nothing_is_saved(
    web: Web, supervisor: httpx2.Client, changes: dict[str, str], wrong: str, says: str
) -> None:
    form = form_of(supervisor.get(PAGE).text) | {"criteria.6.label": "Typed, kept"} | changes
    before = web.snapshot()
    refused = web.post_form(supervisor, PAGE, form)
    assert refused.status_code == 422, refused.text
    assert web.snapshot() == before
    assert current_rubric(web.desk.analytics_uow).id is None
    assert "Nothing was saved: the marked field says why." in refused.text
    marked = re.findall(r'<input name="([^"]+)"[^>]*aria-invalid="true"', refused.text)
    assert marked == [wrong]
    cell = re.search(rf'name="{re.escape(wrong)}".*?</td>', refused.text, re.S)
    assert cell is not None
    beside = re.search(r'<div class="sv-error small" id="problem">(.*?)</div>', cell.group(0))
    assert beside is not None
    assert html.unescape(beside.group(1)) == says
    assert form_of(refused.text) == {k: v for k, v in form.items() if not k.endswith(".remove")}
    if "criteria.0.remove" in changes:
        assert 'name="criteria.0.remove" value="yes" checked' in refused.text


def test_a_rubric_with_no_criteria_left_is_refused(web: Web, supervisor: httpx2.Client) -> None:
    form = form_of(supervisor.get(PAGE).text)
    form |= {f"criteria.{i}.remove": "yes" for i in range(5)}
    before = web.snapshot()
    refused = web.post_form(supervisor, PAGE, form)
    assert refused.status_code == 422
    assert "Nothing was saved: a rubric has 1 to 12 criteria; this one has 0" in text_of(
        refused.text
    )
    assert web.snapshot() == before


def test_labels_are_escaped(web: Web, supervisor: httpx2.Client) -> None:
    form = form_of(supervisor.get(PAGE).text) | {"criteria.0.label": SCRIPT}
    saved = web.post_form(supervisor, PAGE, form)
    assert saved.status_code == 303, saved.text
    for path in (saved.headers["location"], "/supervisor/quality"):
        page = supervisor.get(path)
        assert SCRIPT not in page.text
        assert html.escape(SCRIPT) in page.text
    refused = web.post_form(supervisor, PAGE, form | {"criteria.0.weight": "-1"})
    assert refused.status_code == 422
    assert SCRIPT not in refused.text
    assert f'value="{html.escape(SCRIPT)}"' in refused.text


def test_an_agent_is_refused(web: Web) -> None:
    agent = web.sign_in("agent")
    assert agent.get(PAGE).status_code == 403
    before = web.snapshot()
    form = {"criteria.0.key": "tone", "criteria.0.label": "Tone", "criteria.0.max": "5"}
    assert web.post_form(agent, PAGE, form).status_code == 403
    assert web.snapshot() == before


def test_a_form_without_the_csrf_token_changes_nothing(web: Web, supervisor: httpx2.Client) -> None:
    form = form_of(supervisor.get(PAGE).text)
    before = web.snapshot()
    assert supervisor.post(PAGE, data=form).status_code == 403
    assert web.snapshot() == before
