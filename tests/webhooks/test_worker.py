"""The webhook worker against real receivers on loopback: retries with backoff, Retry-After,
410, the retry horizon, faulty receivers, the delivery log, replay, and leases."""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from openrespond.contacts import events
from openrespond.db import Database, Scope
from openrespond.db.migrations import migrate
from openrespond.net import Networks, parse_networks
from openrespond.sealing import Sealer
from openrespond.space import workspaces as space_workspaces
from openrespond.webhooks import service
from openrespond.webhooks.schemas import WebhookCreate
from openrespond.webhooks.signing import verify
from openrespond.webhooks.worker import WebhookWorker, retry_after_ms
from tests.backend import open_test_database, query
from tests.waiting import eventually
from tests.webhooks.receiver import receiving

SECRET = "server-secret-for-tests-0123456789"
LOOPBACK = parse_networks("127.0.0.0/8")


async def _setup(
    path: Path, url: str, key: str = "a-shared-signing-key-01"
) -> tuple[Database, int, int]:
    db = open_test_database(path)
    await db.connect()
    await migrate(db)
    async with db.transaction() as tx:
        ws = await space_workspaces.create_workspace(tx, name="w")
        hook = await service.create(
            Scope(tx, ws),
            WebhookCreate(url=url, signing_key=key),
            sealer=Sealer(SECRET),
            networks=LOOPBACK,
        )
        await tx.fetch_val(
            "INSERT INTO contacts (workspace_id, first_name, created_at, updated_at)"
            " VALUES (?, 'Ada', 0, 0) RETURNING id",
            ws,
        )
    return db, ws, hook.id


async def _emit(db: Database, ws: int, contact: int, n: int = 1) -> list[str]:
    ids = []
    async with db.transaction() as tx:
        for _ in range(n):
            uid = await events.emit(Scope(tx, ws), "contact.updated", contact_id=contact)
            assert uid is not None
            ids.append(uid)
    return ids


def _worker(db: Database, **kw: Any) -> WebhookWorker:
    kw.setdefault("retry_base_ms", 20)
    kw.setdefault("timeout_seconds", 2)
    return WebhookWorker(db, Sealer(SECRET), kw.pop("networks", LOOPBACK), **kw)


def _deliveries(path: Path) -> list[tuple[Any, ...]]:
    return query(
        path, "SELECT status, attempts, last_status, last_error FROM webhook_deliveries ORDER BY id"
    )


def _attempts(path: Path) -> list[tuple[Any, ...]]:
    return query(path, "SELECT attempt, status_code, error FROM webhook_attempts ORDER BY id")


async def _until_done(worker: WebhookWorker, path: Path, seconds: float = 10) -> None:
    deadline = time.monotonic() + seconds
    while any(s == "pending" for s, *_ in _deliveries(path)):
        assert time.monotonic() < deadline, _deliveries(path)
        await worker.run_once()
        await asyncio.sleep(0.01)


def test_failures_are_retried_with_backoff_until_delivered(tmp_path: Path) -> None:
    path = tmp_path / "retry.db"
    with receiving(script=[(500, {}, 0), (503, {}, 0)]) as rx:

        async def go() -> None:
            db, ws, _ = await _setup(path, rx.url)
            try:
                (uid,) = await _emit(db, ws, 1)
                worker = _worker(db)
                await _until_done(worker, path)
                assert _deliveries(path) == [("delivered", 3, 200, None)]
                assert [(a, c) for a, c, _ in _attempts(path)] == [(1, 500), (2, 503), (3, 200)]
                assert "HTTP 500" in _attempts(path)[0][2]
                # the same webhook-id on every attempt, each attempt signed afresh
                assert {r.headers["webhook-id"] for r in rx.requests} == {uid}
                for r in rx.requests:
                    verify("a-shared-signing-key-01", r.headers, r.body)
            finally:
                await db.close()

        asyncio.run(go())


