"""A database as a released schema left it, for upgrade tests.

``tests/data/schema-7.json`` holds every row of a database that openrespond at schema 7 made
through its own API (workspace, tokens, users, channels, templates, tags, custom fields,
contacts with values and tags, messages delivered and still queued, a conversation with its
assignment, comment and closing note, a merge, a webhook subscription with events waiting to
be posted, an idempotent reply), and what that server answered when asked for all of it.
``test_upgrade.py`` loads the rows into a database migrated to schema 7 on either backend,
migrates it to the newest schema, and asks the new server the same questions.

The file was written by ``python -m tests.db.upgrade_data`` while schema 7 was the newest;
it is not rewritten when the schema moves on (that is the point). A later release whose
schema changes adds its own file the same way, and the test runs every file.
"""

from __future__ import annotations

import asyncio
import base64
import json
import re
import sys
from pathlib import Path
from typing import Any

import httpx

from openrespond.db import Database

DATA = Path(__file__).resolve().parents[1] / "data"
# Tables whose rows are the schema's own bookkeeping, or of no user's concern.
SKIP = {"schema_migrations", "sqlite_sequence", "rate_buckets"}


def files() -> list[Path]:
    """Every snapshot, oldest schema first."""
    return sorted(DATA.glob("schema-*.json"), key=lambda p: int(p.stem.split("-")[1]))


def _encode(value: Any) -> Any:
    if isinstance(value, bytes | bytearray | memoryview):
        return {"$bytes": base64.b64encode(bytes(value)).decode()}
    return value


def _decode(value: Any) -> Any:
    if isinstance(value, dict) and set(value) == {"$bytes"}:
        return base64.b64decode(value["$bytes"])
    return value


async def dump(db: Database) -> list[dict[str, Any]]:
    """Every table of a SQLite database in creation order (parents before children), with
    its columns and rows."""
    reader = db.reader()
    names = [
        r[0]
        for r in await reader.fetch_all(
            "SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY rowid"
        )
        if r[0] not in SKIP
    ]
    tables = []
    for name in names:
        columns = [r[1] for r in await reader.fetch_all(f"PRAGMA table_info({name})")]
        rows = await reader.fetch_all(f"SELECT * FROM {name} ORDER BY rowid")
        tables.append(
            {
                "name": name,
                "columns": columns,
                "rows": [[_encode(row[i]) for i in range(len(columns))] for row in rows],
            }
        )
    return tables


async def load(db: Database, tables: list[dict[str, Any]]) -> None:
    """Insert the rows of ``dump`` into a database migrated to the same schema, then move
    PostgreSQL's id sequences past them, as normal use would have left them."""
    async with db.transaction() as tx:
        for table in tables:
            if not table["rows"]:
                continue
            columns = ", ".join(table["columns"])
            marks = ", ".join("?" for _ in table["columns"])
            await tx.execute_many(
                f"INSERT INTO {table['name']} ({columns}) VALUES ({marks})",
                [[_decode(v) for v in row] for row in table["rows"]],
            )
            if db.dialect == "postgresql" and "id" in table["columns"]:
                await tx.execute(
                    f"SELECT setval(pg_get_serial_sequence('{table['name']}', 'id'),"
                    f" (SELECT MAX(id) FROM {table['name']}))"
                )


def reads(api: httpx.Client, control: httpx.Client, ws: int) -> dict[str, Any]:
    """What a server answers about everything in the workspace: every contact, its
    messages and channels, the catalogue, webhooks and their deliveries, tokens, and what
    the sandbox sent. Absolute links are made relative to the server's address."""
    out: dict[str, Any] = {}

    def get(client: httpx.Client, path: str, **kwargs: Any) -> Any:
        r = client.request("POST" if "json" in kwargs else "GET", path, **kwargs)
        assert r.status_code == 200, (path, r.text)
        text = re.sub(r"https?://127\.0\.0\.1:\d+", "BASE", r.text)
        out[path + (json.dumps(kwargs["json"]) if "json" in kwargs else "")] = json.loads(text)
        return json.loads(text)

    contacts = get(api, "/contact/list?limit=100", json={"search": ""})
    for contact in contacts["items"]:
        cid = contact["id"]
        get(api, f"/contact/id:{cid}")
        get(api, f"/contact/id:{cid}/channels")
        get(api, f"/contact/id:{cid}/message/list?limit=100")
    for path in ("/space/user", "/space/tag", "/space/custom_field", "/space/closing_notes"):
        get(api, path)
    for channel in get(api, "/space/channel")["items"]:
        get(api, f"/space/channel/{channel['id']}/template")
        if channel["name"].startswith("Sandbox"):
            get(control, f"/control/workspaces/{ws}/sandbox/channels/{channel['id']}/sent")
    for hook in get(control, f"/control/workspaces/{ws}/webhooks")["items"]:
        get(control, f"/control/workspaces/{ws}/webhooks/{hook['id']}/deliveries?limit=100")
    return out


async def deliver(path: Path) -> None:
    """Deliver what is queued now in the database ``path`` names, as a worker of this
    version does."""
    from openrespond.channels.worker import DeliveryWorker
    from tests.backend import open_test_database

    db = open_test_database(path)
    await db.connect()
    try:
        while await DeliveryWorker(db, name="upgrade-fixture").run_once():
            pass
    finally:
        await db.close()


