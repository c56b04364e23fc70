"""``openrespond api …``: the respond.io API from the command line, through ``Client``.

Works against respond.io or any openrespond server: ``--base-url`` / ``$RESPONDIO_BASE_URL``
and ``--token`` / ``$RESPONDIO_API_TOKEN``. Needs only the client and ``typer`` + ``rich``.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import Annotated, Any, TypeVar

import msgspec
import typer
from rich.console import Console
from rich.progress import Progress, SpinnerColumn, TextColumn
from rich.table import Table

from openrespond.client import APIConnectionError, APIError, Client, InvalidRequestError
from openrespond.client.identifiers import identifier

__all__ = ["api_app"]

T = TypeVar("T")
console = Console(soft_wrap=True)
err = Console(stderr=True, soft_wrap=True)

api_app = typer.Typer(
    no_args_is_help=True,
    add_completion=False,
    help="Call the respond.io API (respond.io itself or an openrespond server).",
)
contacts = typer.Typer(no_args_is_help=True, help="Contacts.")
tags = typer.Typer(no_args_is_help=True, help="A contact's tags.")
api_app.add_typer(contacts, name="contacts")
api_app.add_typer(tags, name="tag")

AsJson = Annotated[bool, typer.Option("--json", help="Print JSON instead of a table")]
AllPages = Annotated[bool, typer.Option("--all", help="Every page, not just the first")]
Ident = Annotated[str, typer.Argument(help="id:<n>, email:<address> or phone:<E.164>")]
CONTACT_COLUMNS = ["id", "firstName", "lastName", "email", "phone", "tags", "lifecycle"]


@api_app.callback()
def options(
    ctx: typer.Context,
    base_url: Annotated[
        str | None,
        typer.Option(
            "--base-url",
            envvar="RESPONDIO_BASE_URL",
            help="API base URL, e.g. http://127.0.0.1:8000/v2 (default: respond.io's)",
        ),
    ] = None,
    token: Annotated[
        str | None,
        typer.Option("--token", envvar="RESPONDIO_API_TOKEN", help="API token", show_default=False),
    ] = None,
) -> None:
    ctx.obj = {"base_url": base_url, "token": token}


def _call(ctx: typer.Context, work: Callable[[Client], T]) -> T:
    """Run ``work`` with a client; API errors in plain words and a non-zero exit."""
    if not ctx.obj.get("token"):
        err.print("[red]error:[/red] an API token is needed: --token or $RESPONDIO_API_TOKEN")
        raise typer.Exit(2)
    try:
        with Client(base_url=ctx.obj["base_url"], token=ctx.obj["token"]) as api:
            return work(api)
    except InvalidRequestError as exc:
        err.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(2) from None
    except APIError as exc:
        err.print(f"[red]error:[/red] {exc.status}: {exc.message}")
        raise typer.Exit(1) from None
    except APIConnectionError as exc:
        err.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(1) from None


def _show(items: list[Any], as_json: bool, columns: list[str]) -> None:
    data = msgspec.to_builtins(items)
    if as_json:
        print(json.dumps(data, indent=2, ensure_ascii=False))
        return
    if not data:
        console.print("(none)")
        return
    table = Table(*columns)
    for row in data:
        cells = []
        for col in columns:
            value = row.get(col)
            cells.append(
                ", ".join(map(str, value))
                if isinstance(value, list)
                else ""
                if value is None
                else str(value)
            )
        table.add_row(*cells)
    console.print(table)


def _collect(rows: Iterator[T], what: str) -> list[T]:
    """Every item of a multi-page listing, with a progress line on stderr."""
    out: list[T] = []
    with Progress(SpinnerColumn(), TextColumn("{task.description}"), console=err) as bar:
        task = bar.add_task(f"{what}: 0")
        for row in rows:
            out.append(row)
            bar.update(task, description=f"{what}: {len(out)}")
    return out


@contacts.command("get")
def contacts_get(ctx: typer.Context, ident: Ident, as_json: AsJson = False) -> None:
    """One contact."""
    contact = _call(ctx, lambda api: api.get_contact(identifier(ident)))
    _show([contact], as_json, CONTACT_COLUMNS)


@contacts.command("list")
def contacts_list(
    ctx: typer.Context,
    search: Annotated[str | None, typer.Option(help="Part of a name, email or phone")] = None,
    limit: Annotated[int, typer.Option(min=1, max=100, help="Contacts on the page")] = 10,
    all_pages: AllPages = False,
    as_json: AsJson = False,
) -> None:
    """Contacts, oldest first: one page, or all of them with --all."""
    if all_pages:
        rows = _call(
            ctx, lambda api: _collect(api.iter_contacts(search=search, page_size=100), "contacts")
        )
    else:
        rows = _call(ctx, lambda api: api.list_contacts(search=search, limit=limit).items)
    _show(rows, as_json, CONTACT_COLUMNS)


@contacts.command("create")
def contacts_create(
    ctx: typer.Context,
    first_name: Annotated[str, typer.Option("--first-name")],
    last_name: Annotated[str | None, typer.Option("--last-name")] = None,
    email: Annotated[str | None, typer.Option("--email")] = None,
    phone: Annotated[str | None, typer.Option("--phone")] = None,
) -> None:
    """Create a contact; prints its id."""
    fields: dict[str, Any] = {
        k: v
        for k, v in (("last_name", last_name), ("email", email), ("phone", phone))
        if v is not None
    }
    created = _call(ctx, lambda api: api.create_contact(first_name=first_name, **fields))
    console.print(f"contact {created.contact_id}")


@contacts.command("delete")
def contacts_delete(ctx: typer.Context, ident: Ident) -> None:
    """Delete a contact (and its messages and conversation)."""
    gone = _call(ctx, lambda api: api.delete_contact(identifier(ident)))
    console.print(f"deleted contact {gone.contact_id}")


@tags.command("add")
def tag_add(ctx: typer.Context, ident: Ident, names: list[str]) -> None:
    """Tag a contact (unknown tags are created)."""
    done = _call(ctx, lambda api: api.add_tags(identifier(ident), names))
    console.print(f"tagged contact {done.contact_id}")


@tags.command("remove")
def tag_remove(ctx: typer.Context, ident: Ident, names: list[str]) -> None:
    """Untag a contact."""
    done = _call(ctx, lambda api: api.remove_tags(identifier(ident), names))
    console.print(f"untagged contact {done.contact_id}")


@api_app.command("send")
def send(
    ctx: typer.Context,
    ident: Ident,
    text: Annotated[str, typer.Argument(help="The text to send")],
    channel: Annotated[
        int | None, typer.Option(help="Channel id (default: the last one the contact used)")
    ] = None,
) -> None:
    """Send a text message; prints the message id (delivery is asynchronous)."""
    sent = _call(ctx, lambda api: api.send_message(identifier(ident), text, channel_id=channel))
    console.print(f"message {sent.message_id}")


@api_app.command("messages")
def messages(
    ctx: typer.Context,
    ident: Ident,
    all_pages: AllPages = False,
    as_json: AsJson = False,
) -> None:
    """A contact's messages, newest first."""
    if all_pages:
        rows = _call(ctx, lambda api: _collect(api.iter_messages(identifier(ident)), "messages"))
    else:
        rows = _call(ctx, lambda api: api.list_messages(identifier(ident)).items)
    data = [
        {
            "messageId": m.message_id,
            "traffic": m.traffic,
            "type": m.message.get("type"),
            "text": m.message.get("text"),
            "status": m.status[-1].value if m.status else None,
            "timestamp": m.timestamp,
        }
        for m in rows
    ]
    if as_json:
        print(json.dumps(msgspec.to_builtins(rows), indent=2, ensure_ascii=False))
        return
    _show(data, False, ["messageId", "traffic", "type", "text", "status", "timestamp"])
