"""Rendering pages: the Jinja2 environment (autoescaped, strict), the filters templates use to
show untrusted post text safely, and the route class that turns errors into pages.

Post text is never marked safe as a whole: `linkify` escapes every piece of it and only wraps
http(s) URLs in anchors, so `<script>` or `javascript:` in a tweet is shown, never run.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Coroutine, Mapping
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit

from fastapi import Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.routing import APIRoute
from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape
from markupsafe import Markup, escape
from starlette.responses import HTMLResponse, RedirectResponse

from socialdesk.domain.errors import DomainError
from socialdesk.domain.platforms import capabilities_for
from socialdesk.web.errors import describe_validation_error, status_of

TEMPLATES = Path(__file__).resolve().parent.parent / "templates"
URL = re.compile(r"https?://[^\s<>\"']+", re.IGNORECASE)
TRAILING = ".,;:!?)]}'\""
LINK = Markup('<a href="{url}" rel="noopener noreferrer nofollow" target="_blank">{url}</a>')


class NeedsLogin(Exception):
    """No valid session: pages send the browser to the sign-in form, htmx requests are told to."""


def safe_url(url: str | None) -> str | None:
    """The URL if it is an absolute http(s) link; anything else (javascript:, data:, relative,
    protocol-relative) is not shown as a link."""
    if not url:
        return None
    try:
        parts = urlsplit(url.strip())
    except ValueError:
        return None
    if parts.scheme.lower() not in ("http", "https") or not parts.netloc:
        return None
    return url.strip()


def linkify(text: str | None) -> Markup:
    """Post text, escaped, with its http(s) URLs as links that open apart from the desk.
    Markup.format escapes every argument, so nothing of the text reaches the page unescaped."""
    if not text:
        return Markup("")
    out: list[Markup] = []
    last = 0
    for match in URL.finditer(text):
        url = match.group(0).rstrip(TRAILING)
        out.append(escape(text[last : match.start()]))
        out.append(LINK.format(url=url) if safe_url(url) else escape(url))
        last = match.start() + len(url)
    out.append(escape(text[last:]))
    return Markup("").join(out)


def iso(value: datetime | None) -> str:
    return value.isoformat() if value else ""


def when(value: datetime | None) -> str:
    """An absolute time, the way a list shows it (UTC)."""
    return value.strftime("%d %b %H:%M UTC") if value else ""


def reach(followers: int | None) -> str:
    if followers is None:
        return ""
    if followers >= 1_000_000:
        return f"{followers / 1_000_000:.1f}M".replace(".0M", "M")
    if followers >= 1_000:
        return f"{followers / 1_000:.1f}k".replace(".0k", "k")
    return str(followers)


def factors(items: list[dict[str, Any]] | None) -> str:
    """A priority's reasons as one line for a tooltip ('negative sentiment +20 (p=0.91), ...')."""
    parts = []
    for item in items or []:
        points = item.get("points")
        label = str(item.get("name", "?"))
        if isinstance(points, int | float):
            label += f" {points:+.0f}"
        if item.get("detail"):
            label += f" ({item['detail']})"
        parts.append(label)
    return ", ".join(parts) or "no factor"


def platform_label(platform: str) -> str:
    return capabilities_for(platform).label


def _environment() -> Environment:
    env = Environment(
        loader=FileSystemLoader(TEMPLATES),
        autoescape=select_autoescape(["html"]),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters.update(
        linkify=linkify,
        safe_url=safe_url,
        iso=iso,
        when=when,
        reach=reach,
        factors=factors,
        platform_label=platform_label,
    )
    return env


ENV = _environment()


def render(name: str, context: Mapping[str, Any], status: int = 200) -> HTMLResponse:
    return HTMLResponse(ENV.get_template(name).render(**context), status_code=status)


def error_page(status: int, message: str) -> HTMLResponse:
    return render(
        "ui/error.html", {"me": None, "csrf": "", "unread": 0, "message": message}, status
    )


def to_login(request: Request) -> Response:
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    if request.headers.get("hx-request"):
        return Response(status_code=401, headers={"HX-Redirect": "/login"})
    if request.method != "GET":
        target = "/"
    return RedirectResponse(f"/login?next={quote(target, safe='')}", status_code=303)


class PageRoute(APIRoute):
    """A route whose errors are pages, not JSON: no session sends the browser to sign in, a
    domain error shows its message with its status, bad query parameters say which."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        original = super().get_route_handler()

        async def handler(request: Request) -> Response:
            try:
                return await original(request)
            except NeedsLogin:
                return to_login(request)
            except DomainError as exc:
                return error_page(status_of(exc), exc.message)
            except RequestValidationError as exc:
                errors = list(exc.errors())
                detail = describe_validation_error(errors[0]) if errors else "invalid request"
                return error_page(422, detail)

        return handler
