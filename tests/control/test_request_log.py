"""The workspace's API request log through the control API and the CLI: what is recorded,
redacted, filtered, bounded, and kept apart per workspace (both backends)."""

from __future__ import annotations

import asyncio
import json
import threading
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
from typer.testing import CliRunner

from openrespond.apilog.retention import ApiLogRetention
from openrespond.apilog.service import BODY_LIMIT, redact
from openrespond.cli import app
from openrespond.db import open_database
from tests.backend import database_url
from tests.conftest import Workspace, make_settings


def _log(ws: Workspace, count: int, **params: Any) -> list[dict[str, Any]]:
    """The newest requests once at least ``count`` are recorded (they are written in
    batches a moment after the answer)."""
    deadline = time.monotonic() + 5
    while True:
        r = ws.control.get(
            f"/control/workspaces/{ws.wid}/requests", params={"limit": 100, **params}
        )
        assert r.status_code == 200, r.text
        items: list[dict[str, Any]] = r.json()["items"]
        if len(items) >= count or time.monotonic() > deadline:
            return items
        time.sleep(0.05)


def test_every_v2_request_is_recorded_and_failures_keep_redacted_bodies(ws: Workspace) -> None:
    ok = ws.api.get("/space/user")
    bad = ws.api.post(
        "/contact",
        json={
            "firstName": "Ada",
            "email": "nope",
            "password": "pw-secret",
            "nested": {"apiKey": "k-secret"},
        },
    )
    assert bad.status_code == 400
    items = _log(ws, 2)
    by_rid = {i["requestId"]: i for i in items}
    good, failed = by_rid[ok.headers["x-request-id"]], by_rid[bad.headers["x-request-id"]]
    assert good["route"] == "/v2/space/user"
    assert good["status"] == 200
    assert good["hasBody"] is False
    assert good["tokenName"] == "tests"
    assert "requestBody" not in good
    assert failed["method"] == "POST"
    assert failed["path"] == "/v2/contact"
    assert failed["durationMs"] > 0
    detail = ws.control.get(f"/control/workspaces/{ws.wid}/requests/{failed['id']}").json()
    body = json.loads(detail["requestBody"])
    assert body == {
        "firstName": "Ada",
        "email": "nope",
        "password": "[redacted]",
        "nested": {"apiKey": "[redacted]"},
    }
    assert json.loads(detail["responseBody"]) == bad.json()
    assert "secret" not in json.dumps(detail)


def test_filters_and_their_errors(ws: Workspace) -> None:
    ws.api.get("/space/user")
    missing = ws.api.get("/contact/id:99999999")
    items = _log(ws, 2, status="4xx")
    assert [i["requestId"] for i in items] == [missing.headers["x-request-id"]]
    assert _log(ws, 1, route="/v2/space/user")[0]["route"] == "/v2/space/user"
    assert _log(ws, 0, since=str(int(time.time() * 1000) + 3_600_000)) == []
    assert _log(ws, 0, since="2000", until="1000") == []  # an empty range matches nothing
    assert len(_log(ws, 2, until=str(int(time.time() * 1000) + 60_000))) == 2
    base = f"/control/workspaces/{ws.wid}/requests"
    for params, field in (
        ({"status": "6xx"}, "status"),
        ({"route": "contact"}, "route"),
        ({"token": "me"}, "token"),
        ({"since": "last week"}, "since"),
        ({"until": "-5"}, "until"),
        ({"limit": "1000"}, "limit"),
    ):
        r = ws.control.get(base, params=params)
        assert r.status_code == 400, params
        assert field in r.json()["message"].split(":")[0].split(" "), r.text


def test_pages_go_back_in_time(ws: Workspace) -> None:
    rids = [ws.api.get("/space/user").headers["x-request-id"] for _ in range(5)]
    _log(ws, 5)
    first = ws.control.get(f"/control/workspaces/{ws.wid}/requests", params={"limit": 3}).json()
    assert [i["requestId"] for i in first["items"]] == rids[::-1][:3]
    second = httpx.get(first["pagination"]["next"], headers=ws.control.headers, timeout=10).json()
    assert [i["requestId"] for i in second["items"]] == rids[::-1][3:]


def test_another_workspaces_requests_are_not_there(ws: Workspace, other: Workspace) -> None:
    mine = ws.api.get("/space/user").headers["x-request-id"]
    theirs = other.api.get("/space/user").headers["x-request-id"]
    assert [i["requestId"] for i in _log(ws, 1)] == [mine]
    their_id = _log(other, 1)[0]["id"]
    assert ws.control.get(f"/control/workspaces/{ws.wid}/requests/{their_id}").status_code == 404
    assert theirs not in json.dumps(_log(ws, 1))


