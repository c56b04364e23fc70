"""Imports started from the app: queued with their file, loaded by a worker once, resumed
after the worker that held them died (both backends)."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest

from openrespond.contacts import imports
from openrespond.contacts import repository as repo
from openrespond.db import Database, Scope
from openrespond.db.migrations import migrate
from openrespond.errors import BadRequest
from openrespond.space import workspaces
from tests.backend import open_test_database


async def _workspace(db: Database) -> int:
    async with db.transaction() as tx:
        return await workspaces.create_workspace(tx, name="w")


def _csv(rows: int) -> bytes:
    # No email or phone: a row loaded twice would make a second contact.
    return ("firstName,lastName\n" + "".join(f"Row{i},Imported\n" for i in range(rows))).encode()


async def _count(db: Database, ws: int) -> tuple[int, int]:
    rows = await db.reader().fetch_one(
        "SELECT count(*) AS n, count(DISTINCT first_name) AS d FROM contacts"
        " WHERE workspace_id = ? AND last_name = 'Imported'",
        ws,
    )
    assert rows is not None
    return int(rows["n"]), int(rows["d"])


def test_an_import_whose_worker_died_is_resumed_and_loads_each_row_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    total = imports.BATCH * 3 + 7

    async def go() -> None:
        db = open_test_database(tmp_path / "imports.db")
        await db.connect()
        try:
            await migrate(db)
            ws = await _workspace(db)
            async with db.transaction() as tx:
                job = await imports.start_import(
                    Scope(tx, ws), user_id=None, file_name="c.csv", data=_csv(total)
                )
            # The first worker dies in its second batch (nothing of that batch is kept).
            real = repo.import_progress
            calls = 0

            async def dies(*args: Any, **kwargs: Any) -> bool:
                nonlocal calls
                calls += 1
                if calls == 2:
                    raise RuntimeError("the worker process was killed")
                return await real(*args, **kwargs)

            monkeypatch.setattr(repo, "import_progress", dies)
            first = imports.ImportWorker(db, lease_seconds=30, poll_seconds=0.01)
            with pytest.raises(RuntimeError):
                await first.run_once()
            monkeypatch.setattr(repo, "import_progress", real)
            state = await imports.get_import(Scope(db.reader(), ws), job)
            assert (state.status, state.done, state.created) == (
                "running",
                imports.BATCH,
                imports.BATCH,
            )
            assert await _count(db, ws) == (imports.BATCH, imports.BATCH)
            # While its lease runs, nobody else takes it.
            second = imports.ImportWorker(db, lease_seconds=30, poll_seconds=0.01)
            assert await second.run_once() == 0
            # Once it has run out, another worker resumes after the last committed batch.
            async with db.transaction() as tx:
                await tx.execute("UPDATE import_jobs SET lease_until = 0 WHERE id = ?", job)
            assert await second.run_once() == 1
            state = await imports.get_import(Scope(db.reader(), ws), job)
            assert (state.status, state.done, state.created, state.skipped) == (
                "done",
                total,
                total,
                0,
            )
            assert await _count(db, ws) == (total, total)
            assert await second.run_once() == 0
        finally:
            await db.close()

    asyncio.run(go())


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"email\nx@example.com\n", "firstName among them"),
        (b"firstName\n", "no rows below the header"),
        (b"\xff\xfe\x00", "must be UTF-8"),
        (b"firstName\nA\x00B\n", "NUL"),
        (b"", "firstName among them"),
    ],
)
def test_files_that_cannot_be_imports_are_refused(
    tmp_path: Path, data: bytes, message: str
) -> None:
    async def go() -> None:
        db = open_test_database(tmp_path / "bad.db")
        await db.connect()
        try:
            await migrate(db)
            ws = await _workspace(db)
            with pytest.raises(BadRequest, match=message):
                async with db.transaction() as tx:
                    await imports.start_import(
                        Scope(tx, ws), user_id=None, file_name="c.csv", data=data
                    )
            assert await db.reader().fetch_val("SELECT count(*) FROM import_jobs") == 0
        finally:
            await db.close()

    asyncio.run(go())
