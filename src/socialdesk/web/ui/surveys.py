"""The survey answer page: `/s/{token}`, the link in a CSAT/NPS question, open to anyone with it.

There is no session to carry a CSRF token, so the page relies on what only the customer has:
the link's token (256 random bits; the desk stores only its SHA-256) and a form nonce the page
hands out, signed with the desk's secret over that token's hash and valid for a day, so an answer
can only be posted from a page the desk rendered for that very link. Showing the page never
answers anything (link previewers open links); the scale is a form of buttons that POSTs.
Addresses that open many links that do not exist are slowed down to a stop (in this process's
memory, like sign-in failures). Errors are pages for a customer, not the workspace's.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from itsdangerous import BadSignature, URLSafeTimedSerializer
from limits import RateLimitItemPerMinute
from limits.storage import MemoryStorage
from limits.strategies import MovingWindowRateLimiter
from starlette.responses import HTMLResponse, RedirectResponse, Response

from socialdesk.domain.errors import DomainError, NotFound
from socialdesk.domain.surveys import SurveyKind, SurveyState
from socialdesk.services.surveys import SurveyPage, answer_by_link, survey_page
from socialdesk.web.deps import DeskDep
from socialdesk.web.errors import status_of
from socialdesk.web.ui.pages import render

router = APIRouter(include_in_schema=False)

TOKEN = re.compile(r"^[A-Za-z0-9_-]{20,100}$")
NONCE_MAX_AGE = 24 * 3600
MISSES = RateLimitItemPerMinute(30, 15)  # 30 unknown links per 15 minutes from one address
HEADERS = {"cache-control": "no-store", "x-robots-tag": "noindex, nofollow"}
QUESTIONS = {
    SurveyKind.CSAT: ("How satisfied are you with the help you got?", "not at all", "very"),
    SurveyKind.NPS: ("How likely are you to recommend us to a friend?", "not at all", "extremely"),
}


class SurveyPages:
    """The nonce signer and the throttle of unknown links, one per app."""

    def __init__(self, secret: str) -> None:
        self.signer = URLSafeTimedSerializer(secret, salt="socialdesk-survey-form")
        self.limiter = MovingWindowRateLimiter(MemoryStorage())

    def nonce(self, token_hash: str) -> str:
        return self.signer.dumps(token_hash)

    def nonce_fits(self, nonce: str, token_hash: str) -> bool:
        try:
            return bool(self.signer.loads(nonce, max_age=NONCE_MAX_AGE) == token_hash)
        except BadSignature:
            return False

    def may_try(self, address: str) -> bool:
        return self.limiter.test(MISSES, "survey", address)

    def missed(self, address: str) -> None:
        self.limiter.hit(MISSES, "survey", address)


@dataclass(frozen=True, slots=True)
class _Shown:
    request: Request
    pages: SurveyPages
    token: str


def _pages(request: Request) -> SurveyPages:
    found: SurveyPages = request.app.state.survey_pages
    return found


def _address(request: Request) -> str:
    return request.client.host if request.client else "unknown"


def _page(
    shown: _Shown, page: SurveyPage | None, status: int = 200, message: str | None = None
) -> HTMLResponse:
    context: dict[str, Any] = {
        "me": None,
        "csrf": "",
        "unread": 0,
        "page": page,
        "message": message,
        "token": shown.token,
        "nonce": "",
        "question": None,
    }
    if page is not None:
        low, high = page.kind.scale
        text, low_label, high_label = QUESTIONS[page.kind]
        context.update(
            nonce=shown.pages.nonce(page.token_hash),
            question=text,
            scale=range(low, high + 1),
            labels=(f"{low}: {low_label}", f"{high}: {high_label}"),
            answered=page.state is SurveyState.ANSWERED,
            expired=page.state is SurveyState.EXPIRED,
        )
    response = render("ui/survey.html", context, status)
    response.headers.update(HEADERS)
    return response


def _refused(shown: _Shown, error: DomainError) -> HTMLResponse:
    if isinstance(error, NotFound):
        shown.pages.missed(_address(shown.request))
    return _page(shown, None, status_of(error), error.message)


def _checked(request: Request, token: str) -> _Shown | HTMLResponse:
    shown = _Shown(request, _pages(request), token)
    if not shown.pages.may_try(_address(request)):
        return _page(shown, None, 429, "Too many links that do not exist; try again later.")
    if not TOKEN.match(token):
        return _refused(shown, NotFound("this survey link is not valid"))
    return shown


@router.get("/s/{token}")
def show(token: str, request: Request, desk: DeskDep) -> HTMLResponse:
    shown = _checked(request, token)
    if isinstance(shown, HTMLResponse):
        return shown
    try:
        page = survey_page(desk.analytics_uow, token, desk.clock.now())
    except DomainError as exc:
        return _refused(shown, exc)
    return _page(shown, page)


@router.post("/s/{token}")
async def answer(token: str, request: Request, desk: DeskDep) -> Response:
    shown = _checked(request, token)
    if isinstance(shown, HTMLResponse):
        return shown
    form = await request.form()
    score, nonce = form.get("score"), form.get("nonce")
    try:
        page = await run_in_threadpool(survey_page, desk.analytics_uow, token, desk.clock.now())
    except DomainError as exc:
        return _refused(shown, exc)
    if not isinstance(nonce, str) or not shown.pages.nonce_fits(nonce, page.token_hash):
        return _page(shown, page, 403, "This form has expired; choose your answer again.")
    if not isinstance(score, str) or not score.strip().isdigit():
        return _page(shown, page, 422, "Choose one of the numbers.")
    try:
        await run_in_threadpool(
            answer_by_link, desk.analytics_uow, token, int(score), desk.clock.now()
        )
    except DomainError as exc:
        return _page(shown, page, status_of(exc), exc.message)
    return RedirectResponse(f"/s/{token}", status_code=303, headers=HEADERS)
