"""A route class that reads request bodies strictly before FastAPI parses them.

FastAPI answers a body in a wrong encoding with a vague 400 and one with no JSON content type as
if it were JSON; here such bodies get a problem that says exactly what is wrong.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Any

from fastapi import Request, Response
from fastapi.routing import APIRoute

from socialdesk.web.errors import MalformedRequest

BODY_METHODS = {"POST", "PUT", "PATCH"}


class StrictJsonRoute(APIRoute):
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
