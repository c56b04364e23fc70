"""The ASGI application: ``create_app(settings)``; nothing happens at import time."""

from __future__ import annotations

import asyncio
import hashlib
import logging
import os
import re
import signal
import threading
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager, contextmanager
from pathlib import Path
from typing import Any

from litestar import Litestar, Router
from litestar.datastructures import CacheControlHeader
from litestar.openapi import OpenAPIConfig
from litestar.openapi.spec import Components, SecurityScheme
from litestar.plugins.jinja import JinjaTemplateEngine
from litestar.static_files import create_static_files_router
from litestar.template.config import TemplateConfig

from openrespond import __version__, logs, workers
from openrespond.apilog.recorder import ApiLog
from openrespond.apilog.routes import ROUTES as API_LOG_ROUTES
from openrespond.channels.routes import ROUTES as CUSTOM_CHANNEL_ROUTES
from openrespond.contacts.routes import DIRECT_POSTS as CONTACT_POSTS
from openrespond.contacts.routes import DIRECT_ROUTES
from openrespond.contacts.routes import ROUTES as CONTACT_ROUTES
from openrespond.control.routes import ROUTES as CONTROL_ROUTES
from openrespond.conversations.routes import ROUTES as CONVERSATION_ROUTES
from openrespond.custom_fields.routes import ROUTES as FIELD_ROUTES
from openrespond.db import Database, open_database
from openrespond.db.migrations import migrate
from openrespond.http import server
from openrespond.http.auth import Authenticator
from openrespond.http.context import control_access
from openrespond.http.direct import DirectRoutes
from openrespond.http.docs import ROUTES as DOCS_ROUTES
from openrespond.http.docs import swagger_plugin
from openrespond.http.errors import exception_handlers
from openrespond.http.health import ROUTES as HEALTH_ROUTES
from openrespond.http.middleware import ApiMiddleware
from openrespond.http.openapi import RefinedJsonPlugin
from openrespond.http.ratelimit import Limiter, PostgresLimiter, RateLimiter, RedisLimiter
from openrespond.http.requestlog import RequestLogMiddleware
from openrespond.messages.attachments import MediaDirectory
from openrespond.messages.routes import DIRECT_POSTS as MESSAGE_POSTS
from openrespond.messages.routes import ROUTES as MESSAGE_ROUTES
from openrespond.sandbox.routes import ROUTES as SANDBOX_ROUTES
from openrespond.sealing import Sealer
from openrespond.settings import Settings
from openrespond.space.routes import ROUTES as SPACE_ROUTES
from openrespond.space.workspaces import load_secret, record_server_networks
from openrespond.tags.routes import ROUTES as TAG_ROUTES
from openrespond.web import render
from openrespond.web.live import LiveHub
from openrespond.web.routes import ROUTER as WEB_ROUTER
from openrespond.webhooks.routes import ROUTES as WEBHOOK_ROUTES

__all__ = ["PROCESSES_ENV", "SUPERVISOR_ENV", "app_from_env", "create_app"]

log = logging.getLogger("openrespond")

V2_ROUTES = [
    *CONTACT_ROUTES,
    *MESSAGE_ROUTES,
    *CONVERSATION_ROUTES,
    *TAG_ROUTES,
    *FIELD_ROUTES,
    *SPACE_ROUTES,
]


