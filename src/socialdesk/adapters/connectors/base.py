"""What every connector shares: settings with credentials, HTTP calls that turn platform failures
into `SendError`s, signature checks in constant time, and polite refusals for missing features.

A connector subclasses `BaseConnector`, declares its name, platforms, settings and features, and
overrides the methods of the features it has. Platform API hosts can be pointed elsewhere with the
channel setting `api_base` (a proxy, or a local fake platform in tests).
"""

from __future__ import annotations

import email.utils
import hmac
import json
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any, ClassVar

import httpx2

from socialdesk.domain.channels import Channel
from socialdesk.domain.connectors import (
    Delivery,
    OutboundReply,
    PayloadInvalid,
    SendError,
    SendResult,
    WebhookRequest,
    WebhookResponse,
)
from socialdesk.domain.errors import InvalidInput, NotFound
from socialdesk.domain.platforms import PlatformCapabilities
from socialdesk.domain.text import text_problem
from socialdesk.services.ports import SecretBox

TIMEOUT = httpx2.Timeout(20.0, connect=5.0)
MAX_ERROR_TEXT = 500
# Platforms nest a delivery a dozen levels at most (X: a quote inside a retweet, with entities).
MAX_PAYLOAD_DEPTH = 64


class BaseConnector:
    name: ClassVar[str]
    platforms: ClassVar[tuple[PlatformCapabilities, ...]]
    settings: ClassVar[dict[str, str]]
    features: ClassVar[frozenset[str]]
    default_api_base: ClassVar[str] = ""
    default_poll_seconds: ClassVar[int | None] = None

    def __init__(self, secrets: SecretBox, client: httpx2.Client | None = None) -> None:
        self.secrets = secrets
        self.http = client or httpx2.Client(timeout=TIMEOUT, follow_redirects=False)

    # -- settings --------------------------------------------------------------------------

    def setting(self, channel: Channel, name: str, default: str | None = None) -> str:
        """A channel setting, opened when it is a credential; InvalidInput naming the setting and
        how to set it when it is missing."""
        value = channel.settings.get(name)
        if value is None or value == "":
            if default is not None:
                return default
            raise InvalidInput(
                f"channel {channel.id} ({channel.name}) has no setting {name!r}: "
                f"{self.settings.get(name, 'required')}. Set it with "
                f"`socialdesk channel set {channel.id} --setting {name}=…`",
                field=name,
            )
        return self.secrets.open(name, str(value))

    def api_base(self, channel: Channel) -> str:
        return self.setting(channel, "api_base", self.default_api_base).rstrip("/")

    # -- features a connector may not have -------------------------------------------------

    def handshake(self, channel: Channel, request: WebhookRequest) -> WebhookResponse:
        raise NotFound(f"the {self.name} connector takes no webhooks")

    def verify(self, channel: Channel, request: WebhookRequest) -> None:
        raise NotFound(f"the {self.name} connector takes no webhooks")

    def parse(self, channel: Channel, request: WebhookRequest) -> Delivery:
        raise NotFound(f"the {self.name} connector takes no webhooks")

    def poll(self, channel: Channel, cursor: dict[str, Any]) -> tuple[Delivery, dict[str, Any]]:
        raise InvalidInput(f"the {self.name} connector does not poll")

    def send(self, channel: Channel, reply: OutboundReply) -> SendResult:
        raise SendError(f"{self.name} channels cannot send replies", retryable=False)

    def find_sent(self, channel: Channel, reply: OutboundReply) -> SendResult | None:
        return None

    def close(self) -> None:
        self.http.close()

    # -- HTTP -----------------------------------------------------------------------------

    def call(
        self,
        method: str,
        url: str,
        *,
        what: str,
        headers: Mapping[str, str] | None = None,
        params: Mapping[str, Any] | None = None,
        json: Any = None,
        data: Mapping[str, Any] | None = None,
        content: bytes | None = None,
    ) -> Any:
        """One platform API call; its JSON body, or SendError saying what failed and whether to
        try again. `what` names the call for the agent ("posting the reply on X"). `content`
        sends exact bytes (a body that was signed must not be serialised again)."""
        try:
            response = self.http.request(
                method, url, headers=headers, params=params, json=json, data=data, content=content
            )
        except httpx2.ConnectError as exc:
            raise SendError(f"{what}: cannot connect ({exc})", retryable=True) from exc
        except httpx2.TimeoutException as exc:
            # The request may have been taken before the answer was lost.
            raise SendError(
                f"{what}: no answer in time", retryable=True, maybe_posted=True
            ) from exc
        except httpx2.HTTPError as exc:
            raise SendError(f"{what}: {exc}", retryable=True, maybe_posted=True) from exc
        if response.status_code >= 400:
            raise self.error_for(response, what)
        if not response.content:
            return None
        try:
            return response.json()
        except ValueError as exc:
            raise SendError(
                f"{what}: the platform answered {response.status_code} with a body that is not JSON",
                retryable=True,
                maybe_posted=True,
                status=response.status_code,
            ) from exc

    def error_for(self, response: httpx2.Response, what: str) -> SendError:
        """429 and 5xx are retried (after the platform's reset time when it gives one); other
        statuses are refusals with the platform's own words."""
        status = response.status_code
        detail = platform_error_text(response)
        seconds, at = retry_hint(response.headers)
        if status == 429:
            return SendError(
                f"{what}: rate limited by the platform ({detail})",
                retryable=True,
                retry_after=seconds,
                retry_at=at or rate_limit_reset(response.headers),
                status=status,
                code="rate_limited",
            )
        if status >= 500:
            return SendError(
                f"{what}: the platform failed with {status} ({detail})",
                retryable=True,
                maybe_posted=True,
                retry_after=seconds,
                retry_at=at,
                status=status,
            )
        return SendError(f"{what}: refused with {status}: {detail}", retryable=False, status=status)