def test_retry_after_is_honoured(tmp_path: Path) -> None:
    path = tmp_path / "after.db"
    # Two seconds: the half second of polling below stays well inside it on a loaded machine.
    with receiving(script=[(429, {"Retry-After": "2"}, 0)]) as rx:

        async def go() -> None:
            db, ws, _ = await _setup(path, rx.url)
            try:
                await _emit(db, ws, 1)
                worker = _worker(db, retry_base_ms=1)
                await worker.run_once()
                # not retried before the second the receiver asked for
                for _ in range(5):
                    await worker.run_once()
                    await asyncio.sleep(0.1)
                assert len(rx.requests) == 1
                await _until_done(worker, path)
                assert rx.requests[1].at - rx.requests[0].at >= 1.95
            finally:
                await db.close()

        asyncio.run(go())


def test_retry_after_parses_seconds_and_dates() -> None:
    assert retry_after_ms("3") == 3000
    assert retry_after_ms("Wed, 21 Oct 2015 07:28:00 GMT", now=1445412470) == 10_000
    assert retry_after_ms("soon") is None
    assert retry_after_ms(None) is None
    assert retry_after_ms("999999999") == 24 * 3600 * 1000


def test_410_disables_the_endpoint_and_keeps_its_deliveries(tmp_path: Path) -> None:
    path = tmp_path / "gone.db"
    with receiving(script=[(410, {}, 0)]) as rx:

        async def go() -> None:
            db, ws, hook_id = await _setup(path, rx.url)
            try:
                await _emit(db, ws, 1, n=3)
                worker = _worker(db, concurrency=1)
                await worker.run_once()
                for _ in range(3):
                    await worker.run_once()
                assert len(rx.requests) == 1
                hook = await service.get(Scope(db.reader(), ws), hook_id)
                assert hook.enabled is False
                assert "410" in (hook.disabled_reason or "")
                assert [s for s, *_ in _deliveries(path)] == ["pending"] * 3
                # enabled again: everything that waited is delivered
                from openrespond.webhooks.schemas import WebhookUpdate

                async with db.transaction() as tx:
                    await service.update(
                        Scope(tx, ws), hook_id, body=WebhookUpdate(enabled=True), networks=LOOPBACK
                    )
                await _until_done(worker, path)
                assert len(rx.requests) == 4
            finally:
                await db.close()

        asyncio.run(go())


def test_gives_up_after_the_retry_horizon(tmp_path: Path) -> None:
    path = tmp_path / "horizon.db"
    with receiving(default=500) as rx:

        async def go() -> None:
            db, ws, _ = await _setup(path, rx.url)
            try:
                await _emit(db, ws, 1)
                worker = _worker(db, retry_seconds=0.3, retry_base_ms=50)
                await _until_done(worker, path)
                ((status, attempts, code, error),) = _deliveries(path)
                assert status == "failed"
                assert code == 500
                assert attempts >= 2
                assert "gave up" in error
                assert len(rx.requests) == attempts
            finally:
                await db.close()

        asyncio.run(go())


class _RawServer:
    """A TCP server that misbehaves: ``mode`` is close (drop the connection), garbage (not
    HTTP) or slow (never answers)."""

    def __init__(self, mode: str) -> None:
        self.mode = mode
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.url = f"http://127.0.0.1:{self.sock.getsockname()[1]}/hook"
        self.stop = False
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        self.sock.settimeout(0.1)
        held = []
        while not self.stop:
            try:
                conn, _ = self.sock.accept()
            except TimeoutError:
                continue
            conn.recv(65536)
            if self.mode == "garbage":
                conn.sendall(b"\x00\x01 definitely not http\r\n\r\n")
                conn.close()
            elif self.mode == "close":
                conn.close()
            else:
                held.append(conn)
        for c in held:
            c.close()
        self.sock.close()


@pytest.mark.parametrize(
    ("mode", "word"),
    [("close", "Error"), ("garbage", "Error"), ("slow", "no answer within")],
)
def test_faulty_receivers_are_recorded_and_retried(tmp_path: Path, mode: str, word: str) -> None:
    path = tmp_path / f"{mode}.db"
    server = _RawServer(mode)
    try:

        async def go() -> None:
            db, ws, _ = await _setup(path, server.url)
            try:
                await _emit(db, ws, 1)
                worker = _worker(db, timeout_seconds=0.5)
                await worker.run_once()
                ((status, attempts, code, error),) = _deliveries(path)
                assert status == "pending"
                assert attempts == 1
                assert code is None
                assert word in error, error
            finally:
                await db.close()

        asyncio.run(go())
    finally:
        server.stop = True
        server.thread.join(2)


