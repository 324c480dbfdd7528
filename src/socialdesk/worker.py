"""Background jobs: triage of new messages, the live playbook on them, SLA due times and their
warnings, priorities that grow while customers wait, snoozed conversations whose time has come,
replies and escalations to send, channels to poll, and spikes to alert about (listening queries
are matched inside the triage job, before the playbook sees a message).

With SQLite the web process runs this loop in a thread (one process does it all); with PostgreSQL
any number of `socialdesk worker` processes may run it, since each job claims its rows with
FOR UPDATE SKIP LOCKED. Intake wakes the loop at once (`Desk.notify_work`); otherwise it ticks
every `worker_interval_seconds`.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

import structlog

from socialdesk.bootstrap import Desk
from socialdesk.services.conversations import wake_due_snoozes
from socialdesk.services.delivery import deliver_due
from socialdesk.services.listening import listen
from socialdesk.services.notifications import deliver_notifications
from socialdesk.services.playbooks import BATCH as PLAYBOOK_BATCH
from socialdesk.services.playbooks import escalate_sla, run_pending
from socialdesk.services.polling import poll_due
from socialdesk.services.reporting import BATCH as REPORTING_BATCH
from socialdesk.services.reporting import project
from socialdesk.services.sla import sweep as sla_sweep
from socialdesk.services.spikes import detect_spikes
from socialdesk.services.surveys import BATCH as SURVEY_BATCH
from socialdesk.services.surveys import ask_after_close
from socialdesk.services.triage import BATCH, rescore_waiting, triage_pending

log = structlog.get_logger("socialdesk.worker")


def _triage(desk: Desk) -> int:
    triaged = 0
    while True:
        done = triage_pending(
            desk.analytics_uow,
            desk.classifier(),
            now=desk.clock.now(),
            policy=desk.triage_policy,
            then=listen,
        )
        triaged += done
        if done < BATCH:
            return triaged


def _playbook(desk: Desk) -> int:
    done = 0
    while True:
        report = run_pending(desk.uow, desk.playbook_runtime(), now=desk.clock.now())
        done += report.messages
        if report.messages < PLAYBOOK_BATCH:
            return done


def _sla(desk: Desk) -> int:
    runtime = desk.playbook_runtime()
    return sla_sweep(
        desk.uow,
        desk.holidays,
        targets=desk.policy.targets,
        now=desk.clock.now(),
        on_change=lambda unit, conversation, state, now: escalate_sla(
            unit, runtime, conversation, state, now
        ),
    ).refreshed


def catch_up_reporting(desk: Desk) -> int:
    """Run the reporting job until it has read everything new; returns the rows read."""
    read = 0
    while True:
        done = project(
            desk.analytics_uow, desk.holidays, targets=desk.policy.targets, now=desk.clock.now()
        )
        read += done
        if done < REPORTING_BATCH:
            return read


def _surveys(desk: Desk) -> int:
    runtime = desk.playbook_runtime()
    sent = 0
    while True:
        report = ask_after_close(desk.analytics_uow, runtime, now=desk.clock.now())
        sent += report.sent
        if report.read < SURVEY_BATCH:
            return sent


JOBS: dict[str, Callable[[Desk], int]] = {
    "triaged": _triage,
    "playbook": lambda desk: (
        run_pending(desk.uow, desk.playbook_runtime(), now=desk.clock.now()).messages
    ),
    "sla": lambda desk: _sla(desk),
    "rescored": lambda desk: rescore_waiting(
        desk.uow, now=desk.clock.now(), policy=desk.triage_policy
    ),
    "woken": lambda desk: wake_due_snoozes(desk.uow(), desk.clock.now()),
    "surveyed": _surveys,
    "delivered": lambda desk: deliver_due(desk.uow, desk.connectors, now=desk.clock.now()).total,
    "notified": lambda desk: (
        deliver_notifications(desk.uow, desk.notifier, now=desk.clock.now()).sent
    ),
    "reported": catch_up_reporting,
    "spikes": lambda desk: len(
        detect_spikes(desk.analytics_uow, now=desk.clock.now(), policy=desk.spike_policy()).opened
    ),
    "polled": lambda desk: (
        poll_due(desk.uow, desk.connectors, now=desk.clock.now(), policy=desk.policy).messages
    ),
}


def run_once(desk: Desk, spent: dict[str, float] | None = None) -> dict[str, int]:
    """One pass over every job; returns what each did, and puts the milliseconds each took in
    `spent` when given. A failing job is logged and the others still run (triage drains what is
    waiting)."""
    done = {}
    for name, job in JOBS.items():
        began = time.perf_counter()
        try:
            done[name] = job(desk)
        except Exception:
            log.exception("worker_job_failed", job=name)
            done[name] = 0
        if spent is not None:
            spent[name] = round((time.perf_counter() - began) * 1000, 1)
    return done


def run_forever(desk: Desk, stop: threading.Event) -> None:
    """Passes until stopped; a pass that did something is logged with what each job did and,
    for the jobs that took 10 ms or more, how long (`ms`): on SQLite the loop shares the web
    process and its write lock, so a slow job shows in the requests' times."""
    while not stop.is_set():
        desk.work_signal.clear()
        spent: dict[str, float] = {}
        done = run_once(desk, spent)
        if any(done.values()):
            log.info("worker_pass", **done, ms={k: v for k, v in spent.items() if v >= 10})
        desk.work_signal.wait(desk.settings.worker_interval_seconds)


def start_thread(desk: Desk) -> tuple[threading.Thread, threading.Event]:
    """Run the loop in a daemon thread; set the returned event (and the work signal) to stop."""
    stop = threading.Event()
    thread = threading.Thread(
        target=run_forever, args=(desk, stop), name="socialdesk-worker", daemon=True
    )
    thread.start()
    return thread, stop
