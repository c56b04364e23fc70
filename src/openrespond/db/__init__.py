"""The small database interface every repository talks to, and how to open one."""

from __future__ import annotations

from openrespond.db._base import (
    Connection,
    Database,
    IntegrityError,
    Row,
    Transaction,
    TransientError,
)
from openrespond.db.scope import Scope
from openrespond.settings import Settings

__all__ = [
    "Connection",
    "Database",
    "IntegrityError",
    "Row",
    "Scope",
    "Transaction",
    "TransientError",
    "open_database",
]


def open_database(settings: Settings, *, group_commit: bool = False) -> Database:
    """The backend named by ``settings.database_url`` (not yet connected); on SQLite,
    requests' transactions share commits when ``group_commit`` (see ``db.sqlite``)."""
    if settings.dialect == "postgresql":
        from openrespond.db.postgres import PostgresDatabase

        return PostgresDatabase(settings.database_url, max_size=settings.db_pool_size)
    from openrespond.db.sqlite import SQLiteDatabase

    return SQLiteDatabase(settings.sqlite_path, group_commit=group_commit)
