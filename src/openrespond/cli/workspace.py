"""Administering workspaces offline: workspaces, tokens, users, lifecycle stages, closing notes,
custom fields, tags, channels and templates. Each command calls the operation the control
API calls."""

from __future__ import annotations

import json
from typing import Annotated, Any

import msgspec
import typer

from openrespond.cli.tools import AsJson, Workspace, console, err, load_settings
from openrespond.cli.tools import run as _run
from openrespond.cli.tools import show as _show
from openrespond.cli.tools import tx as _tx
from openrespond.db import Database, Scope, Transaction
from openrespond.settings import Settings

__all__ = [
    "channel_app",
    "field_app",
    "lifecycle_app",
    "note_app",
    "tag_app",
    "template_app",
    "token_app",
    "user_app",
    "workspace_app",
]

workspace_app = typer.Typer(no_args_is_help=True, help="Workspaces (respond.io 'spaces').")
token_app = typer.Typer(no_args_is_help=True, help="API tokens of a workspace.")
user_app = typer.Typer(no_args_is_help=True, help="Users (members) of a workspace.")
lifecycle_app = typer.Typer(no_args_is_help=True, help="Lifecycle stages of a workspace.")
note_app = typer.Typer(no_args_is_help=True, help="Closing-note categories of a workspace.")
field_app = typer.Typer(no_args_is_help=True, help="Custom-field definitions of a workspace.")
tag_app = typer.Typer(no_args_is_help=True, help="Tags of a workspace.")
channel_app = typer.Typer(no_args_is_help=True, help="Channels of a workspace.")
template_app = typer.Typer(no_args_is_help=True, help="Message templates of a channel.")


# -- workspaces and tokens ------------------------------------------------------------------


@workspace_app.command("create")
def workspace_create(name: str, as_json: AsJson = False) -> None:
    """Create a workspace."""
    from openrespond.space import workspaces as space_workspaces

    async def work(db: Database, _: Settings) -> Any:
        async with db.transaction() as tx:
            wid = await space_workspaces.create_workspace(tx, name=name)
            return await space_workspaces.get_workspace(Scope(tx, wid))

    _show([_run(work, create=True)], as_json)


@workspace_app.command("list")
def workspace_list(as_json: AsJson = False) -> None:
    """List workspaces."""
    from openrespond.space import workspaces as space_workspaces

    _show(_run(lambda db, _: space_workspaces.list_workspaces(db.reader())), as_json)


@workspace_app.command("delete")
def workspace_delete(workspace_id: int) -> None:
    """Delete a workspace and everything in it."""
    from openrespond.space import workspaces as space_workspaces

    async def work(db: Database, _: Settings) -> None:
        async with db.transaction() as tx:
            await space_workspaces.delete_workspace(Scope(tx, workspace_id))

    _run(work)
    console.print(f"deleted workspace {workspace_id}")


@token_app.command("issue")
def token_issue(workspace: Workspace, name: str = "api") -> None:
    """Issue a token and print it (it is shown only this once)."""
    from openrespond.space import api_tokens as space_tokens
    from openrespond.space import workspaces as space_workspaces

    async def work(db: Database, s: Settings) -> tuple[int, str]:
        secret = await space_workspaces.load_secret(db, s)
        async with db.transaction() as tx:
            return await space_tokens.issue_token(Scope(tx, workspace), name=name, secret=secret)

    token_id, token = _run(work)
    err.print(f"token {token_id} for workspace {workspace} (shown once):")
    print(token)


@token_app.command("list")
def token_list(workspace: Workspace, as_json: AsJson = False) -> None:
    """List tokens (ids and names; never the tokens)."""
    from openrespond.space import api_tokens as space_tokens

    _show(_run(lambda db, _: space_tokens.list_tokens(Scope(db.reader(), workspace))), as_json)


