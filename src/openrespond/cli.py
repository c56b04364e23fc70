"""The ``openrespond`` command line: run the server, migrate, and manage workspaces offline."""

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

import msgspec
import typer

from openrespond import logs
from openrespond.client.cli import api_app
from openrespond.clitools import AsJson, Workspace, console, err
from openrespond.clitools import load_settings as _settings
from openrespond.clitools import run as _run
from openrespond.clitools import show as _show
from openrespond.clitools import tx as _tx
from openrespond.contacts.cli import contacts_app
from openrespond.db import Database
from openrespond.db.migrations import applied_versions, available
from openrespond.settings import Settings
from openrespond.webhooks.cli import webhooks_app

__all__ = ["app", "main"]

app = typer.Typer(no_args_is_help=True, add_completion=False, help=__doc__)
workspace_app = typer.Typer(no_args_is_help=True, help="Workspaces (respond.io 'spaces').")
token_app = typer.Typer(no_args_is_help=True, help="API tokens of a workspace.")
user_app = typer.Typer(no_args_is_help=True, help="Users (members) of a workspace.")
lifecycle_app = typer.Typer(no_args_is_help=True, help="Lifecycle stages of a workspace.")
note_app = typer.Typer(no_args_is_help=True, help="Closing-note categories of a workspace.")
field_app = typer.Typer(no_args_is_help=True, help="Custom-field definitions of a workspace.")
tag_app = typer.Typer(no_args_is_help=True, help="Tags of a workspace.")
channel_app = typer.Typer(no_args_is_help=True, help="Channels of a workspace.")
template_app = typer.Typer(no_args_is_help=True, help="Message templates of a channel.")
sandbox_app = typer.Typer(
    no_args_is_help=True,
    help="Sandbox actions: simulate incoming messages and statuses, see what was sent, reset.",
)
for sub, name in (
    (workspace_app, "workspace"),
    (token_app, "token"),
    (user_app, "user"),
    (lifecycle_app, "lifecycle"),
    (note_app, "closing-note"),
    (field_app, "custom-field"),
    (tag_app, "tag"),
    (channel_app, "channel"),
    (template_app, "template"),
    (sandbox_app, "sandbox"),
    (webhooks_app, "webhooks"),
    (contacts_app, "contacts"),
    (api_app, "api"),
):
    app.add_typer(sub, name=name)

# -- server ---------------------------------------------------------------------------------


