"""``openrespond logs``: the workspace's API request log, for terminals and CI."""

from __future__ import annotations

import asyncio
import json
import time
from typing import Annotated, Any

import msgspec
import typer

from openrespond.cli.tools import AsJson, Workspace, console, run, show
from openrespond.db import Database, Scope
from openrespond.settings import Settings

__all__ = ["logs"]

COLUMNS = ["id", "time", "method", "path", "status", "durationMs", "tokenName", "requestId"]


def _rows(items: list[Any]) -> list[dict[str, Any]]:
    rows = []
    for item in msgspec.to_builtins(items):
        at = item["atMs"] / 1000
        item["time"] = (
            time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(at)) + f".{int(at * 1000) % 1000:03d}Z"
        )
        rows.append(item)
    return rows


def logs(
    workspace: Workspace,
    status: Annotated[
        str | None, typer.Option(help="Only 2xx, 3xx, 4xx, 5xx, or errors (4xx and 5xx)")
    ] = None,
    route: Annotated[
        str | None, typer.Option(help="Only this route, e.g. /v2/contact/{identifier}")
    ] = None,
    token: Annotated[int | None, typer.Option(help="Only requests made with this token id")] = None,
    since: Annotated[
        str | None, typer.Option(help="From this time: ISO 8601 (UTC) or epoch ms")
    ] = None,
    until: Annotated[
        str | None, typer.Option(help="Up to this time: ISO 8601 (UTC) or epoch ms")
    ] = None,
    limit: Annotated[int, typer.Option(min=1, max=100, help="How many, newest first")] = 20,
    request: Annotated[
        int | None,
        typer.Option("--id", help="Print this one request, bodies included, as JSON"),
    ] = None,
    follow: Annotated[
        bool, typer.Option("--follow", "-f", help="Keep printing new requests as they come")
    ] = False,
    as_json: AsJson = False,
) -> None:
    """The workspace's /v2 requests, newest first; failed ones keep their bodies (see --id)."""
    from openrespond.apilog import service
    from openrespond.db.paging import parse_cursor

    if request is not None:

        async def one(db: Database, _: Settings) -> Any:
            return await service.get_request(Scope(db.reader(), workspace), request)

        print(msgspec.json.format(msgspec.json.encode(run(one)), indent=2).decode())
        return

    async def page(db: Database, _: Settings) -> Any:
        f = service.parse_filter(status=status, route=route, token=token, since=since, until=until)
        items, _page = await service.list_requests(
            Scope(db.reader(), workspace), f, cursor=parse_cursor(limit, None)
        )
        if not follow:
            return items
        shown = max((i.id for i in items), default=0)
        for item in _rows(list(reversed(items))):
            _line(item, as_json)
        while True:  # until interrupted
            await asyncio.sleep(0.5)
            items, _page = await service.list_requests(
                Scope(db.reader(), workspace), f, cursor=parse_cursor(100, None)
            )
            fresh = [i for i in reversed(items) if i.id > shown]
            for item in _rows(fresh):
                _line(item, as_json)
            shown = max([shown, *(i.id for i in fresh)])

    try:
        items = run(page)
    except KeyboardInterrupt:
        return
    show(_rows(items), as_json, COLUMNS)


def _line(item: dict[str, Any], as_json: bool) -> None:
    if as_json:
        print(json.dumps(item), flush=True)
        return
    colour = "red" if item["status"] >= 500 else "yellow" if item["status"] >= 400 else "green"
    console.print(
        f"{item['time']}  {item['method']:<6} {item['path']}  [{colour}]{item['status']}[/]"
        f"  {item['durationMs']} ms  {item['tokenName'] or ''}  {item['requestId']}",
        highlight=False,
        soft_wrap=True,
    )
