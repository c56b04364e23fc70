"""SQL for contacts. Every statement starts from the workspace id."""

from __future__ import annotations

import functools
from collections.abc import Sequence
from typing import Any

from openrespond.custom_fields.repository import FieldValue
from openrespond.db import Connection, Row, Scope, Transaction, sql
from openrespond.db.paging import Cursor, PageRows, fetch_page
from openrespond.identifiers import Identifier

__all__ = [
    "COLUMNS",
    "SELECT",
    "channels_page",
    "claim_import",
    "contact_json",
    "delete",
    "find_id",
    "finish_import",
    "get",
    "get_import",
    "import_progress",
    "insert",
    "insert_import",
    "insert_new",
    "lock",
    "lock_id",
    "merge_channels",
    "merge_field_values",
    "merge_tags",
    "owner_of",
    "page",
    "select_json",
    "set_field_values",
    "update",
]

# Settable columns, in one order shared by insert and update.
COLUMNS = (
    "first_name",
    "last_name",
    "email",
    "phone",
    "language",
    "profile_pic",
    "country_code",
    "lifecycle_stage_id",
    "assignee_user_id",
    "status",
)

SELECT = (
    "SELECT c.id, c.first_name, c.last_name, c.phone, c.email, c.language, c.profile_pic,"
    " c.country_code, c.status, c.created_at, c.lifecycle_stage_id, c.assignee_user_id"
    " FROM contacts c"
)


# The Contact wire object is kept ready in contacts.doc: triggers rebuild it from the
# contact_docs view (migration 0002) whenever anything it shows changes, so a read returns
# stored JSON text and a page of 100 contacts costs no Python object per field.
# The text goes out as UTF-8 bytes, never decoded into Python strings.
_SELECT_JSON = {
    dialect: f"SELECT c.id, {sql.as_bytes(dialect, 'c.doc')} FROM contacts c"
    for dialect in ("sqlite", "postgresql")
}


def select_json(dialect: str) -> str:
    """``SELECT c.id, <Contact JSON as bytes> FROM contacts c`` in ``dialect``."""
    return _SELECT_JSON[dialect]


async def contact_json(sc: Scope[Connection], ident: Identifier) -> bytes | None:
    """The Contact JSON of the contact ``ident`` names in ``ws``."""
    column = {"id": "c.id", "email": "c.email", "phone": "c.phone"}[ident.kind]
    row = await sc.conn.fetch_one(
        f"{select_json(sc.conn.dialect)} WHERE c.workspace_id = ? AND {column} = ?",
        sc.ws,
        ident.value,
    )
    return None if row is None else bytes(row[1])


async def find_id(sc: Scope[Connection], ident: Identifier) -> int | None:
    """The id of the contact ``ident`` names in ``ws``."""
    column = {"id": "id", "email": "email", "phone": "phone"}[ident.kind]
    value: int | None = await sc.conn.fetch_val(
        f"SELECT id FROM contacts WHERE workspace_id = ? AND {column} = ?", sc.ws, ident.value
    )
    return value


async def get(sc: Scope[Connection], contact_id: int) -> Row | None:
    return await sc.conn.fetch_one(
        f"{SELECT} WHERE c.workspace_id = ? AND c.id = ?", sc.ws, contact_id
    )


async def lock(sc: Scope[Connection], ident: Identifier, *, remove: bool = False) -> Row | None:
    """The contact ``ident`` names in ``ws``, its row locked until the transaction ends (for
    deleting it when ``remove``); None when there is none, or it went while we waited."""
    column = {"id": "c.id", "email": "c.email", "phone": "c.phone"}[ident.kind]
    return await sc.conn.fetch_one(
        f"{SELECT} WHERE c.workspace_id = ? AND {column} = ?"
        f"{sql.for_update(sc.conn.dialect, remove=remove)}",
        sc.ws,
        ident.value,
    )


async def lock_id(sc: Scope[Connection], contact_id: int, *, remove: bool = False) -> Row | None:
    """``lock`` by id."""
    return await lock(sc, Identifier("id", contact_id), remove=remove)


async def owner_of(
    sc: Scope[Connection], column: str, *, value: str, exclude: int | None = None
) -> int | None:
    """The contact holding ``value`` in the unique ``column`` (email or phone), if any."""
    assert column in ("email", "phone")
    owner: int | None = await sc.conn.fetch_val(
        f"SELECT id FROM contacts WHERE workspace_id = ? AND {column} = ? AND id <> ?",
        sc.ws,
        value,
        exclude or 0,
    )
    return owner


async def insert(
    sc: Scope[Connection], values: dict[str, Any], *, now: int, contact_id: int | None = None
) -> int:
    """A new contact; ``contact_id`` picks its id (demo data), else the next one."""
    cols = [c for c in COLUMNS if c in values]
    return await sql.insert_with_id(
        sc.conn,
        "contacts",
        ["workspace_id", *cols, "created_at", "updated_at"],
        [sc.ws, *(values[c] for c in cols), now, now],
        contact_id,
    )


