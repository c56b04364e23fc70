"""Backend-neutral database interface.

SQL is written once with ``?`` placeholders; a backend that needs another style (asyncpg's
``$1``) rewrites it. Rows support both ``row["column"]`` and ``row[0]``.
"""

from __future__ import annotations

import abc
import asyncio
import random
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager
from typing import Any, Protocol, TypeVar

T = TypeVar("T")

__all__ = ["Connection", "Database", "IntegrityError", "Row", "Transaction", "TransientError"]


class Row(Protocol):
    """A result row: indexable by position and by column name."""

    def __getitem__(self, key: int | str, /) -> Any: ...

    def keys(self) -> Sequence[str]: ...


class IntegrityError(Exception):
    """A unique or foreign-key constraint refused the statement."""

    def __init__(self, message: str, *, constraint: str = "") -> None:
        super().__init__(message)
        self.constraint = constraint


class TransientError(Exception):
    """The database gave up on this transaction for a reason of timing (a deadlock, a
    serialization failure); running the whole transaction again is expected to succeed."""


class Connection(abc.ABC):
    """Runs statements; inside a transaction when obtained from ``Database.begin``."""

    dialect: str = "sqlite"

    @abc.abstractmethod
    async def execute(self, sql: str, *args: Any) -> int:
        """Run one statement; return the number of rows it changed."""

    @abc.abstractmethod
    async def execute_many(self, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        """Run one statement for each parameter row."""

    @abc.abstractmethod
    async def fetch_all(self, sql: str, *args: Any) -> list[Row]:
        """All rows of a query."""

    @abc.abstractmethod
    async def fetch_one(self, sql: str, *args: Any) -> Row | None:
        """The first row of a query, or None."""

    async def fetch_val(self, sql: str, *args: Any) -> Any:
        """The first column of the first row, or None."""
        row = await self.fetch_one(sql, *args)
        return None if row is None else row[0]


class Transaction(Connection):
    """A connection inside one open transaction."""

    _after_commit: list[Callable[[], None]] | None = None
    _announced: list[Any] | None = None
    _memo: dict[Any, Any] | None = None
    source: Any = None  # the Database this transaction belongs to: whom its signals reach

    @property
    def memo(self) -> dict[Any, Any]:
        """Values worth computing once per transaction (what it has read, under its own
        writes); gone with the transaction."""
        if self._memo is None:
            self._memo = {}
        return self._memo

    def on_commit(self, action: Callable[[], None]) -> None:
        """Run ``action`` once this transaction has committed (never if it rolls back);
        an action registered twice runs once."""
        if self._after_commit is None:
            self._after_commit = []
        if action not in self._after_commit:
            self._after_commit.append(action)

    def announce(self, signal: Any) -> None:
        """Send ``signal`` (a ``signals.Signal``) once this transaction has committed: to
        this process's listeners, and on PostgreSQL, as a NOTIFY, to every process listening
        (see ``Database.listen``)."""
        if self._announced is None:
            self._announced = []
        if signal not in self._announced:
            self._announced.append(signal)

    def _committed(self) -> None:
        """Backends call this right after a successful commit."""
        actions, self._after_commit = self._after_commit, None
        announced, self._announced = self._announced, None
        for action in actions or ():
            action()
        for signal in announced or ():
            signal.send(self.source)

    @asynccontextmanager
    async def savepoint(self) -> AsyncIterator[None]:
        """A nested transaction: a statement failing inside it (say, on a unique index) undoes
        only what ran inside, and the transaction can go on (PostgreSQL would otherwise refuse
        every later statement)."""
        self._savepoints = getattr(self, "_savepoints", 0) + 1
        name = f"sp{self._savepoints}"
        await self.execute(f"SAVEPOINT {name}")
        try:
            yield
        except BaseException:
            await self.execute(f"ROLLBACK TO SAVEPOINT {name}")
            await self.execute(f"RELEASE SAVEPOINT {name}")
            raise
        await self.execute(f"RELEASE SAVEPOINT {name}")

    @abc.abstractmethod
    async def commit(self) -> None:
        """Make every change durable."""

    @abc.abstractmethod
    async def rollback(self) -> None:
        """Discard every change."""


class Database(abc.ABC):
    """A connected backend: a read path and transactions."""

    dialect: str

    @abc.abstractmethod
    async def connect(self) -> None:
        """Open connections and set them up."""

    @abc.abstractmethod
    async def close(self) -> None:
        """Release every connection."""

    @abc.abstractmethod
    async def begin(self, *, urgent: bool = False, shared: bool = False) -> Transaction:
        """Open a write transaction; an ``urgent`` one (short background work such as
        finishing deliveries) goes ahead of requests waiting for the same writer. A
        ``shared`` one (a request's) may share its commit with others ending at the same
        moment (SQLite's group commit; ``commit`` still returns only once it is durable)."""

    async def listen(self, *signals: Any) -> None:
        """Send each of ``signals`` in this process whenever another process announces it
        (PostgreSQL's LISTEN); SQLite has no such channel, and workers poll instead."""
        return None

    @abc.abstractmethod
    def reader(self) -> Connection:
        """A connection for reads outside any transaction (sees committed data)."""

    @asynccontextmanager
    async def transaction(
        self, *, urgent: bool = False, shared: bool = False
    ) -> AsyncIterator[Transaction]:
        """Commit on success, roll back on any exception."""
        tx = await self.begin(urgent=urgent, shared=shared)
        try:
            yield tx
        except BaseException:
            await tx.rollback()
            raise
        await tx.commit()

    async def retrying(
        self,
        work: Callable[[Transaction], Awaitable[T]],
        *,
        attempts: int = 5,
        urgent: bool = False,
    ) -> T:
        """``work`` in a transaction, run again (after a short random pause) when the database
        gives up on it for timing reasons, or a constraint refuses it because a concurrent
        transaction changed the same rows first (the next run sees that change); the last
        error propagates."""
        for attempt in range(1, attempts + 1):
            try:
                async with self.transaction(urgent=urgent) as tx:
                    return await work(tx)
            except (TransientError, IntegrityError):
                if attempt == attempts:
                    raise
            await asyncio.sleep(random.uniform(0, 0.005 * 2**attempt))
        raise AssertionError("unreachable")
