"""What every backend of the Database interface must do the same way (run on the suite's
backend), and the PostgreSQL backend's own duties."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from openrespond.db import Database, IntegrityError, TransientError, sql
from openrespond.db.migrations import for_postgresql, migrate
from openrespond.db.postgres import placeholders, split_url
from openrespond.db.sqlite import SQLiteDatabase
from tests.backend import POSTGRES, open_test_database, query

postgres_only = pytest.mark.skipif(not POSTGRES, reason="PostgreSQL backend run only")


async def _open(path: Path) -> Database:
    db = open_test_database(path)
    await db.connect()
    await migrate(db)
    return db


def test_on_commit_actions_run_after_commit_only(tmp_path: Path) -> None:
    async def go() -> None:
        db = await _open(tmp_path / "hooks.db")
        try:
            ran: list[str] = []

            def committed() -> None:
                ran.append("committed")

            async with db.transaction() as tx:
                await tx.execute("CREATE TABLE t (x INTEGER)")
                tx.on_commit(committed)
                tx.on_commit(committed)  # registered twice, runs once
                assert ran == []  # not before the commit
            assert ran == ["committed"]

            async def rolled_back() -> None:
                async with db.transaction() as tx:
                    await tx.execute("INSERT INTO t VALUES (1)")
                    tx.on_commit(lambda: ran.append("rolled back"))
                    raise RuntimeError("boom")

            with pytest.raises(RuntimeError):
                await rolled_back()
            assert ran == ["committed"]
            assert await db.reader().fetch_val("SELECT COUNT(*) FROM t") == 0
        finally:
            await db.close()

    asyncio.run(go())


def test_rowcounts_and_integrity_errors_name_the_constraint(tmp_path: Path) -> None:
    async def go() -> None:
        db = await _open(tmp_path / "errors.db")
        try:
            async with db.transaction() as tx:
                for name in ("a", "b", "c"):
                    await tx.execute(
                        "INSERT INTO workspaces (name, org_id, created_at) VALUES (?, 1, 0)", name
                    )
                assert await tx.execute("UPDATE workspaces SET org_id = 2 WHERE name <> 'a'") == 2
                assert await tx.execute("DELETE FROM workspaces WHERE name = 'zzz'") == 0
                ws = await tx.fetch_val("SELECT id FROM workspaces WHERE name = 'a'")
                await tx.execute(
                    "INSERT INTO tags (workspace_id, name, created_at) VALUES (?, 'vip', 0)", ws
                )
            with pytest.raises(IntegrityError) as caught:
                async with db.transaction() as tx:
                    await tx.execute(
                        "INSERT INTO tags (workspace_id, name, created_at) VALUES (?, 'vip', 0)",
                        ws,
                    )
            assert "tags" in caught.value.constraint or "name" in caught.value.constraint
            with pytest.raises(IntegrityError):  # a foreign key
                async with db.transaction() as tx:
                    await tx.execute(
                        "INSERT INTO tags (workspace_id, name, created_at) VALUES (999999, 'x', 0)"
                    )
        finally:
            await db.close()

    asyncio.run(go())


def test_a_savepoint_keeps_the_transaction_usable_after_a_refused_statement(
    tmp_path: Path,
) -> None:
    """PostgreSQL refuses every statement after a failed one unless it ran in a savepoint;
    both backends keep what ran before and after."""

    async def go() -> None:
        db = await _open(tmp_path / "savepoint.db")
        try:
            async with db.transaction() as tx:
                ws = await tx.fetch_val(
                    "INSERT INTO workspaces (name, org_id, created_at) VALUES ('w', 1, 0)"
                    " RETURNING id"
                )
                await tx.execute(
                    "INSERT INTO tags (workspace_id, name, created_at) VALUES (?, 'one', 0)", ws
                )

                async def duplicate_in_savepoint() -> None:
                    async with tx.savepoint():
                        await tx.execute(
                            "INSERT INTO tags (workspace_id, name, created_at) VALUES (?, 'two', 0)",
                            ws,
                        )
                        await tx.execute(
                            "INSERT INTO tags (workspace_id, name, created_at) VALUES (?, 'one', 0)",
                            ws,
                        )

                with pytest.raises(IntegrityError):
                    await duplicate_in_savepoint()
                async with tx.savepoint():
                    await tx.execute(
                        "INSERT INTO tags (workspace_id, name, created_at) VALUES (?, 'three', 0)",
                        ws,
                    )
            names = await db.reader().fetch_all("SELECT name FROM tags ORDER BY name")
            assert [r["name"] for r in names] == ["one", "three"]
        finally:
            await db.close()

    asyncio.run(go())


def test_a_chosen_id_never_collides_with_later_ones(tmp_path: Path) -> None:
    async def go() -> None:
        db = await _open(tmp_path / "ids.db")
        try:
            async with db.transaction() as tx:
                cols = ["name", "org_id", "created_at"]
                chosen = await sql.insert_with_id(tx, "workspaces", cols, ["x", 1, 0], 50)
                after = await sql.insert_with_id(tx, "workspaces", cols, ["y", 1, 0], None)
                lower = await sql.insert_with_id(tx, "workspaces", cols, ["z", 1, 0], 7)
                last = await sql.insert_with_id(tx, "workspaces", cols, ["w", 1, 0], None)
            assert chosen == 50
            assert after > 50
            assert lower == 7
            assert last > after
        finally:
            await db.close()

    asyncio.run(go())


def test_placeholders_skip_quoted_text_and_comments() -> None:
    assert placeholders("SELECT ? , '?', \"a?\" -- ?\n, ?") == "SELECT $1 , '?', \"a?\" -- ?\n, $2"
    assert placeholders("UPDATE t SET a = ?, b = 'it''s?' WHERE c IN (?, ?)") == (
        "UPDATE t SET a = $1, b = 'it''s?' WHERE c IN ($2, $3)"
    )


def test_database_urls_name_a_schema() -> None:
    dsn, schema = split_url("postgres://app@db:5432/crm?schema=tenant_a&sslmode=disable")
    assert dsn == "postgresql://app@db:5432/crm?sslmode=disable"
    assert schema == "tenant_a"
    assert split_url("postgresql://h/db") == ("postgresql://h/db", None)


def test_sqlite_types_translate_to_postgresql() -> None:
    ddl = "CREATE TABLE x (id INTEGER PRIMARY KEY AUTOINCREMENT, n INTEGER, r REAL, b BLOB, t TEXT)"
    assert for_postgresql(ddl) == (
        "CREATE TABLE x (id BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY, n BIGINT,"
        ' r DOUBLE PRECISION, b BYTEA, t TEXT COLLATE "C")'
    )


@postgres_only
def test_both_backends_build_the_same_schema(tmp_path: Path) -> None:
    """Tables, their columns (name, nullability, default-or-not), and index names agree."""

    async def go() -> tuple[set[tuple[str, ...]], set[str], set[tuple[str, ...]], set[str]]:
        lite = SQLiteDatabase(str(tmp_path / "lite.db"))
        await lite.connect()
        await migrate(lite)
        pg = await _open(tmp_path / "pg.db")
        try:
            r = lite.reader()
            lite_cols: set[tuple[str, ...]] = set()
            tables = [
                row[0]
                for row in await r.fetch_all(
                    "SELECT name FROM sqlite_master WHERE type = 'table'"
                    " AND name NOT LIKE 'sqlite_%'"
                )
            ]
            for table in tables:
                for col in await r.fetch_all(f"PRAGMA table_info({table})"):
                    notnull = bool(col["notnull"]) or bool(col["pk"])
                    lite_cols.add((table, col["name"], str(notnull)))
            lite_idx = {
                row[0]
                for row in await r.fetch_all(
                    "SELECT name FROM sqlite_master WHERE type = 'index'"
                    " AND name NOT LIKE 'sqlite_%'"
                )
            }
            p = pg.reader()
            pg_cols: set[tuple[str, ...]] = {
                (row[0], row[1], str(row[2] == "NO"))
                for row in await p.fetch_all(
                    "SELECT table_name, column_name, is_nullable FROM information_schema.columns"
                    " WHERE table_schema = current_schema()"
                    " AND table_name IN (SELECT tablename FROM pg_tables"
                    " WHERE schemaname = current_schema())"
                )
            }
            pg_idx = {
                row[0]
                for row in await p.fetch_all(
                    "SELECT indexname FROM pg_indexes WHERE schemaname = current_schema()"
                    " AND indexname NOT LIKE '%_pkey' AND indexname NOT LIKE '%_key'"
                )
            }
            return lite_cols, lite_idx, pg_cols, pg_idx
        finally:
            await lite.close()
            await pg.close()

    lite_cols, lite_idx, pg_cols, pg_idx = asyncio.run(go())
    assert lite_cols == pg_cols
    assert lite_idx == pg_idx


@postgres_only
def test_a_deadlock_surfaces_as_a_transient_error(tmp_path: Path) -> None:
    async def go() -> list[BaseException | None]:
        db = await _open(tmp_path / "deadlock.db")
        try:
            async with db.transaction() as tx:
                for name in ("a", "b"):
                    await tx.execute(
                        "INSERT INTO workspaces (name, org_id, created_at) VALUES (?, 1, 0)", name
                    )
            both = asyncio.Barrier(2)

            async def cross(first: str, second: str) -> None:
                async with db.transaction() as tx:
                    await tx.execute("UPDATE workspaces SET org_id = 3 WHERE name = ?", first)
                    await both.wait()
                    await tx.execute("UPDATE workspaces SET org_id = 4 WHERE name = ?", second)

            results = await asyncio.gather(cross("a", "b"), cross("b", "a"), return_exceptions=True)
            return [r if isinstance(r, BaseException) else None for r in results]
        finally:
            await db.close()

    outcomes = asyncio.run(go())
    assert sum(isinstance(o, TransientError) for o in outcomes) == 1
    assert outcomes.count(None) == 1


def test_query_helper_reads_the_same_database(tmp_path: Path) -> None:
    async def go() -> None:
        db = await _open(tmp_path / "shared.db")
        try:
            async with db.transaction() as tx:
                await tx.execute(
                    "INSERT INTO workspaces (name, org_id, created_at) VALUES ('seen', 1, 0)"
                )
        finally:
            await db.close()

    asyncio.run(go())
    assert query(tmp_path / "shared.db", "SELECT name FROM workspaces WHERE org_id = ?", 1) == [
        ("seen",)
    ]


async def _log_queries(db: Database) -> list[str]:
    """The statements every pooled PostgreSQL connection of ``db`` runs from now on."""
    seen: list[str] = []
    pool = db._pool  # type: ignore[attr-defined]
    held = [await pool.acquire() for _ in range(pool.get_size())]
    for conn in held:
        conn.add_query_logger(lambda record: seen.append(record.query))
    for conn in held:
        await pool.release(conn)
    return seen


@postgres_only
def test_a_pooled_read_is_one_statement_and_a_failed_transaction_leaves_nothing(
    tmp_path: Path,
) -> None:
    """A connection going back to the pool runs no reset query (one round trip per read),
    and a transaction that was not finished is still rolled back before its reuse."""

    async def go() -> tuple[list[str], object]:
        db = await _open(tmp_path / "pool.db")
        try:
            seen = await _log_queries(db)
            for _ in range(3):
                assert await db.reader().fetch_val("SELECT 41 + 1") == 42
            reads = list(seen)
            tx = await db.begin()
            await tx.execute(
                "INSERT INTO workspaces (name, org_id, created_at) VALUES ('left', 1, 0)"
            )
            await tx.rollback()
            left = await db.reader().fetch_val(
                "SELECT COUNT(*) FROM workspaces WHERE name = 'left'"
            )
            return reads, left
        finally:
            await db.close()

    reads, left = asyncio.run(go())
    assert reads == ["SELECT 41 + 1"] * 3
    assert left == 0


@postgres_only
def test_a_commit_carries_its_notifications_and_a_failed_one_sends_none(tmp_path: Path) -> None:
    """``NOTIFY …; COMMIT`` is one round trip; listeners hear a committed transaction's
    signals and nothing of one that rolled back or whose commit failed, and the connection
    of a failed commit is usable again."""
    from openrespond import signals

    async def go() -> None:
        db = await _open(tmp_path / "notify.db")
        heard = asyncio.Event()
        count = 0

        def on_live() -> None:
            nonlocal count
            count += 1
            heard.set()

        other = open_test_database(tmp_path / "notify.db")  # another process's view
        await other.connect()
        signals.live.connect(other, on_live)
        try:
            await other.listen(signals.live)
            seen = await _log_queries(db)
            async with db.transaction() as tx:
                await tx.execute("CREATE TABLE n (x INTEGER UNIQUE DEFERRABLE INITIALLY DEFERRED)")
                tx.announce(signals.live)
                tx.announce(signals.events)
            assert seen == [
                "BEGIN",
                "CREATE TABLE n (x INTEGER UNIQUE DEFERRABLE INITIALLY DEFERRED)",
                'NOTIFY "openrespond_live"; NOTIFY "openrespond_webhooks"; COMMIT',
            ]
            await asyncio.wait_for(heard.wait(), 10)
            assert count == 1
            heard.clear()

            async with db.transaction() as tx:
                await tx.execute("INSERT INTO n VALUES (1)")
                tx.announce(signals.live)
                await tx.rollback()

            async def duplicate() -> None:
                async with db.transaction() as tx:
                    await tx.execute("INSERT INTO n VALUES (2), (2)")  # checked at COMMIT
                    tx.announce(signals.live)

            with pytest.raises(IntegrityError):
                await duplicate()
            async with db.transaction() as tx:  # a connection is usable after the failure
                await tx.execute("INSERT INTO n VALUES (3)")
                tx.announce(signals.live)
            await asyncio.wait_for(heard.wait(), 10)
            assert count == 2  # only the last transaction's notification
            assert await db.reader().fetch_val("SELECT string_agg(x::text, ',') FROM n") == "3"
            pool = db._pool  # type: ignore[attr-defined]
            again = [await pool.acquire() for _ in range(pool.get_size())]
            assert not any(conn.is_in_transaction() for conn in again)
            for conn in again:
                await pool.release(conn)
        finally:
            signals.live.disconnect(other, on_live)
            await other.close()
            await db.close()

    asyncio.run(go())
