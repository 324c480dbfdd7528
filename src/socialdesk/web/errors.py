"""The only place errors become HTTP: RFC 9457 problem details (application/problem+json).

Every error body has `type`, `title`, `status` and a `detail` a person can act on; validation
errors list each wrong field in `errors` (with its location), and batch errors name the item's
`index`. Unexpected failures answer 500 with the request id and no internals.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import structlog
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import JSONResponse

from socialdesk.domain.connectors import HandshakeRefused, PayloadInvalid
from socialdesk.domain.errors import (
    Conflict,
    DomainError,
    Forbidden,
    InvalidInput,
    InvalidTransition,
    ItemInvalid,
    NotFound,
    TooManyRequests,
    Unauthorized,
)
from socialdesk.domain.listening import QueryError
from socialdesk.domain.playbook import PlaybookInvalid

log = structlog.get_logger("socialdesk.web")

PROBLEM_JSON = "application/problem+json"

STATUS_OF: list[tuple[type[DomainError], int]] = [
    (HandshakeRefused, 403),
    (PayloadInvalid, 400),
    (NotFound, 404),
    (Unauthorized, 401),
    (Forbidden, 403),
    (ItemInvalid, 422),
    (InvalidInput, 422),
    (Conflict, 409),
    (InvalidTransition, 409),
    (TooManyRequests, 429),
]

TITLES = {
    400: "Malformed request",
    401: "Not authenticated",
    403: "Not allowed",
    404: "Not found",
    405: "Method not allowed",
    409: "Conflict",
    413: "Request too large",
    415: "Unsupported media type",
    422: "Invalid input",
    429: "Too many requests",
    500: "Internal error",
}


class MalformedRequest(Exception):
    """The request cannot be read at all (bad encoding, bad JSON, wrong content type, too big)."""

    def __init__(self, status: int, detail: str, code: str) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail
        self.code = code


def problem(
    status: int,
    detail: str,
    code: str,
    request: Request,
    *,
    headers: Mapping[str, str] | None = None,
    **extra: Any,
) -> JSONResponse:
    body: dict[str, Any] = {
        "type": f"urn:socialdesk:problem:{code}",
        "title": TITLES.get(status, "Error"),
        "status": status,
        "detail": detail,
        "instance": request.url.path,
        "code": code,
    }
    body.update({k: v for k, v in extra.items() if v is not None})
    sent = {"WWW-Authenticate": "Bearer"} if status == 401 else {}
    sent.update(headers or {})
    return JSONResponse(body, status_code=status, media_type=PROBLEM_JSON, headers=sent or None)


def status_of(error: DomainError) -> int:
    for kind, status in STATUS_OF:
        if isinstance(error, kind):
            return status
    return 400


def _location(loc: tuple[Any, ...]) -> str:
    parts = [str(p) for p in loc if p != "body"]
    return ".".join(parts) or "body"


def _message(error: Mapping[str, Any]) -> str:
    msg = str(error.get("msg", "is not valid"))
    return msg.removeprefix("Value error, ").removeprefix("Assertion failed, ")


def describe_validation_error(error: Mapping[str, Any]) -> str:
    """One pydantic error as 'where: what', the way people read it ('text: is too long')."""
    loc = tuple(error.get("loc", ()))
    message = _message(error)
    return f"{_location(loc)}: {message}" if loc else message


def _batch_index(loc: tuple[Any, ...]) -> int | None:
    if len(loc) >= 3 and loc[0] == "body" and loc[1] == "messages" and isinstance(loc[2], int):
        return loc[2]
    return None


async def _domain_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, DomainError)
    extra: dict[str, Any] = {"field": exc.field}
    if isinstance(exc, ItemInvalid):
        extra["index"] = exc.index
    if isinstance(exc, QueryError):
        extra["position"] = exc.position
    if isinstance(exc, PlaybookInvalid):
        extra["errors"] = [
            {"source": p.source, "line": p.line, "rule": p.rule, "message": p.message}
            for p in exc.errors
        ]
    headers = {"Retry-After": str(exc.retry_after)} if isinstance(exc, TooManyRequests) else None
    return problem(status_of(exc), exc.message, exc.code, request, headers=headers, **extra)


async def _validation_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    errors = list(exc.errors())
    for error in errors:
        if error.get("type") == "json_invalid":
            reason = (error.get("ctx") or {}).get("error", "invalid JSON")
            position = error["loc"][-1] if error.get("loc") else "?"
            return problem(
                400,
                f"the request body is not valid JSON: {reason} (at character {position})",
                "malformed_json",
                request,
            )
    listed = [
        {
            "location": _location(tuple(e.get("loc", ()))),
            "message": _message(e),
            "type": e.get("type"),
        }
        for e in errors
    ]
    index = next(
        (i for i in (_batch_index(tuple(e.get("loc", ()))) for e in errors) if i is not None),
        None,
    )
    detail = describe_validation_error(errors[0]) if errors else "the body is not valid"
    if index is not None:
        detail = f"item {index} is not valid, so no message of the batch was stored: {detail}"
    elif len(listed) > 1:
        detail += f" (and {len(listed) - 1} more problems, listed in errors)"
    return problem(422, detail, "invalid_input", request, errors=listed, index=index)


async def _malformed(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, MalformedRequest)
    return problem(exc.status, exc.detail, exc.code, request)


async def _http_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    if exc.status_code == 400 and exc.detail == "There was an error parsing the body":
        detail = "the request body could not be parsed as JSON (too deeply nested or malformed)"
        return problem(400, detail, "malformed_json", request)
    if exc.status_code == 404:
        detail = f"there is no resource at {request.url.path}; see /openapi.json for the API"
    elif exc.status_code == 405:
        detail = f"{request.method} is not allowed on {request.url.path}"
    else:
        detail = str(exc.detail)
    return problem(exc.status_code, detail, f"http_{exc.status_code}", request)


async def _out_of_range(request: Request, exc: Exception) -> JSONResponse:
    """A number no SQLite column holds (an id of 2**70 in a path, query or body): the driver
    refuses it before any query runs, so it is the caller's input that is wrong. (PostgreSQL
    compares such a number as numeric and finds nothing: 404.) Any other overflow is ours."""
    assert isinstance(exc, OverflowError)
    if "SQLite INTEGER" not in str(exc):
        return await _unexpected(request, exc)
    detail = "a number in the request is too large for the desk to store or look up"
    return problem(422, detail, "number_out_of_range", request)


async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
    request_id = getattr(request.state, "request_id", None)
    log.error("unhandled_error", error=type(exc).__name__, path=request.url.path, exc_info=exc)
    return problem(
        500,
        "an unexpected error occurred; report the request id to your administrator",
        "internal_error",
        request,
        request_id=request_id,
    )


def install(app: FastAPI) -> None:
    app.add_exception_handler(DomainError, _domain_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(MalformedRequest, _malformed)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(OverflowError, _out_of_range)
    app.add_exception_handler(Exception, _unexpected)


def problem_bytes(status: int, detail: str, code: str, path: str) -> bytes:
    """A problem body for the ASGI middleware, which answers before any request object exists."""
    return json.dumps(
        {
            "type": f"urn:socialdesk:problem:{code}",
            "title": TITLES.get(status, "Error"),
            "status": status,
            "detail": detail,
            "instance": path,
            "code": code,
        }
    ).encode()
