"""The delivery worker against a real SQLite file: leases, takeover, retries, exactly once."""

from __future__ import annotations

import asyncio
import contextlib
import json
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from openrespond import signals
from openrespond.channels import delivery_queue
from openrespond.channels.drivers import DRIVERS, Job, Outcome, SandboxDriver
from openrespond.channels.worker import DeliveryWorker
from openrespond.common import backoff_ms
from openrespond.db import Database, Scope
from openrespond.db.migrations import migrate
from openrespond.demo import seed_demo
from openrespond.identifiers import Identifier
from openrespond.messages import repository as messages_repo
from openrespond.messages import service as messages
from openrespond.messages.schemas import TextMessage
from openrespond.space import workspaces as space_workspaces
from tests.backend import POSTGRES, database_url, open_test_database, query
from tests.waiting import eventually


async def _setup(path: Path, count: int) -> tuple[Database, list[int]]:
    db = open_test_database(path)
    await db.connect()
    await migrate(db)
    async with db.transaction() as tx:
        ws = await space_workspaces.create_workspace(tx, name="w")
        await seed_demo(Scope(tx, ws))
    ids = []
    async with db.transaction() as tx:
        for i in range(count):
            ids.append(
                await messages.send(
                    Scope(tx, ws),
                    Identifier("email", "priya@example.com"),
                    channel_id=123 if i == 0 else None,
                    message=TextMessage(text=f"m{i}"),
                )
            )
    return db, ids


def _deliveries(path: Path) -> dict[int, int]:
    return dict(
        query(path, "SELECT message_id, COUNT(*) FROM sandbox_deliveries GROUP BY message_id")
    )


def test_a_lease_keeps_others_off_until_it_runs_out(tmp_path: Path) -> None:
    async def go() -> None:
        db, _ids = await _setup(tmp_path / "lease.db", 3)
        try:
            now = int(time.time() * 1000)
            async with db.transaction() as tx:
                held = await delivery_queue.claim(
                    tx, owner="dead", now_ms=now, lease_ms=60_000, quotas={123: 10}
                )
            assert len(held) == 3
            # the crashed holder's jobs are not handed to anyone while the lease lasts
            live = DeliveryWorker(db, name="live")
            assert await live.run_once() == 0
            # ...and are taken over once it runs out
            async with db.transaction() as tx:
                retaken = await delivery_queue.claim(
                    tx, owner="live", now_ms=now + 60_001, lease_ms=60_000, quotas={123: 10}
                )
            assert sorted(retaken) == sorted(held)
            # the old holder coming back cannot finish them any more
            async with db.transaction() as tx:
                assert await delivery_queue.finish_many(tx, "dead", job_ids=[held[0]]) == set()
        finally:
            await db.close()

    asyncio.run(go())


def test_expired_leases_are_delivered_once_by_the_next_worker(tmp_path: Path) -> None:
    async def go() -> None:
        path = tmp_path / "takeover.db"
        db, ids = await _setup(path, 5)
        try:
            async with db.transaction() as tx:
                await delivery_queue.claim(tx, owner="dead", now_ms=0, lease_ms=1, quotas={123: 10})
            assert await DeliveryWorker(db, name="next").run_once() == 5
            assert _deliveries(path) == {i: 1 for i in ids}
            assert await DeliveryWorker(db, name="again").run_once() == 0
        finally:
            await db.close()

    asyncio.run(go())


def test_concurrent_workers_never_deliver_twice(tmp_path: Path) -> None:
    async def go() -> None:
        path = tmp_path / "race.db"
        db, ids = await _setup(path, 200)
        try:
            workers = [DeliveryWorker(db, name=f"w{i}", batch=7) for i in range(4)]

            async def drain(w: DeliveryWorker) -> int:
                total = 0
                while n := await w.run_once():
                    total += n
                    await asyncio.sleep(0)
                return total

            counts = await asyncio.gather(*(drain(w) for w in workers))
            assert sum(counts) == 200
            assert all(counts)
            assert _deliveries(path) == {i: 1 for i in ids}
        finally:
            await db.close()

    asyncio.run(go())


