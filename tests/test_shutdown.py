"""SIGTERM: the server stops taking requests, finishes what it holds, hands back the rest,
and exits within its grace period; across the restart nothing accepted is lost or sent twice.
"""

from __future__ import annotations

import collections
import json
import signal
import subprocess
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.backend import query
from tests.server_process import ServerProcess
from tests.webhooks.receiver import Receiver, bridge_channel, receiving, subscribe

TOKEN = "shutdown-token-0123456789"


def _env(**extra: str) -> dict[str, str]:
    return {
        "OPENRESPOND_DEMO_TOKEN": TOKEN,
        "OPENRESPOND_ALLOW_PRIVATE_NETWORKS": "127.0.0.0/8",
        "OPENRESPOND_RETRY_BASE_MS": "50",
        # Long leases: a job or post left leased would wait a minute, past these tests'
        # deadlines, so prompt delivery after the restart shows the leases were handed back.
        "OPENRESPOND_LEASE_SECONDS": "60",
        **extra,
    }


def _mid(req: Any) -> bytes:
    return json.dumps({"mId": "m-" + json.loads(req.body)["message"]["text"]}).encode()


def _setup(api: httpx.Client, bridge: Receiver, hooks: Receiver | None) -> int:
    """A webhook subscription to ``hooks`` and a custom channel to ``bridge``; its id."""
    if hooks is not None:
        subscribe(api, 1, hooks.url)
    return bridge_channel(api, 1, bridge)


def _send(api: httpx.Client, channel: int, texts: list[str]) -> list[int]:
    ids = []
    for text in texts:
        r = api.post(
            "/v2/contact/id:12345/message",
            json={"channelId": channel, "message": {"type": "text", "text": text}},
        )
        assert r.status_code == 200, r.text
        ids.append(r.json()["messageId"])
    return ids


def _terminate(server: ServerProcess) -> float:
    """SIGTERM, then the seconds until the process is gone."""
    assert server.proc is not None
    started = time.monotonic()
    server.proc.send_signal(signal.SIGTERM)
    try:
        server.proc.wait(60)
    except subprocess.TimeoutExpired:
        server.kill()
        raise AssertionError("the server did not exit after SIGTERM") from None
    # uvicorn re-raises the signal once it has shut down
    assert server.proc.returncode in (0, -signal.SIGTERM), server.output()
    return time.monotonic() - started


