"""Typed domain errors with stable codes.

Only `web/errors.py` maps them to HTTP; the CLI prints their message. Each message is written for a
person who can act on it (what was wrong and what to do instead).

    DomainError
     ├── NotFound              the thing named does not exist (or is not visible to the caller)
     ├── Unauthorized          no valid credentials
     ├── Forbidden             valid credentials, but the role may not do this
     ├── InvalidInput          the request is well-formed but its content is wrong
     │    └── ItemInvalid       one item of a batch is wrong; carries its index
     ├── Conflict              the change collides with the current state (duplicate name, ...)
     ├── InvalidTransition     the conversation's state does not allow this action
     └── TooManyRequests       over a rate limit; try again after `retry_after` seconds
"""

from __future__ import annotations


class DomainError(Exception):
    """Base of every error the desk raises on purpose."""

    code = "error"

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field


class NotFound(DomainError):
    code = "not_found"


class Unauthorized(DomainError):
    code = "unauthorized"


class Forbidden(DomainError):
    code = "forbidden"


class InvalidInput(DomainError):
    code = "invalid_input"


class ItemInvalid(InvalidInput):
    """A batch item is wrong: the whole batch is refused and the index names the culprit."""

    code = "invalid_item"

    def __init__(self, index: int, message: str, *, field: str | None = None) -> None:
        super().__init__(f"item {index}: {message}", field=field)
        self.index = index
        self.reason = message


class Conflict(DomainError):
    code = "conflict"


class InvalidTransition(DomainError):
    code = "invalid_transition"


class TooManyRequests(DomainError):
    code = "too_many_requests"

    def __init__(self, message: str, *, retry_after: int) -> None:
        super().__init__(message)
        self.retry_after = max(1, retry_after)