class Flaky:
    """A driver that fails the first ``failures`` attempts of each message, then delivers."""

    inline = False  # sends do I/O: claimed and finished in separate transactions

    def __init__(self, failures: int) -> None:
        self.failures = failures
        self.calls: dict[int, int] = {}

    async def close(self) -> None:
        """Nothing to release."""

    async def send(self, job: Job) -> Outcome:
        n = self.calls[job.message_id] = self.calls.get(job.message_id, 0) + 1
        if n <= self.failures:
            raise ConnectionError("bridge unreachable")
        return await SandboxDriver().send(job)

    async def record(
        self, tx: Any, done: list[tuple[Job, Outcome]], *, worker: str, now: int
    ) -> None:
        await SandboxDriver().record(tx, done, worker=worker, now=now)


def test_a_failing_driver_is_retried_later_and_nothing_is_lost(tmp_path: Path) -> None:
    async def go() -> None:
        path = tmp_path / "retry.db"
        db, ids = await _setup(path, 2)
        flaky = Flaky(failures=1)
        try:
            w = DeliveryWorker(db, name="w", drivers={"sandbox": flaky})
            assert await w.run_once() == 2
            assert _deliveries(path) == {}
            rows = query(
                path,
                "SELECT attempts, run_at > ?, lease_owner, last_error FROM delivery_jobs",
                int(time.time() * 1000),
            )
            assert rows == [(1, 1, None, "ConnectionError: bridge unreachable")] * 2
            async with db.transaction() as tx:
                await tx.execute("UPDATE delivery_jobs SET run_at = 0")
            assert await w.run_once() == 2
            assert _deliveries(path) == {i: 1 for i in ids}
        finally:
            await db.close()

    asyncio.run(go())


def test_unknown_driver_fails_the_message_with_a_reason(tmp_path: Path) -> None:
    async def go() -> None:
        path = tmp_path / "nodriver.db"
        db, _ids = await _setup(path, 1)
        try:
            assert await DeliveryWorker(db, name="w", drivers={}).run_once() == 1
            [(status, history)] = query(path, "SELECT status, statuses FROM messages")
            assert status == "failed"
            assert "not available" in history
        finally:
            await db.close()

    asyncio.run(go())


def test_backoff_grows_and_is_capped() -> None:
    assert all(500 <= backoff_ms(1) <= 1000 for _ in range(50))
    assert all(500 <= backoff_ms(30) <= 600_000 for _ in range(50))
    assert max(backoff_ms(10) for _ in range(200)) > 10_000
    assert DRIVERS["sandbox"].__class__ is SandboxDriver


def test_an_idle_worker_polls_with_reads_and_finds_work_from_other_processes(
    tmp_path: Path, monkeypatch: Any
) -> None:
    async def go() -> None:
        path = tmp_path / "poll.db"
        db, _ = await _setup(path, 0)
        claims = 0  # looks for due work in a write transaction (each one a claim)
        real_look = delivery_queue.due_channels

        async def counting_look(*args: Any, **kwargs: Any) -> list[Any]:
            nonlocal claims
            claims += 1
            return await real_look(*args, **kwargs)

        monkeypatch.setattr(delivery_queue, "due_channels", counting_look)
        worker = DeliveryWorker(db, name="poller", poll_seconds=0.01)
        stop = asyncio.Event()
        task = asyncio.create_task(worker.run(stop))
        try:
            await asyncio.sleep(0.3)
            # ~30 polls found nothing due; none of them took the writer to claim
            assert claims == 1  # the first look on start
            # a send committed through another connection, nobody wakes this worker
            other = open_test_database(path)
            await other.connect()
            async with other.transaction() as tx:
                ws = await tx.fetch_val("SELECT MIN(id) FROM workspaces")
                ids = [
                    await messages.send(
                        Scope(tx, ws),
                        Identifier("email", "priya@example.com"),
                        channel_id=123,
                        message=TextMessage(text="from elsewhere"),
                    )
                ]
            await other.close()
            assert await eventually(lambda: _deliveries(path), within=5)
            assert _deliveries(path) == {ids[0]: 1}
        finally:
            stop.set()
            await task
            await db.close()

    asyncio.run(go())


