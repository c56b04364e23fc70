"""The ``openrespond`` command line: run the server, migrate, and manage workspaces offline."""

from __future__ import annotations

import typer

from openrespond.cli import server
from openrespond.cli.contacts import contacts_app
from openrespond.cli.logs import logs
from openrespond.cli.sandbox import sandbox_app
from openrespond.cli.webhooks import webhooks_app
from openrespond.cli.workspace import (
    channel_app,
    field_app,
    lifecycle_app,
    note_app,
    tag_app,
    template_app,
    token_app,
    user_app,
    workspace_app,
)
from openrespond.client.cli import api_app

__all__ = ["app", "main"]

app = typer.Typer(no_args_is_help=True, add_completion=False, help=__doc__)
app.command()(server.serve)
app.command()(server.worker)
app.command()(server.doctor)
app.command("migrate")(server.migrate_cmd)
app.command()(server.demo)
app.command()(logs)
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


def main() -> None:
    app()