def test_a_receiver_that_is_down_gets_everything_once_it_is_up(tmp_path: Path) -> None:
    path = tmp_path / "down.db"
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    # nothing listens on the port yet

    async def go() -> None:
        from tests.conftest import ServerThread
        from tests.webhooks.receiver import Receiver

        db, ws, _ = await _setup(path, f"http://127.0.0.1:{port}/hook")
        try:
            uids = await _emit(db, ws, 1, n=3)
            worker = _worker(db)
            await worker.run_once()
            assert all(s == "pending" and "ConnectError" in e for s, _, _, e in _deliveries(path))
            rx = Receiver()
            with ServerThread(rx, port=port):
                await _until_done(worker, path)
            assert sorted(e["event_id"] for e in rx.events()) == sorted(uids)
        finally:
            await db.close()

    asyncio.run(go())


def test_forbidden_addresses_are_refused_at_delivery(tmp_path: Path) -> None:
    """A subscription made while loopback was allowed is not posted once it no longer is."""
    path = tmp_path / "ssrf.db"
    with receiving() as rx:

        async def go() -> None:
            db, ws, _ = await _setup(path, rx.url)
            try:
                await _emit(db, ws, 1)
                await _worker(db, networks=Networks()).run_once()
                ((status, _, _, error),) = _deliveries(path)
                assert status == "pending"
                assert "not a public address" in error
                assert rx.requests == []
            finally:
                await db.close()

        asyncio.run(go())


def test_redirects_are_not_followed(tmp_path: Path) -> None:
    path = tmp_path / "redirect.db"
    with receiving(script=[(307, {"Location": "http://127.0.0.1:9/elsewhere"}, 0)]) as rx:

        async def go() -> None:
            db, ws, _ = await _setup(path, rx.url)
            try:
                await _emit(db, ws, 1)
                await _worker(db).run_once()
                ((status, _, code, error),) = _deliveries(path)
                assert status == "pending"
                assert code == 307
                assert "HTTP 307" in error
                assert len(rx.requests) == 1
            finally:
                await db.close()

        asyncio.run(go())


def test_replay_posts_the_same_event_again(tmp_path: Path) -> None:
    path = tmp_path / "replay.db"
    with receiving() as rx:

        async def go() -> None:
            db, ws, hook_id = await _setup(path, rx.url)
            try:
                (uid,) = await _emit(db, ws, 1)
                worker = _worker(db)
                await worker.run_once()
                (delivery_id,) = [
                    r[0] for r in await db.reader().fetch_all("SELECT id FROM webhook_deliveries")
                ]
                async with db.transaction() as tx:
                    detail = await service.replay(Scope(tx, ws), hook_id, delivery_id=delivery_id)
                assert detail.status == "pending"
                await worker.run_once()
                assert [r.headers["webhook-id"] for r in rx.requests] == [uid, uid]
                assert rx.requests[0].body == rx.requests[1].body
                detail = await service.delivery(
                    Scope(db.reader(), ws), hook_id, delivery_id=delivery_id
                )
                assert detail.status == "delivered"
                assert len(detail.attempt_log) == 2
            finally:
                await db.close()

        asyncio.run(go())


def test_concurrent_workers_post_each_event_once(tmp_path: Path) -> None:
    path = tmp_path / "race.db"
    with receiving() as rx:

        async def go() -> None:
            db, ws, _ = await _setup(path, rx.url)
            try:
                uids = await _emit(db, ws, 1, n=120)
                workers = [_worker(db, name=f"w{i}", concurrency=7) for i in range(4)]

                async def drain(w: WebhookWorker) -> int:
                    total = 0
                    while n := await w.run_once():
                        total += n
                    return total

                counts = await asyncio.gather(*(drain(w) for w in workers))
                assert sum(counts) == 120
                assert sorted(r.headers["webhook-id"] for r in rx.requests) == sorted(uids)
            finally:
                await db.close()

        asyncio.run(go())


