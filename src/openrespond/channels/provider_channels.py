"""SQL for the channel upkeep: providers' channels across workspaces, what their drivers
learnt (``channels.state``), and who long-polls which Telegram bot."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from openrespond.db import Connection, Row, Transaction, sql

__all__ = [
    "advance_poll",
    "channels_of",
    "claim_poll",
    "one",
    "release_polls",
    "set_state",
    "template_provider_id",
]


async def channels_of(conn: Connection, drivers: Sequence[str]) -> list[Row]:
    """Every channel of these drivers, in any workspace."""
    marks = ", ".join("?" * len(drivers))
    return await conn.fetch_all(
        "SELECT id, workspace_id, driver, source, settings, state FROM channels"
        f" WHERE driver IN ({marks}) ORDER BY id",
        *drivers,
    )


async def one(conn: Connection, channel_id: int) -> Row | None:
    return await conn.fetch_one(
        "SELECT id, workspace_id, driver, source, settings, state FROM channels WHERE id = ?",
        channel_id,
    )


async def has_error(conn: Connection, channel_id: int) -> bool:
    """Whether the channel's state keeps a driver or upkeep error (read without a lock)."""
    raw: str | None = await conn.fetch_val("SELECT state FROM channels WHERE id = ?", channel_id)
    return bool(raw) and json.loads(raw or "{}").get("error") is not None


async def set_state(conn: Connection, channel_id: int, changes: dict[str, Any]) -> None:
    """Merge ``changes`` into the channel's state (a key set to None is removed)."""
    # Locked: the upkeep, the delivery worker and template reads each change their own keys.
    row = await conn.fetch_one(
        f"SELECT state FROM channels WHERE id = ?{sql.for_update(conn.dialect)}", channel_id
    )
    if row is None:
        return
    state: dict[str, Any] = json.loads(row[0] or "{}")
    before = dict(state)
    for key, value in changes.items():
        if value is None:
            state.pop(key, None)
        else:
            state[key] = value
    if state == before:
        return
    await conn.execute("UPDATE channels SET state = ? WHERE id = ?", json.dumps(state), channel_id)


async def claim_poll(
    tx: Transaction, channel_id: int, *, owner: str, now_ms: int, lease_ms: int
) -> int | None:
    """Take (or keep) the right to poll the channel's bot; the offset to poll from, or None
    while another process holds it."""
    await tx.execute(
        "INSERT INTO channel_polls (channel_id) VALUES (?) ON CONFLICT (channel_id) DO NOTHING",
        channel_id,
    )
    offset: int | None = await tx.fetch_val(
        "UPDATE channel_polls SET owner = ?, lease_until_ms = ? WHERE channel_id = ?"
        " AND (owner IS NULL OR owner = ? OR lease_until_ms <= ?) RETURNING next_offset",
        owner,
        now_ms + lease_ms,
        channel_id,
        owner,
        now_ms,
    )
    return offset


async def advance_poll(tx: Transaction, channel_id: int, *, owner: str, next_offset: int) -> bool:
    """Move the channel's offset past updates now stored, while ``owner`` still polls it."""
    return (
        await tx.execute(
            "UPDATE channel_polls SET next_offset = ? WHERE channel_id = ? AND owner = ?"
            " AND next_offset < ?",
            next_offset,
            channel_id,
            owner,
            next_offset,
        )
        > 0
    )


async def release_polls(tx: Transaction, owner: str) -> None:
    await tx.execute(
        "UPDATE channel_polls SET owner = NULL, lease_until_ms = NULL WHERE owner = ?", owner
    )


async def template_provider_id(
    conn: Connection, channel_id: int, *, name: str, language_code: str
) -> str | None:
    """The provider's id of a channel's approved template (a Twilio Content SID)."""
    found: str | None = await conn.fetch_val(
        "SELECT provider_id FROM templates WHERE channel_id = ? AND name = ?"
        " AND language_code = ? AND status = 'approved'",
        channel_id,
        name,
        language_code,
    )
    return found
