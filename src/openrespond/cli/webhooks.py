"""``openrespond webhooks``: manage subscriptions, read the delivery log, replay, and a
reference receiver that prints verified events."""

from __future__ import annotations

import json
import sys
from typing import Annotated, Any

import msgspec
import typer

from openrespond.cli.tools import AsJson, Workspace, console, err, run, show, tx
from openrespond.db import Database, Scope
from openrespond.settings import Settings

__all__ = ["webhooks_app"]

webhooks_app = typer.Typer(
    no_args_is_help=True,
    help="Webhook subscriptions, their delivery log, and a receiver for trying them out.",
)

Events = Annotated[
    list[str] | None,
    typer.Option("--event", "-e", help="An event type to send (repeat it); default: all"),
]
HOOK_COLUMNS = ["id", "url", "events", "enabled", "disabledReason", "description"]


def _convert(raw: dict[str, Any], kind: type[Any]) -> Any:
    try:
        return msgspec.convert(raw, kind)
    except msgspec.ValidationError as exc:
        err.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(2) from None


def _print_key(created: Any, as_json: bool) -> None:
    if as_json:
        print(json.dumps(msgspec.to_builtins(created), indent=2))
        return
    show([created], False, HOOK_COLUMNS)
    console.print(f"signing key (shown once, keep it now): [bold]{created.signing_key}[/bold]")


@webhooks_app.command("add")
def webhooks_add(
    workspace: Workspace,
    url: str,
    event: Events = None,
    description: Annotated[str | None, typer.Option(help="What it is for")] = None,
    signing_key: Annotated[
        str | None, typer.Option("--signing-key", help="Use this key instead of a new one")
    ] = None,
    disabled: Annotated[bool, typer.Option("--disabled", help="Create it switched off")] = False,
    as_json: AsJson = False,
) -> None:
    """Subscribe URL to events; prints the signing key, this once."""
    from openrespond.sealing import Sealer
    from openrespond.space.workspaces import load_secret
    from openrespond.webhooks import service
    from openrespond.webhooks.schemas import WebhookCreate

    raw: dict[str, Any] = {"url": url, "enabled": not disabled, "events": event or ["*"]}
    if description is not None:
        raw["description"] = description
    if signing_key is not None:
        raw["signingKey"] = signing_key
    body = _convert(raw, WebhookCreate)

    async def work(db: Database, s: Settings) -> Any:
        sealer = Sealer(await load_secret(db, s))
        await service.check_destination(body.url, s.networks)  # before the transaction
        async with db.transaction() as t:
            return await service.create(
                Scope(t, workspace), body, sealer=sealer, networks=s.networks
            )

    _print_key(run(work), as_json)


@webhooks_app.command("list")
def webhooks_list(workspace: Workspace, as_json: AsJson = False) -> None:
    """List a workspace's webhook subscriptions."""
    from openrespond.webhooks import service

    async def work(db: Database, _: Settings) -> Any:
        return await service.list_all(Scope(db.reader(), workspace))

    show(run(work), as_json, HOOK_COLUMNS)


@webhooks_app.command("update")
def webhooks_update(
    workspace: Workspace,
    webhook_id: int,
    url: Annotated[str | None, typer.Option(help="New URL")] = None,
    event: Events = None,
    description: Annotated[str | None, typer.Option(help="New description")] = None,
    enabled: Annotated[
        bool | None, typer.Option("--enable/--disable", help="Switch it on or off")
    ] = None,
    as_json: AsJson = False,
) -> None:
    """Change a webhook; enabling clears the reason it was disabled."""
    from openrespond.webhooks import service
    from openrespond.webhooks.schemas import WebhookUpdate

    raw: dict[str, Any] = {}
    for key, value in (
        ("url", url),
        ("events", event),
        ("description", description),
        ("enabled", enabled),
    ):
        if value is not None:
            raw[key] = value
    body = _convert(raw, WebhookUpdate)

    async def work(db: Database, s: Settings) -> Any:
        await service.check_destination(body.url, s.networks)  # before the transaction
        async with db.transaction() as t:
            return await service.update(
                Scope(t, workspace), webhook_id, body=body, networks=s.networks
            )

    show([run(work)], as_json, HOOK_COLUMNS)


