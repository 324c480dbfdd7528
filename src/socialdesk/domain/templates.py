"""Saved replies with variables: `{customer.name}`, `{agent.first_name}`, `{conversation.id}`.

A template is checked when it is saved (only known variables, balanced braces) and rendered when
an agent or the playbook's auto-acknowledgement uses it; the rendered text is then checked
against the platform's length limit like any reply. Rendering never evaluates anything: it is a
plain substitution of known names, so a customer's name cannot inject further placeholders.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from socialdesk.domain.errors import InvalidInput
from socialdesk.domain.platforms import PlatformCapabilities

VARIABLE = re.compile(r"\{([a-z_]+\.[a-z_]+)\}")
BRACE = re.compile(r"[{}]")
VARIABLES = {
    "customer.name": "the customer's name (or handle when the name is not known)",
    "customer.first_name": "the customer's first name",
    "customer.handle": "the customer's handle on the platform (@name, address, number)",
    "agent.name": "the answering agent's display name",
    "agent.first_name": "the answering agent's first name",
    "conversation.id": "the conversation's number",
    "channel.name": "the brand account's name",
    "brand.name": "the channel's name, as customers see the brand",
    "survey.link": "the answer page of the survey being asked (survey questions only)",
}
NAME = re.compile(r"^[a-z0-9][a-z0-9_.-]{0,99}$")
MAX_BODY = 10_000


@dataclass(slots=True)
class Template:
    name: str
    body: str
    created_at: datetime
    updated_at: datetime
    updated_by: int | None = None
    id: int | None = None


def check_template(name: str, body: str) -> tuple[str, str]:
    """A valid (name, body): a short lower-case name, only known variables, no stray braces."""
    name = name.strip()
    if not NAME.match(name):
        raise InvalidInput(
            "a template name is 1-100 lower-case letters, digits, '_', '.' or '-', e.g. ack_x",
            field="name",
        )
    if not body.strip():
        raise InvalidInput("a template needs a text", field="body")
    if len(body) > MAX_BODY:
        raise InvalidInput(f"a template has at most {MAX_BODY} characters", field="body")
    unknown = sorted({v for v in VARIABLE.findall(body) if v not in VARIABLES})
    if unknown:
        raise InvalidInput(
            f"unknown variable {{{unknown[0]}}}; use one of "
            + ", ".join(f"{{{v}}}" for v in VARIABLES),
            field="body",
        )
    if BRACE.search(VARIABLE.sub("", body)):
        raise InvalidInput(
            "a brace that is not part of a variable; variables look like {customer.name}",
            field="body",
        )
    return name, body


_GAP = "\x00"  # marks where a variable without a value was (removed from values themselves)
_GAPS = re.compile(r"[ \t]*(?:\x00[ \t]*)+([,.!?;:])?")


def render(body: str, values: Mapping[str, str | None]) -> str:
    """The template with each variable replaced. A variable without a value becomes empty and
    takes the spaces around it with it ("Hi {customer.first_name}, thanks" → "Hi, thanks");
    everything else, the template's own spacing and the values, is kept as written."""

    def value(match: re.Match[str]) -> str:
        found = (values.get(match.group(1)) or "").replace(_GAP, "")
        return found or _GAP

    def close_gap(match: re.Match[str]) -> str:
        if match.group(1):
            return match.group(1)
        return " " if match.group(0).strip(_GAP) else ""

    return _GAPS.sub(close_gap, VARIABLE.sub(value, body)).strip()


def fits(text: str, capabilities: PlatformCapabilities) -> bool:
    return capabilities.max_length is None or len(text) <= capabilities.max_length


def first_name(name: str | None) -> str | None:
    if not name:
        return None
    return name.strip().split()[0].lstrip("@") or None
