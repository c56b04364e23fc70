"""The PostgreSQL backend: a pool of asyncpg connections.

Repositories write SQL once with ``?`` placeholders; this backend rewrites them to ``$1``,
``$2``… (outside quoted text) once per statement text. Reads take a pooled connection for one
query; a transaction keeps its connection until it commits or rolls back. Unlike SQLite there
is no single writer: concurrent transactions meet at row locks and unique indexes, so a
deadlock or serialization failure surfaces as ``TransientError`` and the request is run again.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import re
from collections.abc import Callable, Sequence
from typing import Any, TypeVar
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import asyncpg

from openrespond.db._base import (
    Connection,
    Database,
    IntegrityError,
    Row,
    Transaction,
    TransientError,
)

__all__ = ["PostgresDatabase", "placeholders", "split_url"]

_TRANSIENT = (asyncpg.DeadlockDetectedError, asyncpg.SerializationError)
log = logging.getLogger("openrespond.db")
_F = TypeVar("_F", bound=Callable[..., Any])
_COUNT = re.compile(r"(\d+)$")


@functools.lru_cache(maxsize=8192)
def placeholders(sql: str) -> str:
    """``?`` → ``$n``, leaving quoted text ('…' and "…") and comments alone."""
    out: list[str] = []
    n = 0
    i = 0
    quote = ""
    while i < len(sql):
        ch = sql[i]
        if quote:
            out.append(ch)
            if ch == quote:
                quote = ""
        elif ch in "'\"":
            quote = ch
            out.append(ch)
        elif ch == "-" and sql.startswith("--", i):
            end = sql.find("\n", i)
            end = len(sql) if end < 0 else end
            out.append(sql[i:end])
            i = end
            continue
        elif ch == "?":
            n += 1
            out.append(f"${n}")
        else:
            out.append(ch)
        i += 1
    return "".join(out)


def split_url(url: str) -> tuple[str, str | None]:
    """The DSN asyncpg gets, and the schema named by ``?schema=`` (created if missing and
    made the connections' search path)."""
    parts = urlsplit(url)
    query = parse_qsl(parts.query, keep_blank_values=True)
    schema = next((v for k, v in query if k == "schema"), None)
    rest = [(k, v) for k, v in query if k != "schema"]
    scheme = "postgresql" if parts.scheme in ("postgres", "postgresql") else parts.scheme
    dsn = urlunsplit((scheme, parts.netloc, parts.path, urlencode(rest), parts.fragment))
    return dsn, schema


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _rowcount(status: str) -> int:
    m = _COUNT.search(status)
    return int(m[1]) if m else 0


def _translate(exc: Exception) -> Exception:
    if isinstance(exc, asyncpg.IntegrityConstraintViolationError):
        return IntegrityError(str(exc), constraint=getattr(exc, "constraint_name", "") or "")
    if isinstance(exc, _TRANSIENT):
        return TransientError(str(exc))
    return exc


def _guard(method: _F) -> _F:
    @functools.wraps(method)
    async def run(*args: Any, **kwargs: Any) -> Any:
        try:
            return await method(*args, **kwargs)
        except asyncpg.PostgresError as exc:
            translated = _translate(exc)
            if translated is exc:
                raise
            raise translated from None

    return run  # type: ignore[return-value]


class _PgConnection(Connection):
    """Statements on ``_on``: the pool (each query borrows a connection) or one connection
    (inside a transaction); asyncpg gives both the same methods."""

    dialect = "postgresql"
    _on: Any

    @_guard
    async def execute(self, sql: str, *args: Any) -> int:
        return _rowcount(await self._on.execute(placeholders(sql), *args))

    @_guard
    async def execute_many(self, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        await self._on.executemany(placeholders(sql), rows)

    @_guard
    async def fetch_all(self, sql: str, *args: Any) -> list[Row]:
        rows: list[Row] = await self._on.fetch(placeholders(sql), *args)
        return rows

    @_guard
    async def fetch_one(self, sql: str, *args: Any) -> Row | None:
        row: Row | None = await self._on.fetchrow(placeholders(sql), *args)
        return row

    @_guard
    async def fetch_val(self, sql: str, *args: Any) -> Any:
        return await self._on.fetchval(placeholders(sql), *args)


class _PooledReader(_PgConnection):
    """Reads outside a transaction: each query borrows a pooled connection."""

    def __init__(self, pool: asyncpg.Pool) -> None:
        self._on = pool


class _PgTransaction(_PgConnection, Transaction):
    """``BEGIN`` … ``COMMIT`` on one pooled connection, sent as plain statements (not
    asyncpg's transaction object) so that the notifications of a commit travel with it:
    ``NOTIFY a; COMMIT`` is one round trip."""

    def __init__(self, pool: asyncpg.Pool, conn: Any, source: Database) -> None:
        self.source = source
        self._pool = pool
        self._on = conn
        self._open = True
        self._after_commit: list[Callable[[], None]] | None = None
        self._notify: set[str] = set()

    def announce(self, signal: Any) -> None:
        super().announce(signal)
        self._notify.add(signal.name)

    async def commit(self) -> None:
        if not self._open:
            return
        try:
            # Notifications are delivered to listeners when (and only if) the commit is.
            notify = "".join(f"NOTIFY {_quote(name)}; " for name in sorted(self._notify))
            await self._on.execute(f"{notify}COMMIT")
        except asyncpg.PostgresError as exc:
            await self._release(rollback=True)
            translated = _translate(exc)
            if translated is exc:
                raise
            raise translated from None
        except BaseException:
            await self._release(rollback=True)
            raise
        await self._release(rollback=False)
        self._committed()

    async def rollback(self) -> None:
        if self._open:
            await self._release(rollback=True)

    async def _release(self, *, rollback: bool) -> None:
        self._open = False
        conn, self._on = self._on, None
        try:
            if rollback and not conn.is_closed() and conn.is_in_transaction():
                await conn.execute("ROLLBACK")
        except (asyncpg.PostgresError, OSError, asyncpg.InterfaceError):
            conn.terminate()  # unusable: the pool replaces it
        finally:
            await self._pool.release(conn)


async def _keep_session(conn: Any) -> None:
    """A connection going back to the pool keeps its session as is: asyncpg's default reset
    (``RESET ALL``, ``UNLISTEN *``, advisory locks released…) costs a round trip per pooled
    statement and transaction, and openrespond leaves no session state behind (settings are
    startup parameters, advisory locks are transaction-scoped, LISTEN has a connection of
    its own). An open transaction is still rolled back by the pool before this runs."""


class PostgresDatabase(Database):
    """A pool of ``max_size`` connections to the database of a ``postgresql://`` URL."""

    dialect = "postgresql"

    def __init__(self, url: str, *, min_size: int = 1, max_size: int = 10) -> None:
        self.url = url
        self.dsn, self.schema = split_url(url)
        self.min_size = min_size
        self.max_size = max_size
        self._pool: asyncpg.Pool | None = None
        self._reader: _PooledReader | None = None
        self._listener: Any = None
        self._signals: dict[str, Any] = {}
        self._relisten: asyncio.Task[None] | None = None

    async def connect(self) -> None:
        if self._pool is not None:
            return
        settings = {}
        if self.schema:
            conn = await asyncpg.connect(self.dsn)
            try:
                await conn.execute(f"CREATE SCHEMA IF NOT EXISTS {_quote(self.schema)}")
            except asyncpg.UniqueViolationError:
                pass  # another process created it at the same moment
            finally:
                await conn.close()
            settings["search_path"] = _quote(self.schema)
        self._pool = await asyncpg.create_pool(
            self.dsn,
            server_settings=settings,
            min_size=self.min_size,
            max_size=self.max_size,
            statement_cache_size=1024,
            max_inactive_connection_lifetime=300,
            reset=_keep_session,
        )
        self._reader = _PooledReader(self._pool)

    async def close(self) -> None:
        pool, self._pool, self._reader = self._pool, None, None
        if self._relisten is not None:
            self._relisten.cancel()
        listener, self._listener = self._listener, None
        if listener is not None and not listener.is_closed():
            await listener.close()
        if pool is not None:
            await pool.close()

    async def listen(self, *signals: Any) -> None:
        """LISTEN on a connection of its own (outside the pool) for each signal's name; a lost
        connection is replaced in the background, polling covering the gap."""
        for signal in signals:
            self._signals[signal.name] = signal
        if self._listener is None or self._listener.is_closed():
            await self._connect_listener()
        else:
            for signal in signals:
                await self._listener.add_listener(signal.name, self._notified)

    async def _connect_listener(self) -> None:
        conn = await asyncpg.connect(self.dsn)
        conn.add_termination_listener(self._lost)
        for name in self._signals:
            await conn.add_listener(name, self._notified)
        self._listener = conn

    def _notified(self, _conn: Any, _pid: int, channel: str, _payload: str) -> None:
        signal = self._signals.get(channel)
        if signal is not None:
            signal.send(self)

    def _lost(self, _conn: Any) -> None:
        if self._pool is None:
            return  # closing
        log.warning("lost the LISTEN connection; reconnecting (workers poll meanwhile)")
        self._relisten = asyncio.get_running_loop().create_task(self._reconnect())

    async def _reconnect(self) -> None:
        delay = 0.5
        while self._pool is not None:
            try:
                await self._connect_listener()
                return
            except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
                log.warning("LISTEN connection failed: %s; next try in %.0f s", exc, delay)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 30)

    async def begin(self, *, urgent: bool = False, shared: bool = False) -> Transaction:
        if self._pool is None:
            raise RuntimeError("database is not connected")
        conn = await self._pool.acquire()
        try:
            await conn.execute("BEGIN")
        except BaseException:
            await self._pool.release(conn)
            raise
        return _PgTransaction(self._pool, conn, self)

    def reader(self) -> Connection:
        if self._reader is None:
            raise RuntimeError("database is not connected")
        return self._reader
