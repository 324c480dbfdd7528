"""ASGI middleware: request ids, security headers, access logs and metrics; request-size limits
enforced early.

Both are plain ASGI (not BaseHTTPMiddleware) so they add microseconds, not a task per request,
and the size limit refuses an oversized body from its Content-Length before reading it, or stops
reading a chunked one as soon as it passes the limit.
"""

from __future__ import annotations

import contextlib
import time
import uuid
from typing import Any

import structlog
from prometheus_client import CollectorRegistry, Counter, Histogram
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from socialdesk.web.errors import PROBLEM_JSON, problem_bytes

log = structlog.get_logger("socialdesk.access")

# Sent with every response. The workspace loads only its own files: no inline script or style,
# no eval, no frames, forms post only here; post text can therefore never run even if some
# escaping were missed. Platform images are never loaded from the platform (links only).
CONTENT_SECURITY_POLICY = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; font-src 'self'; form-action 'self'; frame-ancestors 'none'; "
    "base-uri 'none'"
)
SECURITY_HEADERS = [
    (b"content-security-policy", CONTENT_SECURITY_POLICY.encode()),
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"same-origin"),
    (b"cross-origin-opener-policy", b"same-origin"),
    (b"permissions-policy", b"camera=(), microphone=(), geolocation=()"),
]


class Metrics:
    """The web process's Prometheus metrics, in a registry of its own (one per app)."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "socialdesk_http_requests",
            "HTTP requests",
            ["method", "route", "status"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "socialdesk_http_request_seconds",
            "HTTP request latency",
            ["route"],
            buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
            registry=self.registry,
        )
        self.ingested = Counter(
            "socialdesk_ingested_messages",
            "Messages taken in",
            ["source", "outcome"],
            registry=self.registry,
        )
        self.webhook_rejects = Counter(
            "socialdesk_webhook_rejects",
            "Webhook deliveries refused (bad signature, unknown channel, unreadable payload)",
            ["connector", "reason"],
            registry=self.registry,
        )
        self.webhook_events = Counter(
            "socialdesk_webhook_events",
            "Webhook deliveries' events by connector and what became of them",
            ["connector", "outcome", "kind"],
            registry=self.registry,
        )


class RequestContextMiddleware:
    def __init__(self, app: ASGIApp, metrics: Metrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = _header(scope, b"x-request-id") or uuid.uuid4().hex
        scope.setdefault("state", {})["request_id"] = request_id
        started = time.perf_counter()
        status = 500

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                headers = message.setdefault("headers", [])
                headers.append((b"x-request-id", request_id.encode()))
                # Server time up to the response's start, for benchmarks and browser dev tools
                # (the client's own clock also counts the network and its queueing).
                spent = (time.perf_counter() - started) * 1000
                headers.append((b"server-timing", f"app;dur={spent:.2f}".encode()))
                headers.extend(SECURITY_HEADERS)
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            elapsed = time.perf_counter() - started
            route = scope.get("route")
            template = getattr(route, "path", "unmatched")
            self.metrics.requests.labels(scope["method"], template, str(status)).inc()
            self.metrics.latency.labels(template).observe(elapsed)
            log.info(
                "request",
                request_id=request_id,
                method=scope["method"],
                path=scope["path"],
                status=status,
                ms=round(elapsed * 1000, 2),
            )


class BodyLimitMiddleware:
    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = _header(scope, b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.max_bytes:
            await self._refuse(scope, send)
            return
        seen = 0
        refused = False

        async def limited() -> Message:
            nonlocal seen, refused
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.max_bytes:
                    refused = True
                    raise _TooLarge
            return message

        async def guarded_send(message: Message) -> None:
            # Once the body was cut off, whatever the app answers (it saw a broken body) is
            # replaced by the 413 below.
            if not refused:
                await send(message)

        with contextlib.suppress(_TooLarge):
            await self.app(scope, limited, guarded_send)
        if refused:
            await self._refuse(scope, send)

    async def _refuse(self, scope: Scope, send: Send) -> None:
        body = problem_bytes(
            413,
            f"the request body is larger than {self.max_bytes:,} bytes; send fewer messages per batch",
            "body_too_large",
            scope["path"],
        )
        await send(
            {
                "type": "http.response.start",
                "status": 413,
                "headers": [
                    (b"content-type", PROBLEM_JSON.encode()),
                    (b"content-length", str(len(body)).encode()),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})


class _TooLarge(Exception):
    pass


def _header(scope: Scope, name: bytes) -> Any:
    for key, value in scope.get("headers", []):
        if key == name:
            return value.decode("latin-1")
    return None