@token_app.command("revoke")
def token_revoke(workspace: Workspace, token_id: int) -> None:
    """Revoke a token."""
    from openrespond.space import api_tokens as space_tokens

    async def work(db: Database, _: Settings) -> None:
        async with db.transaction() as tx:
            await space_tokens.revoke_token(Scope(tx, workspace), token_id)

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
    from openrespond.space import users as space_users

    user = _tx(
        space_users.create_user,
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
    from openrespond.space import users as space_users

    _show(
        _run(lambda db, _: space_users.list_users(Scope(db.reader(), workspace))),
        as_json,
        ["id", "firstName", "lastName", "email", "role"],
    )


@user_app.command("remove")
def user_remove(workspace: Workspace, user_id: int) -> None:
    """Remove a user (their contacts become unassigned)."""
    from openrespond.space import users as space_users

    _tx(space_users.delete_user, workspace, user_id)
    console.print(f"removed user {user_id}")


@lifecycle_app.command("add")
def lifecycle_add(workspace: Workspace, name: str) -> None:
    """Append a lifecycle stage."""
    from openrespond.space import catalogue as space_catalogue

    _tx(space_catalogue.add_lifecycle_stage, workspace, name)
    console.print(f"added lifecycle stage {name!r}")


@lifecycle_app.command("list")
def lifecycle_list(workspace: Workspace, as_json: AsJson = False) -> None:
    """List lifecycle stages in order."""
    from openrespond.space import catalogue as space_catalogue

    _show(
        _run(lambda db, _: space_catalogue.list_lifecycle_stages(Scope(db.reader(), workspace))),
        as_json,
    )


@lifecycle_app.command("remove")
def lifecycle_remove(workspace: Workspace, name: str) -> None:
    """Remove a lifecycle stage."""
    from openrespond.space import catalogue as space_catalogue

    _tx(space_catalogue.remove_lifecycle_stage, workspace, name)
    console.print(f"removed lifecycle stage {name!r}")


@note_app.command("add")
def note_add(workspace: Workspace, category: str, description: str = "") -> None:
    """Add a closing-note category."""
    from openrespond.space import catalogue as space_catalogue

    _tx(space_catalogue.add_closing_note, workspace, category=category, description=description)
    console.print(f"added closing-note category {category!r}")


@note_app.command("list")
def note_list(workspace: Workspace, as_json: AsJson = False) -> None:
    """List closing-note categories."""
    from openrespond.space import catalogue as space_catalogue

    _show(
        _run(lambda db, _: space_catalogue.list_closing_notes(Scope(db.reader(), workspace))),
        as_json,
    )


@note_app.command("remove")
def note_remove(workspace: Workspace, category: str) -> None:
    """Remove a closing-note category."""
    from openrespond.space import catalogue as space_catalogue

    _tx(space_catalogue.remove_closing_note, workspace, category)
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
    from openrespond.space import workspaces as space_workspaces

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

    async def create(sc: Scope[Transaction]) -> Any:
        await space_workspaces.existing(sc)
        return await fields.create_field(sc, body)

    _show([_tx(create, workspace)], as_json, ["id", "name", "slug", "dataType", "allowedValues"])


@field_app.command("list")
def field_list(workspace: Workspace, as_json: AsJson = False) -> None:
    """List custom fields."""
    from openrespond.custom_fields import service as fields

    _show(
        _run(lambda db, _: fields.list_fields(Scope(db.reader(), workspace))),
        as_json,
        ["id", "name", "slug", "dataType", "allowedValues"],
    )


@field_app.command("remove")
def field_remove(workspace: Workspace, field_id: int) -> None:
    """Delete a custom field and its values."""
    from openrespond.custom_fields import service as fields

    _tx(fields.delete_field, workspace, field_id)
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
    from openrespond.space import workspaces as space_workspaces
    from openrespond.tags import service as tags
    from openrespond.tags.schemas import TagCreate

    async def create(sc: Scope[Transaction]) -> Any:
        await space_workspaces.existing(sc)
        return await tags.create_tag(
            sc,
            TagCreate(name=name, description=description, color_code=color_code, emoji=emoji),
        )

    _show([_tx(create, workspace)], as_json)


@tag_app.command("list")
def tag_list(workspace: Workspace, as_json: AsJson = False) -> None:
    """List tags."""
    from openrespond.tags import service as tags

    _show(_run(lambda db, _: tags.list_tags(Scope(db.reader(), workspace))), as_json)


@tag_app.command("remove")
def tag_remove(workspace: Workspace, name: str) -> None:
    """Delete a tag (and take it off every contact)."""
    from openrespond.tags import service as tags

    _tx(tags.delete_tag, workspace, name)
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
        str,
        typer.Option(
            help="Delivery driver: sandbox, custom_channel, smtp, whatsapp_cloud or telegram"
        ),
    ] = "sandbox",
    settings_json: SettingsJson = None,
    channel_id: Annotated[int | None, typer.Option("--id", help="Pick the channel id")] = None,
    as_json: AsJson = False,
) -> None:
    """Create a channel; a custom channel's generated token is printed once."""
    from openrespond.channels import settings as channel_settings
    from openrespond.sealing import Sealer
    from openrespond.space import channels as space_channels
    from openrespond.space.workspaces import load_secret

    settings, token = channel_settings.with_token(driver, _settings_json(settings_json))

    async def work(db: Database, s: Settings) -> Any:
        sealer = Sealer(await load_secret(db, s))
        await space_channels.check_channel_settings(
            Scope(db.reader(), workspace), settings=settings, networks=s.networks, driver=driver
        )
        async with db.transaction() as tx:
            return await space_channels.create_channel(
                Scope(tx, workspace),
                name=name,
                source=source,
                driver=driver,
                settings=settings,
                channel_id=channel_id,
                sealer=sealer,
                networks=s.networks,
            )

    row = _run(work)
    _show([space_channels.channel_from_row(row)], as_json)
    if token is not None:
        err.print(f"channel token (shown once; the bridge's bearer token): [bold]{token}[/bold]")
    s = load_settings()
    base = s.public_url or f"http://{s.host}:{s.port}"
    url = channel_settings.webhook_url(driver, row["id"], base)
    if url is not None and driver != "custom_channel":
        err.print(f"webhook URL to register with the provider: [bold]{url}[/bold]")


