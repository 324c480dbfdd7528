"""The playbook language: rules (when → then) and their evaluation. Pure: no I/O, no clock.

A playbook is the team's written policy for inbound messages: which to leave alone, who answers,
how fast, and whom to warn. Supervisors write it as YAML (`adapters/playbooks/yaml_format.py` turns
the text into the objects below); the desk evaluates it once per triaged message, and the backtest
(`domain/backtest.py`) replays a million historical messages through it before it goes live.

Why the shape is what it is:

- A rule's `when` is a tree of `Condition` objects (`AllOf`, `AnyOf`, `Not` and leaves over the
  `Facts`). The objects are plain frozen values, so tests and the service can compare, print and
  build them; evaluation never walks them. `Playbook` compiles every tree once, into nested
  closures that read the fact they need with a C-level getter and compare against pre-normalised
  values (sets, compiled regular expressions). Per message that is a handful of function calls per
  rule and no dictionary lookups of the YAML: the backtest's million messages depend on it.
- Rules apply in order and every matched rule contributes its actions; single-valued outcomes (team,
  SLA policy, acknowledgement template, suppression, private mode) are decided by the *last* rule
  that sets them, so a specific rule placed after a general one refines it. `stop: true` ends the
  evaluation after a match, for rules whose verdict must be final (spam).
- `Evaluation` keeps both the raw trail (`matched`, `actions`) for "why did this happen?" and the
  resolved view the services act on.
- Rules with `trigger: close` are not run on messages: they run once when a conversation closes
  (`Playbook.on_close`) and decide whether its customer is asked for a survey.
- Every constructor checks its values and raises `InvalidInput` with a sentence a supervisor can act
  on; the YAML adapter catches those and reports them with file, line and rule.
"""

from __future__ import annotations

import difflib
import math
import operator
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, fields
from datetime import datetime
from typing import Any, ClassVar

from socialdesk.domain.errors import InvalidInput
from socialdesk.domain.messages import MessageKind, Visibility
from socialdesk.domain.platforms import PLATFORM_NAME
from socialdesk.domain.surveys import SurveyKind
from socialdesk.domain.tags import normalise_tag
from socialdesk.domain.triage import SENTIMENTS


@dataclass(frozen=True, slots=True)
class Facts:
    """What a rule sees about one inbound message in its conversation.

    Built by the caller from the message, its triage, its channel, its customer and the team's
    calendar, so that rules never need storage or a clock. `None` means "not known" (not triaged
    yet, a platform without follower counts): a missing fact never satisfies a comparison.
    """

    platform: str
    channel_id: int
    channel_name: str
    visibility: str
    kind: str
    text: str
    created_at: datetime
    sentiment: str | None = None
    needs_response: bool | None = None
    needs_response_p: float | None = None
    intent: str | None = None
    language: str | None = None
    pii: frozenset[str] = frozenset()
    spam_p: float | None = None
    priority: int | None = None
    question: bool = False
    followers: int | None = None
    verified: bool = False
    customer_tags: frozenset[str] = frozenset()
    business_hours: bool = True
    listening_query: str | None = None  # the search a channel's poller found the post by
    # Names of the desk's listening queries that matched the post, case-folded (services/listening)
    listening_queries: frozenset[str] = frozenset()
    first_message: bool = True
    message_id: int | None = None
    conversation_id: int | None = None
    # Set only when the rules run because the conversation's SLA entered warning or breach
    # (ok | warning | breached), so rules can escalate a conversation that is running late.
    sla_state: str | None = None
    # Set only when the `trigger: close` rules run because the conversation closed: its team's
    # name, its tags and the reason given for closing it.
    team: str | None = None
    conversation_tags: frozenset[str] = frozenset()
    close_reason: str | None = None


Predicate = Callable[[Facts], bool]


def did_you_mean(word: str, choices: Iterable[str]) -> str:
    """ " (did you mean 'x'?)" when a close choice exists, else "": typos are the usual mistake."""
    close = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.6)
    return f" (did you mean {close[0]!r}?)" if close else ""


