"""What every command group of the CLI shares: consoles, common options, running work
against the configured database, and printing results as a table or JSON."""

from __future__ import annotations

import asyncio
import json
import os
from collections.abc import Awaitable, Callable
from typing import Annotated, Any, Concatenate, ParamSpec, TypeVar
from urllib.parse import urlsplit, urlunsplit

import msgspec
import typer
from rich.console import Console
from rich.table import Table

from openrespond.db import Database, Scope, Transaction, open_database
from openrespond.db.migrations import migrate
from openrespond.errors import ApiError
from openrespond.settings import ConfigError, Settings

__all__ = [
    "AsJson",
    "Workspace",
    "console",
    "err",
    "load_settings",
    "run",
    "show",
    "tx",
    "where",
]

T = TypeVar("T")
P = ParamSpec("P")
console = Console(soft_wrap=True)
err = Console(stderr=True, soft_wrap=True)

Workspace = Annotated[int, typer.Option("--workspace", "-w", help="Workspace id")]
AsJson = Annotated[bool, typer.Option("--json", help="Print JSON instead of a table")]


def load_settings() -> Settings:
    try:
        return Settings.from_env()
    except ConfigError as exc:
        err.print(f"[red]configuration error:[/red] {exc}")
        raise typer.Exit(2) from None


# The database the last command opened, as people name it (shown with an empty result).
_opened = ""


def where(settings: Settings) -> str:
    """The configured database, as a person would look for it: a SQLite file's absolute path,
    a PostgreSQL URL without its password."""
    if settings.dialect == "sqlite":
        path = settings.sqlite_path
        return path if path == ":memory:" else os.path.abspath(path)
    parts = urlsplit(settings.database_url)
    netloc = parts.netloc.rsplit("@", 1)[-1]
    user = parts.username
    return urlunsplit((parts.scheme, f"{user}@{netloc}" if user else netloc, parts.path, "", ""))


def run(
    work: Callable[[Database, Settings], Awaitable[T]],
    settings: Settings | None = None,
    *,
    create: bool = False,
) -> T:
    """Open and migrate the configured database, run ``work``, close it; errors in plain words.

    A SQLite file that does not exist yet is created only by commands that set a database up
    (``create``: serve, migrate, demo, workspace create); any other command stops, naming the
    file it looked for, rather than leave an empty database behind.
    """
    global _opened
    settings = settings or load_settings()
    _opened = where(settings)
    if (
        not create
        and settings.dialect == "sqlite"
        and settings.sqlite_path != ":memory:"
        and not os.path.exists(settings.sqlite_path)
    ):
        err.print(
            f"[red]error:[/red] no database at {_opened} (OPENRESPOND_DATABASE_URL is"
            f" {settings.database_url}); `openrespond migrate` creates one there, or point"
            " OPENRESPOND_DATABASE_URL at yours"
        )
        raise typer.Exit(1)

    async def go() -> T:
        db = open_database(settings)
        await db.connect()
        try:
            await migrate(db)
            return await work(db, settings)
        finally:
            await db.close()

    try:
        return asyncio.run(go())
    except ApiError as exc:
        err.print(f"[red]error:[/red] {exc.message}")
        raise typer.Exit(1) from None


def tx(
    fn: Callable[Concatenate[Scope[Transaction], P], Awaitable[T]],
    workspace: int,
    /,
    *args: P.args,
    **kwargs: P.kwargs,
) -> T:
    """Run ``fn(scope, *args, **kwargs)`` in one transaction of the configured database, in
    ``workspace``."""

    async def work(db: Database, _: Settings) -> T:
        async with db.transaction() as t:
            return await fn(Scope(t, workspace), *args, **kwargs)

    return run(work)


def show(items: list[Any], as_json: bool, columns: list[str] | None = None) -> None:
    data = msgspec.to_builtins(items)
    if as_json:
        print(json.dumps(data, indent=2))
        return
    if not data:
        console.print(f"(none) in the database at {_opened}" if _opened else "(none)")
        return
    cols = columns or list(data[0].keys())
    table = Table(*cols)
    for row in data:
        table.add_row(*("" if row.get(c) is None else str(row.get(c)) for c in cols))
    console.print(table)
