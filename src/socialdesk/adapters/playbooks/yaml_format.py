"""The playbook's YAML format: parse a supervisor's file into a `Playbook`, or say precisely what is
wrong with it.

Why a node walk: `yaml.safe_load` forgets where things were, and "line 14, rule "VIP complaint",
unknown condition 'sentimnet'" is what lets a supervisor fix a file without help. So the text is
composed into PyYAML's node tree (every node has its line), scalars are turned into values by the
same safe constructor `safe_load` uses (so types read exactly as `safe_load` would read them), and
the tree is walked by hand.

Why collect instead of stopping: a file with five typos should come back with five reports in one
round. Every rule, condition and action is checked on its own; a problem abandons only the item it
is in, and `PlaybookInvalid` carries all of them, sorted by line. (A YAML syntax error is the one
exception: nothing after it can be trusted, so it is reported alone.)

The format itself is documented in docs/playbook.md.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import TypeVar
from urllib.parse import urlsplit

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from socialdesk.domain.errors import InvalidInput
from socialdesk.domain.playbook import (
    FLAG_FACTS,
    NUMERIC_FACTS,
    TEXT_FACTS,
    TRIGGERS,
    Action,
    AddTags,
    AllOf,
    Always,
    AnyOf,
    ApplySla,
    AskSurvey,
    AutoAcknowledge,
    ChannelIs,
    Compare,
    Condition,
    ConversationTag,
    CustomerTag,
    EscalationTarget,
    Flag,
    HasPii,
    Keywords,
    ListeningQuery,
    Not,
    Notify,
    OneOf,
    Playbook,
    PlaybookInvalid,
    PlaybookProblem,
    PrivateChannel,
    Regex,
    Route,
    Rule,
    SetPriority,
    Suppress,
    close_only,
    did_you_mean,
)

FORMAT_VERSION = 1
TOP_KEYS = ("version", "description", "targets", "rules")
TARGET_KEYS = ("webhook", "email")
RULE_KEYS = ("name", "description", "trigger", "when", "then", "stop", "enabled")
CONDITION_KEYS = (
    "all",
    "any",
    "not",
    *TEXT_FACTS,
    "channel",
    *FLAG_FACTS,
    "follow_up",
    *NUMERIC_FACTS,
    "pii",
    "customer_tag",
    "conversation_tag",
    "listening_query",
    "keywords",
    "regex",
)
ACTION_KEYS = (
    "route",
    "priority",
    "tag",
    "tags",
    "sla",
    "auto_ack",
    "notify",
    "escalate",
    "suppress",
    "private",
    "survey",
)
# Facts known only when a conversation closes (`trigger: close` rules).
CLOSE_FACTS = ("team", "conversation_tag", "close_reason")
SURVEY_KEYS = ("kind", "template", "quiet_days", "expires_hours")
COMPARATOR_KEYS = ("gt", "gte", "lt", "lte", "eq")
PRIORITY_KEYS = ("set", "add")
MAX_CONDITION_DEPTH = 32  # `all`/`any`/`not` inside each other; real rules need three or four
MAX_CONDITION_PARTS = 10_000  # in one file, each use of an alias counted

T = TypeVar("T")


def parse_playbook(text: str, source: str = "playbook.yaml") -> Playbook:
    """Parse a playbook file. Raises `PlaybookInvalid` listing every problem found in it."""
    reader = _Reader(source)
    playbook = reader.read(text)
    if reader.problems or playbook is None:
        problems = sorted(reader.problems, key=lambda p: p.line or 0)
        raise PlaybookInvalid(problems)
    return playbook


class _Bad:
    """A scalar PyYAML could not construct (its problem is recorded already)."""


_BAD = _Bad()


def _line(node: Node) -> int:
    return int(node.start_mark.line) + 1


def _shape(node: Node, value: object = None) -> str:
    """How a value reads to a person: for "expected text, got a list"."""
    if isinstance(node, SequenceNode):
        return "a list"
    if isinstance(node, MappingNode):
        return "a mapping"
    if value is None:
        return "nothing (null)"
    if isinstance(value, bool):
        return "true/false"
    if isinstance(value, int | float):
        return f"the number {value}"
    if isinstance(value, str):
        return f"the text {value!r}"
    return f"a {type(value).__name__}"


class _Reader:
    """One pass over one file, collecting problems as it goes."""

    def __init__(self, source: str) -> None:
        self.source = source
        self.problems: list[PlaybookProblem] = []
        self.rule: str | None = None  # the rule being read, to label problems
        self.trigger: str | None = "message"  # its trigger (None: unreadable, so not checked)
        self.targets: set[str] = set()
        self.loader: yaml.SafeLoader | None = None
        self.open_conditions: list[Node] = []  # the conditions being read, outermost first
        self.condition_parts = 0

    # -- reporting and small readers ---------------------------------------------------------------

    def problem(self, node: Node | None, message: str) -> None:
        line = _line(node) if node is not None else None
        self.problems.append(PlaybookProblem(self.source, line, self.rule, message))

    def build(self, node: Node, make: Callable[[], T]) -> T | None:
        """Run a domain constructor; its `InvalidInput` becomes a problem at `node`."""
        try:
            return make()
        except InvalidInput as exc:
            self.problem(node, exc.message)
            return None

    def value(self, node: ScalarNode) -> object:
        assert self.loader is not None
        try:
            return self.loader.construct_object(node, deep=True)
        except yaml.YAMLError as exc:
            self.problem(node, f"cannot read this value: {getattr(exc, 'problem', exc)}")
        except ValueError as exc:  # a date like 2026-13-45, an integer of 5,000 digits
            self.problem(node, f"cannot read this value: {exc}; put it in quotes if it is text")
        return _BAD

    def mapping(self, node: Node, what: str) -> list[tuple[str, Node, Node]] | None:
        """The (key, key node, value node) items of a mapping; duplicate keys are problems (plain
        YAML would silently keep the last one, and half a rule would vanish)."""
        if not isinstance(node, MappingNode):
            value = self.value(node) if isinstance(node, ScalarNode) else None
            if value is not _BAD:
                self.problem(
                    node, f"{what} must be a mapping (key: value), got {_shape(node, value)}"
                )
            return None
        assert self.loader is not None
        own = sum(1 for key_node, _ in node.value if key_node.tag != "tag:yaml.org,2002:merge")
        try:
            # YAML merge keys (`<<: *defaults`): PyYAML puts the merged pairs first.
            self.loader.flatten_mapping(node)
        except yaml.YAMLError as exc:
            self.problem(node, f"cannot merge keys here: {getattr(exc, 'problem', exc)}")
            return None
        merged, written = node.value[: len(node.value) - own], node.value[len(node.value) - own :]
        items: list[tuple[str, Node, Node]] = []
        seen: dict[str, int] = {}
        for key_node, value_node in written:
            key = self.value(key_node) if isinstance(key_node, ScalarNode) else None
            if not isinstance(key, str):
                if key is not _BAD:
                    self.problem(key_node, f"keys must be text, got {_shape(key_node, key)}")
                continue
            if key in seen:
                self.problem(key_node, f"duplicate key {key!r} (first at line {seen[key]})")
                continue
            seen[key] = _line(key_node)
            items.append((key, key_node, value_node))
        inherited: list[tuple[str, Node, Node]] = []
        for key_node, value_node in merged:  # written keys override merged ones, as in YAML
            key = self.value(key_node) if isinstance(key_node, ScalarNode) else None
            if isinstance(key, str) and key not in seen:
                seen[key] = _line(key_node)
                inherited.append((key, key_node, value_node))
        return inherited + items

    def unknown(self, key: str, node: Node, what: str, known: tuple[str, ...]) -> None:
        hint = did_you_mean(key, known)
        if not hint and key in CONDITION_KEYS and what != "condition":
            hint = f" ({key!r} is a condition: put it under `when`)"
        elif not hint and key in ACTION_KEYS and what != "action":
            hint = f" ({key!r} is an action: put it under `then`)"
        elif not hint:
            hint = f"; use {', '.join(known)}" if len(known) <= 8 else ""
        self.problem(node, f"unknown {what} {key!r}{hint}")

    def text(self, node: Node, what: str) -> str | None:
        """A name or a word. Plain scalars YAML reads as numbers or booleans keep their spelling:
        `language: no` is Norwegian, `route: 911` a team, not false and a number."""
        if isinstance(node, ScalarNode):
            value = self.value(node)
            if value is _BAD:
                return None
            if isinstance(value, str):
                if value.strip():
                    return value
            elif value is not None and node.style is None and str(node.value).strip():
                return str(node.value)
            self.problem(node, f"{what} must be a text, got {_shape(node, value)}")
            return None
        self.problem(node, f"{what} must be a text, got {_shape(node)}")
        return None

    def texts(self, node: Node, what: str) -> list[str] | None:
        """One text or a list of them (meaning: any of)."""
        if isinstance(node, SequenceNode):
            if not node.value:
                self.problem(node, f"{what} needs at least one value, got an empty list")
                return None
            found = [self.text(item, what) for item in node.value]
            return [t for t in found if t is not None] if None not in found else None
        one = self.text(node, what)
        return None if one is None else [one]

    def flag(self, node: Node, what: str) -> bool | None:
        value = self.value(node) if isinstance(node, ScalarNode) else None
        if isinstance(value, bool):
            return value
        if value is not _BAD:
            self.problem(node, f"{what} must be true or false, got {_shape(node, value)}")
        return None

    def number(self, node: Node, what: str) -> float | None:
        value = self.value(node) if isinstance(node, ScalarNode) else None
        if isinstance(value, int | float) and not isinstance(value, bool):
            return value
        if value is not _BAD:
            self.problem(node, f"{what} must be a number, got {_shape(node, value)}")
        return None

    def whole(self, node: Node, what: str) -> int | None:
        value = self.value(node) if isinstance(node, ScalarNode) else None
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        if value is not _BAD:
            self.problem(node, f"{what} must be a whole number, got {_shape(node, value)}")
        return None

    # -- the file ----------------------------------------------------------------------------------

    def read(self, text: str) -> Playbook | None:
        try:
            # The loader checks the characters at once: NUL and other controls are YAMLErrors.
            self.loader = yaml.SafeLoader(text)
            root = self.loader.get_single_node()
        except yaml.MarkedYAMLError as exc:
            mark = exc.problem_mark or exc.context_mark
            where = f" ({exc.context})" if exc.context else ""
            if exc.context and exc.context_mark is not None and exc.context_mark is not mark:
                where = f" ({exc.context} started at line {int(exc.context_mark.line) + 1})"
            line = int(mark.line) + 1 if mark is not None else None
            message = f"YAML syntax error: {exc.problem}{where}"
            self.problems.append(PlaybookProblem(self.source, line, None, message))
            return None
        except yaml.YAMLError as exc:  # e.g. characters YAML does not allow
            self.problems.append(PlaybookProblem(self.source, None, None, f"YAML error: {exc}"))
            return None
        except RecursionError:  # PyYAML composes nested lists and mappings recursively
            message = "the file nests lists or mappings too deeply to read"
            self.problems.append(PlaybookProblem(self.source, None, None, message))
            return None
        try:
            return self.document(root)
        finally:
            self.loader.dispose()

    def document(self, root: Node | None) -> Playbook | None:
        if root is None:
            self.problems.append(
                PlaybookProblem(self.source, 1, None, "the playbook is empty: it needs `rules:`")
            )
            return None
        items = self.mapping(root, "a playbook")
        if items is None:
            return None
        found = {key: (key_node, value_node) for key, key_node, value_node in items}
        for key, key_node, _ in items:
            if key not in TOP_KEYS:
                self.unknown(key, key_node, "top-level key", TOP_KEYS)
        if "version" in found:
            version_node = found["version"][1]
            version = self.value(version_node) if isinstance(version_node, ScalarNode) else None
            if version != FORMAT_VERSION and version is not _BAD:
                shown = (
                    version_node.value
                    if isinstance(version_node, ScalarNode)
                    else _shape(version_node)
                )
                self.problem(
                    version_node,
                    f"unsupported version {shown}: this desk reads version 1",
                )
        if "description" in found:
            self.text(found["description"][1], "description")
        targets: dict[str, EscalationTarget] = {}
        if "targets" in found:
            targets = self.read_targets(found["targets"][1])
        rules: list[Rule] = []
        if "rules" in found:
            rules = self.read_rules(found["rules"][1])
        elif not any(did_you_mean(key, ("rules",)) for key in found):  # else: reported as a typo
            self.problem(root, "the playbook has no `rules:` list")
        return Playbook(tuple(rules), targets)

    def read_targets(self, node: Node) -> dict[str, EscalationTarget]:
        targets: dict[str, EscalationTarget] = {}
        if isinstance(node, ScalarNode) and self.value(node) is None:
            return targets  # `targets:` with nothing under it
        items = self.mapping(node, "targets")
        for name, name_node, value_node in items or ():
            self.targets.add(name)  # declared, even if its body is wrong: no cascade of reports
            body = self.mapping(value_node, f"target {name!r}")
            if body is None:
                continue
            webhook: str | None = None
            emails: list[str] = []
            ok = True
            for key, key_node, field_node in body:
                if key == "webhook":
                    webhook = self.text(field_node, "webhook")
                    if webhook is None:
                        ok = False
                        continue
                    url = urlsplit(webhook.strip())
                    if url.scheme not in ("https", "http") or not url.hostname:
                        self.problem(
                            field_node,
                            f"target {name!r}: webhook {webhook!r} is not an https:// (or http://) URL",
                        )
                        ok = False
                elif key == "email":
                    found = self.texts(field_node, "email")
                    if found is None:
                        ok = False
                        continue
                    for address in found:
                        local, at, domain = address.strip().rpartition("@")
                        if not at or not local or "." not in domain or " " in address.strip():
                            self.problem(
                                field_node,
                                f"target {name!r}: {address!r} is not an e-mail address",
                            )
                            ok = False
                    emails = [a.strip() for a in found]
                else:
                    self.unknown(key, key_node, "target key", TARGET_KEYS)
                    ok = False
            if ok and webhook is None and not emails:
                self.problem(name_node, f"target {name!r} needs a webhook or an email")
                ok = False
            if ok:
                targets[name] = EscalationTarget(
                    name, webhook.strip() if webhook else None, tuple(emails)
                )
        return targets

    def read_rules(self, node: Node) -> list[Rule]:
        if isinstance(node, ScalarNode) and self.value(node) is None:
            return []  # `rules:` with nothing yet: a valid playbook that does nothing
        if not isinstance(node, SequenceNode):
            self.problem(node, f"`rules` must be a list of rules, got {_shape(node)}")
            return []
        rules: list[Rule] = []
        first_line: dict[str, int] = {}
        for index, rule_node in enumerate(node.value, start=1):
            self.rule = f"#{index}"
            rule = self.read_rule(rule_node, first_line)
            if rule is not None:
                rules.append(rule)
        self.rule = None
        return rules

    def read_rule(self, node: Node, first_line: dict[str, int]) -> Rule | None:
        before = len(self.problems)
        items = self.mapping(node, "a rule")
        if items is None:
            return None
        found = {key: (key_node, value_node) for key, key_node, value_node in items}
        name: str | None = None
        if "name" in found:
            name = self.text(found["name"][1], "name")
            if name is not None:
                name = name.strip()
                self.rule = name
                if name in first_line:
                    self.problem(
                        found["name"][1],
                        f"duplicate rule name (first at line {first_line[name]});"
                        " rule names must be unique",
                    )
                else:
                    first_line[name] = _line(node)
        else:
            self.problem(node, "the rule has no `name`")
        for key, key_node, _ in items:
            if key not in RULE_KEYS:
                self.unknown(key, key_node, "rule key", RULE_KEYS)
        self.trigger = "message"
        if "trigger" in found:
            self.trigger = self.text(found["trigger"][1], "trigger (message or close)")
            if self.trigger is not None and self.trigger not in TRIGGERS:
                self.problem(
                    found["trigger"][1],
                    f"unknown trigger {self.trigger!r}{did_you_mean(self.trigger, TRIGGERS)};"
                    " use message (the default: every triaged message) or close (once, when the"
                    " conversation closes)",
                )
                self.trigger = None
        trigger = self.trigger or "message"
        when: Condition | None = Always()
        if "when" in found:
            when = self.condition(found["when"][1])
        then: list[Action] | None = None
        if "then" in found:
            then = self.actions(found["then"][1])
        else:
            self.problem(node, "the rule has no `then`: list at least one action")
        stop = "stop" in found and self.flag(found["stop"][1], "stop") is True
        enabled = True
        if "enabled" in found:
            enabled = self.flag(found["enabled"][1], "enabled") is not False
        description = ""
        if "description" in found:
            description = self.text(found["description"][1], "description") or ""
        if len(self.problems) > before or name is None or when is None or then is None:
            return None
        rule_name, condition, actions = name, when, tuple(then)
        return self.build(
            node,
            lambda: Rule(
                rule_name,
                condition,
                actions,
                stop=stop,
                enabled=enabled,
                line=_line(node),
                description=description,
                trigger=trigger,
            ),
        )

    # -- conditions --------------------------------------------------------------------------------

    def condition(self, node: Node) -> Condition | None:
        """A mapping of conditions; several keys in one mapping must all hold.

        YAML aliases let a condition name itself (`&a {not: *a}`) or, reused inside one another,
        multiply a few lines into billions of parts; both are refused rather than walked for
        ever, as is nesting deeper than anyone writes by hand.
        """
        if any(node is outer for outer in self.open_conditions):
            self.problem(node, "this condition contains itself (through a YAML alias)")
            return None
        if len(self.open_conditions) >= MAX_CONDITION_DEPTH:
            self.problem(node, f"conditions nest more than {MAX_CONDITION_DEPTH} deep; simplify")
            return None
        self.condition_parts += 1
        if self.condition_parts > MAX_CONDITION_PARTS:
            if self.condition_parts == MAX_CONDITION_PARTS + 1:
                self.problem(
                    node,
                    f"the conditions have more than {MAX_CONDITION_PARTS:,} parts, counting each"
                    " use of a YAML alias; simplify them",
                )
            return None
        self.open_conditions.append(node)
        try:
            return self.condition_items(node)
        finally:
            self.open_conditions.pop()

    def condition_items(self, node: Node) -> Condition | None:
        items = self.mapping(node, "a condition")
        if items is None:
            return None
        if not items:
            self.problem(
                node,
                "empty condition: name at least one fact, or leave `when` out to match every message",
            )
            return None
        parts = [self.leaf(key, key_node, value_node) for key, key_node, value_node in items]
        if any(part is None for part in parts):
            return None
        conditions = tuple(part for part in parts if part is not None)
        return conditions[0] if len(conditions) == 1 else AllOf(conditions)

    def leaf(self, key: str, key_node: Node, node: Node) -> Condition | None:
        if key in CLOSE_FACTS and self.trigger == "message":
            self.problem(
                key_node,
                f"{key} is known only when a conversation closes: use it in a rule with"
                " `trigger: close`",
            )
            return None
        if key in ("all", "any"):
            if not isinstance(node, SequenceNode) or not node.value:
                got = "an empty list" if isinstance(node, SequenceNode) else _shape(node)
                self.problem(node, f"`{key}` needs a list of conditions, got {got}")
                return None
            children = [self.condition(child) for child in node.value]
            if any(child is None for child in children):
                return None
            kids = tuple(child for child in children if child is not None)
            return AllOf(kids) if key == "all" else AnyOf(kids)
        if key == "not":
            inner = self.condition(node)
            return None if inner is None else Not(inner)
        if key in TEXT_FACTS:
            values = self.texts(node, key)
            return (
                None if values is None else self.build(node, lambda: OneOf(key, frozenset(values)))
            )
        if key == "channel":
            return self.channel(node)
        if key in FLAG_FACTS or key == "follow_up":
            value = self.flag(node, key)
            if value is None:
                return None
            if key == "follow_up":
                return Flag("first_message", not value)
            return Flag(key, value)
        if key in NUMERIC_FACTS:
            return self.comparison(key, node)
        if key in ("pii", "listening_query"):
            if isinstance(node, ScalarNode) and isinstance(self.value(node), bool):
                present: Condition = HasPii() if key == "pii" else ListeningQuery()
                return present if self.value(node) else Not(present)
            names = self.texts(node, key)
            if names is None:
                return None
            kinds = frozenset(names)
            if key == "pii":
                return self.build(node, lambda: HasPii(kinds))
            return self.build(node, lambda: ListeningQuery(kinds))
        if key in ("customer_tag", "conversation_tag"):
            tags = self.texts(node, key)
            if tags is None:
                return None
            kind = CustomerTag if key == "customer_tag" else ConversationTag
            return self.build(node, lambda: kind(frozenset(tags)))
        if key == "keywords":
            words = self.texts(node, key)
            return None if words is None else self.build(node, lambda: Keywords(tuple(words)))
        if key == "regex":
            pattern = self.regex_text(node)
            return None if pattern is None else self.build(node, lambda: Regex(pattern))
        self.unknown(key, key_node, "condition", CONDITION_KEYS)
        return None

    def regex_text(self, node: Node) -> str | None:
        """The pattern exactly as written (no number/boolean reading: `regex: 404` is a pattern)."""
        if isinstance(node, ScalarNode) and self.value(node) is not None:
            return str(node.value)
        self.problem(node, f"regex must be a text, got {_shape(node)}")
        return None

    def channel(self, node: Node) -> Condition | None:
        entries = node.value if isinstance(node, SequenceNode) else [node]
        if not entries:
            self.problem(node, "channel needs at least one name or id, got an empty list")
            return None
        names: set[str] = set()
        ids: set[int] = set()
        for entry in entries:
            value = self.value(entry) if isinstance(entry, ScalarNode) else None
            if isinstance(value, int) and not isinstance(value, bool):
                ids.add(value)
                continue
            name = self.text(entry, "channel (a name or an id)")
            if name is None:
                return None
            names.add(name)
        return self.build(node, lambda: ChannelIs(frozenset(names), frozenset(ids)))

    def comparison(self, key: str, node: Node) -> Condition | None:
        """`spam_p: 0.9` (eq), `spam_p: {gte: 0.85}`, `priority: [10, 20]` (any of, eq)."""
        if isinstance(node, MappingNode):
            items = self.mapping(node, key)
            if items is None:
                return None
            if not items:
                self.problem(node, f"{key} needs a comparator: gt, gte, lt, lte or eq")
                return None
            ops: list[tuple[str, float]] = []
            ok = True
            for op, op_node, value_node in items:
                if op not in COMPARATOR_KEYS:
                    self.problem(
                        op_node,
                        f"unknown comparator {op!r}{did_you_mean(op, COMPARATOR_KEYS)};"
                        " use gt, gte, lt, lte or eq",
                    )
                    ok = False
                    continue
                n = self.number(value_node, f"{key} {op}")
                if n is None:
                    ok = False
                    continue
                ops.append((op, n))
            if not ok:
                return None
            return self.build(node, lambda: Compare(key, tuple(ops)))
        if isinstance(node, SequenceNode) and node.value:
            numbers = [self.number(item, key) for item in node.value]
            if any(n is None for n in numbers):
                return None
            options = [
                self.build(item, partial(Compare, key, (("eq", n),)))
                for item, n in zip(node.value, numbers, strict=True)
                if n is not None
            ]
            if any(o is None for o in options):
                return None
            return AnyOf(tuple(o for o in options if o is not None))
        n = self.number(node, key)
        if n is None:
            return None
        return self.build(node, lambda: Compare(key, (("eq", n),)))

    # -- actions -----------------------------------------------------------------------------------

    def actions(self, node: Node) -> list[Action] | None:
        """`then` is a list of one-key mappings (`- route: Billing`); a single mapping is accepted
        as a list of its keys, in order."""
        if isinstance(node, MappingNode):
            entries: list[Node] = [node]
        elif isinstance(node, SequenceNode):
            entries = list(node.value)
        else:
            value = self.value(node) if isinstance(node, ScalarNode) else None
            self.problem(
                node,
                f"`then` must be a list of actions like `- route: Billing`, got {_shape(node, value)}",
            )
            return None
        if not entries:
            self.problem(node, "`then` is empty: list at least one action")
            return None
        found: list[Action] = []
        ok = True
        for entry in entries:
            items = self.mapping(entry, "an action")
            if items is None:
                ok = False
                continue
            if not items:
                self.problem(entry, "empty action: use e.g. `route: Billing`")
                ok = False
            for key, key_node, value_node in items:
                made = self.action(key, key_node, value_node)
                if made is None:
                    ok = False
                else:
                    found.extend(made)
        return found if ok else None

    def action(self, key: str, key_node: Node, node: Node) -> list[Action] | None:
        if key in ACTION_KEYS and self.trigger is not None:
            closing = self.trigger == "close"
            if (key == "survey") != closing:
                self.problem(key_node, close_only(key, closing))
                return None
        if key == "survey":
            return self.survey(node)
        if key == "route":
            team = self.text(node, "route (a team name)")
            return None if team is None else self.one(node, lambda: Route(team))
        if key == "priority":
            return self.priority(node)
        if key in ("tag", "tags"):
            tags = self.texts(node, key)
            return None if tags is None else self.one(node, lambda: AddTags(tuple(tags)))
        if key == "sla":
            policy = self.text(node, "sla (a policy name)")
            return None if policy is None else self.one(node, lambda: ApplySla(policy))
        if key == "auto_ack":
            template = self.text(node, "auto_ack (a template name)")
            return None if template is None else self.one(node, lambda: AutoAcknowledge(template))
        if key in ("notify", "escalate"):
            names = self.texts(node, f"{key} (a target name)")
            if names is None:
                return None
            missing = [n for n in names if n not in self.targets]
            for target in missing:
                declared = sorted(self.targets)
                known = f"; declared: {', '.join(declared)}" if declared else ""
                self.problem(
                    node,
                    f"{key} names target {target!r}, which is not in `targets`"
                    f"{did_you_mean(target, declared)}{known}",
                )
            if missing:
                return None
            return [Notify(name) for name in names]
        if key == "suppress":
            value = self.value(node) if isinstance(node, ScalarNode) else None
            if value is True:
                reason = self.rule or "suppressed"
                return self.one(node, lambda: Suppress(reason))
            if value is False:
                self.problem(node, "suppress: false does nothing; remove it")
                return None
            text = self.text(node, "suppress (a reason)")
            return None if text is None else self.one(node, lambda: Suppress(text))
        if key == "private":
            mode = self.text(node, "private (required or suggested)")
            return None if mode is None else self.one(node, lambda: PrivateChannel(mode.strip()))
        self.unknown(key, key_node, "action", ACTION_KEYS)
        return None

    def one(self, node: Node, make: Callable[[], Action]) -> list[Action] | None:
        made = self.build(node, make)
        return None if made is None else [made]

    def priority(self, node: Node) -> list[Action] | None:
        """`priority: 80` or `priority: {add: 15}` (or `{set: 80, add: 5}`)."""
        if isinstance(node, MappingNode):
            items = self.mapping(node, "priority")
            if items is None:
                return None
            values: dict[str, int] = {}
            ok = True
            for key, key_node, value_node in items:
                if key not in PRIORITY_KEYS:
                    self.problem(
                        key_node,
                        f"unknown priority key {key!r}{did_you_mean(key, PRIORITY_KEYS)};"
                        " use `priority: 80` or `priority: {add: 15}`",
                    )
                    ok = False
                    continue
                n = self.whole(value_node, f"priority {key}")
                if n is None:
                    ok = False
                else:
                    values[key] = n
            if not ok:
                return None
            if not values:
                self.problem(
                    node, "priority needs a value: `priority: 80` or `priority: {add: 15}`"
                )
                return None
            return self.one(node, lambda: SetPriority(values.get("set"), values.get("add")))
        n = self.whole(node, "priority")
        return None if n is None else self.one(node, lambda: SetPriority(n))

    def survey(self, node: Node) -> list[Action] | None:
        """`survey: csat` or `survey: {kind: nps, template: NAME, quiet_days: 7,
        expires_hours: 72}`."""
        if not isinstance(node, MappingNode):
            given = self.text(node, "survey (csat or nps)")
            if given is None:
                return None
            kind = given.strip()
            return self.one(node, lambda: AskSurvey(kind))
        items = self.mapping(node, "survey")
        if items is None:
            return None
        found: dict[str, Node] = {}
        for key, key_node, value_node in items:
            if key not in SURVEY_KEYS:
                self.unknown(key, key_node, "survey key", SURVEY_KEYS)
                return None
            found[key] = value_node
        if "kind" not in found:
            self.problem(node, "survey needs a kind: `survey: {kind: csat}` (csat or nps)")
            return None
        texts = {
            key: self.text(found[key], f"survey {key}")
            for key in ("kind", "template")
            if key in found
        }
        numbers = {
            key: self.whole(found[key], f"survey {key}")
            for key in ("quiet_days", "expires_hours")
            if key in found
        }
        if None in texts.values() or None in numbers.values():
            return None
        kind, template = str(texts["kind"]).strip(), texts.get("template")
        named = template.strip() if template is not None else None
        chosen = {key: n for key, n in numbers.items() if n is not None}
        return self.one(node, lambda: AskSurvey(kind, named, **chosen))
