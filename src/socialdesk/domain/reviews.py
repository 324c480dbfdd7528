"""Quality reviews: the rubric closed conversations are scored on, the 0-100 score of a review,
who may review whose work, and the reproducible draw of a sample. Pure: no I/O; time comes in.

A rubric is 1-12 criteria, each a key, a label, a weight (> 0) and the most points it gives
(1-10). A review gives each criterion whole points from 0 to its maximum, or "n/a" (None) where
the criterion does not apply to the conversation (a policy criterion on a plain thank-you); at
least one criterion must be scored. The score is the weighted mean of points ÷ maximum over the
scored criteria, * 100, rounded half up: n/a leaves a criterion out instead of counting it as
zero or as full marks. docs/quality.md shows it with an example.
"""

from __future__ import annotations

import hashlib
import heapq
import math
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum
from fractions import Fraction

from socialdesk.domain.agents import Agent, Role
from socialdesk.domain.errors import Forbidden, InvalidInput
from socialdesk.domain.text import check_text

MAX_CRITERIA = 12
MAX_LABEL = 60
MAX_WEIGHT = 100
MAX_POINTS = 10
MAX_COMMENT = 5000
KEY = re.compile(r"^[a-z][a-z0-9_]{0,31}$")
NOT_APPLICABLE = "n/a"
LOW_CSAT = 2  # CSAT answers (1-5) at or below this are "low"
MAX_SAMPLE = 50
DEFAULT_SAMPLE = 10
DEFAULT_SPAN = timedelta(days=30)
MAX_SPAN = timedelta(days=366)
MAX_SEED = 2**31  # seeds are 0 .. 2**31 - 1: short enough to read back from a URL

Scores = dict[str, int | None]  # criterion key → points, None for n/a


class SampleMode(StrEnum):
    """Which closed conversations a sample is drawn from."""

    RANDOM = "random"  # any closed in the range
    AGENT = "agent"  # those one agent handled
    LOW_CSAT = "low_csat"  # those whose customer answered a CSAT survey with LOW_CSAT or less


SAMPLED_BY = (*(m.value for m in SampleMode), "chosen")  # "chosen": opened without a sample


@dataclass(frozen=True, slots=True)
class Criterion:
    key: str
    label: str
    weight: float
    max: int

    def as_json(self) -> dict[str, object]:
        return {"key": self.key, "label": self.label, "weight": self.weight, "max": self.max}


@dataclass(frozen=True, slots=True)
class Rubric:
    """One version of the rubric; the newest stored version is the one reviews are scored on."""

    criteria: tuple[Criterion, ...]
    created_at: datetime | None = None
    author_id: int | None = None
    id: int | None = None

    def as_json(self) -> list[dict[str, object]]:
        return [c.as_json() for c in self.criteria]


DEFAULT_CRITERIA = tuple(
    Criterion(key, label, 1, 5)
    for key, label in (
        ("tone", "Tone"),
        ("accuracy", "Accuracy"),
        ("brand_voice", "Brand voice"),
        ("resolution", "Resolution"),
        ("policy", "Policy"),
    )
)


def default_rubric() -> Rubric:
    """What reviews are scored on until a supervisor saves a rubric."""
    return Rubric(DEFAULT_CRITERIA)


def new_rubric(raw: object, author: Agent | None, now: datetime) -> Rubric:
    """A rubric version from criteria as sent (a list of {key, label, weight, max});
    InvalidInput names the criterion and what is wrong with it."""
    if not isinstance(raw, Sequence) or isinstance(raw, str | bytes):
        raise InvalidInput("criteria must be a list of {key, label, weight, max}", field="criteria")
    if not 1 <= len(raw) <= MAX_CRITERIA:
        raise InvalidInput(
            f"a rubric has 1 to {MAX_CRITERIA} criteria; this one has {len(raw)}",
            field="criteria",
        )
    criteria = tuple(_criterion(i, item) for i, item in enumerate(raw))
    keys = [c.key for c in criteria]
    for i, key in enumerate(keys):
        if key in keys[:i]:
            raise InvalidInput(
                f"criterion {i + 1}: the key {key!r} is used twice", field=f"criteria.{i}.key"
            )
    return Rubric(criteria, now, author.id if author else None)


