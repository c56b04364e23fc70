"""`openrespond api …` against the shared server, and what the client needs installed."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from typer.testing import CliRunner

from openrespond.cli import app
from tests.conftest import Workspace

runner = CliRunner()


def api(ws: Workspace, *args: str, code: int = 0) -> str:
    env = {"RESPONDIO_BASE_URL": f"{ws.base}/v2", "RESPONDIO_API_TOKEN": ws.token}
    result = runner.invoke(app, ["api", *args], env=env)
    assert result.exit_code == code, result.output
    # What a pipe would get (progress goes to stderr); errors are read from both.
    return result.stdout if code == 0 else result.output


def test_contacts_tags_and_messages(ws: Workspace) -> None:
    out = api(
        ws,
        "contacts",
        "create",
        "--first-name",
        "Ada",
        "--email",
        "ada@example.com",
        "--phone",
        "+60123456789",
    )
    cid = int(out.split()[-1])
    api(ws, "tag", "add", f"id:{cid}", "vip", "lead")
    api(ws, "tag", "remove", "email:ada@example.com", "lead")
    [shown] = json.loads(api(ws, "contacts", "get", "phone:+60123456789", "--json"))
    assert shown["id"] == cid
    assert shown["tags"] == ["vip"]
    assert "Ada" in api(ws, "contacts", "get", f"id:{cid}")  # a table
    mid = int(
        api(ws, "send", "email:ada@example.com", "Hello", "--channel", str(ws.channel_id)).split()[
            -1
        ]
    )
    listed = json.loads(api(ws, "messages", f"id:{cid}", "--json"))
    assert [m["messageId"] for m in listed] == [mid]
    assert "Hello" in api(ws, "messages", f"id:{cid}", "--all")
    api(ws, "contacts", "delete", f"id:{cid}")
    assert "404" in api(ws, "contacts", "get", f"id:{cid}", code=1)


def test_every_page_with_all(ws: Workspace) -> None:
    for i in range(12):
        api(ws, "contacts", "create", "--first-name", f"Many{i}")
    one = json.loads(api(ws, "contacts", "list", "--limit", "5", "--json"))
    every = json.loads(api(ws, "contacts", "list", "--all", "--json"))
    assert len(one) == 5
    assert [c["firstName"] for c in every] == [f"Many{i}" for i in range(12)]
    assert [
        c["firstName"]
        for c in json.loads(api(ws, "contacts", "list", "--search", "Many1", "--json"))
    ] == ["Many1", "Many10", "Many11"]


@pytest.mark.parametrize(
    ("args", "code", "word"),
    [
        (["contacts", "get", "name:ada"], 2, "identifier"),
        (["send", "id:1", "   "], 2, "text"),
        (["contacts", "get", "id:999999999"], 1, "404"),
    ],
)
def test_bad_input_is_explained(ws: Workspace, args: list[str], code: int, word: str) -> None:
    assert word in api(ws, *args, code=code)


def test_a_token_is_required() -> None:
    result = runner.invoke(app, ["api", "contacts", "get", "id:1"], env={"RESPONDIO_API_TOKEN": ""})
    assert result.exit_code == 2
    assert "token" in result.output


def test_the_client_imports_without_the_server_stack() -> None:
    """`pip install openrespond` (no extras) gives httpx and msgspec only: the client and its
    models must import with every server dependency absent."""
    code = (
        "import sys\n"
        "for m in ('litestar', 'uvicorn', 'asyncpg', 'redis', 'aiosmtplib', 'cryptography',"
        " 'phonenumbers', 'typer', 'rich'):\n"
        "    sys.modules[m] = None\n"
        "import openrespond.client as c\n"
        "c.Client(base_url='http://127.0.0.1:9/v2', token='t').close()\n"
        "print(len(c.__all__))\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert int(result.stdout) > 30
