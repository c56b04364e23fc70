"""The SQLite backend's writer lock: one writer, first come first served, urgent work first."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from openrespond.db.migrations import migrate
from openrespond.db.sqlite import SQLiteDatabase


def test_urgent_transactions_go_ahead_of_waiting_ones(tmp_path: Path) -> None:
    async def go() -> list[str]:
        db = SQLiteDatabase(str(tmp_path / "lock.db"))
        await db.connect()
        await migrate(db)
        order: list[str] = []

        async def write(name: str, *, urgent: bool = False) -> None:
            async with db.transaction(urgent=urgent) as tx:
                order.append(name)
                await tx.execute("INSERT INTO meta (key, value) VALUES (?, ?)", name, name)

        try:
            first = await db.begin()
            waiting = [asyncio.create_task(write(f"request{i}")) for i in range(3)]
            await asyncio.sleep(0)
            urgent = asyncio.create_task(write("worker", urgent=True))
            await asyncio.sleep(0)
            await first.commit()
            await asyncio.gather(*waiting, urgent)
            rows = await db.reader().fetch_all("SELECT key FROM meta WHERE key <> 'secret_key'")
            assert len(rows) == 4
        finally:
            await db.close()
        return order

    assert asyncio.run(go()) == ["worker", "request0", "request1", "request2"]


def test_a_cancelled_waiter_does_not_keep_the_lock(tmp_path: Path) -> None:
    async def go() -> None:
        db = SQLiteDatabase(str(tmp_path / "cancel.db"))
        await db.connect()
        try:
            first = await db.begin()
            waiter = asyncio.create_task(db.begin())
            await asyncio.sleep(0)
            waiter.cancel()
            with pytest.raises(asyncio.CancelledError):
                await waiter
            await first.rollback()
            second = await asyncio.wait_for(db.begin(), 1)
            await second.rollback()
        finally:
            await db.close()

    asyncio.run(go())


def test_on_commit_actions_run_after_commit_only(tmp_path: Path) -> None:
    async def go() -> None:
        db = SQLiteDatabase(str(tmp_path / "hooks.db"))
        await db.connect()
        try:
            ran: list[str] = []

            def committed() -> None:
                ran.append("committed")

            async with db.transaction() as tx:
                await tx.execute("CREATE TABLE t (x INTEGER)")
                tx.on_commit(committed)
                tx.on_commit(committed)  # registered twice, runs once
                assert ran == []  # not before the commit
            assert ran == ["committed"]
            with pytest.raises(RuntimeError):
                async with db.transaction() as tx:
                    await tx.execute("INSERT INTO t VALUES (1)")
                    tx.on_commit(lambda: ran.append("rolled back"))
                    raise RuntimeError("boom")
            assert ran == ["committed"]
            assert await db.reader().fetch_val("SELECT COUNT(*) FROM t") == 0
        finally:
            await db.close()

    asyncio.run(go())
