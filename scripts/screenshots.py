"""Take the README's screenshots: the demo desk in headless Chromium at 1366x768 (and the inbox
at phone width), written to docs/screenshots/. Run with `make screenshots`; needs Debian's
chromium (the tests' browser) and the dev dependencies.

The demo is loaded into a throwaway SQLite file and worked by the desk's own worker (triage,
playbook, SLA) before the pictures are taken, so they show what `make demo` shows.
"""

from __future__ import annotations

import secrets
import shutil
import sys
import tempfile
import time
from pathlib import Path

from playwright.sync_api import Browser, Page, sync_playwright
from tests.support.server import live_server

from socialdesk.bootstrap import bootstrap
from socialdesk.config import Settings
from socialdesk.services import agents
from socialdesk.services.demo import load_demo, set_up_rules
from socialdesk.web.app import create_app
from socialdesk.worker import run_once

OUT = Path(__file__).resolve().parent.parent / "docs" / "screenshots"


def inbox(browser: Browser, url: str, password: str, *, width: int, height: int) -> Page:
    """A new window of this size, signed in as the demo agent sam, on the inbox."""
    page = browser.new_page(base_url=url, viewport={"width": width, "height": height})
    page.goto("/login")
    page.fill("#username", "sam")
    page.fill("#password", password)
    page.click("button[type=submit]")
    page.wait_for_selector(".rows .row")
    return page


def main() -> None:
    chromium = shutil.which("chromium")
    if chromium is None:
        sys.exit("Debian's chromium is needed: apt-get install chromium")
    with tempfile.TemporaryDirectory() as folder:
        settings = Settings(
            database_url=f"sqlite:///{folder}/demo.db",
            secret_key_file=Path(folder) / "secret.key",
            embedded_worker=False,
            _env_file=None,
        )
        desk = bootstrap(settings)
        now = desk.clock.now()
        load_demo(desk.uow, desk.hasher, desk.secrets, desk.policy, now)
        set_up_rules(desk.uow, desk.parse_playbook, desk.holidays, now)
        password = secrets.token_urlsafe(16)
        agents.set_password(
            desk.uow(), desk.hasher, "sam", password, actor_id=None, now=desk.clock.now()
        )
        started = time.monotonic()
        while any(run_once(desk).values()) and time.monotonic() - started < 300:
            pass
        OUT.mkdir(parents=True, exist_ok=True)
        with live_server(create_app(desk, run_worker=False)) as url, sync_playwright() as p:
            browser = p.chromium.launch(executable_path=chromium, headless=True)
            page = inbox(browser, url, password, width=1366, height=768)
            page.wait_for_selector("#counts .count")
            page.screenshot(path=OUT / "inbox.png")
            page.click(".rows .row >> nth=0")
            page.wait_for_selector(".msg")
            page.screenshot(path=OUT / "conversation.png")
            inbox(browser, url, password, width=390, height=844).screenshot(
                path=OUT / "inbox-phone.png"
            )
            browser.close()
        desk.close()
    print(f"screenshots written to {OUT}")


if __name__ == "__main__":
    main()