@webhooks_app.command("remove")
def webhooks_remove(workspace: Workspace, webhook_id: int) -> None:
    """Delete a webhook and its delivery log."""
    from openrespond.webhooks import service

    tx(service.delete, workspace, webhook_id)
    console.print(f"removed webhook {webhook_id}")


@webhooks_app.command("rotate")
def webhooks_rotate(workspace: Workspace, webhook_id: int, as_json: AsJson = False) -> None:
    """Replace the signing key; prints the new key, this once."""
    from openrespond.sealing import Sealer
    from openrespond.space.workspaces import load_secret
    from openrespond.webhooks import service

    async def work(db: Database, s: Settings) -> Any:
        sealer = Sealer(await load_secret(db, s))
        async with db.transaction() as t:
            return await service.rotate(Scope(t, workspace), webhook_id, sealer=sealer)

    _print_key(run(work), as_json)


@webhooks_app.command("deliveries")
def webhooks_deliveries(
    workspace: Workspace,
    webhook_id: int,
    status: Annotated[
        str | None, typer.Option(help="Only pending, delivered or failed deliveries")
    ] = None,
    limit: Annotated[int, typer.Option(min=1, max=100, help="How many, newest first")] = 20,
    as_json: AsJson = False,
) -> None:
    """The delivery log of a webhook, newest first."""
    from openrespond.db.paging import parse_cursor
    from openrespond.webhooks import service

    async def work(db: Database, _: Settings) -> Any:
        items, _page = await service.deliveries(
            Scope(db.reader(), workspace),
            webhook_id,
            cursor=parse_cursor(limit, None),
            status=status,
        )
        return items

    show(
        run(work),
        as_json,
        ["id", "eventId", "eventType", "status", "attempts", "lastStatusCode", "lastError"],
    )


@webhooks_app.command("delivery")
def webhooks_delivery(workspace: Workspace, webhook_id: int, delivery_id: int) -> None:
    """One delivery with every attempt and the payload, as JSON."""
    from openrespond.webhooks import service

    async def work(db: Database, _: Settings) -> Any:
        return await service.delivery(
            Scope(db.reader(), workspace), webhook_id, delivery_id=delivery_id
        )

    print(msgspec.json.format(msgspec.json.encode(run(work)), indent=2).decode())


@webhooks_app.command("replay")
def webhooks_replay(workspace: Workspace, webhook_id: int, delivery_id: int) -> None:
    """Post an event again now (same webhook-id); a running worker picks it up."""
    from openrespond.webhooks import service

    detail = tx(service.replay, workspace, webhook_id, delivery_id=delivery_id)
    console.print(f"delivery {detail.id} ({detail.event_id}) queued again")


@webhooks_app.command("listen")
def webhooks_listen(
    secret: Annotated[
        str, typer.Option("--secret", envvar="OPENRESPOND_WEBHOOK_SECRET", help="Signing key")
    ],
    port: Annotated[int, typer.Option(min=1, max=65535, help="Port to listen on")] = 9000,
    host: Annotated[str, typer.Option(help="Address to listen on")] = "127.0.0.1",
    as_json: Annotated[
        bool, typer.Option("--json", help="Print each verified body as one JSON line")
    ] = False,
) -> None:
    """A webhook receiver that checks both signatures and prints each verified event
    (401 for anything that does not verify)."""
    import uvicorn

    from openrespond.webhooks.listen import receiver

    def printer(scheme: str, body: bytes, event: dict[str, Any]) -> None:
        if as_json:
            sys.stdout.write(body.decode() + "\n")
            sys.stdout.flush()
            return
        contact = event.get("contact") or {}
        console.print(
            f"[green]✓[/green] {event.get('event_type')} {event.get('event_id')}"
            f" contact {contact.get('id')} (signature: {scheme})"
        )

    def rejected(reason: str) -> None:
        err.print(f"[red]✗ rejected:[/red] {reason}")

    err.print(f"listening on http://{host}:{port}/ (Ctrl-C to stop)")
    uvicorn.run(
        receiver(secret, printer, rejected),
        host=host,
        port=port,
        log_level="warning",
        access_log=False,
        server_header=False,
    )