def platform_error_text(response: httpx2.Response) -> str:
    """The platform's own explanation, from the usual places in its error body."""
    try:
        body = response.json()
    except ValueError:
        return response.text[:MAX_ERROR_TEXT] or response.reason_phrase
    if isinstance(body, dict):
        error = body.get("error")
        if isinstance(error, dict) and error.get("message"):
            return str(error["message"])[:MAX_ERROR_TEXT]
        for key in ("detail", "title", "message"):
            if body.get(key):
                return str(body[key])[:MAX_ERROR_TEXT]
        errors = body.get("errors")
        if isinstance(errors, list) and errors and isinstance(errors[0], dict):
            first = errors[0]
            return str(first.get("message") or first.get("detail") or first)[:MAX_ERROR_TEXT]
    return str(body)[:MAX_ERROR_TEXT]


def retry_hint(headers: Mapping[str, str]) -> tuple[float | None, datetime | None]:
    """`Retry-After` as seconds to wait or as the time to wait for (it may be an HTTP date)."""
    value = (headers.get("retry-after") or "").strip()
    if not value:
        return None, None
    if value.isdigit():
        return float(value), None
    try:
        return None, email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None, None


def rate_limit_reset(headers: Mapping[str, str]) -> datetime | None:
    """When X's rate-limit window resets (`x-rate-limit-reset`, epoch seconds)."""
    reset = (headers.get("x-rate-limit-reset") or "").strip()
    try:
        return from_epoch(reset) if reset.isdigit() else None
    except ValueError:  # a reset centuries away is no hint
        return None


def load_json(body: bytes) -> Any:
    """A delivery's JSON, or PayloadInvalid saying why it cannot be read (bad syntax, bad UTF-8,
    nesting too deep for the parser)."""
    try:
        return json.loads(body)
    except RecursionError as exc:
        raise PayloadInvalid("the body is not JSON we can read: it is nested too deeply") from exc
    except (ValueError, UnicodeDecodeError) as exc:
        raise PayloadInvalid(f"the body is not JSON: {exc}") from exc


def load_json_object(body: bytes) -> dict[str, Any]:
    """A delivery's JSON object, every string in it storable (see `check_tree`)."""
    payload = load_json(body)
    if not isinstance(payload, dict):
        raise PayloadInvalid("the body must be a JSON object")
    check_tree(payload, "body", MAX_PAYLOAD_DEPTH)
    return payload


def same_secret(given: str | None, expected: str) -> bool:
    """Compare a signature or token without leaking where it differs."""
    if not given:
        return False
    return hmac.compare_digest(given.encode("utf-8"), expected.encode("utf-8"))


def check_tree(value: Any, where: str, max_depth: int, depth: int = 0) -> None:
    """PayloadInvalid naming the place (`records[2].notes`) of text the database cannot hold (NUL,
    which PostgreSQL refuses even inside JSONB; lone surrogates, which UTF-8 cannot encode) or of
    nesting deeper than `max_depth`, anywhere in a decoded delivery: what is stored verbatim as
    the raw event must never fail at commit, after the delivery was accepted."""
    if depth > max_depth:
        raise PayloadInvalid(f"{where} is nested deeper than {max_depth} levels", field=where)
    if isinstance(value, str):
        problem = text_problem(value)
        if problem is not None:
            raise PayloadInvalid(f"{where} {problem}", field=where)
    elif isinstance(value, dict):
        for key, item in value.items():
            if text_problem(key) is not None:
                raise PayloadInvalid(f"{where} has a key that is not valid text", field=where)
            check_tree(item, f"{where}.{key}", max_depth, depth + 1)
    elif isinstance(value, list):
        for index, item in enumerate(value):
            check_tree(item, f"{where}[{index}]", max_depth, depth + 1)


def from_epoch_ms(value: Any) -> datetime:
    return from_epoch(value, ms=True)


def from_epoch(value: Any, *, ms: bool = False) -> datetime:
    """Epoch seconds (or milliseconds) as aware UTC. ValueError for what is no whole number or lies
    outside years 1-9999, so callers that already turn ValueError into their own error also cover
    absurd values (`1e30`, `Infinity`) that would otherwise escape as OverflowError or OSError."""
    try:
        number = int(value)
        return datetime.fromtimestamp(number / 1000 if ms else number, tz=UTC)
    except (OverflowError, OSError) as exc:
        raise ValueError(f"{value!r} is out of range for a time") from exc


def as_utc(when: datetime) -> datetime:
    """The time in UTC; a time without an offset is taken as UTC (platforms write UTC). ValueError
    when the shift leaves years 1-9999 (`0001-01-01T00:00+01:00`), which would be an
    OverflowError."""
    if when.tzinfo is None:
        return when.replace(tzinfo=UTC)
    try:
        return when.astimezone(UTC)
    except OverflowError as exc:
        raise ValueError(f"{when.isoformat()} is out of range for a time") from exc