def test_the_running_worker_is_woken_by_a_commit(tmp_path: Path) -> None:
    path = tmp_path / "wake.db"
    with receiving() as rx:

        async def go() -> None:
            db, ws, _ = await _setup(path, rx.url)
            worker = _worker(db, poll_seconds=5)  # a poll would come far too late
            stop = asyncio.Event()
            task = asyncio.create_task(worker.run(stop))
            try:
                await asyncio.sleep(0.1)
                t0 = time.time()
                await _emit(db, ws, 1)
                await eventually(lambda: rx.requests, within=3, every=0.005)
                assert rx.requests
                assert rx.requests[0].at - t0 < 1
            finally:
                stop.set()
                await task
                await db.close()

        asyncio.run(go())


def test_old_events_are_forgotten_unless_a_delivery_still_waits(tmp_path: Path) -> None:
    path = tmp_path / "purge.db"
    with receiving(script=[(200, {}, 0)], default=500) as rx:

        async def go() -> None:
            db, ws, _ = await _setup(path, rx.url)
            try:
                done, waiting = await _emit(db, ws, 1, n=2)
                worker = _worker(db, concurrency=1, log_days=1)
                await worker.run_once()  # the first is delivered
                await worker.run_once()  # the second fails and waits for a retry
                async with db.transaction() as tx:
                    await tx.execute("UPDATE events SET created_ms = created_ms - 2 * 86400000")
                assert await worker.purge() == 1
                assert [u for (u,) in query(path, "SELECT uid FROM events")] == [waiting]
                assert query(path, "SELECT COUNT(*) FROM webhook_attempts") == [(1,)]
                assert done != waiting
            finally:
                await db.close()

        asyncio.run(go())


def test_an_endpoint_that_times_out_with_a_backlog_does_not_delay_another(
    tmp_path: Path,
) -> None:
    """One subscription's receiver never answers in time and has 200 events waiting; a
    second subscription's events are still posted at once: the slow one holds only its own
    slots (per_endpoint), and claims go round the endpoints."""
    path = tmp_path / "fair.db"
    with (
        receiving(script=[(200, {}, 5.0)] * 1000) as slow,
        receiving() as healthy,
    ):

        async def go() -> None:
            db, ws, _ = await _setup(path, slow.url)
            try:
                await _emit(db, ws, 1, 200)  # the slow endpoint's backlog
                async with db.transaction() as tx:
                    hook = await service.create(
                        Scope(tx, ws),
                        WebhookCreate(url=healthy.url),
                        sealer=Sealer(SECRET),
                        networks=LOOPBACK,
                    )
                worker = _worker(db, concurrency=16, per_endpoint=4, timeout_seconds=1)
                stop = asyncio.Event()
                task = asyncio.create_task(worker.run(stop))
                try:
                    await asyncio.sleep(0.3)  # the slow endpoint's posts are in flight
                    for _ in range(10):
                        await _emit(db, ws, 1)
                        await asyncio.sleep(0.1)
                    await eventually(lambda: len(healthy.requests) >= 10, within=10, every=0.02)
                finally:
                    stop.set()
                    await asyncio.wait_for(task, 10)
                latencies = [
                    r[0] - r[1]
                    for r in query(
                        path,
                        "SELECT delivered_ms, queued_ms FROM webhook_deliveries"
                        " WHERE webhook_id = ? AND status = 'delivered'",
                        hook.id,
                    )
                ]
                assert len(latencies) == 10, latencies
                assert max(latencies) < 1000, latencies
                # the slow endpoint never had more than its share in flight: its posts
                # last the 1 s timeout, so no 0.9 s holds more than 4 of their starts
                starts = sorted(r.at for r in slow.requests)
                assert len(starts) >= 4
                for i, t in enumerate(starts):
                    assert sum(1 for u in starts[i:] if u - t < 0.9) <= 4, starts
            finally:
                await db.close()

        asyncio.run(go())
