"""Providers' webhooks applied by competing workers: two ``openrespond worker`` processes
beside a server without its own, on the suite's backend (SQLite serialises writers,
PostgreSQL runs them side by side). Messages from new senders arriving in many requests,
redelivered, and status reports arriving together and out of order: one contact per sender,
each message once, statuses only forward."""

from __future__ import annotations

import functools
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.backend import database_url, query
from tests.channels.fake_meta import (
    FakeMeta,
    channel_settings,
    fake_meta,
    post_webhook,
    status_of,
    text_from,
)
from tests.server_process import ServerProcess
from tests.waiting import until

pytestmark = pytest.mark.slow

TOKEN = "provider-races-token-0123456789"
SENDERS = 12
PER_SENDER = 8


@pytest.fixture
def meta() -> Iterator[FakeMeta]:
    with fake_meta() as fake:
        yield fake


def _drained(db: Path) -> bool:
    return query(db, "SELECT COUNT(*) FROM provider_inbox") == [(0,)]


def test_competing_workers_apply_each_message_once_and_statuses_forward(
    tmp_path: Path, meta: FakeMeta
) -> None:
    db = tmp_path / "provider-races.db"
    env = {
        **os.environ,
        "OPENRESPOND_DATABASE_URL": database_url(db),
        "OPENRESPOND_DEMO_TOKEN": TOKEN,
        "OPENRESPOND_ALLOW_PRIVATE_NETWORKS": "127.0.0.0/8",
        "OPENRESPOND_RETRY_BASE_MS": "50",
        "OPENRESPOND_TEMPLATE_SYNC_SECONDS": "0",
    }
    with ServerProcess(db, "--demo", "--no-worker", env=env) as server:
        api = httpx.Client(
            base_url=server.url, headers={"Authorization": f"Bearer {TOKEN}"}, timeout=30
        )
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
        workers = [
            subprocess.Popen(
                [sys.executable, "-m", "openrespond", "worker", "--batch", "3"],
                env=env,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            for _ in range(2)
        ]
        try:
            # Every sender's first messages arrive in separate requests, each twice (Meta
            # redelivers), all at once.
            bodies: list[dict[str, Any]] = [
                text_from(f"6013{s:07d}", f"m{m}", f"wamid.R{s:03d}{m:03d}", name=f"Sender {s}")
                for m in range(PER_SENDER)
                for s in range(SENDERS)
            ]
            with ThreadPoolExecutor(16) as pool:
                answers = list(pool.map(lambda b: post_webhook(server.url, channel, b), bodies * 2))
            assert {a.status_code for a in answers} == {200}
            until(lambda: _drained(db), "every webhook applied", timeout=60)
            rows = query(
                db,
                "SELECT address, COUNT(DISTINCT contact_id) FROM contact_channels"
                " WHERE channel_id = ? GROUP BY address",
                channel,
            )
            assert len(rows) == SENDERS
            assert all(n == 1 for _, n in rows), rows
            contacts = query(db, "SELECT COUNT(*) FROM contacts WHERE phone LIKE ?", "+6013%")
            assert contacts == [(SENDERS,)]
            stored = query(
                db,
                "SELECT channel_message_id FROM messages WHERE channel_id = ?"
                " AND traffic = 'incoming'",
                channel,
            )
            assert sorted(r[0] for r in stored) == sorted(
                f"wamid.R{s:03d}{m:03d}" for s in range(SENDERS) for m in range(PER_SENDER)
            )
            # Replies, then their status reports all at once, out of order and repeated.
            ids = []
            for s in range(SENDERS):
                contact = api.get(f"/v2/contact/phone:+6013{s:07d}").json()["id"]
                sent = api.post(
                    f"/v2/contact/id:{contact}/message",
                    json={"channelId": channel, "message": {"type": "text", "text": "thanks"}},
                )
                assert sent.status_code == 200, sent.text
                ids.append((contact, sent.json()["messageId"]))

            def wamid_of(contact: int, message: int) -> str | None:
                found: str | None = api.get(f"/v2/contact/id:{contact}/message/{message}").json()[
                    "channelMessageId"
                ]
                return found

            wamids = [until(functools.partial(wamid_of, c, m), "wamid") for c, m in ids]
            reports = [
                status_of(w, status, wa_id="1")
                for w in wamids
                for status in ("read", "delivered", "sent", "delivered", "read")
            ]
            with ThreadPoolExecutor(16) as pool:
                assert {
                    a.status_code
                    for a in pool.map(lambda b: post_webhook(server.url, channel, b), reports)
                } == {200}
            until(lambda: _drained(db), "every report applied", timeout=60)
            for contact, message in ids:
                history = [
                    s["value"]
                    for s in api.get(f"/v2/contact/id:{contact}/message/{message}").json()["status"]
                ]
                # read came with the first report or after delivered; never back, never twice
                assert history in (
                    ["pending", "sent", "read"],
                    ["pending", "sent", "delivered", "read"],
                ), history
            assert len(meta.sent) == SENDERS
            (statuses,) = query(
                db,
                "SELECT COUNT(*) FROM messages WHERE channel_id = ? AND status = 'read'",
                channel,
            )
            assert statuses == (SENDERS,)
            assert (
                json.loads(query(db, "SELECT state FROM channels WHERE id = ?", channel)[0][0])
                == {}
            )
        finally:
            api.close()
            for w in workers:
                w.terminate()
            for w in workers:
                try:
                    w.wait(15)
                except subprocess.TimeoutExpired:
                    w.kill()
