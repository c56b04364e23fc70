"""The small database interface every repository talks to, and how to open one."""

from __future__ import annotations

from openrespond.db._base import Connection, Database, IntegrityError, Row, Transaction
from openrespond.settings import Settings

__all__ = ["Connection", "Database", "IntegrityError", "Row", "Transaction", "open_database"]


def open_database(settings: Settings) -> Database:
    """The backend named by ``settings.database_url`` (not yet connected)."""
    from openrespond.db.sqlite import SQLiteDatabase

    return SQLiteDatabase(settings.sqlite_path)
