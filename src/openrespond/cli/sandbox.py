"""Sandbox commands: simulate incoming messages and statuses, see what was sent, reset."""

from __future__ import annotations

import json
from typing import Annotated, Any

import msgspec
import typer

from openrespond.cli.tools import AsJson, Workspace, console, err
from openrespond.cli.tools import run as _run
from openrespond.cli.tools import show as _show
from openrespond.cli.tools import tx as _tx
from openrespond.db import Database, Scope
from openrespond.settings import Settings

__all__ = ["sandbox_app"]

sandbox_app = typer.Typer(
    no_args_is_help=True,
    help="Sandbox actions: simulate incoming messages and statuses, see what was sent, reset.",
)


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
    record = _tx(service.set_status, workspace, message_id, body=body)
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
        items, _page = await service.sent(
            Scope(db.reader(), workspace), channel, cursor=parse_cursor(limit, 0)
        )
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