def _criterion(index: int, item: object) -> Criterion:
    where = f"criteria.{index}"
    name = f"criterion {index + 1}"
    if not isinstance(item, Mapping):
        raise InvalidInput(f"{name} must be an object {{key, label, weight, max}}", field=where)
    unknown = sorted(set(item) - {"key", "label", "weight", "max"})
    if unknown:
        raise InvalidInput(f"{name}: unknown field {unknown[0]!r}", field=f"{where}.{unknown[0]}")
    key = item.get("key")
    if not isinstance(key, str) or not KEY.match(key):
        raise InvalidInput(
            f"{name}: key must be 1-32 lower-case letters, digits or _ starting with a letter "
            "(like brand_voice)",
            field=f"{where}.key",
        )
    name = f"criterion {key!r}"
    label = item.get("label")
    if not isinstance(label, str):
        raise InvalidInput(f"{name}: label must be text", field=f"{where}.label")
    if not label.strip():  # said in words: check_text would name the field by its path
        raise InvalidInput(
            f"{name}: the label is empty; give the name reviewers see", field=f"{where}.label"
        )
    label = check_text(label, field=f"{where}.label")
    if len(label) > MAX_LABEL:
        raise InvalidInput(
            f"{name}: a label has at most {MAX_LABEL} characters", field=f"{where}.label"
        )
    weight = item.get("weight", 1)
    if (
        isinstance(weight, bool)
        or not isinstance(weight, int | float)
        or not math.isfinite(weight)
        or not 0 < weight <= MAX_WEIGHT
    ):
        raise InvalidInput(
            f"{name}: weight must be a number above 0 and at most {MAX_WEIGHT}",
            field=f"{where}.weight",
        )
    points = item.get("max")
    if isinstance(points, bool) or not isinstance(points, int) or not 1 <= points <= MAX_POINTS:
        raise InvalidInput(
            f"{name}: max must be a whole number from 1 to {MAX_POINTS}", field=f"{where}.max"
        )
    return Criterion(key, label, weight, points)


def check_scores(rubric: Rubric, raw: Mapping[str, object]) -> Scores:
    """The points given, one per criterion of the rubric: whole numbers 0..max, or None / "n/a"
    for a criterion that does not apply. InvalidInput names the criterion (field `scores.<key>`)."""
    known = {c.key for c in rubric.criteria}
    for key in raw:
        if key not in known:
            raise InvalidInput(
                f"the rubric has no criterion {key!r}; it has {', '.join(sorted(known))}",
                field=f"scores.{key}",
            )
    scores: Scores = {}
    for c in rubric.criteria:
        if c.key not in raw:
            raise InvalidInput(
                f"{c.label}: give it 0 to {c.max} points, or {NOT_APPLICABLE}",
                field=f"scores.{c.key}",
            )
        value = raw[c.key]
        if value is None or value == NOT_APPLICABLE:
            scores[c.key] = None
        elif isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= c.max:
            scores[c.key] = value
        else:
            raise InvalidInput(
                f"{c.label}: {value!r} is not a whole number from 0 to {c.max} or {NOT_APPLICABLE}",
                field=f"scores.{c.key}",
            )
    if all(v is None for v in scores.values()):
        raise InvalidInput(
            f"score at least one criterion; all are {NOT_APPLICABLE}",
            field=f"scores.{rubric.criteria[0].key}",
        )
    return scores


def weighted_score(rubric: Rubric, scores: Mapping[str, int | None]) -> int:
    """0-100: Σ weight * points ÷ max over the scored criteria, ÷ Σ their weights, * 100,
    rounded half up. Exact arithmetic, so 62.5 is 63 on every machine."""
    total = Fraction(0)
    weights = Fraction(0)
    for c in rubric.criteria:
        points = scores.get(c.key)
        if points is None:
            continue
        weight = Fraction(str(c.weight))
        total += weight * Fraction(points, c.max)
        weights += weight
    if not weights:
        raise InvalidInput("score at least one criterion", field="scores")
    return math.floor(total / weights * 100 + Fraction(1, 2))


def percent_of_max(points: int, criterion_max: int) -> float:
    """One criterion's points as a share of its maximum, 0-100 (how weekly means compare
    criteria across rubric versions whose maxima differ)."""
    return 100 * points / criterion_max


def check_comment(text: str) -> str:
    comment = check_text(text, field="comment", allow_empty=True)
    if len(comment) > MAX_COMMENT:
        raise InvalidInput(
            f"a comment has at most {MAX_COMMENT} characters; this one has {len(comment)}",
            field="comment",
        )
    return comment


