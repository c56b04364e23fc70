"""The embedded backend: stdlib sqlite3 in WAL mode, called directly on the event loop.

SQLite answers an indexed read in microseconds, so a thread hop would cost more than the
query. Writes are serialised by an asyncio lock (one writer per process) and by
``BEGIN IMMEDIATE`` with a busy timeout across processes. Each transaction is a savepoint
of the writer's open transaction, and requests' transactions that end in one turn of the
event loop share its ``COMMIT`` (``_Group``): a commit is most of a small write's cost.
The server turns that on only when its process is the database's one writer (``app``).
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

    @property
    def locked(self) -> bool:
        return self._locked

    def release(self) -> None:
        for queue in (self._urgent, self._waiters):
            while queue:
                fut = queue.popleft()
                if not fut.done():
                    fut.set_result(None)
                    return
        self._locked = False


class _SQLiteTransaction(_SQLiteConnection, Transaction):
    """One logical transaction: a savepoint in the writer's open transaction. A ``shared``
    one is committed by ``_Group`` with every transaction that ended in the same turn of the
    event loop; any other commits at once (and with it whatever waits)."""

    __slots__ = ("_after_commit", "_announced", "_group", "_lock", "_open", "_shared", "source")

    def __init__(
        self,
        conn: sqlite3.Connection,
        lock: _WriterLock,
        group: _Group,
        source: Database,
        *,
        shared: bool,
    ) -> None:
        super().__init__(conn)
        self.source = source
        self._announced = None
        self._group = group
        self._lock = lock
        self._open = True
        self._shared = shared
        self._after_commit: list[Callable[[], None]] | None = None

    async def commit(self) -> None:
        if not self._open:
            return
        self._open = False
        try:
            self._conn.execute("RELEASE tx")
        except BaseException as exc:
            self._undo(exc)
            raise
        if not self._shared:
            try:
                self._group.commit_now(self)
            finally:
                self._lock.release()
            return
        done = self._group.join(self)
        self._lock.release()
        await done  # the shared COMMIT (its error, if it fails)

    async def rollback(self) -> None:
        if not self._open:
            return
        self._open = False
        self._undo(None)

    def _undo(self, exc: BaseException | None) -> None:
        """Roll this transaction's savepoint back, then let the next writer in."""
        try:
            if self._conn.in_transaction:
                self._conn.execute("ROLLBACK TO tx")
                self._conn.execute("RELEASE tx")
            else:
                # SQLite rolled the whole transaction back (a full disk, say): the
                # transactions released into it and waiting for its COMMIT lost their work.
                self._group.lost(exc or sqlite3.OperationalError("transaction rolled back"))
        finally:
            self._group.ended()
            self._lock.release()


class _Group:
    """Group commit: transactions released into the writer's open transaction, waiting for
    one ``COMMIT``. It runs on the turn of the event loop after the first of them ended, so
    every transaction that ended in the same turn shares it; nobody is answered before it.
    Durability is unchanged (each transaction's caller returns from ``commit`` only once its
    work is committed) and a failing COMMIT fails every transaction of the group."""

    def __init__(self, conn: sqlite3.Connection, lock: _WriterLock) -> None:
        self._conn = conn
        self._lock = lock
        self._members: list[tuple[_SQLiteTransaction, asyncio.Future[None]]] = []
        self._scheduled = False
        self._closed = False
        self._flushing: set[asyncio.Task[None]] = set()

    def join(self, tx: _SQLiteTransaction) -> asyncio.Future[None]:
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._members.append((tx, done))
        self.ended()
        return done

    def ended(self) -> None:
        """A transaction ended: commit what is open on the loop's next turn."""
        if not self._scheduled:
            self._scheduled = True
            asyncio.get_running_loop().call_soon(self._flush)

    def lost(self, exc: BaseException) -> None:
        members, self._members = self._members, []
        for _, done in members:
            if not done.done():
                done.set_exception(exc)

    def close(self) -> None:
        """Commit what waits, unless a transaction is still running (then nothing of the
        open transaction is kept); scheduled commits then find nothing to do."""
        if self._lock.locked:
            if self._conn.in_transaction:
                self._conn.execute("ROLLBACK")
            self.lost(sqlite3.OperationalError("the database was closed"))
        else:
            self._commit()
        self._closed = True

    def _flush(self) -> None:
        self._scheduled = False
        if self._closed:
            return
        if self._lock.locked:
            # A transaction is running (it awaits something): commit once it is through.
            task = asyncio.get_running_loop().create_task(self._flush_after())
            self._flushing.add(task)
            task.add_done_callback(self._flushing.discard)
            return
        self._commit()

    async def _flush_after(self) -> None:
        await self._lock.acquire(urgent=True)
        try:
            if not self._closed:
                self._commit()
        finally:
            self._lock.release()

    def commit_now(self, tx: _SQLiteTransaction) -> None:
        """COMMIT for ``tx`` (which holds the writer) and every transaction waiting; raises
        what the COMMIT or ``tx``'s after-commit actions raise."""
        error = self._commit()
        if error is not None:
            raise error
        tx._committed()

    def _commit(self) -> BaseException | None:
        members, self._members = self._members, []
        try:
            if self._conn.in_transaction:
                self._conn.execute("COMMIT")
        except BaseException as exc:
            if self._conn.in_transaction:
                self._conn.execute("ROLLBACK")
            for _, done in members:
                if not done.done():
                    done.set_exception(exc)
            return exc
        for tx, done in members:
            try:
                tx._committed()
            except Exception as exc:  # an after-commit action's failure is its caller's
                if not done.done():
                    done.set_exception(exc)
                continue
            if not done.done():
                done.set_result(None)
        return None


class SQLiteDatabase(Database):
    """One writer connection guarded by a lock, one reader connection (WAL snapshots)."""

    dialect = "sqlite"

    def __init__(self, path: str, *, group_commit: bool = True) -> None:
        self.path = path
        self.group_commit = group_commit
        self._writer: sqlite3.Connection | None = None
        self._reader: _SQLiteConnection | None = None
        self._lock = _WriterLock()
        self._group: _Group | None = None

    async def connect(self) -> None:
        if self._writer is not None:
            return
        self._writer = _connect(self.path)
        self._group = _Group(self._writer, self._lock)
        # An in-memory database is private to its connection: read through the writer.
        reader = self._writer if self.path == ":memory:" else _connect(self.path)
        self._reader = _SQLiteConnection(reader)

    async def close(self) -> None:
        if self._group is not None:
            self._group.close()
            self._group = None
        if self._reader is not None and self._reader._conn is not self._writer:
            self._reader._conn.close()
        if self._writer is not None:
            self._writer.close()
        self._writer = None
        self._reader = None

    async def begin(self, *, urgent: bool = False, shared: bool = False) -> Transaction:
        if self._writer is None or self._group is None:
            raise RuntimeError("database is not connected")
        await self._lock.acquire(urgent=urgent)
        try:
            if not self._writer.in_transaction:
                self._writer.execute("BEGIN IMMEDIATE")
            self._writer.execute("SAVEPOINT tx")
        except BaseException:
            self._group.ended()  # a BEGIN that went through is committed (empty) or joined
            self._lock.release()
            raise
        return _SQLiteTransaction(
            self._writer, self._lock, self._group, self, shared=shared and self.group_commit
        )

    def reader(self) -> Connection:
        if self._reader is None:
            raise RuntimeError("database is not connected")
        return self._reader
