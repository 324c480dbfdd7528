"""Rules for text the desk stores: valid Unicode, no NUL, at most 64 KiB of UTF-8.

Posts are untrusted input. A lone surrogate (an invalid `\\ud800` escape in JSON) cannot be encoded
as UTF-8 and would fail later, in the database or in a response, so it is refused at the door with
the position named; so is NUL, which PostgreSQL text cannot hold.
"""

from __future__ import annotations

from socialdesk.domain.errors import InvalidInput

MAX_TEXT_BYTES = 64 * 1024


def text_problem(text: str, *, max_bytes: int = MAX_TEXT_BYTES) -> str | None:
    """What is wrong with the text, in words, or None when it may be stored."""
    if "\x00" in text:
        return f"contains a NUL character at position {text.index(chr(0))}"
    try:
        size = len(text.encode("utf-8"))
    except UnicodeEncodeError as exc:
        return (
            f"contains an invalid character at position {exc.start} "
            "(an unpaired UTF-16 surrogate, usually a broken \\u escape)"
        )
    if size > max_bytes:
        return f"is {size:,} bytes of UTF-8; the limit is {max_bytes:,}"
    return None


def check_text(text: str, *, field: str, allow_empty: bool = False) -> str:
    """The text, stripped of surrounding blank space, or InvalidInput saying what is wrong."""
    problem = text_problem(text)
    if problem is not None:
        raise InvalidInput(f"{field} {problem}", field=field)
    stripped = text.strip()
    if not stripped and not allow_empty:
        raise InvalidInput(f"{field} is empty", field=field)
    return stripped
