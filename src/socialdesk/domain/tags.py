"""Tags on conversations and customers: case-insensitive words, changed in place."""

from __future__ import annotations

import re

from socialdesk.domain.errors import InvalidInput

TAG = re.compile(r"^[\w][\w:./-]{0,49}$")


def normalise_tag(raw: str) -> str:
    """Tags are case-insensitive words (letters, digits, `_ : . / -`), at most 50 characters."""
    tag = raw.strip().lower()
    if not TAG.match(tag):
        raise InvalidInput(
            f"tag {raw!r} is not valid: use 1-50 letters, digits or _ : . / - (no spaces)",
            field="tags",
        )
    return tag


def apply_tags(tags: list[str], add: list[str], remove: list[str]) -> tuple[list[str], list[str]]:
    """Change `tags` in place; returns what really changed (added, removed), in order."""
    remove_set = {normalise_tag(t) for t in remove}
    removed = [t for t in tags if t in remove_set]
    kept = [t for t in tags if t not in remove_set]
    added: list[str] = []
    for raw in add:
        tag = normalise_tag(raw)
        if tag not in kept:
            kept.append(tag)
            added.append(tag)
    tags[:] = kept
    return added, removed
