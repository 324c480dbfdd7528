"""The supervisor pages' pure parts: capacity as typed, load against capacity, which SLA clock is
due, the risk board's filter, playbook problems beside their lines, the backtest as tables, a
channel's health in a word, and the rubric form's rows as criteria."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from socialdesk.domain.errors import InvalidInput
from socialdesk.domain.playbook import PlaybookProblem
from socialdesk.queries.directory import ChannelHealth, ChannelView
from socialdesk.web.ui.supervisor import (
    LoadCell,
    capacity_text,
    due_kind,
    load_cells,
    parse_capacity,
    risk_filter,
)
from socialdesk.web.ui.supervisor_directory import channel_state
from socialdesk.web.ui.supervisor_playbook import Compared, backtest_view, problem_rows
from socialdesk.web.ui.supervisor_rubric import RubricRow, criteria_of, row_field, typed_rows

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


class TestCapacity:
    def test_typed_capacity_is_read_in_any_of_the_usual_forms(self) -> None:
        assert parse_capacity("x=5, email: 10;\n*=3") == {"x": 5, "email": 10, "*": 3}
        assert parse_capacity("  X = 2 ,") == {"x": 2}
        assert parse_capacity("") == {}

    @pytest.mark.parametrize(
        ("typed", "says"),
        [
            ("x=lots", "'x=lots' is not 'platform=number'"),
            ("x", "'x' is not 'platform=number'"),
            ("x=-1", "'x=-1' is not 'platform=number'"),
            ("x=1, X=2", "'x' is given twice"),
        ],
    )
    def test_a_wrong_part_is_named(self, typed: str, says: str) -> None:
        with pytest.raises(InvalidInput) as caught:
            parse_capacity(typed)
        assert says in caught.value.message
        assert caught.value.field == "capacity"

    def test_capacity_is_shown_as_it_is_typed_with_the_default_last(self) -> None:
        assert capacity_text({"*": 3, "x": 5, "email": 10}) == "email=10, x=5, *=3"
        assert capacity_text({}) == ""
        assert parse_capacity(capacity_text({"*": 3, "x": 5})) == {"*": 3, "x": 5}

    def test_load_is_shown_per_platform_against_its_limit(self) -> None:
        cells = load_cells({"x": 2, "*": 1}, {"x": 2, "email": 0, "chat": 1})
        assert cells == [LoadCell("chat", 1, 1), LoadCell("email", 0, 1), LoadCell("x", 2, 2)]
        assert [c.full for c in cells] == [True, False, True]

    def test_without_capacity_routing_allows_ten_on_each_platform(self) -> None:
        assert load_cells({}, {"x": 3}) == [LoadCell("x", 3, 10)]

    def test_a_platform_not_named_without_a_default_takes_nothing(self) -> None:
        assert load_cells({"phone": 4}, {"x": 1}) == [LoadCell("phone", 0, 4), LoadCell("x", 1, 0)]


class TestSlaBoard:
    def test_the_due_clock_is_named(self) -> None:
        later = T0 + timedelta(hours=8)
        assert due_kind(T0, T0, None, later) == "first response"
        assert due_kind(T0, None, T0, later) == "next response"
        assert due_kind(later, None, None, later) == "resolution"
        assert due_kind(None, None, None, None) == ""

    def test_the_filter_reads_team_and_state(self) -> None:
        wanted, values = risk_filter({"team": "4", "state": "breached"})
        assert (wanted.team_id, wanted.no_team, wanted.sla_states) == (4, False, ("breached",))
        assert wanted.statuses == ("open",)
        assert values == {"team": "4", "state": "breached"}
        wanted, _ = risk_filter({"team": "none"})
        assert (wanted.team_id, wanted.no_team, wanted.sla_states) == (
            None,
            True,
            ("warning", "breached"),
        )

    @pytest.mark.parametrize("params", [{"state": "ok"}, {"team": "care"}])
    def test_a_wrong_filter_is_refused(self, params: dict[str, str]) -> None:
        with pytest.raises(InvalidInput):
            risk_filter(params)


class TestPlaybook:
    def test_each_problem_shows_the_line_it_points_at(self) -> None:
        source = "version: 1\nrules:\n  - name: a\n    when: {sentimnet: x}\n"
        rows = problem_rows(
            source,
            (
                PlaybookProblem("p.yaml", 4, "a", "unknown condition"),
                PlaybookProblem("p.yaml", None, None, "the file is empty"),
                PlaybookProblem("p.yaml", 99, None, "past the end"),
            ),
        )
        assert [(r.line, r.excerpt) for r in rows] == [
            (4, "    when: {sentimnet: x}"),
            (None, ""),
            (99, ""),
        ]

    def test_a_backtest_becomes_tables_candidate_beside_live(self) -> None:
        view = backtest_view(report(live=True), "the text in the editor", "the last 30 days")
        assert view.messages == 3
        assert view.summary[0] == Compared("messages a rule matched", "1", "2", "-1")
        assert view.summary[-1] == Compared(
            "first responses in target (SLA)", "50.0% of 2", "100.0% of 2", "-50.0 pt"
        )
        assert view.rules == [Compared("billing", "1", "2", "-1"), Compared("old", "0", "1", "-1")]
        assert view.teams == [Compared("Billing", "1", "2", "-1"), Compared("Care", "0", "0", "0")]
        assert view.changes == [{"from": "Billing", "to": None, "messages": 1}]

    def test_without_a_live_playbook_only_the_candidate_is_shown(self) -> None:
        view = backtest_view(report(live=False), "version 2", "all")
        assert view.summary[0] == Compared("messages a rule matched", "1", "", "")
        assert view.summary[-1].change == ""
        assert view.live_version is None


def side(matched: int, rules: dict[str, int], teams: dict[str, int], met: int) -> dict[str, Any]:
    return {
        "messages": 3,
        "matched": matched,
        "rule_matches": rules,
        "teams": teams,
        "unrouted": 3 - sum(teams.values()),
        "suppressed": 0,
        "escalated": 0,
        "auto_acknowledged": 0,
        "private_required": 0,
        "sla": {"measured": 2, "met": met, "attainment": met / 2},
    }


def report(*, live: bool) -> dict[str, Any]:
    return {
        "live_version": 1 if live else None,
        "since": None,
        "messages": 3,
        "candidate": side(1, {"billing": 1}, {"Billing": 1, "Care": 0}, 1),
        "live": side(2, {"billing": 2, "old": 1}, {"Billing": 2}, 2) if live else None,
        "routing": {
            "baseline": "live" if live else "history",
            "unchanged": 2,
            "changed": 1,
            "changes": [{"from": "Billing", "to": None, "messages": 1}],
        },
    }


def channel(active: bool = True, **health: Any) -> ChannelView:
    values: dict[str, Any] = {
        "last_message_at": T0,
        "last_polled_at": None,
        "next_poll_at": None,
        "poll_error": None,
        "consecutive_poll_errors": 0,
        "quarantined": 0,
        **health,
    }
    return ChannelView(1, "x", "@brand", active, T0, {}, ChannelHealth(**values))


@pytest.mark.parametrize(
    ("view", "key", "text"),
    [
        (channel(), "ok", "receiving"),
        (channel(last_message_at=None), "waiting", "no message yet"),
        (channel(quarantined=1), "quarantine", "1 delivery in quarantine"),
        (channel(quarantined=3, consecutive_poll_errors=2), "failing", "2 failed polls in a row"),
        (channel(False, consecutive_poll_errors=2), "off", "switched off"),
    ],
)
def test_a_channels_health_in_a_word(view: ChannelView, key: str, text: str) -> None:
    state = channel_state(view)
    assert (state.key, state.text) == (key, text)


class TestRubricForm:
    def test_rows_come_in_order_and_empty_or_removed_ones_are_left_out(self) -> None:
        rows = typed_rows(
            [
                ("csrf_token", "t"),
                ("criteria.10.key", "speed"),
                ("criteria.10.max", " 3 "),
                ("criteria.2.key", " tone "),
                ("criteria.2.label", "Tone"),
                ("criteria.2.weight", "2.5"),
                ("criteria.2.max", "5"),
                ("criteria.3.key", "policy"),
                ("criteria.3.remove", "yes"),
                ("criteria.4.key", ""),
                ("criteria.100.key", "too_far"),
            ]
        )
        assert [r.key for r in rows] == [" tone ", "policy", "", "speed"]  # as typed
        assert rows[1].remove
        assert rows[2].blank
        criteria, origin = criteria_of(rows)
        assert criteria == [
            {"key": "tone", "label": "Tone", "weight": 2.5, "max": 5},
            {"key": "speed", "label": "", "max": 3},  # no weight typed: the domain's default
        ]
        assert origin == [0, 3]

    def test_what_is_not_a_number_goes_as_typed_for_the_domain_to_refuse(self) -> None:
        criteria, _ = criteria_of([RubricRow("tone", "Tone", "heavy", "2.0")])
        assert criteria == [{"key": "tone", "label": "Tone", "weight": "heavy", "max": 2.0}]

    @pytest.mark.parametrize(
        ("field", "form"),
        [
            ("criteria.1.weight", "criteria.3.weight"),
            ("criteria.0.key", "criteria.0.key"),
            ("criteria", None),
            ("criteria.0", None),
            (None, None),
        ],
    )
    def test_the_domains_field_is_the_row_it_was_typed_in(
        self, field: str | None, form: str | None
    ) -> None:
        assert row_field(field, [0, 3]) == form
