"""The database the suite runs on: SQLite files (default) or PostgreSQL schemas.

``OPENRESPOND_TEST_BACKEND=postgresql`` runs every test against PostgreSQL at
``OPENRESPOND_TEST_POSTGRES_URL`` (default ``postgresql://postgres@127.0.0.1:5432/test``).
Tests name their databases by a file path either way: on PostgreSQL the path picks a schema
of this run (``t<pid>_<random>_<hash of path>``), so a server restarted on the same path
finds its data, and runs never collide. The run's schemas are dropped at the end.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import secrets
import sqlite3
import threading
from collections.abc import Callable, Coroutine
from contextlib import closing
from pathlib import Path
from typing import Any, TypeVar

import asyncpg
import pytest

from openrespond.db import Database
from openrespond.db.postgres import PostgresDatabase, placeholders
from openrespond.db.sqlite import SQLiteDatabase

__all__ = [
    "BACKEND",
    "POSTGRES",
    "database_url",
    "drop_run_schemas",
    "open_test_database",
    "query",
    "sqlite_only",
]

BACKEND = os.environ.get("OPENRESPOND_TEST_BACKEND", "sqlite")
POSTGRES = BACKEND == "postgresql"
PG_URL = os.environ.get(
    "OPENRESPOND_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test"
)
RUN = f"t{os.getpid()}_{secrets.token_hex(3)}"

sqlite_only = pytest.mark.skipif(POSTGRES, reason="checks SQLite's own behaviour")

T = TypeVar("T")


def schema_of(path: Path | str) -> str:
    return f"{RUN}_{hashlib.sha1(str(path).encode()).hexdigest()[:12]}"


def database_url(path: Path | str) -> str:
    """The database a test names by ``path``: that SQLite file, or a PostgreSQL schema."""
    if POSTGRES:
        return f"{PG_URL}?schema={schema_of(path)}"
    return f"sqlite:///{path}"


def open_test_database(path: Path | str) -> Database:
    """The (unconnected) database ``path`` names on the suite's backend."""
    if POSTGRES:
        return PostgresDatabase(database_url(path))
    return SQLiteDatabase(str(path))


def _in_thread(make: Callable[[], Coroutine[Any, Any, T]]) -> T:
    """Run a coroutine on an event loop of its own (a test may be inside one already)."""
    box: list[Any] = []

    def run() -> None:
        try:
            box.append((True, asyncio.run(make())))
        except BaseException as exc:
            box.append((False, exc))

    t = threading.Thread(target=run)
    t.start()
    t.join()
    ok, value = box[0]
    if not ok:
        raise value
    return value  # type: ignore[no-any-return]


def query(path: Path | str, sql: str, *args: Any) -> list[tuple[Any, ...]]:
    """Rows of ``sql`` (``?`` placeholders) read straight from the database ``path`` names."""
    if not POSTGRES:
        with closing(sqlite3.connect(path)) as conn:
            rows = list(conn.execute(sql, args))
            conn.commit()  # a write through this helper counts, as on PostgreSQL
            return rows

    async def go() -> list[tuple[Any, ...]]:
        conn = await asyncpg.connect(PG_URL, server_settings={"search_path": schema_of(path)})
        try:
            if (
                sql.lstrip().upper().startswith(("SELECT", "WITH", "PRAGMA"))
                or " RETURNING " in sql.upper()
            ):
                return [tuple(r) for r in await conn.fetch(placeholders(sql), *args)]
            await conn.execute(placeholders(sql), *args)
            return []
        finally:
            await conn.close()

    return _in_thread(go)


def drop_run_schemas() -> None:
    """Drop every schema this run created (PostgreSQL)."""
    if not POSTGRES:
        return

    async def go() -> None:
        conn = await asyncpg.connect(PG_URL)
        try:
            names = await conn.fetch(
                "SELECT nspname FROM pg_namespace WHERE nspname LIKE $1", f"{RUN}%"
            )
            for (name,) in names:
                # A server process of a test may still be shutting down: wait for it.
                for attempt in range(20):
                    try:
                        await conn.execute(f'DROP SCHEMA "{name}" CASCADE')
                        break
                    except asyncpg.DeadlockDetectedError:
                        if attempt == 19:
                            raise
                        await asyncio.sleep(0.5)
        finally:
            await conn.close()

    _in_thread(go)
