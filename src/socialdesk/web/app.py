"""create_app: the FastAPI application for a desk (routers, error handlers, middleware, worker)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from socialdesk import __version__
from socialdesk.bootstrap import Desk, bootstrap
from socialdesk.config import Settings
from socialdesk.heap import settle_after_start
from socialdesk.logs import configure_logging
from socialdesk.queries.operations import DeskState, desk_state
from socialdesk.web import errors, ui, webhooks
from socialdesk.web.api import (
    admin,
    analytics,
    audit,
    conversations,
    customers,
    health,
    listening,
    messages,
    operations,
    playbooks,
    reviews,
    surveys,
)
from socialdesk.web.desk_metrics import DeskStateCollector
from socialdesk.web.middleware import BodyLimitMiddleware, Metrics, RequestContextMiddleware
from socialdesk.web.throttle import ApiThrottle
from socialdesk.worker import start_thread

DESCRIPTION = """
The socialdesk REST API. Authenticate with `Authorization: Bearer <token>`
(create one with `socialdesk token create --user NAME`). Errors are RFC 9457 problem details.
"""


def create_app(desk: Desk, *, run_worker: bool | None = None) -> FastAPI:
    """The app for `desk`; the background worker runs inside it unless told otherwise."""
    with_worker = desk.settings.embedded_worker if run_worker is None else run_worker

    changes = desk.change_feed()

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        worker = start_thread(desk) if with_worker else None
        listener = asyncio.create_task(changes.run(), name="change-feed")
        try:
            yield
        finally:
            listener.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await listener
            if worker is not None:
                thread, stop = worker
                stop.set()
                desk.notify_work()
                thread.join(timeout=10)

    app = FastAPI(
        title="socialdesk",
        version=__version__,
        description=DESCRIPTION,
        lifespan=lifespan,
        docs_url=None,
        redoc_url=None,
    )
    metrics = Metrics()
    metrics.registry.register(DeskStateCollector(lambda: _desk_state(desk)))
    app.state.desk = desk
    app.state.metrics = metrics
    app.state.changes = changes
    app.state.throttle = ApiThrottle(
        desk.settings.api_requests_per_minute, desk.settings.api_auth_failures_per_minute
    )
    errors.install(app)
    app.include_router(messages.router)
    app.include_router(analytics.router)
    app.include_router(conversations.router)
    app.include_router(customers.router)
    app.include_router(admin.router)
    app.include_router(audit.router)
    app.include_router(playbooks.router)
    app.include_router(listening.router)
    app.include_router(reviews.router)
    app.include_router(surveys.router)
    app.include_router(operations.router)
    app.include_router(health.router)
    app.include_router(webhooks.router)
    ui.install(app, desk)
    app.add_middleware(BodyLimitMiddleware, max_bytes=desk.settings.max_body_bytes)
    app.add_middleware(RequestContextMiddleware, metrics=metrics)
    return app


def _desk_state(desk: Desk) -> DeskState:
    with desk.engine.connect() as conn:
        return desk_state(conn)


def app_from_environment() -> FastAPI:
    """The app for the desk the environment configures: what each of several web processes
    builds for itself (`socialdesk serve --workers N`); the schema was migrated by the parent."""
    settings = Settings()
    configure_logging(settings.log_level)
    desk = bootstrap(settings, migrate=False)
    application = create_app(desk)
    settle_after_start(desk, triages=settings.embedded_worker)
    return application
