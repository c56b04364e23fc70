"""The embedded backend: stdlib sqlite3 in WAL mode, called directly on the event loop.

SQLite answers an indexed read in microseconds, so a thread hop would cost more than the
query. Writes are serialised by an asyncio lock (one writer per process) and by
``BEGIN IMMEDIATE`` with a busy timeout across processes.
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections import deque
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from openrespond.db._base import Connection, Database, IntegrityError, Row, Transaction

__all__ = ["SQLiteDatabase"]

_PRAGMAS = (
    "PRAGMA journal_mode=WAL",
    "PRAGMA synchronous=NORMAL",
    "PRAGMA foreign_keys=ON",
    "PRAGMA busy_timeout=10000",
    "PRAGMA cache_size=-32000",
    "PRAGMA temp_store=MEMORY",
)


def _connect(path: str) -> sqlite3.Connection:
    if path != ":memory:":
        Path(path).parent.mkdir(parents=True, exist_ok=True)
    conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    conn.row_factory = sqlite3.Row
    for pragma in _PRAGMAS:
        conn.execute(pragma)
    return conn


def _integrity(exc: sqlite3.IntegrityError) -> IntegrityError:
    text = str(exc)
    constraint = text.split(":", 1)[1].strip() if ":" in text else text
    return IntegrityError(text, constraint=constraint)


class _SQLiteConnection(Connection):
    __slots__ = ("_conn",)

    def __init__(self, conn: sqlite3.Connection) -> None:
        self._conn = conn

    async def execute(self, sql: str, *args: Any) -> int:
        try:
            return self._conn.execute(sql, args).rowcount
        except sqlite3.IntegrityError as exc:
            raise _integrity(exc) from None

    async def execute_many(self, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        try:
            self._conn.executemany(sql, rows)
        except sqlite3.IntegrityError as exc:
            raise _integrity(exc) from None

    async def fetch_all(self, sql: str, *args: Any) -> list[Row]:
        try:
            return self._conn.execute(sql, args).fetchall()
        except sqlite3.IntegrityError as exc:
            raise _integrity(exc) from None

    async def fetch_one(self, sql: str, *args: Any) -> Row | None:
        try:
            row: Row | None = self._conn.execute(sql, args).fetchone()
        except sqlite3.IntegrityError as exc:
            raise _integrity(exc) from None
        return row


class _WriterLock:
    """The one-writer lock, first come first served, except that urgent waiters go first.

    The lock is handed straight to the next waiter on release, so nobody can slip in between.
    """

    def __init__(self) -> None:
        self._locked = False
        self._waiters: deque[asyncio.Future[None]] = deque()
        self._urgent: deque[asyncio.Future[None]] = deque()

    async def acquire(self, *, urgent: bool = False) -> None:
        if not self._locked:
            self._locked = True
            return
        fut: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        queue = self._urgent if urgent else self._waiters
        queue.append(fut)
        try:
            await fut
        except asyncio.CancelledError:
            if fut.done() and not fut.cancelled():
                self.release()  # it was handed to us as we were cancelled: pass it on
            else:
                queue.remove(fut)
            raise

    def release(self) -> None:
        for queue in (self._urgent, self._waiters):
            while queue:
                fut = queue.popleft()
                if not fut.done():
                    fut.set_result(None)
                    return
        self._locked = False


class _SQLiteTransaction(_SQLiteConnection, Transaction):
    __slots__ = ("_after_commit", "_announced", "_lock", "_open", "source")

    def __init__(self, conn: sqlite3.Connection, lock: _WriterLock, source: Database) -> None:
        super().__init__(conn)
        self.source = source
        self._announced = None
        self._lock = lock
        self._open = True
        self._after_commit: list[Callable[[], None]] | None = None

    async def commit(self) -> None:
        if not self._open:
            return
        try:
            self._conn.execute("COMMIT")
        except BaseException:
            self._conn.execute("ROLLBACK")
            raise
        finally:
            self._release()
        self._committed()

    async def rollback(self) -> None:
        if not self._open:
            return
        try:
            if self._conn.in_transaction:
                self._conn.execute("ROLLBACK")
        finally:
            self._release()

    def _release(self) -> None:
        self._open = False
        self._lock.release()


class SQLiteDatabase(Database):
    """One writer connection guarded by a lock, one reader connection (WAL snapshots)."""

    dialect = "sqlite"

    def __init__(self, path: str) -> None:
        self.path = path
        self._writer: sqlite3.Connection | None = None
        self._reader: _SQLiteConnection | None = None
        self._lock = _WriterLock()

    async def connect(self) -> None:
        if self._writer is not None:
            return
        self._writer = _connect(self.path)
        # An in-memory database is private to its connection: read through the writer.
        reader = self._writer if self.path == ":memory:" else _connect(self.path)
        self._reader = _SQLiteConnection(reader)

    async def close(self) -> None:
        if self._reader is not None and self._reader._conn is not self._writer:
            self._reader._conn.close()
        if self._writer is not None:
            self._writer.close()
        self._writer = None
        self._reader = None

    async def begin(self, *, urgent: bool = False) -> Transaction:
        if self._writer is None:
            raise RuntimeError("database is not connected")
        await self._lock.acquire(urgent=urgent)
        try:
            self._writer.execute("BEGIN IMMEDIATE")
        except BaseException:
            self._lock.release()
            raise
        return _SQLiteTransaction(self._writer, self._lock, self)

    def reader(self) -> Connection:
        if self._reader is None:
            raise RuntimeError("database is not connected")
        return self._reader
