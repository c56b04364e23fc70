"""The few SQL spellings SQLite and PostgreSQL do not share, chosen by dialect
(``Connection.dialect``).

Everything else in the repositories is written once in the common subset of both.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from openrespond.db._base import Connection

__all__ = ["as_bytes", "for_update", "insert_with_id", "json_append", "lock_name", "skip_locked"]


def as_bytes(dialect: str, expr: str) -> str:
    """``expr`` (text) as UTF-8 bytes, so JSON kept as text goes out without decoding."""
    if dialect == "postgresql":
        return f"convert_to({expr}, 'UTF8')"
    return f"CAST({expr} AS BLOB)"


def json_append(dialect: str, target: str, count: int) -> str:
    """``target`` (a JSON array kept as text) with ``count`` JSON values appended, each
    given as a ``?`` parameter holding JSON text."""
    if count == 0:
        return target
    if dialect == "postgresql":
        marks = ", ".join(["?::jsonb"] * count)
        return f"({target}::jsonb || jsonb_build_array({marks}))::text"
    for _ in range(count):
        target = f"json_insert({target}, '$[#]', json(?))"
    return target


def for_update(dialect: str, *, remove: bool = False) -> str:
    """The row lock a read-modify-write takes on the rows it reads, so that a concurrent
    writer of the same rows waits for it and then sees its result (PostgreSQL under READ
    COMMITTED; SQLite has one writer at a time and needs nothing).

    ``FOR NO KEY UPDATE`` is what an UPDATE of the row takes: writers of one row queue
    behind each other, while inserting rows that reference it (a foreign key's KEY SHARE
    lock) does not wait. A transaction that will delete the row (``remove``) takes
    ``FOR UPDATE``, which waits for those too.
    """
    if dialect != "postgresql":
        return ""
    return " FOR UPDATE" if remove else " FOR NO KEY UPDATE"


async def lock_name(conn: Connection, name: str) -> None:
    """Hold a lock on ``name`` until the transaction ends: for "find it, else create it" on
    something no unique index guards (PostgreSQL's advisory locks; SQLite has one writer at a
    time and needs nothing). Two names may share a lock (a hash), which only costs waiting."""
    if conn.dialect == "postgresql":
        await conn.execute("SELECT pg_advisory_xact_lock(hashtextextended(?, 0))", name)


def skip_locked(dialect: str, of: str | None = None) -> str:
    """The locking clause of a job claim's inner SELECT: with several workers on
    PostgreSQL, each claims rows nobody else holds and never waits for them. SQLite has one
    writer at a time and needs nothing."""
    if dialect != "postgresql":
        return ""
    return f" FOR UPDATE OF {of} SKIP LOCKED" if of else " FOR UPDATE SKIP LOCKED"


async def insert_with_id(
    conn: Connection, table: str, columns: Sequence[str], values: Sequence[Any], row_id: int | None
) -> int:
    """Insert one row and return its id: ``row_id`` when given (demo data, a channel id chosen
    by its owner), else the next one. On PostgreSQL, a chosen id moves the table's id sequence
    past it so later rows never collide with it."""
    cols = ", ".join(columns)
    marks = ", ".join("?" * len(columns))
    if row_id is None:
        new_id: int = await conn.fetch_val(
            f"INSERT INTO {table} ({cols}) VALUES ({marks}) RETURNING id", *values
        )
        return new_id
    new_id = await conn.fetch_val(
        f"INSERT INTO {table} (id, {cols}) VALUES (?, {marks}) RETURNING id", row_id, *values
    )
    if conn.dialect == "postgresql":
        await conn.execute(
            "SELECT setval(pg_get_serial_sequence(?, 'id'),"
            " GREATEST(?, (SELECT last_value FROM pg_sequences"
            " WHERE schemaname = current_schema() AND sequencename = ?)))",
            table,
            row_id,
            f"{table}_id_seq",
        )
    return new_id