def test_concurrent_requests_are_each_recorded_once(ws: Workspace) -> None:
    rids: list[str] = []
    lock = threading.Lock()

    def call(n: int) -> None:
        with httpx.Client(base_url=str(ws.api.base_url), headers=ws.api.headers) as c:
            for i in range(10):
                rid = f"race-{n}-{i}"
                c.post("/contact", json={"email": "bad"}, headers={"X-Request-Id": rid})
                with lock:
                    rids.append(rid)

    threads = [threading.Thread(target=call, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    seen: list[str] = []
    cursor: str | None = f"/control/workspaces/{ws.wid}/requests?limit=100"
    deadline = time.monotonic() + 5
    while len(seen) < 80 and time.monotonic() < deadline:
        seen = []
        cursor = f"/control/workspaces/{ws.wid}/requests?limit=100"
        while cursor:
            page = ws.control.get(cursor).json()
            seen += [i["requestId"] for i in page["items"]]
            cursor = page["pagination"]["next"]
        time.sleep(0.05)
    assert sorted(seen) == sorted(rids)


def test_redaction_of_text_that_is_not_json() -> None:
    assert redact(b'{"password": "x", "token": 1') == '{"password": [redacted], "token": [redacted]'
    assert (
        redact(b"user=ada&password=x&apikey=y") == "user=ada&password=[redacted]&apikey=[redacted]"
    )
    assert redact(b"nul\x00byte \xff") == "nul\\u0000byte \ufffd"
    long = redact(b'"' + b"a" * (BODY_LIMIT * 2) + b'"')
    assert long is not None
    assert long.startswith('"aaa')
    assert long.endswith("more characters not kept)")
    assert redact(b"") is None


@pytest.mark.parametrize("bound", ["age", "count"])
def test_retention_keeps_the_log_within_its_bounds(tmp_path: Path, bound: str) -> None:
    async def go() -> tuple[int, list[int]]:
        db = open_database(make_settings(tmp_path / "retention.db"))
        await db.connect()
        try:
            from openrespond.db.migrations import migrate

            await migrate(db)
            async with db.transaction() as tx:
                ws = await tx.fetch_val(
                    "INSERT INTO workspaces (name, org_id, created_at) VALUES ('r', 1, 0) RETURNING id"
                )
                now = int(time.time() * 1000)
                await tx.execute_many(
                    "INSERT INTO api_requests (workspace_id, at_ms, method, route, path, status,"
                    " duration_us, request_id) VALUES (?, ?, 'GET', '/v2/x', '/v2/x', 200, 1, ?)",
                    [(ws, now - (10 - i) * 86_400_000 - 43_200_000, f"r{i}") for i in range(10)],
                )
            days, rows = (3, 1000) if bound == "age" else (3650, 4)
            gone = await ApiLogRetention(db, days=days, max_rows=rows).purge()
            left = await db.reader().fetch_all("SELECT id FROM api_requests ORDER BY id")
            return gone, [r["id"] for r in left]
        finally:
            await db.close()

    gone, left = asyncio.run(go())
    assert gone == (8 if bound == "age" else 6)
    assert len(left) == 10 - gone
    assert left == sorted(left)[-len(left) :]  # the newest are kept


def test_the_cli_prints_the_log(ws: Workspace, server_db: Path) -> None:
    bad = ws.api.post("/contact", json={"email": "nope"})
    _log(ws, 1)
    env = {"OPENRESPOND_DATABASE_URL": database_url(server_db)}
    args = ["logs", "-w", str(ws.wid)]
    result = CliRunner().invoke(app, [*args, "--status", "errors", "--json"], env=env)
    assert result.exit_code == 0, result.output
    items = json.loads(result.stdout)
    assert [i["requestId"] for i in items] == [bad.headers["x-request-id"]]
    one = CliRunner().invoke(app, [*args, "--id", str(items[0]["id"])], env=env)
    assert json.loads(json.loads(one.stdout)["requestBody"]) == {"email": "nope"}
    table = CliRunner().invoke(app, args, env=env)
    assert table.exit_code == 0
    assert "POST" in table.stdout
    assert "400" in table.stdout
    wrong = CliRunner().invoke(app, [*args, "--status", "7xx"], env=env)
    assert wrong.exit_code == 1
    assert "status must be one of" in wrong.output
