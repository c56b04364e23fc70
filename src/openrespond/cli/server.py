"""Running openrespond: the HTTP server, workers, migrations, the demo, and `doctor`."""

from __future__ import annotations

import asyncio
import errno
import json
import os
import secrets
import shutil
import sys
import tempfile
from dataclasses import replace
from typing import Annotated, Any

import typer

from openrespond import logs, signals
from openrespond.cli.tools import AsJson, console, err
from openrespond.cli.tools import load_settings as _settings
from openrespond.cli.tools import run as _run
from openrespond.db import Database, Scope
from openrespond.db.migrations import applied_versions, available
from openrespond.settings import SERVERS, Settings

__all__ = ["demo", "doctor", "migrate_cmd", "serve", "worker"]


def serve(
    demo: Annotated[
        bool, typer.Option("--demo", help="Create (once) and use the demo workspace")
    ] = False,
    host: Annotated[str | None, typer.Option(help="Bind address (OPENRESPOND_HOST)")] = None,
    port: Annotated[int | None, typer.Option(help="Port (OPENRESPOND_PORT)")] = None,
    no_worker: Annotated[
        bool,
        typer.Option(
            "--no-worker", help="Do not deliver messages in this process (OPENRESPOND_WORKER=0)"
        ),
    ] = False,
    workers: Annotated[
        int,
        typer.Option(
            "--workers",
            min=1,
            max=256,
            help="Server processes sharing the port (each with its delivery worker unless"
            " --no-worker); use PostgreSQL for more than one",
        ),
    ] = 1,
    http_server: Annotated[
        str | None,
        typer.Option(
            "--server",
            help="HTTP server: uvicorn or granian (OPENRESPOND_SERVER; see docs/deployment.md)",
        ),
    ] = None,
) -> None:
    """Run the HTTP server (migrations are applied first) with its delivery worker."""
    # Several processes count into files of one directory, summed by whichever answers
    # /metrics. Set before the application is imported: granian forks its processes from
    # this one, and the metrics library picks its storage when it is first imported.
    private_metrics = None
    if workers > 1:
        if not os.environ.get("OPENRESPOND_METRICS_DIR"):
            private_metrics = tempfile.mkdtemp(prefix="openrespond-metrics-")
            os.environ["OPENRESPOND_METRICS_DIR"] = private_metrics
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = os.environ["OPENRESPOND_METRICS_DIR"]
    try:
        _serve(demo, host, port, no_worker, workers, http_server)
    finally:
        if private_metrics is not None:
            shutil.rmtree(private_metrics, ignore_errors=True)