def _make(path: Path) -> dict[str, Any]:
    """Fill a new database through the API of this version, and read everything back."""
    from openrespond.app import create_app
    from openrespond.db.migrations import available
    from openrespond.db.sqlite import SQLiteDatabase
    from tests.conftest import ServerThread, admin_client, make_settings

    settings = make_settings(path, worker=False)
    with ServerThread(create_app(settings)) as base:
        control = admin_client(base)
        wid = control.post("/control/workspaces", json={"name": "Upgrade"}).json()["id"]
        w = f"/control/workspaces/{wid}"
        token = control.post(f"{w}/tokens", json={"name": "integration"}).json()["token"]
        api = httpx.Client(
            base_url=f"{base}/v2", headers={"Authorization": f"Bearer {token}"}, timeout=30
        )

        def ok(r: httpx.Response) -> Any:
            assert r.status_code == 200, r.text
            return r.json()

        owner = ok(
            control.post(
                f"{w}/users",
                json={"email": "owner@example.com", "firstName": "Olivia", "role": "owner"},
            )
        )["id"]
        ok(
            control.post(
                f"{w}/users",
                json={"email": "agent@example.com", "firstName": "Alex", "role": "agent"},
            )
        )
        for stage in ("New Lead", "Customer"):
            ok(control.post(f"{w}/lifecycle_stages", json={"name": stage}))
        ok(control.post(f"{w}/closing_notes", json={"category": "Resolved"}))
        wa = ok(
            control.post(
                f"{w}/channels", json={"name": "Sandbox WhatsApp", "source": "whatsapp_cloud"}
            )
        )["id"]
        ok(
            control.post(
                f"{w}/channels/{wa}/templates", json={"name": "hello_world", "languageCode": "en"}
            )
        )
        mail = ok(control.post(f"{w}/channels", json={"name": "Sandbox Email", "source": "gmail"}))[
            "id"
        ]
        ok(
            control.post(
                f"{w}/webhooks",
                json={"url": "https://93.184.216.34/hook", "events": ["*"]},
            )
        )
        ok(api.post("/space/custom_field", json={"name": "Score", "dataType": "number"}))
        ok(
            api.post(
                "/space/custom_field",
                json={"name": "Plan", "dataType": "list", "allowedValues": ["free", "pro"]},
            )
        )
        ok(api.post("/space/tag", json={"name": "vip", "colorCode": "#ff0000", "emoji": "⭐"}))
        ada = ok(
            api.post(
                "/contact",
                json={
                    "firstName": "Ada",
                    "lastName": "Lovelace",
                    "email": "ada@example.com",
                    "phone": "+60123456789",
                    "language": "en",
                    "custom_fields": [
                        {"name": "Score", "value": 42},
                        {"name": "Plan", "value": "pro"},
                    ],
                },
                headers={"Idempotency-Key": "create-ada"},
            )
        )["contactId"]
        ok(api.post(f"/contact/id:{ada}/tag", json=["vip", "beta"]))
        ok(api.post(f"/contact/id:{ada}/lifecycle/update", json={"name": "Customer"}))
        bob = ok(api.post("/contact", json={"firstName": "Bob", "email": "bob@example.com"}))[
            "contactId"
        ]
        bobby = ok(api.post("/contact", json={"firstName": "Bobby", "phone": "+14155550100"}))[
            "contactId"
        ]
        ok(api.post(f"/contact/id:{bobby}/tag", json=["beta"]))
        ok(api.post("/contact/merge", json={"contactIds": [bob, bobby]}))
        ok(
            api.post(
                f"/contact/id:{ada}/message",
                json={"channelId": wa, "message": {"type": "text", "text": "Hello Ada"}},
            )
        )
        ok(
            api.post(
                f"/contact/id:{bob}/message",
                json={
                    "channelId": mail,
                    "message": {"type": "email", "text": "Welcome", "subject": "Hi Bob"},
                },
            )
        )
        ok(
            control.post(
                f"{w}/sandbox/incoming",
                json={
                    "channelId": wa,
                    "address": "+447700900123",
                    "message": {"type": "text", "text": "Hi!"},
                },
            )
        )
        ok(api.post(f"/contact/id:{ada}/conversation/status", json={"status": "open"}))
        ok(api.post(f"/contact/id:{ada}/conversation/assignee", json={"assignee": owner}))
        ok(
            api.post(
                f"/contact/id:{ada}/comment",
                json={"text": f"Call back {{{{@user.{owner}}}}}"},
            )
        )
        ok(
            api.post(
                f"/contact/id:{ada}/conversation/status",
                json={"status": "close", "category": "Resolved", "summary": "Answered"},
            )
        )
        asyncio.run(deliver(path))
        # Queued when the schema changes: must still go out after the upgrade.
        ok(
            api.post(
                f"/contact/id:{ada}/message",
                json={"channelId": wa, "message": {"type": "text", "text": "Still queued"}},
            )
        )
        answers = reads(api, control, wid)
        api.close()
        control.close()

    async def rows() -> list[dict[str, Any]]:
        db = SQLiteDatabase(str(path))
        await db.connect()
        try:
            return await dump(db)
        finally:
            await db.close()

    return {
        "schema": max(m.version for m in available()),
        "workspace": wid,
        "token": token,
        "tables": asyncio.run(rows()),
        "answers": answers,
    }


if __name__ == "__main__":
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        snapshot = _make(Path(tmp) / "snapshot.db")
    target = DATA / f"schema-{snapshot['schema']}.json"
    target.write_text(json.dumps(snapshot, indent=1, ensure_ascii=False) + "\n", "utf-8")
    print(f"wrote {target}", file=sys.stderr)
