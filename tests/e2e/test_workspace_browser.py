"""The workspace in a real browser: Debian's headless Chromium driven by Playwright, against the
app on 127.0.0.1 with its worker running and a fake X API on 127.0.0.1, on SQLite and
PostgreSQL. What an agent does all day: sign in, watch a post arrive live, reply, close; and what
must never happen: post text running as script, an agent reaching supervisor pages."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
from playwright.sync_api import Browser, Dialog, Error, Page, expect

from socialdesk.adapters.connectors.x.fake import FakeX
from socialdesk.bootstrap import Desk
from socialdesk.services.channels import create_channel
from socialdesk.services.intake import ingest
from tests import factories as f
from tests.e2e.conftest import PASSWORD, Web, serve_workspace
from tests.fakes import FakeClassifier
from tests.support.server import live_server

SECRET = "x-consumer-secret"
CUSTOMER = "2200000000000000001"
WAIT_MS = 15_000


class Desktop:
    """The served workspace, the fake X behind it and the X channel."""

    def __init__(self, web: Web, fake: FakeX, channel_id: int) -> None:
        self.web, self.fake, self.channel_id = web, fake, channel_id

    def deliver(self, text: str) -> None:
        """X's Account Activity webhook posts a mention of the brand, signed."""
        body, headers = self.fake.signed(self.fake.activity_tweet(CUSTOMER, text), SECRET)
        with self.web.client() as client:
            response = client.post(f"/webhooks/x/{self.channel_id}", content=body, headers=headers)
        assert response.status_code == 200, response.text


@pytest.fixture
def desktop(desk: Desk) -> Iterator[Desktop]:
    desk.classifier_override = FakeClassifier()
    fake = FakeX()
    fake.add_user(CUSTOMER, "danaq", followers=312)
    with live_server(fake.app()) as api_base, serve_workspace(desk, run_worker=True) as web:
        channel = create_channel(
            desk.uow(),
            desk.secrets,
            None,
            "x",
            "@AcmeSupport",
            {
                "user_id": fake.user_id,
                "consumer_secret": SECRET,
                "access_token": fake.access_token,
                "api_base": api_base,
            },
            desk.clock.now(),
        )
        assert channel.id is not None
        yield Desktop(web, fake, channel.id)


@pytest.fixture
def page(chromium: Browser, desktop: Desktop) -> Iterator[Page]:
    context = chromium.new_context(
        base_url=desktop.web.url, viewport={"width": 1366, "height": 768}
    )
    page = context.new_page()
    dialogs: list[str] = []

    def dialog_opened(dialog: Dialog) -> None:
        dialogs.append(dialog.message)
        dialog.dismiss()

    def script_failed(error: Error) -> None:
        dialogs.append(f"page error: {error}")

    page.on("dialog", dialog_opened)
    page.on("pageerror", script_failed)
    yield page
    context.close()
    assert dialogs == [], f"the page opened dialogs or failed: {dialogs}"


def sign_in(page: Page, username: str, password: str = PASSWORD) -> None:
    page.goto("/")
    expect(page).to_have_url(re.compile(r"/login"))
    page.fill("#username", username)
    page.fill("#password", password)
    page.click("button[type=submit]")


def test_signing_in_with_a_wrong_password_says_so_and_the_right_one_opens_the_inbox(
    page: Page,
) -> None:
    sign_in(page, "agent", "not the password")
    expect(page.get_by_role("alert")).to_contain_text("username or the password is wrong")
    page.fill("#password", PASSWORD)
    page.click("button[type=submit]")
    expect(page.locator("#rows")).to_be_visible()
    expect(page.locator("header.top")).to_contain_text("The agent")
    cookies = {c["name"]: c for c in page.context.cookies()}
    assert cookies["sd_session"]["httpOnly"] is True
    assert cookies["sd_session"]["sameSite"] == "Lax"
    page.click("#logout")
    expect(page.locator("#username")).to_be_visible()
    page.goto("/")
    expect(page).to_have_url(re.compile(r"/login"))


def test_a_post_delivered_to_the_x_webhook_appears_live_then_is_answered_and_closed(
    page: Page, desktop: Desktop
) -> None:
    sign_in(page, "agent")
    expect(page.locator("#rows")).to_contain_text("Nothing here")
    desktop.deliver("@AcmeSupport my parcel is lost, help please")

    row = page.locator(".rows .row", has_text="my parcel is lost")
    expect(row).to_be_visible(timeout=WAIT_MS)  # no reload: the event stream brought it
    expect(row).to_contain_text("@danaq")
    expect(page.locator("#counts")).to_contain_text("All open", timeout=WAIT_MS)

    page.keyboard.press("j")
    expect(row).to_have_class("row selected")
    page.keyboard.press("Enter")
    expect(page.locator(".msg.inbound")).to_contain_text("my parcel is lost")
    page.keyboard.press("a")
    expect(page.locator("#assignee")).to_have_text("The agent")

    page.keyboard.press("r")
    page.keyboard.type("Sorry about your parcel! We are on it.")
    expect(page.locator("#reply-counter")).to_have_text("38 / 280")
    page.click("#send-button")
    expect(page.locator(".flash.ok")).to_contain_text("Reply queued")
    expect(page.locator(".delivery")).to_contain_text("Sent", timeout=WAIT_MS)
    (tweet,) = desktop.fake.posted()
    assert tweet["text"] == "Sorry about your parcel! We are on it."
    assert tweet["referenced_tweets"][0]["type"] == "replied_to"

    page.fill("input[name=reason]", "answered")
    page.keyboard.press("Escape")
    page.keyboard.press("e")
    expect(page.locator("#status")).to_contain_text("closed (answered)")
    expect(page.locator("#reopen-button")).to_be_visible()


@pytest.mark.parametrize(
    "text",
    [
        '<img src=x onerror="window.__xss = 1; alert(1)">',
        "<script>window.__xss = 1; alert(1)</script>",
        '<a href="javascript:window.__xss=1">click</a> javascript:alert(1)',
    ],
)
def test_post_text_with_markup_shows_as_text_and_runs_nothing(
    page: Page, desktop: Desktop, text: str
) -> None:
    desk = desktop.web.desk
    ingest(
        desk.uow,
        [f.inbound(desktop.channel_id, "evil-1", text, author="mallory")],
        now=desk.clock.now(),
        policy=desk.policy,
        source="test",
    )
    sign_in(page, "agent")
    row = page.locator(".rows .row", has_text="@mallory")
    expect(row.locator(".preview")).to_have_text(text)
    row.click()
    message = page.locator(".msg.inbound .text")
    expect(message).to_have_text(text)
    assert message.locator("img, script, a[href^=javascript]").count() == 0
    assert page.evaluate("window.__xss") is None
    row_links: Any = page.locator("a[href^='javascript']").count()
    assert row_links == 0


def test_an_agent_cannot_open_supervisor_pages(page: Page) -> None:
    sign_in(page, "agent")
    expect(page.locator("#rows")).to_be_visible()
    expect(page.locator("nav")).not_to_contain_text("Playbook")
    for path in ("/supervisor", "/supervisor/playbook", "/supervisor/users"):
        response = page.goto(path)
        assert response is not None
        assert response.status == 403, path
        expect(page.locator(".flash.error")).to_contain_text("supervisors")
