"""Browser sessions: a signed, HttpOnly, SameSite=Lax cookie holding the agent's id, their session
epoch and a CSRF token; Secure whenever the page is served over HTTPS. Every request re-reads the
agent, so a deactivated user is out at once, and signing out (or a new password) raises the
epoch, so a copied cookie stops working too. Every state-changing request must echo the CSRF
token (a hidden form field, or the X-CSRF-Token header htmx sends).

Failed sign-ins are limited per username and per address (a moving window in this process's
memory; with several web processes each counts its own), and each failure is slowed down.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass

from itsdangerous import BadSignature, URLSafeTimedSerializer
from limits import RateLimitItemPerMinute
from limits.storage import MemoryStorage
from limits.strategies import MovingWindowRateLimiter
from starlette.requests import Request
from starlette.responses import Response

COOKIE = "sd_session"
MAX_AGE = 12 * 3600
LOGIN_COOKIE = "sd_login_csrf"
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "x-csrf-token"
PER_USER = RateLimitItemPerMinute(5, 15)  # 5 failures per 15 minutes for one username
PER_ADDRESS = RateLimitItemPerMinute(20, 15)  # 20 per 15 minutes from one address


@dataclass(frozen=True, slots=True)
class SessionData:
    agent_id: int
    epoch: int
    csrf: str


class Sessions:
    def __init__(self, secret: str) -> None:
        self.signer = URLSafeTimedSerializer(secret, salt="socialdesk-session")
        self.limiter = MovingWindowRateLimiter(MemoryStorage())

    def read(self, request: Request) -> SessionData | None:
        raw = request.cookies.get(COOKIE)
        if not raw:
            return None
        try:
            data = self.signer.loads(raw, max_age=MAX_AGE)
        except BadSignature:
            return None
        if not isinstance(data, dict) or not all(isinstance(data.get(k), int) for k in "ae"):
            return None
        return SessionData(agent_id=data["a"], epoch=data["e"], csrf=str(data.get("c", "")))

    def start(self, response: Response, request: Request, agent_id: int, epoch: int) -> None:
        token = self.signer.dumps({"a": agent_id, "e": epoch, "c": secrets.token_urlsafe(24)})
        response.set_cookie(
            COOKIE,
            token,
            max_age=MAX_AGE,
            httponly=True,
            samesite="lax",
            secure=request.url.scheme == "https",
            path="/",
        )

    @staticmethod
    def end(response: Response) -> None:
        response.delete_cookie(COOKIE, path="/")

    # -- sign-in throttling ------------------------------------------------------------------

    def may_try(self, username: str, address: str) -> bool:
        return self.limiter.test(PER_USER, "user", username.lower()) and self.limiter.test(
            PER_ADDRESS, "address", address
        )

    def failed(self, username: str, address: str) -> None:
        self.limiter.hit(PER_USER, "user", username.lower())
        self.limiter.hit(PER_ADDRESS, "address", address)


def login_csrf(request: Request) -> str:
    """The sign-in form has no session yet: its CSRF token is a cookie of its own (double
    submit), set when the form is shown."""
    return request.cookies.get(LOGIN_COOKIE) or secrets.token_urlsafe(24)