def test_a_commit_wakes_the_listeners_of_its_own_database_only(tmp_path: Path) -> None:
    """Workers of another database in the same process (a test's shared server, say) are
    not woken by this one's sends."""

    async def go() -> None:
        one, _ = await _setup(tmp_path / "one.db", 0)
        two, _ = await _setup(tmp_path / "two.db", 0)
        woken: list[str] = []

        def on_one() -> None:
            woken.append("one")

        def on_two() -> None:
            woken.append("two")

        signals.deliveries.connect(one, on_one)
        signals.deliveries.connect(two, on_two)
        try:
            async with one.transaction() as tx:
                tx.announce(signals.deliveries)
                tx.announce(signals.deliveries)  # announced twice, sent once
            assert woken == ["one"]

            async def rolled_back() -> None:
                async with two.transaction() as tx:
                    tx.announce(signals.deliveries)
                    raise RuntimeError("rolled back")

            with pytest.raises(RuntimeError):
                await rolled_back()
            assert woken == ["one"]  # nothing is sent for a rollback
        finally:
            signals.deliveries.disconnect(one, on_one)
            signals.deliveries.disconnect(two, on_two)
            await one.close()
            await two.close()

    asyncio.run(go())


class Down:
    """A driver whose channel never answers."""

    inline = False

    async def close(self) -> None:
        pass

    async def send(self, job: Job) -> Outcome:
        return Outcome(retry=True, error="bridge unreachable")

    async def record(
        self, tx: Any, done: list[tuple[Job, Outcome]], *, worker: str, now: int
    ) -> None:
        pass


def test_a_message_fails_once_the_delivery_deadline_has_passed(tmp_path: Path) -> None:
    async def go() -> None:
        path = tmp_path / "deadline.db"
        db, _ids = await _setup(path, 1)
        try:
            async with db.transaction() as tx:
                await tx.execute("UPDATE channels SET driver = 'down'")
            worker = DeliveryWorker(
                db, name="w", drivers={"down": Down()}, retry_base_ms=20, deadline_seconds=0.3
            )
            attempts = 0
            deadline = time.monotonic() + 5
            while time.monotonic() < deadline:
                attempts += await worker.run_once()
                [(status, history)] = query(path, "SELECT status, statuses FROM messages")
                if status == "failed":
                    break
                await asyncio.sleep(0.02)
            assert status == "failed"
            assert attempts >= 2
            last = json.loads(history)[-1]
            assert "bridge unreachable" in last["message"]
            assert "gave up" in last["message"]
        finally:
            await db.close()

    asyncio.run(go())


_SEND_ELSEWHERE = """
import asyncio, sys
from openrespond.db import Scope, open_database
from openrespond.identifiers import Identifier
from openrespond.messages import service
from openrespond.messages.schemas import TextMessage
from openrespond.settings import Settings

async def main() -> None:
    db = open_database(Settings(database_url=sys.argv[1]))
    await db.connect()
    async with db.transaction() as tx:
        ws = await tx.fetch_val("SELECT MIN(id) FROM workspaces")
        await service.send(Scope(tx, ws), Identifier("email", "priya@example.com"), channel_id=123,
                           message=TextMessage(text="from another process"))
    await db.close()

asyncio.run(main())
"""


@pytest.mark.skipif(not POSTGRES, reason="LISTEN/NOTIFY is PostgreSQL's")
def test_a_send_in_another_process_wakes_the_worker_at_once(tmp_path: Path) -> None:
    """The worker polls only every 30 s here: the NOTIFY sent with the other process's
    commit is what wakes it."""

    async def go() -> float:
        path = tmp_path / "notify.db"
        db, _ = await _setup(path, 0)
        worker = DeliveryWorker(db, name="listener", poll_seconds=30)
        await db.listen(signals.deliveries)
        stop = asyncio.Event()
        task = asyncio.create_task(worker.run(stop))
        try:
            await asyncio.sleep(0.2)  # the first look on start found nothing
            started = time.monotonic()
            proc = await asyncio.create_subprocess_exec(
                sys.executable, "-c", _SEND_ELSEWHERE, database_url(path)
            )
            assert await proc.wait() == 0
            sent_at = time.monotonic()
            while not _deliveries(path):
                assert time.monotonic() - started < 10, "the worker was not woken"
                await asyncio.sleep(0.01)
            return time.monotonic() - sent_at
        finally:
            stop.set()
            await task
            await db.close()

    assert asyncio.run(go()) < 2


