"""Quality reviews, pure: rubric checks, score checks, the weighted score worked out by hand,
who may review whose work, and the seeded draw of a sample."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest

from socialdesk.domain.agents import Agent, Role
from socialdesk.domain.errors import Forbidden, InvalidInput
from socialdesk.domain.reviews import (
    MAX_CRITERIA,
    Criterion,
    Rubric,
    SampleMode,
    check_comment,
    check_not_own_work,
    check_sampled_by,
    check_scores,
    default_rubric,
    draw,
    new_rubric,
    sample_request,
    visible_agent,
    week_start,
    weighted_score,
)

T0 = datetime(2026, 3, 4, 15, 0, tzinfo=UTC)  # a Wednesday


def person(role: Role, agent_id: int = 7) -> Agent:
    return Agent(username=role.value, role=role, created_at=T0, id=agent_id)


def item(**changes: Any) -> dict[str, Any]:
    return {"key": "tone", "label": "Tone", "weight": 1, "max": 5, **changes}


def rubric(*criteria: tuple[str, float, int]) -> Rubric:
    return Rubric(tuple(Criterion(key, key.title(), weight, top) for key, weight, top in criteria))


class TestRubric:
    def test_the_default_scores_five_criteria_equally_out_of_five(self) -> None:
        found = default_rubric()
        assert [c.key for c in found.criteria] == [
            "tone",
            "accuracy",
            "brand_voice",
            "resolution",
            "policy",
        ]
        assert {(c.weight, c.max) for c in found.criteria} == {(1, 5)}
        assert found.id is None

    def test_a_valid_rubric_keeps_its_criteria_author_and_time(self) -> None:
        made = new_rubric(
            [item(), item(key="empathy", label="  Empathy ", weight=2.5, max=3)],
            person(Role.SUPERVISOR),
            T0,
        )
        assert made.criteria == (
            Criterion("tone", "Tone", 1, 5),
            Criterion("empathy", "Empathy", 2.5, 3),
        )
        assert (made.author_id, made.created_at) == (7, T0)
        assert made.as_json()[1] == {"key": "empathy", "label": "Empathy", "weight": 2.5, "max": 3}

    @pytest.mark.parametrize(
        ("criteria", "field", "words"),
        [
            ([], "criteria", "1 to 12 criteria; this one has 0"),
            ([item(key=f"k{i}") for i in range(MAX_CRITERIA + 1)], "criteria", "has 13"),
            ("tone", "criteria", "must be a list"),
            ([item(), item(label="Again")], "criteria.1.key", "'tone' is used twice"),
            ([item(key="Tone")], "criteria.0.key", "lower-case"),
            ([item(key="")], "criteria.0.key", "lower-case"),
            ([item(label="  ")], "criteria.0.label", "'tone': the label is empty"),
            ([item(label=7)], "criteria.0.label", "must be text"),
            ([item(label="x" * 61)], "criteria.0.label", "at most 60"),
            ([item(weight=0)], "criteria.0.weight", "above 0"),
            ([item(weight=-1)], "criteria.0.weight", "above 0"),
            ([item(weight=True)], "criteria.0.weight", "above 0"),
            ([item(weight=float("inf"))], "criteria.0.weight", "above 0"),
            ([item(weight="2")], "criteria.0.weight", "above 0"),
            ([item(max=0)], "criteria.0.max", "1 to 10"),
            ([item(max=11)], "criteria.0.max", "1 to 10"),
            ([item(max=2.5)], "criteria.0.max", "1 to 10"),
            ([{k: v for k, v in item().items() if k != "max"}], "criteria.0.max", "1 to 10"),
            ([item(extra=1)], "criteria.0.extra", "unknown field 'extra'"),
            (["tone"], "criteria.0", "must be an object"),
        ],
    )
    def test_a_wrong_criterion_is_named(self, criteria: Any, field: str, words: str) -> None:
        with pytest.raises(InvalidInput, match=words) as caught:
            new_rubric(criteria, None, T0)
        assert caught.value.field == field

    def test_the_weight_defaults_to_one(self) -> None:
        made = new_rubric([{"key": "tone", "label": "Tone", "max": 4}], None, T0)
        assert made.criteria[0].weight == 1


class TestScores:
    def test_every_criterion_is_scored_or_not_applicable(self) -> None:
        found = check_scores(default_rubric(), _scores(tone=5, accuracy=0, policy="n/a"))
        assert found == {
            "tone": 5,
            "accuracy": 0,
            "brand_voice": 3,
            "resolution": 3,
            "policy": None,
        }
        assert check_scores(default_rubric(), _scores(policy=None))["policy"] is None

    @pytest.mark.parametrize(
        ("changes", "field", "words"),
        [
            ({"tone": 6}, "scores.tone", "Tone: 6 is not a whole number from 0 to 5"),
            ({"accuracy": -1}, "scores.accuracy", "Accuracy: -1"),
            ({"resolution": 2.0}, "scores.resolution", "Resolution: 2.0"),
            ({"policy": True}, "scores.policy", "Policy: True"),
            ({"brand_voice": "4"}, "scores.brand_voice", "Brand voice: '4'"),
            ({"empathy": 3}, "scores.empathy", "no criterion 'empathy'"),
        ],
    )
    def test_a_wrong_score_names_its_criterion(
        self, changes: dict[str, object], field: str, words: str
    ) -> None:
        with pytest.raises(InvalidInput, match=words) as caught:
            check_scores(default_rubric(), _scores(**changes))
        assert caught.value.field == field

    def test_a_missing_criterion_is_named(self) -> None:
        scores = _scores()
        del scores["brand_voice"]
        with pytest.raises(InvalidInput, match="Brand voice: give it 0 to 5 points") as caught:
            check_scores(default_rubric(), scores)
        assert caught.value.field == "scores.brand_voice"

    def test_at_least_one_criterion_is_scored(self) -> None:
        with pytest.raises(InvalidInput, match="at least one"):
            check_scores(default_rubric(), {c.key: "n/a" for c in default_rubric().criteria})


def _scores(**changes: object) -> dict[str, object]:
    return {**{c.key: 3 for c in default_rubric().criteria}, **changes}


class TestWeightedScore:
    def test_full_and_empty_marks(self) -> None:
        rubric_ = default_rubric()
        assert weighted_score(rubric_, {c.key: 5 for c in rubric_.criteria}) == 100
        assert weighted_score(rubric_, {c.key: 0 for c in rubric_.criteria}) == 0

    def test_equal_weights_average_the_shares(self) -> None:
        # (5/5 + 4/5 + 3/5 + 2/5 + 1/5) / 5 = 0.6
        scores = dict(zip([c.key for c in default_rubric().criteria], [5, 4, 3, 2, 1], strict=True))
        assert weighted_score(default_rubric(), scores) == 60

    def test_weights_and_maxima(self) -> None:
        # tone 3 of 4 weighs 3, policy 1 of 2 weighs 1: (3 * 0.75 + 1 * 0.5) / 4 = 0.6875
        found = rubric(("tone", 3, 4), ("policy", 1, 2))
        assert weighted_score(found, {"tone": 3, "policy": 1}) == 69

    def test_not_applicable_is_left_out_not_counted_as_zero(self) -> None:
        found = rubric(("tone", 1, 5), ("policy", 3, 5))
        assert weighted_score(found, {"tone": 4, "policy": None}) == 80
        assert weighted_score(found, {"tone": 4, "policy": 0}) == 20

    def test_the_example_of_docs_quality(self) -> None:
        found = rubric(
            ("tone", 1, 5), ("accuracy", 2, 5), ("brand", 1, 5), ("res", 2, 5), ("policy", 1, 3)
        )
        scores = {"tone": 4, "accuracy": 5, "brand": 3, "res": None, "policy": 2}
        assert weighted_score(found, scores) == 81

    def test_halves_round_up(self) -> None:
        # 1 of 4 and 2 of 4, equal weights: 0.375 → 37.5 → 38; fractional weights stay exact
        assert weighted_score(rubric(("a", 1, 4), ("b", 1, 4)), {"a": 1, "b": 2}) == 38
        assert weighted_score(rubric(("a", 0.1, 2), ("b", 0.3, 2)), {"a": 0, "b": 1}) == 38
        assert weighted_score(rubric(("a", 0.1, 8), ("b", 0.1, 8)), {"a": 5, "b": 5}) == 63


class TestWhoReviews:
    def test_a_supervisor_may_not_review_their_own_work(self) -> None:
        with pytest.raises(Forbidden, match="was yours"):
            check_not_own_work(person(Role.SUPERVISOR, 7), 7)
        check_not_own_work(person(Role.SUPERVISOR, 7), 8)
        check_not_own_work(person(Role.SUPERVISOR, 7), None)

    def test_an_admin_may(self) -> None:
        check_not_own_work(person(Role.ADMIN, 7), 7)

    def test_agents_read_only_their_own_reviews(self) -> None:
        assert visible_agent(person(Role.AGENT, 7), None) == 7
        assert visible_agent(person(Role.AGENT, 7), 7) == 7
        with pytest.raises(Forbidden):
            visible_agent(person(Role.AGENT, 7), 8)
        assert visible_agent(person(Role.SUPERVISOR, 7), None) is None
        assert visible_agent(person(Role.ADMIN, 7), 8) == 8

    def test_comment_and_origin(self) -> None:
        assert check_comment("  well handled \n") == "well handled"
        assert check_comment("") == ""
        with pytest.raises(InvalidInput, match="at most 5000") as caught:
            check_comment("x" * 5001)
        assert caught.value.field == "comment"
        assert check_sampled_by("low_csat") == "low_csat"
        with pytest.raises(InvalidInput):
            check_sampled_by("lucky")


class TestSample:
    def test_the_same_seed_draws_the_same_sample(self) -> None:
        ids = list(range(1, 201))
        first = draw(ids, 42, 10)
        assert len(first) == len(set(first)) == 10
        assert draw(list(reversed(ids)), 42, 10) == first
        assert draw(ids, 43, 10) != first

    def test_reviewing_one_keeps_the_rest_and_brings_in_the_next(self) -> None:
        ids = list(range(1, 201))
        first = draw(ids, 7, 5)
        after = draw([i for i in ids if i != first[2]], 7, 5)
        assert after[:4] == [first[0], first[1], first[3], first[4]]
        assert after[4] == draw(ids, 7, 6)[5]

    def test_every_candidate_is_drawn_about_equally_often(self) -> None:
        counts = dict.fromkeys(range(10), 0)
        for seed in range(2000):
            for chosen in draw(range(10), seed, 1):
                counts[chosen] += 1
        assert min(counts.values()) > 140, counts  # 200 expected each

    def test_fewer_candidates_than_asked(self) -> None:
        assert sorted(draw([3, 1], 0, 10)) == [1, 3]
        assert draw([], 0, 10) == []

    def test_a_request_defaults_to_the_last_thirty_days(self) -> None:
        request = sample_request("random", now=T0, seed=5)
        assert (request.mode, request.since, request.until) == (
            SampleMode.RANDOM,
            T0 - timedelta(days=30),
            T0,
        )
        assert (request.size, request.seed, request.agent_id) == (10, 5, None)

    @pytest.mark.parametrize(
        ("mode", "changes", "field"),
        [
            ("best", {}, "mode"),
            ("agent", {}, "agent"),
            ("random", {"agent_id": 3}, "agent"),
            ("random", {"since": T0, "until": T0}, "from"),
            ("random", {"since": T0 - timedelta(days=367), "until": T0}, "from"),
            ("random", {"size": 0}, "size"),
            ("random", {"size": 51}, "size"),
            ("low_csat", {"seed": -1}, "seed"),
            ("low_csat", {"seed": 2**31}, "seed"),
        ],
    )
    def test_a_wrong_request_names_the_field(
        self, mode: str, changes: dict[str, Any], field: str
    ) -> None:
        values: dict[str, Any] = {"seed": 1, **changes}
        with pytest.raises(InvalidInput) as caught:
            sample_request(mode, now=T0, **values)
        assert caught.value.field == field

    def test_low_csat_may_name_an_agent(self) -> None:
        assert sample_request("low_csat", now=T0, seed=1, agent_id=4).agent_id == 4


def test_weeks_start_on_monday_in_utc() -> None:
    assert week_start(T0) == date(2026, 3, 2)
    assert week_start(datetime(2026, 3, 8, 23, 59, tzinfo=UTC)) == date(2026, 3, 2)
    assert week_start(datetime(2026, 3, 9, 0, 0, tzinfo=UTC)) == date(2026, 3, 9)
