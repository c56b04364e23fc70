"""What every command group of the CLI shares: consoles, common options, running work
against the configured database, and printing results as a table or JSON."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from typing import Annotated, Any, TypeVar

import msgspec
import typer
from rich.console import Console
from rich.table import Table

from openrespond.db import Database, open_database
from openrespond.db.migrations import migrate
from openrespond.errors import ApiError
from openrespond.settings import ConfigError, Settings

__all__ = ["AsJson", "Workspace", "console", "err", "load_settings", "run", "show", "tx"]

T = TypeVar("T")
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


def run(work: Callable[[Database, Settings], Awaitable[T]], settings: Settings | None = None) -> T:
    """Open and migrate the configured database, run ``work``, close it; errors in plain words."""
    settings = settings or load_settings()

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


def tx(fn: Callable[..., Awaitable[T]], *args: Any, **kwargs: Any) -> T:
    """Run ``fn(transaction, *args, **kwargs)`` in one transaction of the configured database."""

    async def work(db: Database, _: Settings) -> T:
        async with db.transaction() as t:
            return await fn(t, *args, **kwargs)

    return run(work)


def show(items: list[Any], as_json: bool, columns: list[str] | None = None) -> None:
    data = msgspec.to_builtins(items)
    if as_json:
        print(json.dumps(data, indent=2))
        return
    if not data:
        console.print("(none)")
        return
    cols = columns or list(data[0].keys())
    table = Table(*cols)
    for row in data:
        table.add_row(*("" if row.get(c) is None else str(row.get(c)) for c in cols))
    console.print(table)
