"""Upgrades keep data: a database as each released schema left it, full of what its API made,
is migrated to the newest schema and read back through the new server's API."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import httpx
import pytest

from openrespond.app import create_app
from openrespond.db.migrations import available, migrate
from tests.backend import open_test_database, query
from tests.conftest import ServerThread, admin_client, make_settings
from tests.db.upgrade_data import deliver, files, load, reads


def _snapshot(path: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(path.read_text("utf-8"))
    return data


def test_there_is_a_snapshot_of_every_schema_since_7_that_a_release_left_behind() -> None:
    """Schema 7 is the first with a snapshot; every schema a later migration replaced needs
    one (written by ``python -m tests.db.upgrade_data`` before that migration lands)."""
    newest = max(m.version for m in available())
    have = {_snapshot(p)["schema"] for p in files()}
    assert set(range(7, max(newest, 8))) <= have
    assert have <= set(range(7, newest + 1))


def _as_answered_now(key: str, answer: Any) -> Any:
    """An old answer as the new server gives it where its shape changed on purpose (each
    change is listed for upgraders in docs/deployment.md, "Upgrading"): custom-field
    choices are ``{"listValues": [...]}`` since schema 12."""
    if "custom_field" in key and isinstance(answer, dict):
        items = answer.get("items", [answer])
        for item in items:
            if isinstance(item.get("allowedValues"), list):
                item["allowedValues"] = {"listValues": item["allowedValues"]}
    return answer


@pytest.mark.parametrize("snapshot", files(), ids=lambda p: p.stem)
def test_an_old_database_reads_back_the_same_after_migrating(
    snapshot: Path, tmp_path: Path
) -> None:
    old = _snapshot(snapshot)
    path = tmp_path / "upgrade.db"

    async def prepare() -> list[int]:
        db = open_test_database(path)
        await db.connect()
        try:
            await migrate(db, upto=old["schema"])
            await load(db, old["tables"])
            return [m.version for m in await migrate(db)]
        finally:
            await db.close()

    applied = asyncio.run(prepare())
    newest = [m.version for m in available() if m.version > old["schema"]]
    assert applied == newest
    wid, token = old["workspace"], old["token"]
    with ServerThread(create_app(make_settings(path, worker=False))) as base:
        control = admin_client(base)
        api = httpx.Client(
            base_url=f"{base}/v2", headers={"Authorization": f"Bearer {token}"}, timeout=30
        )
        with api, control:
            # every answer of the old server, word for word, with the old token
            now = reads(api, control, wid)
            assert now.keys() == old["answers"].keys()
            for key, answer in old["answers"].items():
                assert now[key] == _as_answered_now(key, answer), key

            # and the upgraded database takes new work: ids continue, the unique rules hold
            contacts = old["answers"]['/contact/list?limit=100{"search": ""}']["items"]
            r = api.post("/contact", json={"firstName": "Cy", "email": "cy@example.com"})
            assert r.status_code == 200, r.text
            assert r.json()["contactId"] > max(c["id"] for c in contacts)
            r = api.post("/contact", json={"firstName": "Ada", "email": "ada@example.com"})
            assert r.status_code == 409, r.text
            ada = next(c["id"] for c in contacts if c["email"] == "ada@example.com")
            r = api.post(f"/contact/id:{ada}/tag", json=["after-upgrade"])
            assert r.status_code == 200, r.text
            assert "after-upgrade" in api.get(f"/contact/id:{ada}").json()["tags"]

    # the message queued before the upgrade goes out after it, once
    asyncio.run(deliver(path))
    statuses = query(path, "SELECT status FROM messages WHERE traffic = 'outgoing' ORDER BY id")
    assert [s for (s,) in statuses] == ["delivered"] * len(statuses)
    still_queued = [
        m
        for m in old["answers"][f"/contact/id:{ada}/message/list?limit=100"]["items"]
        if m["message"].get("text") == "Still queued"
    ]
    assert [m["status"][-1]["value"] for m in still_queued] == ["pending"]