@channel_app.command("list")
def channel_list(workspace: Workspace, as_json: AsJson = False) -> None:
    """List channels, with the driver that delivers for each."""
    from openrespond.space import channels as space_channels

    _show(_run(lambda db, _: space_channels.list_channels(Scope(db.reader(), workspace))), as_json)


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
    from openrespond.space import channels as space_channels
    from openrespond.space.workspaces import load_secret

    settings = _settings_json(settings_json)

    async def work(db: Database, s: Settings) -> Any:
        sealer = Sealer(await load_secret(db, s))
        await space_channels.check_channel_settings(
            Scope(db.reader(), workspace),
            settings=settings,
            networks=s.networks,
            channel_id=channel_id,
        )
        async with db.transaction() as tx:
            return await space_channels.update_channel(
                Scope(tx, workspace),
                channel_id,
                name=name,
                settings=settings,
                sealer=sealer,
                networks=s.networks,
            )

    _show([space_channels.channel_from_row(_run(work))], as_json)


@channel_app.command("remove")
def channel_remove(workspace: Workspace, channel_id: int) -> None:
    """Delete a channel."""
    from openrespond.space import channels as space_channels

    _tx(space_channels.delete_channel, workspace, channel_id)
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
    from openrespond.space import templates as space_templates

    tpl = _tx(
        space_templates.create_template,
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
    from openrespond.space import templates as space_templates

    _show(
        _run(lambda db, _: space_templates.list_templates(Scope(db.reader(), workspace), channel)),
        as_json,
        ["id", "name", "languageCode", "category", "status"],
    )


@template_app.command("remove")
def template_remove(workspace: Workspace, template_id: int) -> None:
    """Delete a template."""
    from openrespond.space import templates as space_templates

    _tx(space_templates.delete_template, workspace, template_id)
    console.print(f"removed template {template_id}")


@user_app.command("invite")
def user_invite(
    workspace: Workspace,
    email: Annotated[str, typer.Option()],
    first_name: Annotated[str | None, typer.Option(help="for a new user")] = None,
    role: Annotated[str, typer.Option(help="agent, manager or owner (a new user)")] = "agent",
) -> None:
    """Print a one-time link with which the user sets a password and signs in to the app
    (the user is added when missing; a user with a password gets a reset link)."""
    from openrespond.accounts import service as accounts

    async def work(db: Database, s: Settings) -> tuple[str, int]:
        async with db.transaction() as t:
            _, token, expires = await accounts.invite(
                Scope(t, workspace), email=email, first_name=first_name, role=role
            )
        return accounts.link_url(_base(s), token), expires

    url, expires = _run(work)
    console.print(f"link (works once, until {_when(expires)}):")
    print(url)


@user_app.command("set-password")
def user_set_password(
    workspace: Workspace,
    email: Annotated[str, typer.Option()],
    password_stdin: Annotated[
        bool, typer.Option("--password-stdin", help="read the password from standard input")
    ] = False,
) -> None:
    """Set a user's password (asked for twice, not echoed) and end the user's sessions."""
    import sys

    from openrespond.accounts import service as accounts

    if password_stdin:
        password = sys.stdin.readline().rstrip("\n")
    else:
        password = typer.prompt("password", hide_input=True, confirmation_prompt=True)

    async def work(db: Database, _: Settings) -> None:
        async with db.transaction() as t:
            sc = Scope(t, workspace)
            user_id = await accounts.user_by_email(sc, email)
            await accounts.set_password(sc, user_id, password=password)

    _run(work)
    console.print(f"password set for {email}")


def _base(settings: Settings) -> str:
    host = "127.0.0.1" if settings.host in ("0.0.0.0", "::") else settings.host
    return settings.public_url or f"http://{host}:{settings.port}"


def _when(ts: int) -> str:
    import datetime as dt

    return dt.datetime.fromtimestamp(ts, dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