class SameId(SandboxDriver):
    """A channel that answers every send with the same message id."""

    async def send(self, job: Job) -> Outcome:
        return Outcome(("sent",), channel_message_id="same-id")


@pytest.mark.parametrize("looked_up", [True, False])
def test_a_repeated_channel_message_id_keeps_the_deliveries(
    tmp_path: Path, monkeypatch: Any, looked_up: bool
) -> None:
    """The first message keeps the id; the others are delivered without it. Found by the
    batch's lookup, or (``looked_up`` False: the id was taken by a concurrent transaction
    after the lookup) by the unique index, after which the batch goes message by message."""
    if not looked_up:

        async def nothing_taken(*args: Any, **kwargs: Any) -> set[tuple[int, str]]:
            return set()

        monkeypatch.setattr(messages_repo, "taken_channel_ids", nothing_taken)

    async def go() -> None:
        path = tmp_path / "same.db"
        db, ids = await _setup(path, 4)
        try:
            assert await DeliveryWorker(db, name="w", drivers={"sandbox": SameId()}).run_once() == 4
            rows = query(
                path,
                "SELECT id, status, channel_message_id FROM messages WHERE id IN"
                f" ({', '.join('?' * len(ids))}) ORDER BY id",
                *ids,
            )
            assert [r[1] for r in rows] == ["sent"] * 4
            assert [r[2] for r in rows].count("same-id") == 1
            assert query(path, "SELECT COUNT(*) FROM delivery_jobs") == [(0,)]
        finally:
            await db.close()

    asyncio.run(go())


class _Stuck:
    """A driver whose sends take longer than the test: every slot it gets stays busy."""

    inline = False

    def __init__(self) -> None:
        self.started = 0

    async def send(self, job: Job) -> Outcome:
        self.started += 1
        await asyncio.sleep(30)
        return Outcome(("sent",))

    async def close(self) -> None:
        pass

    async def record(self, *args: Any, **kwargs: Any) -> None:
        pass


def test_sandbox_deliveries_go_on_while_every_io_slot_is_taken(tmp_path: Path) -> None:
    """A channel whose sends never finish takes every I/O slot of the worker; messages on a
    sandbox channel are still delivered at once (they need no slot)."""

    async def go() -> None:
        path = tmp_path / "full.db"
        db, _ = await _setup(path, 0)
        stuck = _Stuck()
        try:
            async with db.transaction() as tx:
                ws = await tx.fetch_val("SELECT MIN(id) FROM workspaces")
                await tx.execute("UPDATE channels SET driver = 'stuck' WHERE id = 124")
                for i in range(6):
                    await messages.send(
                        Scope(tx, ws),
                        Identifier("email", "priya@example.com"),
                        channel_id=124,
                        message=TextMessage(text=f"stuck {i}"),
                    )
            worker = DeliveryWorker(
                db,
                name="full",
                concurrency=4,
                per_channel=4,
                drivers={"sandbox": SandboxDriver(), "stuck": stuck},
            )
            stop = asyncio.Event()
            task = asyncio.create_task(worker.run(stop))
            try:
                await eventually(lambda: stuck.started >= 4, within=5)
                assert stuck.started == 4
                assert worker.sending == 4
                other = open_test_database(path)  # a send from another process: no wake-up
                await other.connect()
                async with other.transaction() as tx:
                    sent = await messages.send(
                        Scope(tx, ws),
                        Identifier("email", "priya@example.com"),
                        channel_id=123,
                        message=TextMessage(text="sandbox"),
                    )
                await other.close()
                t0 = time.monotonic()
                await eventually(lambda: _deliveries(path), within=5)
                assert _deliveries(path) == {sent: 1}
                assert time.monotonic() - t0 < 2
                assert stuck.started == 4  # the stuck channel got no fifth slot
            finally:
                stop.set()
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
        finally:
            await db.close()

    asyncio.run(go())
