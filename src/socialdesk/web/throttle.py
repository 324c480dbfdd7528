"""Rate limits of API token use: a budget of requests per token, and a budget of failed token
checks per client address, so a leaked token cannot flood the desk and guessing tokens stops
early. Over a limit the answer is 429 with Retry-After.

Moving windows in this process's memory (the `limits` library), like the sign-in throttle: with
several web processes each counts its own, so the desk-wide budget is the setting times the
processes (docs/operations.md). Tokens are keyed by their hash, never by the token itself.
"""

from __future__ import annotations

import time

from limits import RateLimitItem, RateLimitItemPerMinute
from limits.storage import MemoryStorage
from limits.strategies import MovingWindowRateLimiter

from socialdesk.domain.errors import TooManyRequests


class ApiThrottle:
    def __init__(self, requests_per_minute: int, failures_per_minute: int) -> None:
        self.limiter = MovingWindowRateLimiter(MemoryStorage())
        self.per_token = RateLimitItemPerMinute(requests_per_minute)
        self.per_address = RateLimitItemPerMinute(failures_per_minute)

    def check_address(self, address: str) -> None:
        """Refuse an address that failed too often, before its token is even looked up."""
        if not self.limiter.test(self.per_address, "auth-failures", address):
            raise TooManyRequests(
                "too many requests with a wrong API token from this address; "
                "wait, then send a valid token",
                retry_after=self._wait(self.per_address, "auth-failures", address),
            )

    def failed(self, address: str) -> None:
        self.limiter.hit(self.per_address, "auth-failures", address)

    def use(self, token_hash: str) -> None:
        """Count one request of a valid token, or refuse it when its budget is spent."""
        if not self.limiter.hit(self.per_token, "token", token_hash):
            raise TooManyRequests(
                f"this API token made more than {self.per_token.amount} requests in a minute; "
                "slow down (send messages in batches: POST /api/v1/messages:batch)",
                retry_after=self._wait(self.per_token, "token", token_hash),
            )

    def _wait(self, item: RateLimitItem, *keys: str) -> int:
        reset = self.limiter.get_window_stats(item, *keys).reset_time
        return int(reset - time.time()) + 1
