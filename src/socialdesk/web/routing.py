"""A route class that reads request bodies strictly before FastAPI parses them, and declares
the problems every API route can answer.

FastAPI answers a body in a wrong encoding with a vague 400 and one with no JSON content type as
if it were JSON; here such bodies get a problem that says exactly what is wrong. Each route's
OpenAPI entry lists the errors any route can give (malformed body, no token, a role too low,
nothing there, too big, wrong media type, invalid input, rate limited) as
application/problem+json, so clients and contract tests know every status they may meet; a
router's own `responses` only say more precisely why.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Any

from fastapi import Request, Response
from fastapi.routing import APIRoute

from socialdesk.web.errors import MalformedRequest

BODY_METHODS = {"POST", "PUT", "PATCH"}

PROBLEM_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["type", "title", "status", "detail"],
    "properties": {
        "type": {"type": "string"},
        "title": {"type": "string"},
        "status": {"type": "integer"},
        "detail": {"type": "string"},
        "instance": {"type": "string"},
        "code": {"type": "string"},
    },
}
ANY_ROUTE = {
    401: "no valid API token",
    403: "the role may not do this",
    404: "nothing is there",
    422: "invalid input; nothing was changed",
    429: "too many requests; wait for Retry-After seconds",
}
WITH_BODY = {
    400: "the body is not JSON or not UTF-8",
    413: "the body is too large",
    415: "the body is not JSON",
}


def problem_responses(
    methods: set[str], declared: dict[int | str, dict[str, Any]]
) -> dict[int | str, dict[str, Any]]:
    """The route's own `responses` over the problems any route can answer (its descriptions
    win; the problem body is declared for each)."""
    codes = {**ANY_ROUTE, **(WITH_BODY if methods & BODY_METHODS else {})}
    merged: dict[int | str, dict[str, Any]] = {
        code: {
            "description": description,
            "content": {"application/problem+json": {"schema": PROBLEM_SCHEMA}},
        }
        for code, description in codes.items()
    }
    for code, response in declared.items():
        merged[code] = {**merged.get(code, {}), **response}
    return merged


class ProblemRoute(APIRoute):
    """A route whose OpenAPI entry declares the problems any route can answer."""

    def __init__(self, path: str, endpoint: Callable[..., Any], **kwargs: Any) -> None:
        methods = {m.upper() for m in (kwargs.get("methods") or ["GET"])}
        kwargs["responses"] = problem_responses(methods, dict(kwargs.get("responses") or {}))
        super().__init__(path, endpoint, **kwargs)


class StrictJsonRoute(ProblemRoute):
    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()
        takes_body = self.body_field is not None

        async def strict(request: Request) -> Response:
            if takes_body and request.method in BODY_METHODS:
                await check_json_body(request)
            return await handler(request)

        return strict


async def check_json_body(request: Request) -> None:
    body = await request.body()
    if not body:
        return
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type and not (content_type == "application/json" or content_type.endswith("+json")):
        raise MalformedRequest(
            415, f"send JSON with Content-Type: application/json, not {content_type}", "media_type"
        )
    try:
        body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise MalformedRequest(
            400,
            f"the request body is not valid UTF-8: byte 0x{body[exc.start]:02x} at offset "
            f"{exc.start} ({exc.reason})",
            "invalid_utf8",
        ) from exc