def create_app(
    settings: Settings,
    *,
    db: Database | None = None,
    supervisor: int | None = None,
    processes: int = 1,
) -> Litestar:
    """Build the app; the database is opened and migrated at startup, closed at shutdown.
    With ``supervisor`` (the pid of the process that started this one), the process stops
    itself, as on SIGTERM, when that process is gone (it was killed with ``kill -9``).
    ``processes`` is how many server processes share the database."""
    # SQLite's group commit holds the writer until the event loop's next turn: worth it when
    # this process is the database's one writer, not when others (``--no-worker``'s worker
    # process, ``--workers N``) wait for it with SQLite's sleeping busy handler.
    alone = settings.worker and processes == 1
    database = db if db is not None else open_database(settings, group_commit=alone)

    @asynccontextmanager
    async def lifespan(app: Litestar) -> AsyncIterator[None]:
        await database.connect()
        try:
            applied = await migrate(database)
            if applied:
                log.info(
                    "applied migrations: %s",
                    ", ".join(f"{m.version:04d}_{m.name}" for m in applied),
                )
            secret = await load_secret(database, settings)
            await record_server_networks(database, settings)
            app.state.secret = secret
            app.state.auth = Authenticator(
                database, secret=secret, admin_token=settings.admin_token
            )
            app.state.sealer = Sealer(secret)
            app.state.media = MediaDirectory(settings.media_dir) if settings.media_dir else None
            app.state.limiter.bind(
                hashlib.sha256(b"rate-limits:" + secret.encode()).hexdigest()[:16]
            )
            app.state.live = LiveHub(database)
            await app.state.live.start()
            await app.state.api_log.start()
            orphan_watch = (
                asyncio.create_task(_stop_when_orphaned(supervisor))
                if supervisor is not None
                else None
            )
            try:
                async with _workers(app, database, settings):
                    yield
            finally:
                if orphan_watch is not None:
                    orphan_watch.cancel()
                await app.state.api_log.close()
                await app.state.live.close()
        finally:
            await app.state.limiter.close()
            await database.close()

    openapi = OpenAPIConfig(
        title="openrespond",
        version=__version__,
        description=(
            "A self-hostable server for the respond.io Developer API v2 (base path /v2), "
            "plus the control API (/control) for what respond.io keeps in its web app. "
            "Text in requests (JSON strings, path and query) must not contain NUL characters "
            "(\\u0000, %00): such a request is answered 400 naming the field."
        ),
        path="/",
        render_plugins=[swagger_plugin(), RefinedJsonPlugin(path="/openapi.json")],
        components=Components(
            security_schemes={
                "bearer": SecurityScheme(type="http", scheme="bearer", bearer_format="JWT"),
                "channelToken": SecurityScheme(
                    type="http",
                    scheme="bearer",
                    description="The token of the custom channel the events come from",
                ),
            }
        ),
        security=[{"bearer": []}],
        use_handler_docstrings=False,
    )
    app = Litestar(
        route_handlers=[
            Router(path="/v2", route_handlers=V2_ROUTES),
            # Every /control route passes one guard: the administrator, or the workspace's own
            # token under /control/workspaces/{wid}.
            Router(
                path="/",
                route_handlers=[
                    *CONTROL_ROUTES,
                    *SANDBOX_ROUTES,
                    *WEBHOOK_ROUTES,
                    *API_LOG_ROUTES,
                ],
                guards=[control_access],
            ),
            *CUSTOM_CHANNEL_ROUTES,
            *HEALTH_ROUTES,
            *DOCS_ROUTES,
            WEB_ROUTER,
            create_static_files_router(
                path="/app/static",
                directories=[WEB_FILES / "static"],
                cache_control=CacheControlHeader(max_age=300),
                include_in_schema=False,
            ),
        ],
        template_config=TemplateConfig(
            directory=WEB_FILES / "templates",
            engine=JinjaTemplateEngine,
            engine_callback=_jinja,
        ),
        middleware=[ApiMiddleware],  # type: ignore[list-item]
        exception_handlers=exception_handlers,  # type: ignore[arg-type]
        openapi_config=openapi,
        lifespan=[lifespan],
        request_max_body_size=settings.max_body_bytes,
        debug=False,
        logging_config=None,
    )
    # Around routing too, so requests no route serves are logged and counted.
    app.state.api_log = ApiLog(database, enabled=settings.api_log_days > 0)
    app.asgi_handler = RequestLogMiddleware(
        DirectRoutes(app.asgi_handler, DIRECT_ROUTES, [*CONTACT_POSTS, *MESSAGE_POSTS]),
        api_log=app.state.api_log,
        # uvicorn's guard keeps the body deadline; granian keeps none (docs/deployment.md)
        body_timeout=settings.body_timeout_seconds if settings.server == "granian" else None,
    )
    methods: dict[str, set[str]] = {}
    for route in app.routes:
        # scope["path_template"] spells parameters without their type: {identifier}
        template = re.sub(r"\{(\w+):\w+\}", r"{\1}", route.path)
        methods.setdefault(template, set()).update(route.methods)
    app.state.allowed_methods = {path: ", ".join(sorted(m)) for path, m in methods.items()}
    app.state.settings = settings
    app.state.db = database
    app.state.limiter = _limiter(settings, database)
    return app


WEB_FILES = Path(__file__).parent / "web"


