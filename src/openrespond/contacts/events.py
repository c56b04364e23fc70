"""Events about a contact itself: its payload is the contact's REST JSON as stored."""

from __future__ import annotations

from openrespond import outbox
from openrespond.db import Connection, Transaction, sql

__all__ = ["contact_doc", "emit"]


async def contact_doc(conn: Connection, ws: int, contact_id: int) -> bytes | None:
    """The contact's REST JSON as stored (UTF-8 bytes)."""
    doc: str | bytes | None = await conn.fetch_val(
        f"SELECT {sql.as_bytes(conn.dialect, 'doc')} FROM contacts"
        " WHERE workspace_id = ? AND id = ?",
        ws,
        contact_id,
    )
    return doc.encode() if isinstance(doc, str) else doc


async def emit(
    tx: Transaction,
    ws: int,
    event_type: outbox.EventName,
    contact_id: int,
    *,
    contact: bytes | None = None,
) -> str | None:
    """Queue ``event_type`` about ``contact_id``; ``contact`` replaces the stored contact
    (``contact.deleted`` passes the contact as it was)."""

    async def build() -> outbox.Payload:
        doc = contact if contact is not None else await contact_doc(tx, ws, contact_id)
        return outbox.Payload(contact=doc)

    return await outbox.emit(tx, ws, event_type, build)
