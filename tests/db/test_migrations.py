"""Schema migrations and the SQLite backend's settings."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from openrespond.db import IntegrityError
from openrespond.db.migrations import applied_versions, available, migrate
from openrespond.db.sqlite import SQLiteDatabase


def test_migrations_apply_once_and_record_versions(tmp_path: Path) -> None:
    async def go() -> None:
        db = SQLiteDatabase(str(tmp_path / "m.db"))
        await db.connect()
        try:
            first = await migrate(db)
            assert [m.version for m in first] == [m.version for m in available()]
            assert await migrate(db) == []
            assert await applied_versions(db) == {m.version for m in available()}
        finally:
            await db.close()

    asyncio.run(go())


def test_sqlite_runs_in_wal_with_foreign_keys(tmp_path: Path) -> None:
    async def go() -> None:
        db = SQLiteDatabase(str(tmp_path / "w.db"))
        await db.connect()
        try:
            await migrate(db)
            r = db.reader()
            assert await r.fetch_val("PRAGMA journal_mode") == "wal"
            assert await r.fetch_val("PRAGMA foreign_keys") == 1
            async with db.transaction() as tx:
                assert await tx.fetch_val("PRAGMA synchronous") == 1  # NORMAL
            with pytest.raises(IntegrityError):
                async with db.transaction() as tx:
                    await tx.execute(
                        "INSERT INTO contacts (workspace_id, first_name, created_at, updated_at)"
                        " VALUES (999, 'x', 0, 0)"
                    )
        finally:
            await db.close()

    asyncio.run(go())


def test_failed_transaction_rolls_back(tmp_path: Path) -> None:
    async def go() -> None:
        db = SQLiteDatabase(str(tmp_path / "r.db"))
        await db.connect()
        try:
            await migrate(db)
            with pytest.raises(RuntimeError):
                async with db.transaction() as tx:
                    await tx.execute(
                        "INSERT INTO workspaces (name, org_id, created_at) VALUES ('w', 1, 0)"
                    )
                    raise RuntimeError("boom")
            assert await db.reader().fetch_val("SELECT COUNT(*) FROM workspaces") == 0
        finally:
            await db.close()

    asyncio.run(go())