def _jinja(engine: JinjaTemplateEngine) -> None:
    engine.engine.filters.update(render.FILTERS)
    engine.engine.autoescape = True
    # Block tags leave no blank lines and indentation behind: pages are a third smaller.
    engine.engine.trim_blocks = True
    engine.engine.lstrip_blocks = True


def app_from_env() -> Litestar:
    """The app configured from ``OPENRESPOND_*`` (each process of ``serve --workers N``, and
    granian's)."""
    settings = Settings.from_env()
    logs.configure(settings.log_format, settings.log_level)
    server.configure(server.Limits.from_settings(settings))
    parent = os.environ.get(SUPERVISOR_ENV, "")
    supervisor = int(parent) if parent.isdigit() and int(parent) != os.getpid() else None
    processes = os.environ.get(PROCESSES_ENV, "1")
    return create_app(
        settings, supervisor=supervisor, processes=int(processes) if processes.isdigit() else 1
    )


# Set by `serve` for the server processes it starts: its own pid, and how many there are.
SUPERVISOR_ENV = "OPENRESPOND_SUPERVISOR_PID"
PROCESSES_ENV = "OPENRESPOND_SERVER_PROCESSES"


async def _stop_when_orphaned(parent: int) -> None:
    """Stop this process, as SIGTERM does (requests in flight finish, the workers stop), once
    the process that started it is gone: a server process must not go on serving, and
    delivering, after its supervisor was killed with ``kill -9``."""
    pidfd = None
    if os.getppid() == parent:
        try:
            pidfd = os.pidfd_open(parent)  # Linux: readable once the process has exited
        except (AttributeError, OSError):
            pidfd = None
    if pidfd is not None:
        gone = asyncio.Event()
        loop = asyncio.get_running_loop()
        loop.add_reader(pidfd, gone.set)
        try:
            await gone.wait()
        finally:
            loop.remove_reader(pidfd)
            os.close(pidfd)
    else:
        while os.getppid() == parent:  # noqa: ASYNC110 (no event for it without a pidfd)
            await asyncio.sleep(0.5)
    log.warning("the supervising process %d is gone; stopping", parent)
    os.kill(os.getpid(), signal.SIGTERM)


def _limiter(settings: Settings, db: Database) -> Limiter:
    """Buckets in Redis when configured, else in PostgreSQL (shared by every process on the
    database), else in this process."""
    rate, burst = settings.rate_limit_per_second, settings.rate_limit_burst
    if rate > 0 and settings.redis_url:
        return RedisLimiter(rate, burst, settings.redis_url)
    if rate > 0 and db.dialect == "postgresql":
        return PostgresLimiter(rate, burst, db)
    return RateLimiter(rate, burst)


@asynccontextmanager
async def _workers(app: Litestar, db: Database, settings: Settings) -> AsyncIterator[None]:
    """The in-process workers, unless configuration turns them off."""
    app.state.workers = None
    if not settings.worker:
        with _stop_on_signals(app.state.live.close_threadsafe):
            yield
        return
    built = workers.build(db, settings, app.state.secret)
    async with workers.running(built, grace_seconds=settings.shutdown_grace_seconds) as stopping:
        app.state.workers = built
        with _stop_on_signals(stopping.begin_threadsafe, app.state.live.close_threadsafe):
            yield


@contextmanager
def _stop_on_signals(*actions: Callable[[], None]) -> Iterator[None]:
    """Let SIGTERM and SIGINT run ``actions`` at once (start the workers' stop, end the live
    streams), while the server is still finishing its requests, so that the whole shutdown
    fits in one grace period. The server's own handlers still run (first installed,
    restored by the server at exit)."""
    if threading.current_thread() is not threading.main_thread():
        yield  # signals reach only the main thread (a server run in a thread, as in tests)
        return
    previous: dict[signal.Signals, Any] = {}
    for sig in (signal.SIGTERM, signal.SIGINT):
        prior = signal.getsignal(sig)
        if not callable(prior):
            continue

        def handler(signum: int, frame: Any, prior: Any = prior) -> None:
            for action in actions:
                action()
            prior(signum, frame)

        previous[sig] = prior
        signal.signal(sig, handler)
    try:
        yield
    finally:
        for sig, prior in previous.items():
            if signal.getsignal(sig) is not prior:
                signal.signal(sig, prior)