async def insert_new(sc: Scope[Connection], values: dict[str, Any], *, now: int) -> int | None:
    """A new contact, or None (and nothing written) when its email or phone is taken."""
    cols = tuple(c for c in COLUMNS if c in values)
    new_id: int | None = await sc.conn.fetch_val(
        _insert_new_sql(cols), sc.ws, *(values[c] for c in cols), now, now
    )
    return new_id


@functools.lru_cache(maxsize=256)
def _insert_new_sql(cols: tuple[str, ...]) -> str:
    marks = ", ".join("?" * (len(cols) + 3))
    return (
        f"INSERT INTO contacts (workspace_id, {', '.join(cols)}, created_at, updated_at)"
        f" VALUES ({marks}) ON CONFLICT DO NOTHING RETURNING id"
    )


async def update(
    sc: Scope[Connection], contact_id: int, *, values: dict[str, Any], now: int
) -> None:
    cols = [c for c in COLUMNS if c in values]
    sets = "".join(f"{c} = ?, " for c in cols)
    await sc.conn.execute(
        f"UPDATE contacts SET {sets}updated_at = ? WHERE workspace_id = ? AND id = ?",
        *(values[c] for c in cols),
        now,
        sc.ws,
        contact_id,
    )


async def delete(sc: Scope[Connection], contact_id: int) -> bool:
    n = await sc.conn.execute(
        "DELETE FROM contacts WHERE workspace_id = ? AND id = ?", sc.ws, contact_id
    )
    return n > 0


async def page(
    sc: Scope[Connection], where: str, *, args: Sequence[Any], cursor: Cursor
) -> PageRows:
    """Rows of (id, Contact JSON)."""
    return await fetch_page(
        sc,
        select=select_json(sc.conn.dialect),
        workspace="c.workspace_id",
        where=where,
        args=args,
        cursor=cursor,
        key="c.id",
    )


# Values and tag links have no workspace column of their own: each statement joins the
# contact (and the field or tag) to the scope's workspace, so an id of another workspace
# changes nothing.
_CONTACT_IN = "SELECT id FROM contacts WHERE workspace_id = ?"


async def set_field_values(
    sc: Scope[Connection], contact_id: int, *, values: Sequence[FieldValue]
) -> None:
    """Upsert the given values; a value of None removes it."""
    gone = [(contact_id, v.field_id, sc.ws) for v in values if v.text is None]
    kept = [(v.text, v.number, contact_id, v.field_id, sc.ws) for v in values if v.text is not None]
    if gone:
        await sc.conn.execute_many(
            "DELETE FROM contact_field_values WHERE contact_id = ? AND field_id = ?"
            f" AND contact_id IN ({_CONTACT_IN})",
            gone,
        )
    if kept:
        await sc.conn.execute_many(
            "INSERT INTO contact_field_values (contact_id, field_id, value, value_num)"
            " SELECT c.id, f.id, ?, ? FROM contacts c JOIN custom_fields f"
            " ON f.workspace_id = c.workspace_id"
            " WHERE c.id = ? AND f.id = ? AND c.workspace_id = ?"
            " ON CONFLICT (contact_id, field_id)"
            " DO UPDATE SET value = excluded.value, value_num = excluded.value_num",
            kept,
        )


async def merge_field_values(sc: Scope[Connection], *, primary: int, secondary: int) -> None:
    """Copy the secondary's values for fields the primary has no value for."""
    await sc.conn.execute(
        "INSERT INTO contact_field_values (contact_id, field_id, value, value_num)"
        " SELECT p.id, v.field_id, v.value, v.value_num FROM contact_field_values v"
        " JOIN contacts s ON s.id = v.contact_id JOIN contacts p ON p.workspace_id = s.workspace_id"
        " WHERE v.contact_id = ? AND s.workspace_id = ? AND p.id = ?"
        " ON CONFLICT (contact_id, field_id) DO NOTHING",
        secondary,
        sc.ws,
        primary,
    )


async def merge_tags(sc: Scope[Connection], *, primary: int, secondary: int) -> None:
    """Give the primary every tag of the secondary."""
    await sc.conn.execute(
        "INSERT INTO contact_tags (contact_id, tag_id, created_at)"
        " SELECT p.id, t.tag_id, t.created_at FROM contact_tags t"
        " JOIN contacts s ON s.id = t.contact_id JOIN contacts p ON p.workspace_id = s.workspace_id"
        " WHERE t.contact_id = ? AND s.workspace_id = ? AND p.id = ?"
        " ON CONFLICT (contact_id, tag_id) DO NOTHING",
        secondary,
        sc.ws,
        primary,
    )


