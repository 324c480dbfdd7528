"""Shared connector helpers: platform waits from headers, platform error texts, discovery."""

from __future__ import annotations

from datetime import UTC, datetime

import httpx2
from cryptography.fernet import Fernet

from socialdesk.adapters.connectors import InstalledConnectors, factories
from socialdesk.adapters.connectors.base import (
    platform_error_text,
    rate_limit_reset,
    retry_hint,
    same_secret,
)
from socialdesk.adapters.secrets import FernetSecretBox


def test_retry_after_in_seconds_or_as_a_date() -> None:
    assert retry_hint({"retry-after": "120"}) == (120.0, None)
    assert retry_hint({"retry-after": "Wed, 21 Oct 2026 07:28:00 GMT"}) == (
        None,
        datetime(2026, 10, 21, 7, 28, tzinfo=UTC),
    )
    assert retry_hint({"retry-after": "soon"}) == (None, None)
    assert retry_hint({}) == (None, None)


def test_x_rate_limit_reset_is_epoch_seconds() -> None:
    assert rate_limit_reset({"x-rate-limit-reset": "1741080600"}) == datetime(
        2025, 3, 4, 9, 30, tzinfo=UTC
    )
    assert rate_limit_reset({"x-rate-limit-reset": "later"}) is None


def test_platform_error_text_reads_the_usual_shapes() -> None:
    def text(body: object) -> str:
        return platform_error_text(httpx2.Response(400, json=body))

    assert text({"error": {"message": "(#4) Application request limit reached", "code": 4}}) == (
        "(#4) Application request limit reached"
    )
    assert (
        text({"title": "Too Many Requests", "detail": "Too Many Requests"}) == "Too Many Requests"
    )
    assert (
        text({"errors": [{"code": 88, "message": "Rate limit exceeded"}]}) == "Rate limit exceeded"
    )
    assert platform_error_text(httpx2.Response(502, text="Bad gateway")) == "Bad gateway"


def test_same_secret() -> None:
    assert same_secret("sha256=abc", "sha256=abc")
    assert not same_secret("sha256=abd", "sha256=abc")
    assert not same_secret(None, "sha256=abc")
    assert not same_secret("", "")


def test_every_connector_package_is_found_and_serves_distinct_platforms() -> None:
    assert "x" in factories()
    installed = InstalledConnectors.discover(FernetSecretBox(Fernet.generate_key()))
    platforms = [p.platform for c in installed.all() for p in c.platforms]
    assert len(platforms) == len(set(platforms))
    x = installed.for_platform("x")
    assert x is not None
    assert installed.capabilities("x").max_length == 280
    assert installed.capabilities("unknown-platform").label == "Unknown-Platform"
    for connector in installed.all():
        assert connector.settings, f"{connector.name} declares no settings"
        connector.close()
