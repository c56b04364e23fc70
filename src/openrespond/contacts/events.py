"""Events about a contact itself: its payload is the contact's REST JSON as stored."""

from __future__ import annotations

from openrespond import outbox
from openrespond.db import Connection, Scope, Transaction, sql

__all__ = ["contact_doc", "emit"]


async def contact_doc(sc: Scope[Connection], contact_id: int) -> bytes | None:
    """The contact's REST JSON as stored (UTF-8 bytes)."""
    doc: str | bytes | None = await sc.conn.fetch_val(
        f"SELECT {sql.as_bytes(sc.conn.dialect, 'doc')} FROM contacts"
        " WHERE workspace_id = ? AND id = ?",
        sc.ws,
        contact_id,
    )
    return doc.encode() if isinstance(doc, str) else doc


async def emit(
    sc: Scope[Transaction],
    event_type: outbox.EventName,
    *,
    contact_id: int,
    contact: bytes | None = None,
) -> str | None:
    """Queue ``event_type`` about ``contact_id``; ``contact`` replaces the stored contact
    (``contact.deleted`` passes the contact as it was)."""

    async def build() -> outbox.Payload:
        doc = contact if contact is not None else await contact_doc(sc, contact_id)
        return outbox.Payload(contact=doc)

    return await outbox.emit(sc, event_type, contact_id=contact_id, build=build)