async def merge_channels(sc: Scope[Connection], *, primary: int, secondary: int) -> None:
    """Move the secondary's channel links; where both are linked, keep the latest times."""
    sql = (
        "SELECT channel_id, last_message_time, last_incoming_message_time"
        " FROM contact_channels WHERE workspace_id = ? AND contact_id = ?"
    )
    mine = {r[0]: r for r in await sc.conn.fetch_all(sql, sc.ws, primary)}
    for row in await sc.conn.fetch_all(sql, sc.ws, secondary):
        other = mine.get(row[0])
        if other is None:
            await sc.conn.execute(
                "UPDATE contact_channels SET contact_id = ?"
                " WHERE workspace_id = ? AND contact_id = ? AND channel_id = ?",
                primary,
                sc.ws,
                secondary,
                row[0],
            )
            continue
        await sc.conn.execute(
            "UPDATE contact_channels SET last_message_time = ?, last_incoming_message_time = ?"
            " WHERE workspace_id = ? AND contact_id = ? AND channel_id = ?",
            _latest(other[1], row[1]),
            _latest(other[2], row[2]),
            sc.ws,
            primary,
            row[0],
        )


def _latest(a: int | None, b: int | None) -> int | None:
    return b if a is None else a if b is None else max(a, b)


async def channels_page(sc: Scope[Connection], contact_id: int, *, cursor: Cursor) -> PageRows:
    return await fetch_page(
        sc,
        select=(
            "SELECT cc.id, ch.id AS channel_id, ch.name, ch.source, ch.created_at, cc.address,"
            " cc.last_message_time, cc.last_incoming_message_time"
            " FROM contact_channels cc JOIN channels ch ON ch.id = cc.channel_id"
        ),
        workspace="cc.workspace_id",
        where="cc.contact_id = ?",
        args=(contact_id,),
        cursor=cursor,
        key="cc.id",
    )


# -- imports started from the app ------------------------------------------------------------


async def insert_import(
    sc: Scope[Transaction],
    *,
    user_id: int | None,
    file_name: str,
    data: bytes,
    total: int,
    now: int,
) -> int:
    job_id: int = await sc.conn.fetch_val(
        "INSERT INTO import_jobs (workspace_id, user_id, file_name, data, total, status,"
        " created_at) VALUES (?, ?, ?, ?, ?, 'queued', ?) RETURNING id",
        sc.ws,
        user_id,
        file_name,
        data,
        total,
        now,
    )
    return job_id


async def get_import(sc: Scope[Connection], job_id: int) -> Row | None:
    """An import's progress (not its file)."""
    return await sc.conn.fetch_one(
        "SELECT id, file_name, total, done, created, skipped, errors, status, created_at,"
        " finished_at FROM import_jobs WHERE workspace_id = ? AND id = ?",
        sc.ws,
        job_id,
    )


async def claim_import(tx: Transaction, *, owner: str, now: int, lease: int) -> Row | None:
    """The oldest import waiting, or running under a lease that ran out (its worker died),
    now leased to ``owner``; with its file (any workspace: the queue is shared)."""
    row = await tx.fetch_one(
        "SELECT id FROM import_jobs WHERE status = 'queued'"
        " OR (status = 'running' AND lease_until < ?) ORDER BY id LIMIT 1",
        now,
    )
    if row is None:
        return None
    taken = await tx.execute(
        "UPDATE import_jobs SET status = 'running', lease_owner = ?, lease_until = ?"
        " WHERE id = ? AND (status = 'queued' OR (status = 'running' AND lease_until < ?))",
        owner,
        now + lease,
        row["id"],
        now,
    )
    if taken != 1:
        return None
    return await tx.fetch_one(
        "SELECT id, workspace_id, data, done, created, skipped, errors FROM import_jobs"
        " WHERE id = ?",
        row["id"],
    )


async def import_progress(
    tx: Transaction,
    job_id: int,
    *,
    owner: str,
    done: int,
    created: int,
    skipped: int,
    errors: str,
    lease_until: int,
) -> bool:
    """Record an import's progress with the batch it covers, and renew the lease; False
    when ``owner`` no longer holds it (by the job's id: the claim said whose it is)."""
    return (
        await tx.execute(
            "UPDATE import_jobs SET done = ?, created = ?, skipped = ?, errors = ?,"
            " lease_until = ? WHERE id = ? AND lease_owner = ? AND status = 'running'",
            done,
            created,
            skipped,
            errors,
            lease_until,
            job_id,
            owner,
        )
        == 1
    )


async def finish_import(tx: Transaction, job_id: int, *, owner: str, now: int) -> bool:
    """Mark an import done and drop its file (by the job's id, as ``import_progress``)."""
    return (
        await tx.execute(
            "UPDATE import_jobs SET status = 'done', data = ?, finished_at = ?,"
            " lease_owner = NULL, lease_until = NULL WHERE id = ? AND lease_owner = ?",
            b"",
            now,
            job_id,
            owner,
        )
        == 1
    )
