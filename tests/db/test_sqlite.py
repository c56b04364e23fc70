"""The SQLite backend's writer lock: one writer, first come first served, urgent work first."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from openrespond.db.migrations import migrate
from openrespond.db.sqlite import SQLiteDatabase
from tests.backend import sqlite_only

pytestmark = sqlite_only


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
