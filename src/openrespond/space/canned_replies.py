"""Canned replies: text an agent inserts in the composer by typing ``/`` and a short code."""

from __future__ import annotations

import re
from dataclasses import dataclass

from openrespond.common import now
from openrespond.db import Connection, Scope, Transaction
from openrespond.errors import BadRequest, Conflict, NotFound
from openrespond.space import repository as repo
from openrespond.validation import clean

__all__ = ["CannedReply", "add_canned_reply", "delete_canned_reply", "list_canned_replies"]

_CODE = re.compile(r"[a-z0-9][a-z0-9_-]{0,31}")
MAX_TEXT = 4096


@dataclass(frozen=True, slots=True)
class CannedReply:
    id: int
    short_code: str
    text: str


async def list_canned_replies(sc: Scope[Connection]) -> list[CannedReply]:
    return [
        CannedReply(r["id"], r["short_code"], r["text"]) for r in await repo.all_canned_replies(sc)
    ]


async def add_canned_reply(sc: Scope[Transaction], *, short_code: str, text: str) -> int:
    """A new canned reply; 400 naming the field that is not acceptable, 409 for a short code
    the workspace has."""
    code = clean(short_code).lstrip("/").lower()
    if not _CODE.fullmatch(code):
        raise BadRequest(
            "shortCode: 1-32 lowercase letters, digits, - or _, starting with a letter or digit"
        )
    body = text.strip()
    if not body:
        raise BadRequest("text: write the reply")
    if len(body) > MAX_TEXT:
        raise BadRequest(f"text: at most {MAX_TEXT} characters")
    reply_id = await repo.insert_canned_reply(sc, short_code=code, text=body, now=now())
    if reply_id is None:
        raise Conflict(f"shortCode: /{code} exists already")
    return reply_id


async def delete_canned_reply(sc: Scope[Transaction], reply_id: int) -> None:
    if not await repo.delete_canned_reply(sc, reply_id):
        raise NotFound(f"canned reply {reply_id} not found")