def _wait_until(check: Any, seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while not check():
        assert time.monotonic() < deadline, "not done in time"
        time.sleep(0.05)


def _queues_empty(db: Path) -> bool:
    jobs = query(db, "SELECT COUNT(*) FROM delivery_jobs")[0][0]
    hooks = query(db, "SELECT COUNT(*) FROM webhook_deliveries WHERE status = 'pending'")[0][0]
    return bool(jobs == 0 and hooks == 0)


@pytest.mark.parametrize("http_server", ["uvicorn", "granian"])
def test_nothing_is_lost_or_sent_twice_across_a_sigterm_restart(
    tmp_path: Path, http_server: str
) -> None:
    """Slow answers keep messages and webhook posts in flight when SIGTERM comes. The server
    lets them finish and records them, hands back what it had not started, and exits; the
    restarted server delivers the rest. Every message reaches the bridge once, every event
    the receiver once."""
    db = tmp_path / "term.db"
    env = _env(
        OPENRESPOND_SHUTDOWN_GRACE_SECONDS="20",
        OPENRESPOND_WEBHOOK_TIMEOUT_SECONDS="10",
        OPENRESPOND_SERVER=http_server,
    )
    texts = [f"t{i}" for i in range(24)]
    with (
        receiving(reply=_mid, script=[(200, {}, 0.4)] * 200) as bridge,
        receiving(script=[(200, {}, 0.4)] * 200) as hooks,
    ):
        server = ServerProcess(db, "--demo", env=env).start()
        try:
            with httpx.Client(
                base_url=server.url, headers={"Authorization": f"Bearer {TOKEN}"}, timeout=10
            ) as api:
                channel = _setup(api, bridge, hooks)
                ids = _send(api, channel, texts)
                for i in range(10):
                    r = api.post("/v2/contact", json={"firstName": f"T{i}", "email": f"t{i}@x.io"})
                    assert r.status_code == 200, r.text
            _wait_until(lambda: bridge.requests and hooks.requests, 10)
            took = _terminate(server)
        finally:
            if server.proc is not None and server.proc.poll() is None:
                server.kill()
        assert took < 20 + 5, took
        # What the stopped server held was finished and recorded, or handed back.
        assert query(db, "SELECT COUNT(*) FROM delivery_jobs WHERE lease_owner IS NOT NULL") == [
            (0,)
        ]
        assert query(
            db, "SELECT COUNT(*) FROM webhook_deliveries WHERE lease_owner IS NOT NULL"
        ) == [(0,)]
        # Every post that had started was answered and recorded before the exit.
        [(sent,)] = query(
            db, "SELECT COUNT(*) FROM messages WHERE channel_id = ? AND status = 'sent'", channel
        )
        assert 0 < sent == len(bridge.requests)
        [(posted,)] = query(
            db, "SELECT COUNT(*) FROM webhook_deliveries WHERE status = 'delivered'"
        )
        assert 0 < posted == len(hooks.requests)
        with ServerProcess(db, "--demo", env=env):
            _wait_until(lambda: _queues_empty(db), 40)
        committed = {uid for (uid,) in query(db, "SELECT uid FROM events")}
        rows = query(
            db,
            "SELECT id, status, channel_message_id FROM messages WHERE channel_id = ? ORDER BY id",
            channel,
        )
    assert [r[0] for r in rows] == ids
    assert all(status == "sent" and mid.startswith("m-") for _, status, mid in rows), rows
    assert collections.Counter(json.loads(r.body)["message"]["text"] for r in bridge.requests) == (
        collections.Counter(texts)
    )
    received = collections.Counter(r.headers["webhook-id"] for r in hooks.requests)
    assert set(received) == committed
    assert all(n == 1 for n in received.values()), received.most_common(3)
    assert len(committed) >= 10 + len(texts)  # contact.created and message.sent events


def test_work_past_the_grace_period_is_handed_back_and_the_server_exits(
    tmp_path: Path,
) -> None:
    """A bridge that holds every post longer than the grace period: the server exits when the
    grace runs out, with the jobs unleased, and a restart delivers them at once."""
    db = tmp_path / "grace.db"
    env = _env(OPENRESPOND_SHUTDOWN_GRACE_SECONDS="2", OPENRESPOND_WEBHOOK_TIMEOUT_SECONDS="30")
    texts = [f"g{i}" for i in range(6)]
    with receiving(reply=_mid, script=[(200, {}, 25.0)] * len(texts)) as bridge:
        server = ServerProcess(db, "--demo", env=env).start()
        try:
            with httpx.Client(
                base_url=server.url, headers={"Authorization": f"Bearer {TOKEN}"}, timeout=10
            ) as api:
                channel = _setup(api, bridge, None)
                ids = _send(api, channel, texts)
            _wait_until(lambda: bridge.requests, 10)  # the first batch is held
            took = _terminate(server)
        finally:
            if server.proc is not None and server.proc.poll() is None:
                server.kill()
        assert took < 2 + 3, took
        assert "cancelling" in server.output()
        assert query(db, "SELECT COUNT(*), COUNT(lease_owner) FROM delivery_jobs") == [
            (len(texts), 0)
        ]
        # the held posts were cut off: the restart sends again (at least once), promptly
        with bridge.lock:
            bridge.script.clear()  # the bridge answers at once from now on
        with ServerProcess(db, "--demo", env=env):
            _wait_until(lambda: _queues_empty(db), 15)
        rows = query(
            db, "SELECT id, status FROM messages WHERE channel_id = ? ORDER BY id", channel
        )
    assert rows == [(i, "sent") for i in ids]
