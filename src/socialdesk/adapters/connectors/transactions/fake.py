"""A local fake of the systems on the other side of the transactions webhook, for tests and demos.

`FakeTransactions` builds call records and chat transcripts in the documented format and signs
them as a phone or chat system must. Its `app()` is a chat system's reply endpoint over real HTTP:
it checks the desk's signature, keeps each reply once per idempotency key (answering a repeat
with the id it gave the first time) and can be told to fail: `fail(503, times=1)`.
"""

from __future__ import annotations

import itertools
import json
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from socialdesk.adapters.connectors.transactions.inbound import (
    SIGNATURE_HEADER,
    TIMESTAMP_HEADER,
    signature,
    signed_headers,
)


@dataclass
class FakeTransactions:
    secret: str
    replies: list[dict[str, Any]] = field(default_factory=list)
    requests: list[dict[str, Any]] = field(default_factory=list)
    faults: list[list[int]] = field(default_factory=list)  # [status, times left]
    _ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1))
    _lock: threading.Lock = field(default_factory=threading.Lock)

    # -- what a phone or chat system sends -----------------------------------------------------

    def signed(
        self, payload: Any, *, secret: str | None = None, timestamp: int | None = None
    ) -> tuple[bytes, dict[str, str]]:
        """The body a sender POSTs and its headers, signed now (or at `timestamp`)."""
        body = json.dumps(payload, ensure_ascii=False).encode("utf-8")
        headers = {"content-type": "application/json"}
        headers.update(signed_headers(secret or self.secret, body, timestamp))
        return body, headers

    @staticmethod
    def call(
        call_id: str,
        caller: str,
        *,
        direction: str = "inbound",
        callee: str = "+18005550100",
        started_at: datetime | None = None,
        duration_seconds: int = 123,
        disposition: str = "answered",
        **optional: Any,
    ) -> dict[str, Any]:
        """A call record; `optional` adds caller_name, agent, notes, transcript, recording_url."""
        started = started_at or datetime(2026, 3, 2, 8, 30, tzinfo=UTC)
        record = {
            "type": "call",
            "id": call_id,
            "direction": direction,
            "caller": caller,
            "callee": callee,
            "started_at": started.isoformat(),
            "duration_seconds": duration_seconds,
            "disposition": disposition,
        }
        record.update(optional)
        return record

    @staticmethod
    def chat(
        chat_id: str,
        visitor: dict[str, Any],
        lines: list[tuple[str, str]],
        *,
        started_at: datetime | None = None,
        seconds_apart: int = 30,
    ) -> dict[str, Any]:
        """A chat transcript: `lines` are (from, text) pairs, `seconds_apart` apart."""
        started = started_at or datetime(2026, 3, 2, 8, 40, tzinfo=UTC)
        messages = [
            {
                "id": f"m{i + 1}",
                "from": sender,
                "text": text,
                "at": (started + timedelta(seconds=seconds_apart * i)).isoformat(),
            }
            for i, (sender, text) in enumerate(lines)
        ]
        return {
            "type": "chat",
            "id": chat_id,
            "visitor": visitor,
            "started_at": started.isoformat(),
            "ended_at": (started + timedelta(seconds=seconds_apart * len(lines))).isoformat(),
            "messages": messages,
        }

    # -- the chat system's reply endpoint ------------------------------------------------------

    def fail(self, status: int, *, times: int = 1) -> None:
        self.faults.append([status, times])

    def app(self) -> Starlette:
        return Starlette(routes=[Route("/replies", self._reply, methods=["POST"])])

    async def _reply(self, request: Request) -> Response:
        body = await request.body()
        headers = {k.lower(): v for k, v in request.headers.items()}
        self.requests.append({"headers": headers, "body": body})
        stamp = headers.get(TIMESTAMP_HEADER.lower(), "")
        given = headers.get(SIGNATURE_HEADER.lower(), "")
        if (
            not stamp.isdigit()
            or abs(time.time() - int(stamp)) > 300
            or given != signature(self.secret, stamp, body)
        ):
            return JSONResponse({"error": {"message": "bad signature"}}, status_code=401)
        payload = json.loads(body)
        with self._lock:
            for fault in self.faults:
                if fault[1] > 0:
                    fault[1] -= 1
                    return JSONResponse({"error": {"message": "fault"}}, status_code=fault[0])
            for earlier in self.replies:
                if earlier["idempotency_key"] == payload["idempotency_key"]:
                    return JSONResponse({"id": earlier["id"]})
            stored = {**payload, "id": f"r{next(self._ids)}"}
            self.replies.append(stored)
        return JSONResponse({"id": stored["id"]}, status_code=201)