def check_sampled_by(value: str) -> str:
    if value not in SAMPLED_BY:
        raise InvalidInput(f"sampled_by must be one of {', '.join(SAMPLED_BY)}", field="sampled_by")
    return value


def check_not_own_work(reviewer: Agent, agent_id: int | None) -> None:
    """A supervisor never scores their own work (nobody marks their own paper); an admin may,
    for desks where the admin also answers and nobody else could review it."""
    if agent_id is not None and agent_id == reviewer.id and reviewer.role is not Role.ADMIN:
        raise Forbidden(
            "this conversation was yours; ask another supervisor or an admin to review it"
        )


def visible_agent(viewer: Agent, requested: int | None) -> int | None:
    """Whose reviews a caller may read: supervisors and admins anyone's (None: everyone's), an
    agent only their own (so asking for nobody in particular means themselves)."""
    if viewer.role.allows(Role.SUPERVISOR):
        return requested
    if requested is not None and requested != viewer.id:
        raise Forbidden("agents see only the reviews of their own work")
    return viewer.id


@dataclass(slots=True)
class Review:
    conversation_id: int
    agent_id: int | None  # whose work: the conversation's assignee when it was reviewed
    reviewer_id: int
    rubric_id: int
    scores: Scores
    score: int
    comment: str
    sampled_by: str
    created_at: datetime
    id: int | None = None


@dataclass(frozen=True, slots=True)
class SampleRequest:
    """What to draw: closed conversations of `mode` closed in [since, until), `size` of them,
    in the order `seed` gives (the same request draws the same sample)."""

    mode: SampleMode
    since: datetime
    until: datetime
    agent_id: int | None
    size: int
    seed: int


def sample_request(
    mode: str,
    *,
    now: datetime,
    seed: int,
    since: datetime | None = None,
    until: datetime | None = None,
    agent_id: int | None = None,
    size: int | None = None,
) -> SampleRequest:
    """A checked request: the range defaults to the 30 days before `now` and spans at most
    366 days; `agent` is required by mode agent, optional with low_csat and refused with random
    (random means every agent)."""
    try:
        kind = SampleMode(mode)
    except ValueError:
        modes = ", ".join(m.value for m in SampleMode)
        raise InvalidInput(f"mode must be one of {modes}", field="mode") from None
    if kind is SampleMode.AGENT and agent_id is None:
        raise InvalidInput("mode agent needs the agent whose work to sample", field="agent")
    if kind is SampleMode.RANDOM and agent_id is not None:
        raise InvalidInput("to sample one agent's conversations use mode agent", field="agent")
    until = until or now
    since = since or until - DEFAULT_SPAN
    if since >= until:
        raise InvalidInput("from must be before to", field="from")
    if until - since > MAX_SPAN:
        raise InvalidInput(f"a sample spans at most {MAX_SPAN.days} days", field="from")
    size = DEFAULT_SAMPLE if size is None else size
    if not 1 <= size <= MAX_SAMPLE:
        raise InvalidInput(f"size must be 1 to {MAX_SAMPLE}", field="size")
    if not 0 <= seed < MAX_SEED:
        raise InvalidInput(f"seed must be 0 to {MAX_SEED - 1}", field="seed")
    return SampleRequest(kind, since, until, agent_id, size, seed)


def draw(candidates: Iterable[int], seed: int, size: int) -> list[int]:
    """`size` of the candidates in a pseudo-random order fixed by the seed: each is ranked by a
    hash of (seed, id). A candidate's rank does not depend on the others, so reviewing one of a
    sample and drawing again with the same seed keeps the rest and brings in the next one."""
    return heapq.nsmallest(size, candidates, key=lambda i: (_rank(seed, i), i))


def _rank(seed: int, conversation_id: int) -> bytes:
    return hashlib.blake2b(f"{seed}:{conversation_id}".encode(), digest_size=8).digest()


def day_range(first: date | None, last: date | None) -> tuple[datetime | None, datetime | None]:
    """Days as people pick them (both included) as the range [first 00:00, day after last
    00:00) in UTC; an open end stays None."""
    since = datetime.combine(first, time(), UTC) if first else None
    until = datetime.combine(last + timedelta(days=1), time(), UTC) if last else None
    return since, until


def week_start(at: datetime) -> date:
    """The Monday (UTC) of the week `at` falls in: how results per agent are grouped."""
    day = at.astimezone(UTC).date()
    return day - timedelta(days=day.weekday())