@app.command()
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
) -> None:
    """Run the HTTP server (migrations are applied first) with its delivery worker."""
    import uvicorn

    from openrespond.app import create_app
    from openrespond.demo import ensure_demo
    from openrespond.http import server
    from openrespond.space.service import load_secret

    settings = _settings()
    settings = replace(
        settings,
        host=host or settings.host,
        port=port or settings.port,
        worker=settings.worker and not no_worker,
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

    async def prepare(db: Database, s: Settings) -> str | None:
        if not demo:
            return None
        _, token = await ensure_demo(db, s, await load_secret(db, s))
        return token

    token = _run(prepare, settings, create=True)
    shown_host = "127.0.0.1" if settings.host in ("0.0.0.0", "::") else settings.host
    base = settings.public_url or f"http://{shown_host}:{settings.port}"
    console.print(f"[bold]openrespond[/bold] on {base}")
    console.print(f"  base URL   {base}/v2")
    if token:
        console.print(f"  API token  {token}")
    if generated_admin:
        console.print(
            f"  admin token (this run only; set OPENRESPOND_ADMIN_TOKEN to fix it)  {generated_admin}"
        )
    console.print(f"  docs       {base}/docs   OpenAPI {base}/openapi.json")
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
    if workers == 1:
        logs.configure(settings.log_format, settings.log_level)
        uvicorn.run(create_app(settings), **options)
        return
    # The processes count into files of one directory, summed by whichever answers /metrics.
    private_metrics = None
    if not os.environ.get("OPENRESPOND_METRICS_DIR"):
        private_metrics = tempfile.mkdtemp(prefix="openrespond-metrics-")
        os.environ["OPENRESPOND_METRICS_DIR"] = private_metrics
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = os.environ["OPENRESPOND_METRICS_DIR"]
    # Each process builds its app from the environment: hand it what this command decided.
    os.environ.update(
        {
            "OPENRESPOND_DATABASE_URL": settings.database_url,
            "OPENRESPOND_ADMIN_TOKEN": settings.admin_token or "",
            "OPENRESPOND_WORKER": "1" if settings.worker else "0",
            "OPENRESPOND_LOG_FORMAT": settings.log_format,
            "OPENRESPOND_LOG_LEVEL": settings.log_level,
        }
    )
    try:
        uvicorn.run("openrespond.app:app_from_env", factory=True, workers=workers, **options)
    finally:
        if private_metrics is not None:
            shutil.rmtree(private_metrics, ignore_errors=True)


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


@app.command()
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
    from openrespond.space.service import load_secret

    async def work(db: Database, s: Settings) -> tuple[int, int]:
        w = workers.build(db, s, await load_secret(db, s), batch=batch)
        if once:
            return await w.run_once()
        logs.configure(s.log_format, s.log_level)
        stop = asyncio.Event()
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


@app.command()
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


@app.command("migrate")
def migrate_cmd() -> None:
    """Apply pending schema migrations."""

    async def work(db: Database, _: Settings) -> set[int]:
        return await applied_versions(db)

    done = _run(work, create=True)
    latest = max(m.version for m in available())
    console.print(f"schema at version {max(done)} of {latest} ({len(done)} migrations applied)")


@app.command()
def demo() -> None:
    """Create the demo workspace if missing and print its id and token."""
    from openrespond.demo import ensure_demo
    from openrespond.space.service import load_secret

    async def work(db: Database, s: Settings) -> tuple[int, str]:
        return await ensure_demo(db, s, await load_secret(db, s))

    wid, token = _run(work, create=True)
    console.print(f"demo workspace {wid}")
    print(token)


# -- workspaces and tokens ------------------------------------------------------------------


@workspace_app.command("create")
def workspace_create(name: str, as_json: AsJson = False) -> None:
    """Create a workspace."""
    from openrespond.control import service
    from openrespond.space import service as space

    async def work(db: Database, _: Settings) -> Any:
        async with db.transaction() as tx:
            wid = await space.create_workspace(tx, name=name)
            return await service.get_workspace(tx, wid)

    _show([_run(work, create=True)], as_json)


@workspace_app.command("list")
def workspace_list(as_json: AsJson = False) -> None:
    """List workspaces."""
    from openrespond.control import service

    _show(_run(lambda db, _: service.workspaces(db.reader())), as_json)


@workspace_app.command("delete")
def workspace_delete(workspace_id: int) -> None:
    """Delete a workspace and everything in it."""
    from openrespond.control import service

    async def work(db: Database, _: Settings) -> None:
        async with db.transaction() as tx:
            await service.delete_workspace(tx, workspace_id)

    _run(work)
    console.print(f"deleted workspace {workspace_id}")


@token_app.command("issue")
def token_issue(workspace: Workspace, name: str = "api") -> None:
    """Issue a token and print it (it is shown only this once)."""
    from openrespond.space import service as space

    async def work(db: Database, s: Settings) -> tuple[int, str]:
        secret = await space.load_secret(db, s)
        async with db.transaction() as tx:
            return await space.issue_token(tx, workspace, name=name, secret=secret)

    token_id, token = _run(work)
    err.print(f"token {token_id} for workspace {workspace} (shown once):")
    print(token)


@token_app.command("list")
def token_list(workspace: Workspace, as_json: AsJson = False) -> None:
    """List tokens (ids and names; never the tokens)."""
    from openrespond.control import service

    _show(_run(lambda db, _: service.tokens(db.reader(), workspace)), as_json)


@token_app.command("revoke")
def token_revoke(workspace: Workspace, token_id: int) -> None:
    """Revoke a token."""
    from openrespond.space import service as space

    async def work(db: Database, _: Settings) -> None:
        async with db.transaction() as tx:
            await space.revoke_token(tx, workspace, token_id)

    _run(work)
    console.print(f"revoked token {token_id}")


# -- catalogue ----------------------------------------------------------------------------------


@user_app.command("add")
def user_add(
    workspace: Workspace,
    email: Annotated[str, typer.Option()],
    first_name: Annotated[str, typer.Option()],
    last_name: Annotated[str | None, typer.Option()] = None,
    role: Annotated[str, typer.Option(help="agent, manager or owner")] = "agent",
    team: Annotated[str | None, typer.Option()] = None,
    as_json: AsJson = False,
) -> None:
    """Add a user."""
    from openrespond.space import service as space

    user = _tx(
        space.create_user,
        workspace,
        first_name=first_name,
        last_name=last_name,
        email=email,
        role=role,
        team=team,
    )
    _show([user], as_json, ["id", "firstName", "lastName", "email", "role"])


@user_app.command("list")
def user_list(workspace: Workspace, as_json: AsJson = False) -> None:
    """List users."""
    from openrespond.space import repository as repo
    from openrespond.space import service as space

    async def work(db: Database, _: Settings) -> list[Any]:
        await space.require_workspace(db.reader(), workspace)
        return [space.user_from_row(r) for r in await repo.all_users(db.reader(), workspace)]

    _show(_run(work), as_json, ["id", "firstName", "lastName", "email", "role"])


@user_app.command("remove")
def user_remove(workspace: Workspace, user_id: int) -> None:
    """Remove a user (their contacts become unassigned)."""
    from openrespond.space import service as space

    _tx(space.delete_user, workspace, user_id)
    console.print(f"removed user {user_id}")


@lifecycle_app.command("add")
def lifecycle_add(workspace: Workspace, name: str) -> None:
    """Append a lifecycle stage."""
    from openrespond.space import service as space

    _tx(space.add_lifecycle_stage, workspace, name)
    console.print(f"added lifecycle stage {name!r}")


@lifecycle_app.command("list")
def lifecycle_list(workspace: Workspace, as_json: AsJson = False) -> None:
    """List lifecycle stages in order."""
    from openrespond.control import service

    _show(_run(lambda db, _: service.lifecycle_stages(db.reader(), workspace)), as_json)


@lifecycle_app.command("remove")
def lifecycle_remove(workspace: Workspace, name: str) -> None:
    """Remove a lifecycle stage."""
    from openrespond.space import service as space

    _tx(space.remove_lifecycle_stage, workspace, name)
    console.print(f"removed lifecycle stage {name!r}")


@note_app.command("add")
def note_add(workspace: Workspace, category: str, description: str = "") -> None:
    """Add a closing-note category."""
    from openrespond.space import service as space

    _tx(space.add_closing_note, workspace, category=category, description=description)
    console.print(f"added closing-note category {category!r}")


@note_app.command("list")
def note_list(workspace: Workspace, as_json: AsJson = False) -> None:
    """List closing-note categories."""
    from openrespond.space import repository as repo
    from openrespond.space import service as space

    async def work(db: Database, _: Settings) -> list[Any]:
        await space.require_workspace(db.reader(), workspace)
        return [
            space.closing_note_from_row(r)
            for r in await repo.all_closing_notes(db.reader(), workspace)
        ]

    _show(_run(work), as_json)


@note_app.command("remove")
def note_remove(workspace: Workspace, category: str) -> None:
    """Remove a closing-note category."""
    from openrespond.space import service as space

    _tx(space.remove_closing_note, workspace, category)
    console.print(f"removed closing-note category {category!r}")


@field_app.command("add")
def field_add(
    workspace: Workspace,
    name: str,
    data_type: Annotated[
        str, typer.Option("--type", help="text, list, checkbox, email, number, url, date or time")
    ],
    option: Annotated[
        list[str] | None, typer.Option("--option", help="Allowed value of a list field (repeat)")
    ] = None,
    slug: str | None = None,
    description: str | None = None,
    as_json: AsJson = False,
) -> None:
    """Define a custom field."""
    from openrespond.custom_fields import service as fields
    from openrespond.custom_fields.schemas import CustomFieldCreate
    from openrespond.space import service as space

    try:
        body = msgspec.convert(
            {
                "name": name,
                "dataType": data_type,
                "allowedValues": option or None,
                "slug": slug,
                "description": description,
            },
            CustomFieldCreate,
        )
    except msgspec.ValidationError as exc:
        err.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(1) from None

    async def create(tx: Any, ws: int) -> Any:
        await space.require_workspace(tx, ws)
        return await fields.create_field(tx, ws, body)

    _show([_tx(create, workspace)], as_json, ["id", "name", "slug", "dataType", "allowedValues"])


@field_app.command("list")
def field_list(workspace: Workspace, as_json: AsJson = False) -> None:
    """List custom fields."""
    from openrespond.custom_fields import repository as repo
    from openrespond.custom_fields import service as fields

    async def work(db: Database, _: Settings) -> list[Any]:
        return [fields.field_from_row(r) for r in await repo.all_fields(db.reader(), workspace)]

    _show(_run(work), as_json, ["id", "name", "slug", "dataType", "allowedValues"])


@field_app.command("remove")
def field_remove(workspace: Workspace, field_id: int) -> None:
    """Delete a custom field and its values."""
    from openrespond.control import service

    _tx(service.delete_custom_field, workspace, field_id)
    console.print(f"removed custom field {field_id}")


@tag_app.command("add")
def tag_add(
    workspace: Workspace,
    name: str,
    description: str | None = None,
    color_code: Annotated[str | None, typer.Option("--color")] = None,
    emoji: str | None = None,
    as_json: AsJson = False,
) -> None:
    """Create a tag."""
    from openrespond.space import service as space
    from openrespond.tags import service as tags
    from openrespond.tags.schemas import TagCreate

    async def create(tx: Any, ws: int) -> Any:
        await space.require_workspace(tx, ws)
        return await tags.create_tag(
            tx,
            ws,
            TagCreate(name=name, description=description, color_code=color_code, emoji=emoji),
        )

    _show([_tx(create, workspace)], as_json)


@tag_app.command("list")
def tag_list(workspace: Workspace, as_json: AsJson = False) -> None:
    """List tags."""
    from openrespond.tags import repository as repo
    from openrespond.tags import service as tags

    async def work(db: Database, _: Settings) -> list[Any]:
        return [tags.tag_from_row(r) for r in await repo.all_tags(db.reader(), workspace)]

    _show(_run(work), as_json)


@tag_app.command("remove")
def tag_remove(workspace: Workspace, name: str) -> None:
    """Delete a tag (and take it off every contact)."""
    from openrespond.control import service

    _tx(service.delete_tag_by_name, workspace, name)
    console.print(f"removed tag {name!r}")


def _settings_json(raw: str | None) -> dict[str, Any] | None:
    if raw is None:
        return None
    try:
        settings = json.loads(raw)
    except ValueError:
        settings = None
    if not isinstance(settings, dict):
        err.print("[red]error:[/red] --settings must be a JSON object")
        raise typer.Exit(2)
    return settings


SettingsJson = Annotated[
    str | None, typer.Option("--settings", help="Delivery settings of the driver, as JSON")
]


@channel_app.command("add")
def channel_add(
    workspace: Workspace,
    name: str,
    source: Annotated[
        str, typer.Option(help="respond.io source, e.g. whatsapp_cloud, other_email")
    ],
    driver: Annotated[
        str, typer.Option(help="Delivery driver: sandbox, custom_channel or smtp")
    ] = "sandbox",
    settings_json: SettingsJson = None,
    channel_id: Annotated[int | None, typer.Option("--id", help="Pick the channel id")] = None,
    as_json: AsJson = False,
) -> None:
    """Create a channel; a custom channel's generated token is printed once."""
    from openrespond.channels import settings as channel_settings
    from openrespond.sealing import Sealer
    from openrespond.space import service as space
    from openrespond.space.service import load_secret

    settings, token = channel_settings.with_token(driver, _settings_json(settings_json))

    async def work(db: Database, s: Settings) -> Any:
        sealer = Sealer(await load_secret(db, s))
        await space.check_channel_settings(
            db.reader(), workspace, settings=settings, networks=s.networks, driver=driver
        )
        async with db.transaction() as tx:
            return await space.create_channel(
                tx,
                workspace,
                name=name,
                source=source,
                driver=driver,
                settings=settings,
                channel_id=channel_id,
                sealer=sealer,
                networks=s.networks,
            )

    _show([space.channel_from_row(_run(work))], as_json)
    if token is not None:
        err.print(f"channel token (shown once; the bridge's bearer token): [bold]{token}[/bold]")


@channel_app.command("list")
def channel_list(workspace: Workspace, as_json: AsJson = False) -> None:
    """List channels."""
    from openrespond.space import repository as repo
    from openrespond.space import service as space

    async def work(db: Database, _: Settings) -> list[Any]:
        return [space.channel_from_row(r) for r in await repo.all_channels(db.reader(), workspace)]

    _show(_run(work), as_json)


@channel_app.command("update")
def channel_update(
    workspace: Workspace,
    channel_id: int,
    name: Annotated[str | None, typer.Option(help="New name")] = None,
    settings_json: SettingsJson = None,
    as_json: AsJson = False,
) -> None:
    """Rename a channel or replace its delivery settings (a secret left out is kept)."""
    from openrespond.sealing import Sealer
    from openrespond.space import service as space
    from openrespond.space.service import load_secret

    settings = _settings_json(settings_json)

    async def work(db: Database, s: Settings) -> Any:
        sealer = Sealer(await load_secret(db, s))
        await space.check_channel_settings(
            db.reader(), workspace, settings=settings, networks=s.networks, channel_id=channel_id
        )
        async with db.transaction() as tx:
            return await space.update_channel(
                tx,
                workspace,
                channel_id,
                name=name,
                settings=settings,
                sealer=sealer,
                networks=s.networks,
            )

    _show([space.channel_from_row(_run(work))], as_json)


@channel_app.command("remove")
def channel_remove(workspace: Workspace, channel_id: int) -> None:
    """Delete a channel."""
    from openrespond.space import service as space

    _tx(space.delete_channel, workspace, channel_id)
    console.print(f"removed channel {channel_id}")


@template_app.command("add")
def template_add(
    workspace: Workspace,
    channel: Annotated[int, typer.Option("--channel", help="Channel id")],
    name: str,
    language: Annotated[str, typer.Option("--language", help="Language code, e.g. en")] = "en",
    category: str = "UTILITY",
    as_json: AsJson = False,
) -> None:
    """Add a message template to a channel."""
    from openrespond.space import service as space

    tpl = _tx(
        space.create_template,
        workspace,
        channel_id=channel,
        name=name,
        language_code=language,
        category=category,
    )
    _show([tpl], as_json, ["id", "name", "languageCode", "category", "status"])


@template_app.command("list")
def template_list(
    workspace: Workspace,
    channel: Annotated[int, typer.Option("--channel")],
    as_json: AsJson = False,
) -> None:
    """List a channel's templates."""
    from openrespond.space import repository as repo
    from openrespond.space import service as space

    async def work(db: Database, _: Settings) -> list[Any]:
        await space.get_channel(db.reader(), workspace, channel)
        return [
            space.template_from_row(r)
            for r in await repo.all_templates(db.reader(), workspace, channel)
        ]

    _show(_run(work), as_json, ["id", "name", "languageCode", "category", "status"])


@template_app.command("remove")
def template_remove(workspace: Workspace, template_id: int) -> None:
    """Delete a template."""
    from openrespond.space import service as space

    _tx(space.delete_template, workspace, template_id)
    console.print(f"removed template {template_id}")


# -- sandbox --------------------------------------------------------------------------------


@sandbox_app.command("incoming")
def sandbox_incoming(
    workspace: Workspace,
    channel: Annotated[int, typer.Option("--channel", help="Sandbox channel id")],
    sender: Annotated[
        str, typer.Option("--from", help="The contact's phone, email or platform id on it")
    ],
    text: Annotated[str | None, typer.Argument(help="Text of a text message")] = None,
    message_json: Annotated[
        str | None, typer.Option("--message", help="Any message object as JSON instead")
    ] = None,
    first_name: Annotated[
        str | None, typer.Option(help="Name of a contact that does not exist yet")
    ] = None,
) -> None:
    """Simulate a message from a contact on a sandbox channel."""
    from openrespond.sandbox import service
    from openrespond.sandbox.schemas import Incoming

    if (text is None) == (message_json is None):
        err.print("[red]error:[/red] give either TEXT or --message JSON")
        raise typer.Exit(2)
    raw: dict[str, Any] = {
        "channelId": channel,
        "address": sender,
        "message": json.loads(message_json) if message_json else {"type": "text", "text": text},
    }
    if first_name:
        raw["contact"] = {"firstName": first_name}
    try:
        body = msgspec.convert(raw, Incoming)
    except msgspec.ValidationError as exc:
        err.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(2) from None
    contact_id, message_id = _tx(service.receive, workspace, body)
    console.print(f"message {message_id} from contact {contact_id}")


@sandbox_app.command("status")
def sandbox_status(
    workspace: Workspace,
    message_id: int,
    status: Annotated[str, typer.Argument(help="sent, delivered, read or failed")],
    reason: Annotated[str | None, typer.Option(help="Why it failed")] = None,
    as_json: AsJson = False,
) -> None:
    """Report a status for an outgoing message."""
    from openrespond.sandbox import service
    from openrespond.sandbox.schemas import StatusBody

    try:
        body = msgspec.convert({"status": status, "reason": reason}, StatusBody)
    except msgspec.ValidationError as exc:
        err.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(2) from None
    record = _tx(service.set_status, workspace, message_id, body)
    if as_json:
        print(msgspec.json.encode(record).decode())
    else:
        console.print(" -> ".join(s.value for s in record.status))


@sandbox_app.command("sent")
def sandbox_sent(
    workspace: Workspace,
    channel: Annotated[int, typer.Option("--channel", help="Sandbox channel id")],
    limit: Annotated[int, typer.Option(min=1, max=100)] = 20,
    as_json: AsJson = False,
) -> None:
    """What a sandbox channel delivered, oldest first."""
    from openrespond.db.paging import parse_cursor
    from openrespond.sandbox import service

    async def work(db: Database, _: Settings) -> list[Any]:
        items, _page = await service.sent(db.reader(), workspace, channel, parse_cursor(limit, 0))
        return items

    _show(_run(work), as_json, ["messageId", "contactId", "address", "message", "deliveredAt"])


@sandbox_app.command("reset")
def sandbox_reset(
    workspace: Workspace,
    demo: Annotated[bool, typer.Option("--demo", help="Fill it with the demo data again")] = False,
) -> None:
    """Empty a workspace's contacts, messages, tags and custom fields (users, channels,
    templates, stages, closing notes and tokens stay)."""
    from openrespond.sandbox import service

    to = "demo" if demo else "empty"
    _tx(service.reset, workspace, to=to)
    console.print(f"workspace {workspace} reset to {to}")


def main() -> None:
    app()
