"""Schema migrations and the SQLite backend's settings."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest

from openrespond.db import IntegrityError
from openrespond.db.migrations import applied_versions, available, migrate
from openrespond.db.sqlite import SQLiteDatabase
from tests.backend import POSTGRES, open_test_database, sqlite_only


def test_migrations_apply_once_and_record_versions(tmp_path: Path) -> None:
    async def go() -> None:
        db = open_test_database(tmp_path / "m.db")
        await db.connect()
        try:
            first = await migrate(db)
            assert [m.version for m in first] == [m.version for m in available(db.dialect)]
            assert await migrate(db) == []
            assert await applied_versions(db) == {m.version for m in available()}
        finally:
            await db.close()

    asyncio.run(go())


@sqlite_only
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
        db = open_test_database(tmp_path / "r.db")
        await db.connect()
        try:
            await migrate(db)

            async def rolled_back() -> None:
                async with db.transaction() as tx:
                    await tx.execute(
                        "INSERT INTO workspaces (name, org_id, created_at) VALUES ('w', 1, 0)"
                    )
                    raise RuntimeError("boom")

            with pytest.raises(RuntimeError):
                await rolled_back()
            assert await db.reader().fetch_val("SELECT COUNT(*) FROM workspaces") == 0
        finally:
            await db.close()

    asyncio.run(go())


def test_trigger_bodies_stay_one_statement() -> None:
    statements = [s for m in available() for s in m.statements]
    triggers = [s for s in statements if s.upper().startswith("CREATE TRIGGER")]
    assert len(triggers) == 12
    assert all(s.rstrip().upper().endswith("END") for s in triggers)
    assert not any(s.upper().startswith("END") for s in statements)


def test_stored_contact_json_follows_every_change(tmp_path: Path) -> None:
    """contacts.doc equals a fresh build after each kind of write that shows in a contact."""

    async def go() -> None:
        db = open_test_database(tmp_path / "doc.db")
        await db.connect()
        try:
            await migrate(db)

            async def stale() -> list[int]:
                rows = await db.reader().fetch_all(
                    "SELECT c.id FROM contacts c JOIN contact_docs d ON d.id = c.id"
                    + (
                        " WHERE c.doc IS DISTINCT FROM d.doc OR c.doc IS NULL"
                        if POSTGRES
                        else " WHERE c.doc IS NOT d.doc OR c.doc IS NULL"
                    )
                )
                return [r[0] for r in rows]

            async def step(*sql: str) -> None:
                async with db.transaction() as tx:
                    for statement in sql:
                        await tx.execute(statement)
                assert await stale() == [], sql

            await step(
                "INSERT INTO workspaces (id, name, org_id, created_at) VALUES (1, 'w', 1, 0)",
                "INSERT INTO users (id, workspace_id, first_name, email, role, created_at)"
                " VALUES (1, 1, 'Ann', 'ann@example.com', 'agent', 0)",
                "INSERT INTO lifecycle_stages (id, workspace_id, name, position, created_at)"
                " VALUES (1, 1, 'Lead', 1, 0)",
                "INSERT INTO tags (id, workspace_id, name, created_at) VALUES (1, 1, 'vip', 0)",
                "INSERT INTO custom_fields (id, workspace_id, name, slug, data_type, created_at)"
                " VALUES (1, 1, 'Score', 'score', 'number', 0)",
                "INSERT INTO contacts (id, workspace_id, first_name, created_at, updated_at)"
                " VALUES (1, 1, 'Ada', 0, 0), (2, 1, 'Bob', 0, 0)",
            )
            await step("UPDATE contacts SET last_name = 'L', status = 'open' WHERE id = 1")
            await step("UPDATE contacts SET lifecycle_stage_id = 1, assignee_user_id = 1")
            await step("INSERT INTO contact_tags VALUES (1, 1, 0), (2, 1, 0)")
            await step("INSERT INTO contact_field_values VALUES (1, 1, '7', 7), (2, 1, '8', 8)")
            await step(
                "UPDATE contact_field_values SET value = '9', value_num = 9 WHERE contact_id = 1"
            )
            await step(
                "INSERT INTO contacts (id, workspace_id, first_name, created_at, updated_at)"
                " VALUES (3, 1, 'Cy', 0, 0)",
                "UPDATE contact_tags SET contact_id = 3 WHERE contact_id = 2",
            )
            await step("UPDATE tags SET name = 'gold'")
            await step("UPDATE custom_fields SET name = 'Points'")
            await step("UPDATE users SET first_name = 'Anna'")
            await step("UPDATE lifecycle_stages SET name = 'Customer'")
            await step("DELETE FROM contact_field_values WHERE contact_id = 2")
            await step("DELETE FROM tags")  # cascades through contact_tags
            await step("DELETE FROM custom_fields")
            await step("DELETE FROM users")  # sets assignee_user_id to NULL
            await step("DELETE FROM lifecycle_stages")
            doc = await db.reader().fetch_val("SELECT doc FROM contacts WHERE id = 1")
            shown = json.loads(doc)
            assert (shown["tags"], shown["assignee"], shown["lifecycle"]) == ([], None, None)
            assert shown["custom_fields"] == []
        finally:
            await db.close()

    asyncio.run(go())


def test_upgrading_to_fair_queues_keeps_queued_work_and_delivers_it(tmp_path: Path) -> None:
    """0007 gives every queued delivery job its channel (from its message) and indexes
    webhook deliveries per subscription: work queued under 0006 is kept and still
    delivered after the upgrade."""
    from openrespond.channels.worker import DeliveryWorker

    async def go() -> None:
        db = open_test_database(tmp_path / "upgrade.db")
        await db.connect()
        try:
            assert [m.version for m in await migrate(db, upto=6)] == [1, 2, 3, 4, 5, 6]
            async with db.transaction() as tx:
                await tx.execute(
                    "INSERT INTO workspaces (id, name, org_id, created_at) VALUES (1, 'w', 1, 0)"
                )
                await tx.execute(
                    "INSERT INTO channels (id, workspace_id, name, source, driver, created_at)"
                    " VALUES (7, 1, 'S', 'whatsapp_cloud', 'sandbox', 0)"
                )
                await tx.execute(
                    "INSERT INTO contacts (id, workspace_id, first_name, phone, created_at,"
                    " updated_at) VALUES (3, 1, 'Ada', '+60123456789', 0, 0)"
                )
                await tx.execute(
                    "INSERT INTO contact_channels (workspace_id, contact_id, channel_id, address,"
                    " created_at) VALUES (1, 3, 7, '+60123456789', 0)"
                )
                for message_id in (11, 12):
                    await tx.execute(
                        "INSERT INTO messages (id, workspace_id, contact_id, channel_id, traffic,"
                        " type, content, statuses, status, created_at, updated_at) VALUES"
                        ' (?, 1, 3, 7, \'outgoing\', \'text\', \'{"type":"text","text":"hi"}\','
                        " '[]', 'pending', 0, 0)",
                        message_id,
                    )
                    await tx.execute(
                        "INSERT INTO delivery_jobs (workspace_id, message_id, run_at, queued_ms,"
                        " created_at) VALUES (1, ?, 0, 0, 0)",
                        message_id,
                    )
            assert next(m.version for m in await migrate(db)) == 7
            rows = await db.reader().fetch_all(
                "SELECT message_id, channel_id FROM delivery_jobs ORDER BY message_id"
            )
            assert [(r[0], r[1]) for r in rows] == [(11, 7), (12, 7)]
            # a server still on the old version (a rolling upgrade) queues without the channel
            async with db.transaction() as tx:
                await tx.execute(
                    "INSERT INTO messages (id, workspace_id, contact_id, channel_id, traffic,"
                    " type, content, statuses, status, created_at, updated_at) VALUES"
                    ' (13, 1, 3, 7, \'outgoing\', \'text\', \'{"type":"text","text":"hi"}\','
                    " '[]', 'pending', 0, 0)"
                )
                await tx.execute(
                    "INSERT INTO delivery_jobs (workspace_id, message_id, run_at, queued_ms,"
                    " created_at) VALUES (1, 13, 0, 0, 0)"
                )
            assert await DeliveryWorker(db, name="after-upgrade").run_once() == 3
            statuses = await db.reader().fetch_all("SELECT status FROM messages ORDER BY id")
            assert [r[0] for r in statuses] == ["delivered"] * 3
        finally:
            await db.close()

    asyncio.run(go())


def test_upgrading_to_the_inbox_schema_marks_each_contacts_newest_messages(tmp_path: Path) -> None:
    """0008 gives every contact its newest message and newest incoming message (the inbox's
    order and unread marker), from the messages already stored."""

    async def go() -> None:
        db = open_test_database(tmp_path / "inbox.db")
        await db.connect()
        try:
            await migrate(db, upto=7)
            async with db.transaction() as tx:
                await tx.execute(
                    "INSERT INTO workspaces (id, name, org_id, created_at) VALUES (1, 'w', 1, 0)"
                )
                await tx.execute(
                    "INSERT INTO channels (id, workspace_id, name, source, driver, created_at)"
                    " VALUES (7, 1, 'S', 'whatsapp_cloud', 'sandbox', 0)"
                )
                for contact in (3, 4):
                    await tx.execute(
                        "INSERT INTO contacts (id, workspace_id, first_name, created_at,"
                        " updated_at) VALUES (?, 1, 'Ada', 0, 0)",
                        contact,
                    )
                for message_id, traffic in ((10, "incoming"), (11, "incoming"), (12, "outgoing")):
                    await tx.execute(
                        "INSERT INTO messages (id, workspace_id, contact_id, channel_id, traffic,"
                        " type, content, created_at, updated_at) VALUES"
                        " (?, 1, 3, 7, ?, 'text', '{}', 0, 0)",
                        message_id,
                        traffic,
                    )
            assert [m.version for m in await migrate(db, upto=8)] == [8]
            rows = await db.reader().fetch_all(
                "SELECT id, last_message_id, last_incoming_id FROM contacts ORDER BY id"
            )
            assert [(r[0], r[1], r[2]) for r in rows] == [(3, 12, 11), (4, 0, 0)]
        finally:
            await db.close()

    asyncio.run(go())
