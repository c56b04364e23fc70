"""The command line, run in-process against a real SQLite file."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from openrespond.cli import app
from openrespond.db.migrations import available
from tests.backend import database_url

runner = CliRunner()


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    return {"OPENRESPOND_DATABASE_URL": database_url(tmp_path / "cli.db")}


def run(env: dict[str, str], *args: str) -> str:
    result = runner.invoke(app, list(args), env=env)
    assert result.exit_code == 0, result.output
    return result.output


def test_commands_do_not_create_a_database_they_only_read(tmp_path: Path) -> None:
    """A command run where no database is (another directory, a mistyped URL) stops and
    says where it looked, instead of leaving an empty database there and answering
    "(none)"; the commands that set a database up create it, and say where."""
    missing = tmp_path / "elsewhere" / "openrespond.db"
    env = {"OPENRESPOND_DATABASE_URL": f"sqlite:///{missing}"}
    for args in (
        ["workspace", "list"],
        ["user", "list", "-w", "1"],
        ["webhooks", "list", "-w", "1"],
        ["contacts", "export", "-w", "1"],
    ):
        result = runner.invoke(app, args, env=env)
        assert result.exit_code == 1, (args, result.output)
        assert f"no database at {missing}" in result.output
        assert "migrate" in result.output
        assert not missing.exists()
    assert "schema at version" in run(env, "migrate")
    assert missing.exists()
    assert f"(none) in the database at {missing}" in run(env, "workspace", "list")


def test_migrate_reports_the_schema_version(env: dict[str, str]) -> None:
    latest = available()[-1].version
    assert f"schema at version {latest} of {latest}" in run(env, "migrate")
    assert f"schema at version {latest} of {latest}" in run(env, "migrate")


def test_demo_is_idempotent_and_prints_a_stable_token(env: dict[str, str]) -> None:
    first = run(env, "demo").strip().splitlines()
    second = run(env, "demo").strip().splitlines()
    assert first == second
    assert first[0] == "demo workspace 1"
    workspaces = json.loads(run(env, "workspace", "list", "--json"))
    assert len(workspaces) == 1
    assert workspaces[0]["demo"] is True
    users = json.loads(run(env, "user", "list", "-w", "1", "--json"))
    assert len(users) == 2


def test_demo_token_from_environment(env: dict[str, str]) -> None:
    env = {**env, "OPENRESPOND_DEMO_TOKEN": "fixed-demo-token-123456"}
    assert run(env, "demo").strip().endswith("fixed-demo-token-123456")
    tokens = json.loads(run(env, "token", "list", "-w", "1", "--json"))
    assert [t["name"] for t in tokens if t["revoked_at"] is None] == ["OPENRESPOND_DEMO_TOKEN"]
    assert "fixed-demo-token" not in json.dumps(tokens)


def test_demo_token_set_back_to_an_earlier_value_works_again(env: dict[str, str]) -> None:
    first = {**env, "OPENRESPOND_DEMO_TOKEN": "first-demo-token-123456"}
    second = {**env, "OPENRESPOND_DEMO_TOKEN": "second-demo-token-12345"}
    run(first, "demo")
    run(second, "demo")  # replaces (revokes) the first
    run(first, "demo")  # the first is the configured one again
    tokens = json.loads(run(env, "token", "list", "-w", "1", "--json"))
    live = [t for t in tokens if t["revoked_at"] is None]
    assert [t["name"] for t in live] == ["OPENRESPOND_DEMO_TOKEN"]
    assert len(tokens) == 2
    assert live[0]["id"] == min(t["id"] for t in tokens)


def test_workspace_catalogue_commands(env: dict[str, str]) -> None:
    ws = json.loads(run(env, "workspace", "create", "Acme", "--json"))[0]
    w = str(ws["id"])
    token = run(env, "token", "issue", "-w", w, "--name", "ci").strip().splitlines()[-1]
    assert token.count(".") == 2
    run(
        env,
        "user",
        "add",
        "-w",
        w,
        "--email",
        "a@example.com",
        "--first-name",
        "A",
        "--role",
        "owner",
    )
    run(env, "lifecycle", "add", "-w", w, "Lead")
    run(env, "closing-note", "add", "-w", w, "Done", "--description", "All done")
    run(
        env,
        "custom-field",
        "add",
        "-w",
        w,
        "Plan",
        "--type",
        "list",
        "--option",
        "a",
        "--option",
        "b",
    )
    run(env, "tag", "add", "-w", w, "vip", "--color", "#ff0000")
    ch = json.loads(
        run(env, "channel", "add", "-w", w, "Mail", "--source", "other_email", "--json")
    )[0]
    run(env, "template", "add", "-w", w, "--channel", str(ch["id"]), "welcome")
    bot = runner.invoke(
        app,
        [
            "channel",
            "add",
            "-w",
            w,
            "Bot",
            "--source",
            "telegram",
            "--driver",
            "telegram",
            "--settings",
            '{"botToken": "123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw",'
            ' "apiBaseUrl": "https://149.154.167.220"}',
        ],
        env={**env, "OPENRESPOND_PUBLIC_URL": "https://chat.example.com"},
    )
    assert bot.exit_code == 0, bot.output
    assert "https://chat.example.com/hooks/telegram/" in bot.output
    assert "AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw" not in bot.output
    assert json.loads(run(env, "custom-field", "list", "-w", w, "--json"))[0]["allowedValues"] == {
        "listValues": ["a", "b"]
    }
    assert json.loads(run(env, "tag", "list", "-w", w, "--json"))[0]["colorCode"] == "#ff0000"
    assert json.loads(run(env, "lifecycle", "list", "-w", w, "--json"))[0]["name"] == "Lead"
    assert (
        json.loads(run(env, "closing-note", "list", "-w", w, "--json"))[0]["description"]
        == "All done"
    )
    assert (
        json.loads(run(env, "template", "list", "-w", w, "--channel", str(ch["id"]), "--json"))[0][
            "name"
        ]
        == "welcome"
    )
    assert "Mail" in run(env, "channel", "list", "-w", w)
    tokens = json.loads(run(env, "token", "list", "-w", w, "--json"))
    run(env, "token", "revoke", "-w", w, str(tokens[0]["id"]))
    run(env, "tag", "remove", "-w", w, "vip")
    run(env, "lifecycle", "remove", "-w", w, "Lead")
    run(env, "closing-note", "remove", "-w", w, "Done")
    run(env, "channel", "remove", "-w", w, str(ch["id"]))
    run(env, "workspace", "delete", w)
    assert json.loads(run(env, "workspace", "list", "--json")) == []


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["user", "add", "-w", "99", "--email", "a@example.com", "--first-name", "A"],
            "workspace 99 not found",
        ),
        (["channel", "add", "-w", "99", "X", "--source", "telegram"], "workspace 99 not found"),
        (["custom-field", "add", "-w", "1", "X", "--type", "colour"], "dataType"),
    ],
)
def test_errors_are_plain_words_and_exit_non_zero(
    env: dict[str, str], args: list[str], message: str
) -> None:
    run(env, "demo")
    result = runner.invoke(app, args, env=env)
    assert result.exit_code == 1
    assert message in result.output


def test_bad_configuration_stops_with_one_line(tmp_path: Path) -> None:
    result = runner.invoke(app, ["migrate"], env={"OPENRESPOND_DATABASE_URL": "mysql://x"})
    assert result.exit_code == 2
    assert "OPENRESPOND_DATABASE_URL" in result.output


def test_serve_outside_demo_needs_an_admin_token(env: dict[str, str]) -> None:
    result = runner.invoke(app, ["serve"], env={**env, "OPENRESPOND_ADMIN_TOKEN": ""})
    assert result.exit_code == 2
    assert "OPENRESPOND_ADMIN_TOKEN" in result.output


def test_sandbox_and_worker_commands(env: dict[str, str]) -> None:
    run(env, "demo")
    out = run(
        env,
        "sandbox",
        "incoming",
        "-w",
        "1",
        "--channel",
        "123",
        "--from",
        "+60123000111",
        "Hi!",
        "--first-name",
        "Nia",
    )
    assert out.startswith("message 1 from contact")
    out = run(
        env,
        "sandbox",
        "incoming",
        "-w",
        "1",
        "--channel",
        "124",
        "--from",
        "nia@example.com",
        "--message",
        '{"type": "email", "text": "Body", "subject": "Q"}',
    )
    assert out.startswith("message 2 from contact")

    # a reply is queued offline; `worker --once` delivers what is due and exits
    async def reply(db: Any, _: Any) -> int:
        from openrespond.db import Scope
        from openrespond.identifiers import Identifier
        from openrespond.messages import service
        from openrespond.messages.schemas import TextMessage

        async with db.transaction() as tx:
            return await service.send(
                Scope(tx, 1),
                Identifier("phone", "+60123000111"),
                channel_id=123,
                message=TextMessage(text="Hello Nia"),
            )

    from openrespond.cli.tools import run as run_work  # what the CLI's commands run through
    from openrespond.settings import Settings

    message_id = run_work(reply, Settings.from_env(env))
    assert "delivered 1 job(s)" in run(env, "worker", "--once")
    sent = json.loads(run(env, "sandbox", "sent", "-w", "1", "--channel", "123", "--json"))
    assert [(s["messageId"], s["address"]) for s in sent] == [(message_id, "+60123000111")]
    record = json.loads(
        run(
            env,
            "sandbox",
            "status",
            "-w",
            "1",
            str(message_id),
            "failed",
            "--reason",
            "gone",
            "--json",
        )
    )
    last = record["status"][-1]
    assert last == {
        "value": "failed",
        "timestamp": last["timestamp"],
        "message": "gone",
        "timestampMs": last["timestampMs"],
    }
    assert last["timestamp"] == last["timestampMs"] // 1000
    # statuses only move forward: nothing follows failed
    refused = runner.invoke(app, ["sandbox", "status", "-w", "1", str(message_id), "read"], env=env)
    assert refused.exit_code == 1
    assert "failed; its status cannot change" in refused.output
    ch = json.loads(
        run(env, "channel", "update", "-w", "1", "124", "--name", "Support mail", "--json")
    )
    assert ch[0]["name"] == "Support mail"
    assert "reset to empty" in run(env, "sandbox", "reset", "-w", "1")
    assert json.loads(run(env, "sandbox", "sent", "-w", "1", "--channel", "123", "--json")) == []
    assert "reset to demo" in run(env, "sandbox", "reset", "-w", "1", "--demo")


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        (["sandbox", "incoming", "-w", "1", "--channel", "123", "--from", "x", "Hi"], 1, "address"),
        (
            ["sandbox", "incoming", "-w", "1", "--channel", "123", "--from", "+60123000111"],
            2,
            "TEXT",
        ),
        (["sandbox", "status", "-w", "1", "1", "lost"], 2, "status"),
        (["sandbox", "sent", "-w", "1", "--channel", "999"], 1, "channel 999 not found"),
        (["channel", "update", "-w", "1", "123", "--settings", "[1]"], 2, "JSON object"),
    ],
)
def test_sandbox_errors(env: dict[str, str], args: list[str], code: int, message: str) -> None:
    run(env, "demo")
    result = runner.invoke(app, args, env=env)
    assert result.exit_code == code, result.output
    assert message in result.output


def test_serve_on_a_port_in_use_says_so_in_one_line_and_starts_nothing(tmp_path: Path) -> None:
    import os
    import socket
    import subprocess
    import sys

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        db = tmp_path / "never.db"
        proc = subprocess.run(
            [sys.executable, "-m", "openrespond", "serve", "--demo"],
            env={
                **os.environ,
                "OPENRESPOND_DATABASE_URL": f"sqlite:///{db}",
                "OPENRESPOND_PORT": str(port),
            },
            capture_output=True,
            text=True,
            timeout=60,
        )
    assert proc.returncode == 1, proc
    assert proc.stdout == ""  # no banner, no token
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, lines
    assert f"127.0.0.1:{port}" in lines[0], lines
    assert "in use" in lines[0], lines
    assert not db.exists()  # nothing was prepared either
