"""A write acknowledged with 200 survives ``kill -9``; an accepted message is delivered once."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx

from tests.backend import database_url, query
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

        # Concurrent writes share commits (SQLite's group commit): each answered 200 is kept.
        def create(i: int) -> int:
            with httpx.Client(base_url=f"{server.url}/v2", headers=headers) as own:
                r = own.post(
                    "/contact", json={"firstName": f"Many{i}", "email": f"m{i}@example.com"}
                )
                assert r.status_code == 200, r.text
                contact_id: int = r.json()["contactId"]
                return contact_id

        with ThreadPoolExecutor(16) as pool:
            many = list(pool.map(create, range(50, 114)))
        acknowledged.extend(many)
    finally:
        server.kill()
    assert server.proc is not None
    assert server.proc.returncode == -9
    with (
        ServerProcess(db, "--demo", env=env) as again,
        httpx.Client(base_url=f"{again.url}/v2", headers=headers) as api,
    ):
        for i, cid in enumerate(acknowledged):
            r = api.get(f"/contact/id:{cid}")
            assert r.status_code == 200, (cid, r.text)
            assert r.json()["email"] == (f"d{i}@example.com" if i < 50 else f"m{i}@example.com")
        assert api.get(f"/contact/id:{acknowledged[0]}").json()["tags"] == ["kept"]
        assert api.get(f"/contact/id:{acknowledged[1]}").json()["lastName"] == "Updated"


def _sent(db: Path) -> list[tuple[int, int]]:
    """(message id, number of deliveries) for every outgoing message."""
    return query(
        db,
        "SELECT m.id, (SELECT COUNT(*) FROM sandbox_deliveries d WHERE d.message_id = m.id)"
        " FROM messages m WHERE m.traffic = 'outgoing' ORDER BY m.id",
    )


def _statuses(db: Path) -> list[str]:
    return [r[0] for r in query(db, "SELECT statuses FROM messages ORDER BY id")]


def _wait_delivered(db: Path, count: int, seconds: float = 20) -> list[tuple[int, int]]:
    deadline = time.monotonic() + seconds
    while True:
        sent = _sent(db)
        if len(sent) == count and all(n == 1 for _, n in sent):
            return sent
        assert time.monotonic() < deadline, sent
        time.sleep(0.05)


def _accept(url: str, count: int) -> list[int]:
    with httpx.Client(base_url=f"{url}/v2", headers={"Authorization": f"Bearer {TOKEN}"}) as api:
        ids = []
        for i in range(count):
            r = api.post(
                "/contact/id:12345/message",
                json={"channelId": 123, "message": {"type": "text", "text": f"m{i}"}},
            )
            assert r.status_code == 200, r.text
            ids.append(r.json()["messageId"])
        return ids


def test_accepted_messages_are_delivered_after_sigkill(tmp_path: Path) -> None:
    """Messages accepted by a server without a running worker, then killed, go out after
    the restart: exactly once each, with the full status history."""
    db = tmp_path / "outbox.db"
    env = {"OPENRESPOND_DEMO_TOKEN": TOKEN}
    server = ServerProcess(db, "--demo", "--no-worker", env=env).start()
    try:
        ids = _accept(server.url, 40)
        assert _sent(db) == [(i, 0) for i in ids]
    finally:
        server.kill()
    with ServerProcess(db, "--demo", env=env):
        assert [i for i, _ in _wait_delivered(db, 40)] == ids
    for statuses in _statuses(db):
        assert [s["value"] for s in json.loads(statuses)] == ["pending", "sent", "delivered"]


def test_separate_workers_share_the_queue_and_deliver_each_message_once(
    tmp_path: Path,
) -> None:
    """Two `openrespond worker` processes beside a server without its own worker; one of them
    is killed mid-run, and its leased jobs are taken over once the lease runs out."""
    db = tmp_path / "workers.db"
    env = {
        **os.environ,
        "OPENRESPOND_DATABASE_URL": database_url(db),
        "OPENRESPOND_DEMO_TOKEN": TOKEN,
        "OPENRESPOND_LEASE_SECONDS": "2",
    }
    with ServerProcess(db, "--demo", "--no-worker", env=env) as server:
        ids = _accept(server.url, 30)
        workers = [
            subprocess.Popen(
                [sys.executable, "-m", "openrespond", "worker", "--batch", "5"],
                env=env,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            for _ in range(2)
        ]
        try:
            workers[0].send_signal(signal.SIGKILL)
            ids += _accept(server.url, 30)
            sent = _wait_delivered(db, 60)
        finally:
            for w in workers:
                w.kill()
                w.wait(10)
    assert [i for i, _ in sent] == ids
    assert query(db, "SELECT COUNT(*) FROM delivery_jobs") == [(0,)]


def test_events_in_flight_are_delivered_after_sigkill(tmp_path: Path) -> None:
    """A server is killed while webhook posts are under way (a slow receiver that also fails
    some first attempts). After the restart every committed event reaches the receiver at
    least once, and every copy of an event carries the same webhook-id and body."""
    from tests.webhooks.receiver import receiving

    db = tmp_path / "events.db"
    env = {
        "OPENRESPOND_DEMO_TOKEN": TOKEN,
        "OPENRESPOND_ALLOW_PRIVATE_NETWORKS": "127.0.0.0/8",
        "OPENRESPOND_RETRY_BASE_MS": "50",
        "OPENRESPOND_LEASE_SECONDS": "1",
        "OPENRESPOND_WEBHOOK_TIMEOUT_SECONDS": "1",
    }
    # Slow answers keep posts in flight when the server dies; some first attempts fail.
    script: list[tuple[int, dict[str, str], float]] = [
        (500, {}, 0.2) if i % 5 == 0 else (200, {}, 2.0) for i in range(30)
    ]
    with receiving(script=script) as rx:
        server = ServerProcess(db, "--demo", env=env).start()
        try:
            with httpx.Client(
                base_url=server.url, headers={"Authorization": f"Bearer {TOKEN}"}, timeout=10
            ) as api:
                r = api.post("/control/workspaces/1/webhooks", json={"url": rx.url})
                assert r.status_code == 200, r.text
                for i in range(40):
                    r = api.post("/v2/contact", json={"firstName": f"C{i}", "email": f"c{i}@x.io"})
                    assert r.status_code == 200, r.text
            deadline = time.monotonic() + 10
            while not rx.requests and time.monotonic() < deadline:
                time.sleep(0.01)
            assert rx.requests  # posts are under way
        finally:
            server.kill()
        committed = {uid for (uid,) in query(db, "SELECT uid FROM events")}
        [(unfinished,)] = query(
            db, "SELECT COUNT(*) FROM webhook_deliveries WHERE status != 'delivered'"
        )
        assert len(committed) == 40
        assert unfinished > 0  # the kill came while deliveries were not all done
        with ServerProcess(db, "--demo", env=env):
            deadline = time.monotonic() + 60
            while {e["event_id"] for e in rx.events()} != committed:
                assert time.monotonic() < deadline, len({e["event_id"] for e in rx.events()})
                time.sleep(0.05)
            while query(
                db, "SELECT COUNT(*) FROM webhook_deliveries WHERE status != 'delivered'"
            ) != [(0,)]:
                assert time.monotonic() < deadline
                time.sleep(0.05)
    copies: dict[str, set[tuple[str, bytes]]] = {}
    for req in rx.requests:
        copies.setdefault(req.event["event_id"], set()).add((req.headers["webhook-id"], req.body))
    assert all(len(c) == 1 for c in copies.values())
    assert all(wid == uid for uid, c in copies.items() for wid, _ in c)
    assert len(rx.requests) > 40  # the failed first attempts were retried


def test_messages_in_flight_to_a_bridge_are_delivered_after_sigkill(tmp_path: Path) -> None:
    """The server dies while a slow custom-channel bridge holds its posts; after the restart
    every accepted message reaches the bridge at least once and ends `sent` with an mId."""
    from tests.webhooks.receiver import bridge_channel, receiving

    db = tmp_path / "bridge.db"
    env = {
        "OPENRESPOND_DEMO_TOKEN": TOKEN,
        "OPENRESPOND_ALLOW_PRIVATE_NETWORKS": "127.0.0.0/8",
        "OPENRESPOND_RETRY_BASE_MS": "50",
        "OPENRESPOND_LEASE_SECONDS": "1",
        "OPENRESPOND_WEBHOOK_TIMEOUT_SECONDS": "3",
    }

    def reply(req: Any) -> bytes:
        return json.dumps({"mId": "m-" + json.loads(req.body)["message"]["text"]}).encode()

    with receiving(reply=reply, script=[(200, {}, 2.0)] * 25) as bridge:
        server = ServerProcess(db, "--demo", env=env).start()
        try:
            with httpx.Client(
                base_url=server.url, headers={"Authorization": f"Bearer {TOKEN}"}, timeout=10
            ) as api:
                channel = bridge_channel(api, 1, bridge)
                accepted = []
                for i in range(20):
                    r = api.post(
                        "/v2/contact/id:12345/message",
                        json={"channelId": channel, "message": {"type": "text", "text": str(i)}},
                    )
                    assert r.status_code == 200, r.text
                    accepted.append(r.json()["messageId"])
            deadline = time.monotonic() + 10
            while not bridge.requests and time.monotonic() < deadline:
                time.sleep(0.01)
            assert bridge.requests
        finally:
            server.kill()
        [(waiting,)] = query(db, "SELECT COUNT(*) FROM delivery_jobs")
        assert waiting > 0  # the kill came before every message was through
        with ServerProcess(db, "--demo", env=env):
            deadline = time.monotonic() + 60
            while query(db, "SELECT COUNT(*) FROM delivery_jobs")[0][0]:
                assert time.monotonic() < deadline
                time.sleep(0.05)
            rows = query(
                db,
                "SELECT id, status, channel_message_id FROM messages WHERE channel_id = ?"
                " ORDER BY id",
                channel,
            )
    assert [r[0] for r in rows] == accepted
    assert all(status == "sent" and m_id.startswith("m-") for _, status, m_id in rows)
    posted = {json.loads(r.body)["message"]["text"] for r in bridge.requests}
    assert posted == {str(i) for i in range(20)}


def test_accepted_provider_webhooks_are_applied_once_after_sigkill(tmp_path: Path) -> None:
    """WhatsApp webhooks answered 200 by a server whose worker never got to them, then
    killed: after the restart each message is stored once, and Meta redelivering them
    changes nothing."""
    from tests.channels.fake_meta import channel_settings, fake_meta, post_webhook, text_from

    db = tmp_path / "inbound.db"
    env = {"OPENRESPOND_DEMO_TOKEN": TOKEN, "OPENRESPOND_ALLOW_PRIVATE_NETWORKS": "127.0.0.0/8"}
    with fake_meta() as meta:
        server = ServerProcess(db, "--demo", "--no-worker", env=env).start()
        try:
            with httpx.Client(
                base_url=server.url, headers={"Authorization": f"Bearer {TOKEN}"}, timeout=10
            ) as api:
                r = api.post(
                    "/control/workspaces/1/channels",
                    json={
                        "name": "WhatsApp",
                        "source": "whatsapp_cloud",
                        "driver": "whatsapp_cloud",
                        "settings": channel_settings(meta),
                    },
                )
                assert r.status_code == 200, r.text
                channel = r.json()["id"]
            bodies = [text_from(f"6012345{i:04d}", f"hello {i}", f"wamid.K{i}") for i in range(20)]
            for body in bodies:
                assert post_webhook(server.url, channel, body).status_code == 200
        finally:
            server.kill()
        assert query(db, "SELECT COUNT(*) FROM provider_inbox") == [(20,)]
        with ServerProcess(db, "--demo", env=env) as again:
            deadline = time.monotonic() + 30
            while query(db, "SELECT COUNT(*) FROM provider_inbox")[0][0]:
                assert time.monotonic() < deadline
                time.sleep(0.05)
            for body in bodies[:5]:
                assert post_webhook(again.url, channel, body).status_code == 200
            while query(db, "SELECT COUNT(*) FROM provider_inbox")[0][0]:
                assert time.monotonic() < deadline
                time.sleep(0.05)
    rows = query(
        db,
        "SELECT channel_message_id FROM messages WHERE channel_id = ? ORDER BY id",
        channel,
    )
    assert [r[0] for r in rows] == [f"wamid.K{i}" for i in range(20)]
