"""A write acknowledged with 200 survives ``kill -9`` of the server."""

from __future__ import annotations

from pathlib import Path

import httpx

from tests.server_process import ServerProcess

TOKEN = "durability-token-0123456789"


def test_acknowledged_writes_survive_sigkill(tmp_path: Path) -> None:
    db = tmp_path / "crash.db"
    env = {"OPENRESPOND_DEMO_TOKEN": TOKEN}
    headers = {"Authorization": f"Bearer {TOKEN}"}
    acknowledged: list[int] = []
    server = ServerProcess(db, "--demo", env=env).start()
    try:
        with httpx.Client(base_url=f"{server.url}/v2", headers=headers) as api:
            for i in range(50):
                r = api.post(
                    "/contact", json={"firstName": f"Durable{i}", "email": f"d{i}@example.com"}
                )
                assert r.status_code == 200
                acknowledged.append(r.json()["contactId"])
            r = api.post(f"/contact/id:{acknowledged[0]}/tag", json=["kept"])
            assert r.status_code == 200
            r = api.put(f"/contact/id:{acknowledged[1]}", json={"lastName": "Updated"})
            assert r.status_code == 200
    finally:
        server.kill()
    assert server.proc is not None and server.proc.returncode == -9
    with (
        ServerProcess(db, "--demo", env=env) as again,
        httpx.Client(base_url=f"{again.url}/v2", headers=headers) as api,
    ):
        for i, cid in enumerate(acknowledged):
            r = api.get(f"/contact/id:{cid}")
            assert r.status_code == 200, (cid, r.text)
            assert r.json()["email"] == f"d{i}@example.com"
        assert api.get(f"/contact/id:{acknowledged[0]}").json()["tags"] == ["kept"]
        assert api.get(f"/contact/id:{acknowledged[1]}").json()["lastName"] == "Updated"