def _serve(
    demo: bool,
    host: str | None,
    port: int | None,
    no_worker: bool,
    workers: int,
    http_server: str | None,
) -> None:
    import uvicorn

    from openrespond.accounts.service import link_url
    from openrespond.app import PROCESSES_ENV, SUPERVISOR_ENV, create_app
    from openrespond.demo import demo_sign_in, ensure_demo
    from openrespond.http import server
    from openrespond.space.workspaces import load_secret

    settings = _settings()
    if http_server is not None and http_server not in SERVERS:
        err.print(f"[red]error:[/red] --server must be one of {', '.join(SERVERS)}")
        raise typer.Exit(2)
    settings = replace(
        settings,
        host=host or settings.host,
        port=port or settings.port,
        worker=settings.worker and not no_worker,
        server=http_server or settings.server,
    )
    generated_admin = None
    if settings.admin_token is None:
        if not demo:
            err.print(
                "[red]configuration error:[/red] OPENRESPOND_ADMIN_TOKEN (16+ characters) is required"
                " outside --demo; it guards the control API"
            )
            raise typer.Exit(2)
        generated_admin = secrets.token_urlsafe(24)
        settings = replace(settings, admin_token=generated_admin)

    if workers == 1 and (problem := _port_problem(settings.host, settings.port)):
        err.print(f"[red]error:[/red] cannot listen on {settings.host}:{settings.port}: {problem}")
        raise typer.Exit(1)

    async def prepare(db: Database, s: Settings) -> tuple[str, str] | None:
        if not demo:
            return None
        wid, token = await ensure_demo(db, s, await load_secret(db, s))
        async with db.transaction() as tx:
            return token, await demo_sign_in(Scope(tx, wid))

    prepared = _run(prepare, settings, create=True)
    token, sign_in = prepared if prepared else (None, None)
    shown_host = "127.0.0.1" if settings.host in ("0.0.0.0", "::") else settings.host
    base = settings.public_url or f"http://{shown_host}:{settings.port}"
    console.print(f"[bold]openrespond[/bold] on {base}")
    console.print(f"  base URL   {base}/v2")
    if token:
        console.print(f"  API token  {token}")
    if sign_in:
        console.print(
            f"  inbox      {link_url(base, sign_in)}  (one-time sign-in as the demo owner)"
        )
    else:
        console.print(f"  inbox      {base}/app/")
    if generated_admin:
        console.print(
            f"  admin token (this run only; set OPENRESPOND_ADMIN_TOKEN to fix it)  {generated_admin}"
        )
    console.print(f"  docs       {base}/docs   OpenAPI {base}/openapi.json")
    if settings.server != "uvicorn":
        console.print(f"  server     {settings.server}")
    if workers > 1:
        console.print(f"  processes  {workers}")
        if settings.dialect == "sqlite":
            err.print(
                "[yellow]note:[/yellow] with SQLite, the processes take turns writing and keep"
                " rate limits each for itself (set OPENRESPOND_REDIS_URL to share them);"
                " PostgreSQL is the database for several processes"
            )
    sys.stdout.flush()
    options: dict[str, Any] = {
        "host": settings.host,
        "port": settings.port,
        "log_level": "warning",
        "access_log": False,
        "server_header": False,
        "proxy_headers": False,
        # Requests in flight get this long to finish; the workers stop meanwhile.
        "timeout_graceful_shutdown": settings.shutdown_grace_seconds,
        # JSON for the answers the HTTP server gives itself, deadlines, a connection cap.
        **server.uvicorn_options(settings),
    }
    if workers == 1 and settings.server == "uvicorn":
        logs.configure(settings.log_format, settings.log_level)
        uvicorn.run(create_app(settings), **options)
        return
    # Each process builds its app from the environment: hand it what this command decided.
    os.environ.update(
        {
            "OPENRESPOND_DATABASE_URL": settings.database_url,
            "OPENRESPOND_ADMIN_TOKEN": settings.admin_token or "",
            "OPENRESPOND_WORKER": "1" if settings.worker else "0",
            "OPENRESPOND_LOG_FORMAT": settings.log_format,
            "OPENRESPOND_LOG_LEVEL": settings.log_level,
            "OPENRESPOND_SERVER": settings.server,
            # The processes stop themselves if this one is killed (kill -9).
            SUPERVISOR_ENV: str(os.getpid()),
            PROCESSES_ENV: str(workers),
        }
    )
    if settings.server == "granian":
        _serve_granian(settings, workers)
    else:
        uvicorn.run("openrespond.app:app_from_env", factory=True, workers=workers, **options)


def _serve_granian(settings: Settings, workers: int) -> None:
    """granian in front of ``app_from_env`` (one process of its own per worker, beside a
    supervising process): HTTP/1.1 with keep-alive, the head deadline, requests in progress
    capped at OPENRESPOND_MAX_CONNECTIONS per process, and workers killed when they have not
    stopped a few seconds past the grace period. What it answers itself: docs/deployment.md."""
    from granian.constants import HTTPModes, Interfaces
    from granian.http import HTTP1Settings
    from granian.log import LogLevels
    from granian.server import Server

    from openrespond.http.server import MAX_HEAD

    Server(
        "openrespond.app:app_from_env",
        address=settings.host,
        port=settings.port,
        interface=Interfaces.ASGI,
        workers=workers,
        http=HTTPModes.http1,
        websockets=False,
        backpressure=settings.max_connections,
        http1_settings=HTTP1Settings(
            header_read_timeout=max(1, int(settings.header_timeout_seconds * 1000)),
            keep_alive=True,
            max_buffer_size=MAX_HEAD,
        ),
        log_enabled=True,
        log_level=LogLevels.warning,
        log_access=False,
        workers_kill_timeout=settings.shutdown_grace_seconds + 5,
        factory=True,
    ).serve()


