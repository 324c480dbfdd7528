"""Background jobs: for now, waking snoozed conversations whose time has come.

With SQLite the web process runs this loop in a thread (one process does it all); with PostgreSQL
any number of `socialdesk worker` processes may run it, since each job claims its rows with
FOR UPDATE SKIP LOCKED.
"""

from __future__ import annotations

import threading

import structlog

from socialdesk.bootstrap import Desk
from socialdesk.services.conversations import wake_due_snoozes

log = structlog.get_logger("socialdesk.worker")


def run_once(desk: Desk) -> dict[str, int]:
    """One pass over every job; returns what each did."""
    return {"woken": wake_due_snoozes(desk.uow(), desk.clock.now())}


def run_forever(desk: Desk, stop: threading.Event) -> None:
    while not stop.is_set():
        try:
            done = run_once(desk)
            if any(done.values()):
                log.info("worker_pass", **done)
        except Exception:
            log.exception("worker_pass_failed")
        stop.wait(desk.settings.worker_interval_seconds)


def start_thread(desk: Desk) -> tuple[threading.Thread, threading.Event]:
    stop = threading.Event()
    thread = threading.Thread(
        target=run_forever, args=(desk, stop), name="socialdesk-worker", daemon=True
    )
    thread.start()
    return thread, stop
