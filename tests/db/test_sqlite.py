"""The SQLite backend's writer lock (one writer, first come first served, urgent work first)
and its group commit (transactions ending in one turn of the event loop share a COMMIT)."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Awaitable, Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

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


def _with_db(tmp_path: Path, work: Callable[[SQLiteDatabase, list[str]], Awaitable[Any]]) -> Any:
    """Run ``work`` with a migrated database, a table ``t`` and the writer's statements."""

    async def go() -> Any:
        db = SQLiteDatabase(str(tmp_path / "group.db"))
        await db.connect()
        await migrate(db)
        async with db.transaction() as tx:
            await tx.execute("CREATE TABLE t (x INTEGER UNIQUE)")
        statements: list[str] = []
        db._writer.set_trace_callback(statements.append)  # type: ignore[union-attr]
        try:
            return await work(db, statements)
        finally:
            await db.close()

    return asyncio.run(go())


def _committed(tmp_path: Path) -> list[int]:
    """What another connection sees committed in ``t``."""
    with sqlite3.connect(tmp_path / "group.db") as other:
        return sorted(x for (x,) in other.execute("SELECT x FROM t"))


def test_transactions_ending_together_share_one_commit(tmp_path: Path) -> None:
    """Ten writers at once: one COMMIT; each returns from commit() only once its row is
    committed; a rolled-back one leaves the others' rows."""
    seen: dict[int, list[int]] = {}

    async def work(db: SQLiteDatabase, statements: list[str]) -> None:
        async def write(x: int) -> None:
            tx = await db.begin(shared=True)
            await tx.execute("INSERT INTO t VALUES (?)", x)
            if x == 3:
                await tx.rollback()
                return
            await tx.commit()
            seen[x] = _committed(tmp_path)

        await asyncio.gather(*(write(x) for x in range(10)))
        assert statements.count("COMMIT") == 1, statements
        assert statements.count("BEGIN IMMEDIATE") == 1

    _with_db(tmp_path, work)
    assert _committed(tmp_path) == [0, 1, 2, 4, 5, 6, 7, 8, 9]
    assert all(x in rows for x, rows in seen.items())
    assert len(seen) == 9


def test_a_transaction_not_shared_commits_at_once_with_what_waits(tmp_path: Path) -> None:
    """Background work (not ``shared``) commits as soon as it ends, as without the group,
    and takes the requests' transactions waiting for a COMMIT with it."""

    async def work(db: SQLiteDatabase, statements: list[str]) -> list[int]:
        request = await db.begin(shared=True)
        await request.execute("INSERT INTO t VALUES (1)")
        waiting = asyncio.create_task(request.commit())
        await asyncio.sleep(0)  # released; its COMMIT is due on the next turn
        worker = await db.begin()
        await worker.execute("INSERT INTO t VALUES (2)")
        await worker.commit()  # no turn of the loop in between
        seen = _committed(tmp_path)  # the request's row too, committed with the worker's
        await waiting
        assert statements.count("COMMIT") == 1, statements
        return seen

    assert _with_db(tmp_path, work) == [1, 2]


def test_a_running_transaction_is_not_committed_with_the_group(tmp_path: Path) -> None:
    """A writer that waits for something mid-transaction holds the group's COMMIT back until
    it ends, and its rolled-back work is not part of it."""

    async def work(db: SQLiteDatabase, statements: list[str]) -> list[int]:
        async def first() -> list[int]:
            async with db.transaction(shared=True) as tx:
                await tx.execute("INSERT INTO t VALUES (1)")
            return _committed(tmp_path)

        async def slow() -> None:
            tx = await db.begin()
            await tx.execute("INSERT INTO t VALUES (2)")
            await asyncio.sleep(0.05)  # holding the writer
            assert _committed(tmp_path) == []  # 1 waits: nothing committed meanwhile
            await tx.rollback()

        done = asyncio.create_task(first())
        await asyncio.sleep(0)  # first has ended; its COMMIT is due on the next turn
        await slow()
        return await done

    assert _with_db(tmp_path, work) == [1]
    assert _committed(tmp_path) == [1]


def test_a_failed_commit_fails_every_transaction_of_its_group(tmp_path: Path) -> None:
    """A COMMIT that fails (here a deferred foreign key) loses the whole group, and each of
    its transactions is told; the next transaction commits as usual."""

    async def work(db: SQLiteDatabase, statements: list[str]) -> list[BaseException | None]:
        async with db.transaction() as tx:
            await tx.execute(
                "CREATE TABLE child (p INTEGER REFERENCES t (x) DEFERRABLE INITIALLY DEFERRED)"
            )

        async def write(sql: str) -> None:
            async with db.transaction(shared=True) as tx:
                await tx.execute(sql)

        outcomes = await asyncio.gather(
            write("INSERT INTO t VALUES (1)"),
            write("INSERT INTO child VALUES (99)"),  # no t row 99: refused at COMMIT
            return_exceptions=True,
        )
        await write("INSERT INTO t VALUES (2)")
        return [o if isinstance(o, BaseException) else None for o in outcomes]

    outcomes = _with_db(tmp_path, work)
    assert all(isinstance(o, sqlite3.IntegrityError) for o in outcomes), outcomes
    assert _committed(tmp_path) == [2]


def test_a_transaction_sqlite_rolled_back_fails_the_ones_waiting_for_it(
    tmp_path: Path,
) -> None:
    """When SQLite ends the whole transaction on an error (a full disk, say; here an explicit
    ROLLBACK), the transactions released into it and waiting for its COMMIT fail too."""

    async def work(db: SQLiteDatabase, statements: list[str]) -> BaseException | None:
        async def waiting() -> None:
            async with db.transaction(shared=True) as tx:
                await tx.execute("INSERT INTO t VALUES (1)")

        async def failing() -> None:
            async with db.transaction() as tx:
                await tx.execute("INSERT INTO t VALUES (2)")
                await tx.execute("ROLLBACK")
                raise RuntimeError("the disk is full")

        first = asyncio.create_task(waiting())
        await asyncio.sleep(0)
        with pytest.raises(RuntimeError):
            await failing()
        try:
            await first
        except BaseException as exc:
            return exc
        return None

    assert isinstance(_with_db(tmp_path, work), sqlite3.OperationalError)
    assert _committed(tmp_path) == []


def test_closing_commits_what_waits(tmp_path: Path) -> None:
    async def work(db: SQLiteDatabase, statements: list[str]) -> None:
        tx = await db.begin(shared=True)
        await tx.execute("INSERT INTO t VALUES (1)")
        pending = asyncio.create_task(tx.commit())
        await asyncio.sleep(0)
        await db.close()
        await pending

    _with_db(tmp_path, work)
    assert _committed(tmp_path) == [1]


@pytest.mark.parametrize(
    ("worker", "processes", "shared"),
    [(True, 1, True), (False, 1, False), (True, 2, False)],
)
def test_the_server_shares_commits_only_as_the_databases_one_writer(
    tmp_path: Path, worker: bool, processes: int, shared: bool
) -> None:
    """Group commit holds SQLite's writer until the loop's next turn: on when the process
    delivers its own messages and is the only server process, off beside a worker process
    (``serve --no-worker``) or other server processes (``--workers N``)."""
    from openrespond.app import create_app
    from tests.conftest import make_settings

    settings = replace(make_settings(tmp_path / "app.db"), worker=worker)
    app = create_app(settings, processes=processes)
    assert app.state.db.group_commit is shared