def _port_problem(host: str, port: int) -> str | None:
    """Why ``host:port`` cannot be listened on (taken, not an address of this machine), or
    None: checked before anything is printed or started."""
    import socket

    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except OSError as exc:
        return f"{host} is not an address to listen on ({exc.strerror or exc})"
    family, kind, proto, _, address = infos[0]
    with socket.socket(family, kind, proto) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(address)
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                return "the port is in use by another program (choose another with --port)"
            return exc.strerror or str(exc)
    return None


def worker(
    batch: Annotated[int, typer.Option(min=1, max=10_000, help="Jobs claimed at a time")] = 256,
    once: Annotated[bool, typer.Option("--once", help="Deliver what is due, then exit")] = False,
    metrics_port: Annotated[
        int | None,
        typer.Option(
            min=1,
            max=65535,
            help="Serve this worker's Prometheus metrics on this port (no token: keep it on a"
            " private address)",
        ),
    ] = None,
    metrics_host: Annotated[str, typer.Option(help="Address for --metrics-port")] = "127.0.0.1",
) -> None:
    """Deliver outgoing messages and post webhooks; run any number beside `serve` on the same
    database."""
    import signal

    from openrespond import workers
    from openrespond.space.workspaces import load_secret

    async def work(db: Database, s: Settings) -> tuple[int, int]:
        w = workers.build(db, s, await load_secret(db, s), batch=batch)
        if once:
            return await w.run_once()
        logs.configure(s.log_format, s.log_level)
        stop = signals.Flag()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        if metrics_port is not None:
            from openrespond.metrics import serve_http

            serve_http(metrics_port, metrics_host)
            err.print(f"metrics on http://{metrics_host}:{metrics_port}/metrics")
        async with workers.running(w, grace_seconds=s.shutdown_grace_seconds):
            err.print(f"worker {w.delivery.name} delivering (Ctrl-C to stop)")
            await stop.wait()
        return 0, 0

    # A worker may start before `serve` on a new database: it sets the database up too.
    messages, hooks = _run(work, create=True)
    if once:
        console.print(f"delivered {messages} job(s), posted {hooks} webhook delivery(ies)")


def doctor(as_json: AsJson = False) -> None:
    """Check the configuration, the database and its schema, Redis, the queues, and that every
    webhook and channel endpoint can be reached under the SSRF rules; exit 1 on any failure."""
    from rich.table import Table

    from openrespond.doctor import diagnose

    checks = asyncio.run(diagnose())
    failed = [c for c in checks if c.level == "fail"]
    warned = [c for c in checks if c.level == "warn"]
    if as_json:
        print(
            json.dumps(
                [{"check": c.name, "level": c.level, "detail": c.detail} for c in checks], indent=2
            )
        )
    else:
        colour = {"ok": "green", "warn": "yellow", "fail": "red"}
        table = Table("", "check", "detail", show_lines=False)
        for c in checks:
            table.add_row(f"[{colour[c.level]}]{c.level}[/]", c.name, c.detail)
        console.print(table)
        if failed:
            console.print(f"[red]{len(failed)} problem(s)[/red], {len(warned)} warning(s)")
        else:
            console.print(f"[green]no problems[/green], {len(warned)} warning(s)")
    if failed:
        raise typer.Exit(1)


def migrate_cmd() -> None:
    """Apply pending schema migrations."""

    async def work(db: Database, _: Settings) -> set[int]:
        return await applied_versions(db)

    done = _run(work, create=True)
    latest = max(m.version for m in available())
    console.print(f"schema at version {max(done)} of {latest} ({len(done)} migrations applied)")


def demo() -> None:
    """Create the demo workspace if missing and print its id and token."""
    from openrespond.demo import ensure_demo
    from openrespond.space.workspaces import load_secret

    async def work(db: Database, s: Settings) -> tuple[int, str]:
        return await ensure_demo(db, s, await load_secret(db, s))

    wid, token = _run(work, create=True)
    console.print(f"demo workspace {wid}")
    print(token)