def _require_text(value: object, what: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise InvalidInput(f"{what} must be a non-empty text")
    return value.strip()


# --------------------------------------------------------------------------------------------------
# Conditions


class Condition:
    """A node of a rule's `when` tree.

    `compile()` turns the node into a predicate once; `cost` is a rough relative price of running
    it, so `AllOf`/`AnyOf` can try cheap tests (a set lookup) before dear ones (a text search):
    conditions are pure, so their order changes the speed and never the answer.
    """

    __slots__ = ()
    cost: ClassVar[int] = 1

    def compile(self) -> Predicate:
        raise NotImplementedError

    def weight(self) -> int:
        return self.cost

    def matches(self, facts: Facts) -> bool:
        """Compiles and runs; for tests and one-offs. Hot paths keep the compiled predicate."""
        return self.compile()(facts)


def _always(facts: Facts) -> bool:
    return True


@dataclass(frozen=True, slots=True)
class Always(Condition):
    """Matches every message: a rule without `when` (a default route, a catch-all tag)."""

    def compile(self) -> Predicate:
        return _always


def _ordered(conditions: tuple[Condition, ...]) -> tuple[Predicate, ...]:
    return tuple(c.compile() for c in sorted(conditions, key=lambda c: c.weight()))


@dataclass(frozen=True, slots=True)
class AllOf(Condition):
    """`all: [...]` (and a mapping with several keys): every child must hold."""

    conditions: tuple[Condition, ...]

    def __post_init__(self) -> None:
        if not self.conditions:
            raise InvalidInput("`all` needs at least one condition")

    def weight(self) -> int:
        return sum(c.weight() for c in self.conditions)

    def compile(self) -> Predicate:
        preds = _ordered(self.conditions)
        if len(preds) == 1:
            return preds[0]
        if len(preds) == 2:
            first, second = preds

            def both(facts: Facts) -> bool:
                return first(facts) and second(facts)

            return both

        def every(facts: Facts) -> bool:
            # A plain loop: a generator in all() costs a frame per call, on the hot path.
            for pred in preds:  # noqa: SIM110
                if not pred(facts):
                    return False
            return True

        return every


@dataclass(frozen=True, slots=True)
class AnyOf(Condition):
    """`any: [...]`: at least one child must hold."""

    conditions: tuple[Condition, ...]

    def __post_init__(self) -> None:
        if not self.conditions:
            raise InvalidInput("`any` needs at least one condition")

    def weight(self) -> int:
        return sum(c.weight() for c in self.conditions)

    def compile(self) -> Predicate:
        preds = _ordered(self.conditions)
        if len(preds) == 1:
            return preds[0]
        if len(preds) == 2:
            first, second = preds

            def either(facts: Facts) -> bool:
                return first(facts) or second(facts)

            return either

        def some(facts: Facts) -> bool:
            for pred in preds:  # noqa: SIM110 (see `every`)
                if pred(facts):
                    return True
            return False

        return some


@dataclass(frozen=True, slots=True)
class Not(Condition):
    """`not: {...}`: the complement. `not` of a missing-fact comparison therefore matches."""

    condition: Condition

    def weight(self) -> int:
        return self.condition.weight()

    def compile(self) -> Predicate:
        inner = self.condition.compile()

        def negated(facts: Facts) -> bool:
            return not inner(facts)

        return negated


# Text facts compared case-insensitively against a set; the closed ones are checked on parse so
# that `sentiment: negtive` is an error instead of a rule that never matches.
TEXT_FACTS = (
    "platform",
    "visibility",
    "kind",
    "sentiment",
    "intent",
    "language",
    "sla_state",
    "team",
    "close_reason",
)
VOCABULARIES: dict[str, tuple[str, ...]] = {
    "visibility": tuple(v.value for v in Visibility),
    "kind": tuple(k.value for k in MessageKind),
    "sentiment": SENTIMENTS,
    "sla_state": ("ok", "warning", "breached"),
}


def _folded(values: Iterable[str], what: str) -> frozenset[str]:
    folded = frozenset(_require_text(v, what).casefold() for v in values)
    if not folded:
        raise InvalidInput(f"{what} needs at least one value")
    return folded


def _text_in(get: Callable[[Facts], str | None], values: frozenset[str]) -> Predicate:
    """Membership with a fast exact path: facts are usually lower case already, so `casefold` runs
    only on a miss."""
    if len(values) == 1:
        (value,) = values

        def equal(facts: Facts) -> bool:
            v = get(facts)
            return v is not None and (v == value or v.casefold() == value)

        return equal

    def member(facts: Facts) -> bool:
        v = get(facts)
        return v is not None and (v in values or v.casefold() in values)

    return member


@dataclass(frozen=True, slots=True)
class OneOf(Condition):
    """`platform`, `visibility`, `kind`, `sentiment`, `intent`, `language`: equals one of the values
    (case-insensitive)."""

    fact: str
    values: frozenset[str]

    def __post_init__(self) -> None:
        if self.fact not in TEXT_FACTS:
            raise InvalidInput(
                f"{self.fact!r} is not a text fact{did_you_mean(self.fact, TEXT_FACTS)}"
            )
        values = _folded(self.values, self.fact)
        known = VOCABULARIES.get(self.fact)
        for value in sorted(values):
            if known is not None and value not in known:
                raise InvalidInput(
                    f"unknown {self.fact} {value!r}{did_you_mean(value, known)};"
                    f" use {', '.join(known)}"
                )
            if self.fact == "platform" and not PLATFORM_NAME.match(value):
                raise InvalidInput(
                    f"{value!r} is not a platform name (lower-case letters, digits, _ or -)"
                )
        object.__setattr__(self, "values", values)

    def compile(self) -> Predicate:
        return _text_in(operator.attrgetter(self.fact), self.values)


@dataclass(frozen=True, slots=True)
class ChannelIs(Condition):
    """`channel`: the channel's name (case-insensitive) or its id, any of several."""

    names: frozenset[str] = frozenset()
    ids: frozenset[int] = frozenset()

    def __post_init__(self) -> None:
        if not self.names and not self.ids:
            raise InvalidInput("channel needs at least one name or id")
        object.__setattr__(self, "names", frozenset(n.strip().casefold() for n in self.names))
        if any(isinstance(i, bool) or not isinstance(i, int) for i in self.ids):
            raise InvalidInput("a channel id must be a whole number")

    def compile(self) -> Predicate:
        names, ids = self.names, self.ids
        if not names:

            def by_id(facts: Facts) -> bool:
                return facts.channel_id in ids

            return by_id

        by_name = _text_in(operator.attrgetter("channel_name"), names)

        def by_either(facts: Facts) -> bool:
            return facts.channel_id in ids or by_name(facts)

        return by_either


# Yes/no facts. `follow_up` is spelled in YAML and becomes `first_message: false`.
FLAG_FACTS = ("needs_response", "verified", "business_hours", "question", "first_message")


@dataclass(frozen=True, slots=True)
class Flag(Condition):
    """A yes/no fact equals `value`. `needs_response` is None before triage: then neither matches."""

    fact: str
    value: bool

    def __post_init__(self) -> None:
        if self.fact not in FLAG_FACTS:
            raise InvalidInput(
                f"{self.fact!r} is not a yes/no fact{did_you_mean(self.fact, FLAG_FACTS)}"
            )
        if not isinstance(self.value, bool):
            raise InvalidInput(f"{self.fact} must be true or false")

    def compile(self) -> Predicate:
        get = operator.attrgetter(self.fact)
        if self.value:

            def is_true(facts: Facts) -> bool:
                v = get(facts)
                return v is not None and bool(v)

            return is_true

        def is_false(facts: Facts) -> bool:
            v = get(facts)
            return v is not None and not v

        return is_false


# Numeric facts and the range a threshold may sensibly have: `spam_p: {gte: 85}` is a mistake for
# 0.85 and should say so rather than never match.
NUMERIC_FACTS: dict[str, tuple[float, float | None, str]] = {
    "needs_response_p": (0.0, 1.0, "a probability from 0 to 1"),
    "spam_p": (0.0, 1.0, "a probability from 0 to 1"),
    "priority": (0.0, 100.0, "a priority from 0 to 100"),
    "followers": (0.0, None, "a count of 0 or more"),
}
COMPARATORS: dict[str, Callable[[Any, Any], bool]] = {
    "gt": operator.gt,
    "gte": operator.ge,
    "lt": operator.lt,
    "lte": operator.le,
    "eq": operator.eq,
}


def _compare(get: Callable[[Facts], float | None], op: str, n: float) -> Predicate:
    """One closure per comparator, so the comparison is an inline bytecode, not a call."""
    if op == "gt":

        def gt(facts: Facts) -> bool:
            v = get(facts)
            return v is not None and v > n

        return gt
    if op == "gte":

        def gte(facts: Facts) -> bool:
            v = get(facts)
            return v is not None and v >= n

        return gte
    if op == "lt":

        def lt(facts: Facts) -> bool:
            v = get(facts)
            return v is not None and v < n

        return lt
    if op == "lte":

        def lte(facts: Facts) -> bool:
            v = get(facts)
            return v is not None and v <= n

        return lte

    def eq(facts: Facts) -> bool:
        v = get(facts)
        return v is not None and v == n

    return eq


@dataclass(frozen=True, slots=True)
class Compare(Condition):
    """`needs_response_p`, `spam_p`, `priority`, `followers` against `{gt|gte|lt|lte|eq: n}`;
    several comparators must all hold (a range)."""

    fact: str
    ops: tuple[tuple[str, float], ...]

    def __post_init__(self) -> None:
        if self.fact not in NUMERIC_FACTS:
            raise InvalidInput(
                f"{self.fact!r} is not a numeric fact{did_you_mean(self.fact, NUMERIC_FACTS)}"
            )
        if not self.ops:
            raise InvalidInput(f"{self.fact} needs a comparator: gt, gte, lt, lte or eq")
        low, high, meaning = NUMERIC_FACTS[self.fact]
        for op, n in self.ops:
            if op not in COMPARATORS:
                raise InvalidInput(
                    f"unknown comparator {op!r}{did_you_mean(op, COMPARATORS)};"
                    " use gt, gte, lt, lte or eq"
                )
            if isinstance(n, bool) or not isinstance(n, int | float) or math.isnan(n):
                raise InvalidInput(f"{self.fact} {op}: expected a number, got {n!r}")
            if n < low or (high is not None and n > high):
                hint = f" (did you mean {n / 100:g}?)" if high == 1.0 and 1 < n <= 100 else ""
                raise InvalidInput(f"{self.fact} is {meaning}; {n:g} is outside it{hint}")

    def compile(self) -> Predicate:
        get = operator.attrgetter(self.fact)
        preds = tuple(_compare(get, op, n) for op, n in self.ops)
        if len(preds) == 1:
            return preds[0]
        return AllOf(tuple(_Compiled(p) for p in preds)).compile()


@dataclass(frozen=True, slots=True)
class _Compiled(Condition):
    """An already compiled predicate, to reuse the `AllOf` combinator."""

    pred: Predicate

    def compile(self) -> Predicate:
        return self.pred


@dataclass(frozen=True, slots=True)
class HasPii(Condition):
    """`pii: true` (any personal data found) or `pii: card` / `[card, iban]` (any of those kinds)."""

    kinds: frozenset[str] | None = None

    def __post_init__(self) -> None:
        if self.kinds is not None:
            object.__setattr__(self, "kinds", _folded(self.kinds, "pii"))

    def compile(self) -> Predicate:
        kinds = self.kinds
        if kinds is None:

            def any_pii(facts: Facts) -> bool:
                return bool(facts.pii)

            return any_pii

        def some_kind(facts: Facts) -> bool:
            return not kinds.isdisjoint(facts.pii)

        return some_kind


@dataclass(frozen=True, slots=True)
class CustomerTag(Condition):
    """`customer_tag`: the customer carries any of the tags (tags are lower case, see tags.py)."""

    keyword: ClassVar[str] = "customer_tag"
    fact: ClassVar[str] = "customer_tags"
    tags: frozenset[str]

    def __post_init__(self) -> None:
        object.__setattr__(self, "tags", _folded(self.tags, self.keyword))

    def compile(self) -> Predicate:
        tags = self.tags
        get = operator.attrgetter(self.fact)

        def tagged(facts: Facts) -> bool:
            return not tags.isdisjoint(get(facts))

        return tagged


@dataclass(frozen=True, slots=True)
class ConversationTag(CustomerTag):
    """`conversation_tag`: the conversation carries any of the tags (known when it closes)."""

    keyword: ClassVar[str] = "conversation_tag"
    fact: ClassVar[str] = "conversation_tags"


@dataclass(frozen=True, slots=True)
class ListeningQuery(Condition):
    """`listening_query: true` (matched by any of the desk's listening queries, or found by a
    channel's search poller, which brings posts not addressed to us) or a query name / list of
    names (either kind)."""

    names: frozenset[str] | None = None

    def __post_init__(self) -> None:
        if self.names is not None:
            object.__setattr__(self, "names", _folded(self.names, "listening_query"))

    def compile(self) -> Predicate:
        names = self.names
        if names is None:

            def found(facts: Facts) -> bool:
                return facts.listening_query is not None or bool(facts.listening_queries)

            return found
        by_poller = _text_in(operator.attrgetter("listening_query"), names)

        def named(facts: Facts) -> bool:
            return not names.isdisjoint(facts.listening_queries) or by_poller(facts)

        return named


# The lower-cased text of the message being evaluated. Every keyword rule of every playbook
# evaluated on the same message needs it; keeping the last one (matched by identity, stored as one
# tuple so a reader never sees half an update) lowers each text once instead of once per rule.
_LOWERED: list[tuple[str, str]] = [("", "")]


@dataclass(frozen=True, slots=True)
class Keywords(Condition):
    """`keywords`: any of the words or phrases, case-insensitive, as whole words.

    Whole words means "refund" does not match "refunded"; a phrase matches across any run of
    white space. Boundaries are "no word character on either side" rather than `\\b`, so terms
    that start or end with punctuation (`@acme`, `c++`) work too. Case-insensitive means text and
    terms are compared in lower case.

    Speed: most messages contain none of a rule's terms, and a substring test is ~30x cheaper than
    a regular-expression search. So each term's longest word is looked for in the lower-cased text
    first (a whole-word match implies that substring), and only on a hit does the one combined
    expression confirm the word boundaries.
    """

    cost: ClassVar[int] = 10
    words: tuple[str, ...]

    def __post_init__(self) -> None:
        words = tuple(_require_text(w, "a keyword") for w in self.words)
        if not words:
            raise InvalidInput("keywords needs at least one word or phrase")
        object.__setattr__(self, "words", words)

    def terms(self) -> list[str]:
        """Lower-cased, white space collapsed, longest first (so a phrase wins over its word)."""
        folded = {" ".join(w.lower().split()) for w in self.words}
        return sorted(folded, key=lambda t: (-len(t), t))

    def pattern(self) -> re.Pattern[str]:
        """The whole-word expression, to run on lower-cased text."""
        body = "|".join(r"\s+".join(re.escape(part) for part in t.split()) for t in self.terms())
        return re.compile(rf"(?<!\w)(?:{body})(?!\w)")

    def compile(self) -> Predicate:
        search = self.pattern().search
        probes = tuple(dict.fromkeys(max(t.split(), key=len) for t in self.terms()))
        memo = _LOWERED

        def has_keyword(facts: Facts) -> bool:
            text = facts.text
            last = memo[0]
            if last[0] is text:
                low = last[1]
            else:
                low = text.lower()
                memo[0] = (text, low)
            for probe in probes:
                if probe in low:
                    return search(low) is not None
            return False

        return has_keyword


@dataclass(frozen=True, slots=True)
class Regex(Condition):
    """`regex`: a Python regular expression searched in the text, case-insensitive, compiled once.

    Run as written (with `re.IGNORECASE`) on the original text: a supervisor's expression means
    what Python's documentation says it means. It is the dearest test, so `all`/`any` try it last.
    """

    cost: ClassVar[int] = 20
    pattern: str

    def __post_init__(self) -> None:
        if not isinstance(self.pattern, str) or not self.pattern:
            raise InvalidInput("regex must be a non-empty text")
        try:
            re.compile(self.pattern, re.IGNORECASE)
        except re.error as exc:
            at = f" at position {exc.pos}" if exc.pos is not None else ""
            raise InvalidInput(f"bad regex '{self.pattern}': {exc.msg}{at}") from exc
        except (OverflowError, RecursionError) as exc:  # `a{99999999999}`, 1,000 nested groups
            raise InvalidInput(
                f"bad regex '{self.pattern[:100]}': too large a repeat count or too deeply nested"
            ) from exc

    def compile(self) -> Predicate:
        search = re.compile(self.pattern, re.IGNORECASE).search

        def found(facts: Facts) -> bool:
            return search(facts.text) is not None

        return found


# --------------------------------------------------------------------------------------------------
# Actions


class Action:
    """Something a matched rule asks for.

    `keyword` is its name in YAML; `as_dict()` is a tagged JSON form for storage, events and the
    API: `{"action": "route", "team": "Billing"}`, `{"action": "priority", "add": 15}`.
    """

    __slots__ = ()
    keyword: ClassVar[str] = ""

    def as_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {"action": self.keyword}
        for item in fields(self):  # type: ignore[arg-type]
            value = getattr(self, item.name)
            if value is not None:
                data[item.name] = list(value) if isinstance(value, tuple) else value
        return data


@dataclass(frozen=True, slots=True)
class Route(Action):
    """`route: Billing`: the conversation's team."""

    keyword: ClassVar[str] = "route"
    team: str

    def __post_init__(self) -> None:
        object.__setattr__(self, "team", _require_text(self.team, "route (a team name)"))


PRIORITY_MIN, PRIORITY_MAX = 0, 100


@dataclass(frozen=True, slots=True)
class SetPriority(Action):
    """`priority: 80` (set) or `priority: {add: 15}` (raise; negative lowers). Both: set, then add.

    The resolved priority is clamped to 0..100 once, after all rules, so adds and sets commute the
    way a supervisor reads them top to bottom.
    """

    keyword: ClassVar[str] = "priority"
    value: int | None = None
    add: int | None = None

    def __post_init__(self) -> None:
        if self.value is None and self.add is None:
            raise InvalidInput("priority needs a value (0-100) or {add: n}")
        for name, n, low in (("priority", self.value, 0), ("priority add", self.add, -100)):
            if n is None:
                continue
            if isinstance(n, bool) or not isinstance(n, int):
                raise InvalidInput(f"{name} must be a whole number, got {n!r}")
            if not low <= n <= PRIORITY_MAX:
                raise InvalidInput(f"{name} {n} is outside {low}..{PRIORITY_MAX}")


@dataclass(frozen=True, slots=True)
class AddTags(Action):
    """`tag: vip` or `tag: [vip, complaint]`: tags added to the conversation (normalised)."""

    keyword: ClassVar[str] = "tag"
    tags: tuple[str, ...]

    def __post_init__(self) -> None:
        given: object = self.tags
        if isinstance(given, str):  # a bare string would otherwise become one tag per letter
            raise InvalidInput("tags must be a list of tags")
        tags = tuple(dict.fromkeys(normalise_tag(t) for t in self.tags))
        if not tags:
            raise InvalidInput("tag needs at least one tag")
        object.__setattr__(self, "tags", tags)


@dataclass(frozen=True, slots=True)
class ApplySla(Action):
    """`sla: vip`: the SLA policy (response targets) by name."""

    keyword: ClassVar[str] = "sla"
    policy: str

    def __post_init__(self) -> None:
        object.__setattr__(self, "policy", _require_text(self.policy, "sla (a policy name)"))


@dataclass(frozen=True, slots=True)
class AutoAcknowledge(Action):
    """`auto_ack: ack_after_hours`: send this template at once (out of hours, queues)."""

    keyword: ClassVar[str] = "auto_ack"
    template: str

    def __post_init__(self) -> None:
        object.__setattr__(self, "template", _require_text(self.template, "auto_ack (a template)"))


@dataclass(frozen=True, slots=True)
class Notify(Action):
    """`notify: pr` (or `escalate: pr`): warn a named escalation target (PR, legal, marketing)."""

    keyword: ClassVar[str] = "notify"
    target: str

    def __post_init__(self) -> None:
        object.__setattr__(self, "target", _require_text(self.target, "notify (a target name)"))


@dataclass(frozen=True, slots=True)
class Suppress(Action):
    """`suppress: spam`: no response needed; the reason is shown to whoever looks later."""

    keyword: ClassVar[str] = "suppress"
    reason: str

    def __post_init__(self) -> None:
        object.__setattr__(self, "reason", _require_text(self.reason, "suppress (a reason)"))


PRIVATE_MODES = ("required", "suggested")


@dataclass(frozen=True, slots=True)
class PrivateChannel(Action):
    """`private: required|suggested`: answer in private (a DM, an e-mail), e.g. when PII is public.

    "required" blocks public replies; "suggested" only proposes the private channel to the agent.
    """

    keyword: ClassVar[str] = "private"
    mode: str

    def __post_init__(self) -> None:
        if self.mode not in PRIVATE_MODES:
            raise InvalidInput(
                f"unknown private mode {self.mode!r}{did_you_mean(str(self.mode), PRIVATE_MODES)};"
                " use required or suggested"
            )


SURVEY_KINDS = tuple(kind.value for kind in SurveyKind)
MAX_QUIET_DAYS = 365
MAX_EXPIRES_HOURS = 30 * 24


@dataclass(frozen=True, slots=True)
class AskSurvey(Action):
    """`survey: csat` or `survey: {kind: nps, template: nps_question, quiet_days: 30,
    expires_hours: 72}`: after the conversation closes, ask the customer for a score in the same
    channel (only in rules with `trigger: close`).

    `template` replaces the default question (it may hold `{survey.link}`); `quiet_days` is how
    long a customer who was asked is left alone; `expires_hours` is how long an answer counts.
    """

    keyword: ClassVar[str] = "survey"
    kind: str
    template: str | None = None
    quiet_days: int = 7
    expires_hours: int = 72

    def __post_init__(self) -> None:
        if self.kind not in SURVEY_KINDS:
            raise InvalidInput(
                f"unknown survey {self.kind!r}{did_you_mean(str(self.kind), SURVEY_KINDS)};"
                " use csat (1-5) or nps (0-10)"
            )
        if self.template is not None:
            object.__setattr__(
                self, "template", _require_text(self.template, "survey template (a template)")
            )
        for name, n, high in (
            ("quiet_days", self.quiet_days, MAX_QUIET_DAYS),
            ("expires_hours", self.expires_hours, MAX_EXPIRES_HOURS),
        ):
            if isinstance(n, bool) or not isinstance(n, int):
                raise InvalidInput(f"survey {name} must be a whole number, got {n!r}")
            low = 0 if name == "quiet_days" else 1
            if not low <= n <= high:
                raise InvalidInput(f"survey {name} {n} is outside {low}..{high}")


# --------------------------------------------------------------------------------------------------
# Rules, playbooks, evaluation

# When a rule runs: on every triaged inbound message (the default), or once when a conversation
# closes. Close rules see the conversation's latest customer message with its team, tags and
# close reason, and only ask for surveys; message rules never do.
TRIGGERS = ("message", "close")
CLOSE_ACTIONS: tuple[type[Action], ...] = (AskSurvey,)


@dataclass(frozen=True, slots=True)
class Rule:
    """One `when → then`. `line` is where it starts in its file, for error and reference reports."""

    name: str
    when: Condition
    then: tuple[Action, ...]
    stop: bool = False
    enabled: bool = True
    line: int | None = None
    description: str = ""
    trigger: str = "message"

    def __post_init__(self) -> None:
        object.__setattr__(self, "name", _require_text(self.name, "a rule name"))
        if not self.then:
            raise InvalidInput(f"rule {self.name!r} has no actions: `then` must list at least one")
        if self.trigger not in TRIGGERS:
            raise InvalidInput(
                f"unknown trigger {self.trigger!r}{did_you_mean(str(self.trigger), TRIGGERS)};"
                " use message or close"
            )
        closing = self.trigger == "close"
        for action in self.then:
            if isinstance(action, CLOSE_ACTIONS) != closing:
                raise InvalidInput(close_only(action.keyword, closing))


def close_only(keyword: str, closing: bool) -> str:
    """Why an action cannot go in a rule with this trigger."""
    if closing:
        return (
            f"{keyword} does nothing when a conversation closes; rules with `trigger: close` "
            "only take survey"
        )
    return f"{keyword} is sent when a conversation closes: put it in a rule with `trigger: close`"


@dataclass(frozen=True, slots=True)
class EscalationTarget:
    """Where `notify: <name>` goes: a webhook (the message and a link are POSTed) and/or e-mail."""

    name: str
    webhook: str | None = None
    email: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Evaluation:
    """What the playbook says about one message.

    `matched` and `actions` are the trail, in rule order. The rest is the resolved view: the last
    matched rule wins for single-valued outcomes; priority adds accumulate on top of the last set
    (or the facts' priority, or 0 when there is none) and the result is clamped to 0..100 —
    `priority` is the message's priority after the playbook (the facts' own when no rule touched
    it); tags are the union in first-seen order; `notify` holds distinct targets in order.
    """

    matched: tuple[str, ...]
    actions: tuple[Action, ...]
    team: str | None
    priority: int | None
    tags: tuple[str, ...]
    sla_policy: str | None
    auto_ack: str | None
    notify: tuple[str, ...]
    suppress: str | None
    private: str | None

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready, for storing beside the message and for the API."""
        return {
            "matched": list(self.matched),
            "actions": [a.as_dict() for a in self.actions],
            "team": self.team,
            "priority": self.priority,
            "tags": list(self.tags),
            "sla_policy": self.sla_policy,
            "auto_ack": self.auto_ack,
            "notify": list(self.notify),
            "suppress": self.suppress,
            "private": self.private,
        }


@dataclass(frozen=True, slots=True)
class ClosingEvaluation:
    """What the `trigger: close` rules say about a closed conversation: the rules that matched
    and the survey to send (None: no survey)."""

    matched: tuple[str, ...]
    survey: AskSurvey | None


@dataclass(frozen=True, slots=True)
class RuleRef:
    """A rule that names something, for reports such as "rule 'vip' (line 12): ..."."""

    rule: str
    line: int | None

    def __str__(self) -> str:
        return f"rule {self.rule!r}" + (f" (line {self.line})" if self.line is not None else "")


@dataclass(frozen=True, slots=True)
class References:
    """The teams, SLA policies, templates and targets the rules name, with who names them.

    The playbook cannot know which teams exist (storage does); the service checks these names
    against what exists and reports each missing one at the rule that uses it (`missing`).
    Disabled rules are included: enabling one later must not break routing.
    """

    teams: dict[str, tuple[RuleRef, ...]]
    sla_policies: dict[str, tuple[RuleRef, ...]]
    templates: dict[str, tuple[RuleRef, ...]]
    targets: dict[str, tuple[RuleRef, ...]]

    def missing(
        self,
        *,
        teams: Iterable[str] | None = None,
        sla_policies: Iterable[str] | None = None,
        templates: Iterable[str] | None = None,
        targets: Iterable[str] | None = None,
    ) -> list[str]:
        """One message per use of a name not in the given set (None: that kind is not checked),
        e.g. "rule 'vip' (line 12): team 'Escalations' does not exist"."""
        found: list[tuple[int, str]] = []
        for label, used, existing in (
            ("team", self.teams, teams),
            ("SLA policy", self.sla_policies, sla_policies),
            ("template", self.templates, templates),
            ("escalation target", self.targets, targets),
        ):
            if existing is None:
                continue
            known = set(existing)
            for name, refs in used.items():
                if name in known:
                    continue
                for ref in refs:
                    found.append(
                        (
                            ref.line or 0,
                            f"{ref}: {label} {name!r} does not exist{did_you_mean(name, known)}",
                        )
                    )
        return [message for _, message in sorted(found, key=lambda item: item[0])]


_CompiledRule = tuple[int, Predicate, bool]
_CacheKey = tuple[tuple[int, ...], int | None]
CACHE_LIMIT = 4096


@dataclass(frozen=True, slots=True)
class Playbook:
    """An ordered set of rules and the escalation targets they may notify.

    Building one compiles every enabled rule's condition (see the module docstring); `evaluate`
    then only calls closures. `targets` is a plain dict for `targets["pr"]`; treat it as read-only.

    What a message ends up with depends only on which rules matched and on the priority it came
    with, and real traffic matches few distinct combinations of rules. So resolved evaluations are
    kept per (rules matched, incoming priority) and shared — they are immutable — which saves
    resolving and allocating one per message. The cache is cleared when it reaches `CACHE_LIMIT`
    entries, so an odd playbook cannot grow it without bound.
    """

    rules: tuple[Rule, ...]
    targets: dict[str, EscalationTarget] = field(default_factory=dict)
    _program: tuple[_CompiledRule, ...] = field(init=False, repr=False, compare=False)
    _closing: tuple[_CompiledRule, ...] = field(init=False, repr=False, compare=False)
    _cache: dict[_CacheKey, Evaluation] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "rules", tuple(self.rules))
        for name, trigger in (("_program", "message"), ("_closing", "close")):
            object.__setattr__(
                self,
                name,
                tuple(
                    (index, rule.when.compile(), rule.stop)
                    for index, rule in enumerate(self.rules)
                    if rule.enabled and rule.trigger == trigger
                ),
            )
        object.__setattr__(self, "_cache", {})

    def evaluate(self, facts: Facts) -> Evaluation:
        """Run the rules in order against one message and resolve what they ask for."""
        hits: list[int] = []
        for index, pred, stop in self._program:
            if pred(facts):
                hits.append(index)
                if stop:
                    break
        key = (tuple(hits), facts.priority)
        cache = self._cache
        found = cache.get(key)
        if found is None:
            rules = self.rules
            actions = tuple(action for i in key[0] for action in rules[i].then)
            found = _resolve(facts.priority, tuple(rules[i].name for i in key[0]), actions)
            if len(cache) >= CACHE_LIMIT:
                cache.clear()
            cache[key] = found
        return found

    @property
    def runs_on_close(self) -> bool:
        """Whether any enabled rule runs when a conversation closes (if none, closes need no
        look at all)."""
        return bool(self._closing)

    def on_close(self, facts: Facts) -> ClosingEvaluation:
        """Run the `trigger: close` rules in order against a closed conversation (`facts` of its
        latest customer message, with team, tags and close reason); the last survey asked wins."""
        matched: list[str] = []
        survey: AskSurvey | None = None
        for index, pred, stop in self._closing:
            if pred(facts):
                rule = self.rules[index]
                matched.append(rule.name)
                for action in rule.then:
                    if isinstance(action, AskSurvey):
                        survey = action
                if stop:
                    break
        return ClosingEvaluation(tuple(matched), survey)

    def references(self) -> References:
        """Names the rules use, each with the rules (and lines) that use it, in rule order."""
        kinds: dict[type[Action], tuple[dict[str, list[RuleRef]], Callable[[Any], str | None]]] = {}
        teams: dict[str, list[RuleRef]] = {}
        policies: dict[str, list[RuleRef]] = {}
        templates: dict[str, list[RuleRef]] = {}
        targets: dict[str, list[RuleRef]] = {}
        kinds[Route] = (teams, operator.attrgetter("team"))
        kinds[ApplySla] = (policies, operator.attrgetter("policy"))
        kinds[AutoAcknowledge] = (templates, operator.attrgetter("template"))
        kinds[Notify] = (targets, operator.attrgetter("target"))
        kinds[AskSurvey] = (templates, operator.attrgetter("template"))
        for rule in self.rules:
            ref = RuleRef(rule.name, rule.line)
            for action in rule.then:
                kind = kinds.get(type(action))
                if kind is None:
                    continue
                table, name_of = kind
                name = name_of(action)
                if name is None:  # a survey with the default question
                    continue
                refs = table.setdefault(name, [])
                if ref not in refs:
                    refs.append(ref)

        def frozen(table: dict[str, list[RuleRef]]) -> dict[str, tuple[RuleRef, ...]]:
            return {name: tuple(refs) for name, refs in table.items()}

        return References(frozen(teams), frozen(policies), frozen(templates), frozen(targets))


def _resolve(
    priority: int | None, matched: tuple[str, ...], actions: tuple[Action, ...]
) -> Evaluation:
    """The resolved view of a trail of actions (see `Evaluation`), in one pass over them;
    `priority` is the message's own."""
    team = sla = ack = suppress = private = None
    touched = False
    tags: list[str] = []
    notify: list[str] = []
    for action in actions:
        if type(action) is Route:
            team = action.team
        elif type(action) is SetPriority:
            value: int | None = action.value
            add: int | None = action.add
            if value is not None:
                priority = value
            if add is not None:
                priority = (priority or 0) + add
            touched = True
        elif type(action) is AddTags:
            for tag in action.tags:
                if tag not in tags:
                    tags.append(tag)
        elif type(action) is ApplySla:
            sla = action.policy
        elif type(action) is AutoAcknowledge:
            ack = action.template
        elif type(action) is Notify:
            target = action.target
            if target not in notify:
                notify.append(target)
        elif type(action) is Suppress:
            suppress = action.reason
        elif type(action) is PrivateChannel:
            private = action.mode
    if touched and priority is not None:
        priority = min(PRIORITY_MAX, max(PRIORITY_MIN, priority))
    return Evaluation(
        matched,
        actions,
        team,
        priority,
        tuple(tags),
        sla,
        ack,
        tuple(notify),
        suppress,
        private,
    )


# --------------------------------------------------------------------------------------------------
# Problems


@dataclass(frozen=True, slots=True)
class PlaybookProblem:
    """One thing wrong in a playbook file, located like a compiler error so editors can jump to it:
    `playbook.yaml:14: rule "VIP complaint": unknown condition 'sentimnet' (did you mean ...?)`."""

    source: str
    line: int | None
    rule: str | None
    message: str

    def __str__(self) -> str:
        where = self.source if self.line is None else f"{self.source}:{self.line}"
        rule = f' rule "{self.rule}":' if self.rule else ""
        return f"{where}:{rule} {self.message}"


class PlaybookInvalid(InvalidInput):
    """A playbook that cannot be used, with every problem found (not just the first), so a
    supervisor fixes the file in one round."""

    code = "playbook_invalid"

    def __init__(self, errors: Sequence[PlaybookProblem]) -> None:
        self.errors = tuple(errors)
        message = "\n".join(str(p) for p in self.errors) or "the playbook is not valid"
        super().__init__(message, field="playbook")
