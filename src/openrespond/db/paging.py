"""Keyset pagination: ``limit`` 1 to 100 and a signed ``cursorId`` (negative pages backwards).

The pages are found here; the links to them are the HTTP layer's (``http.pagination``)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from openrespond.db import Connection, Row, Scope
from openrespond.errors import BadRequest

__all__ = ["DEFAULT_LIMIT", "MAX_LIMIT", "Cursor", "PageRows", "fetch_page", "parse_cursor"]

MAX_LIMIT = 100
DEFAULT_LIMIT = 10


@dataclass(frozen=True, slots=True)
class Cursor:
    """A validated page request."""

    limit: int
    cursor_id: int


@dataclass(frozen=True, slots=True)
class PageRows:
    """One page of rows in display order, and the cursors of the pages around it."""

    rows: list[Row]
    next_cursor: int | None
    previous_cursor: int | None


def parse_cursor(limit: int | None, cursor_id: int | None) -> Cursor:
    """Check ``limit`` and ``cursorId``; 400 naming the parameter when out of range."""
    lim = DEFAULT_LIMIT if limit is None else limit
    if not 1 <= lim <= MAX_LIMIT:
        raise BadRequest(f"limit must be between 1 and {MAX_LIMIT}, got {lim}")
    cur = 0 if cursor_id is None else cursor_id
    if abs(cur) > 2**53 - 1:
        raise BadRequest("cursorId is out of range")
    return Cursor(lim, cur)


async def fetch_page(
    sc: Scope[Connection],
    *,
    select: str,
    workspace: str,
    where: str = "",
    args: Sequence[Any] = (),
    cursor: Cursor,
    key: str,
    descending: bool = False,
    source: str | None = None,
) -> PageRows:
    """Run ``select ... WHERE <workspace> = <the scope's> AND where`` one keyset page at a
    time, ordered by ``key``: every page is bounded by the scope's workspace, named by its
    column ``workspace`` (e.g. ``c.workspace_id``).

    ``select`` names its table(s) and columns; ``key`` is the unique integer column to page on;
    ``source`` is its FROM clause when the columns hold subqueries of their own.
    Items are shown ascending by ``key`` (descending when ``descending``); ``next`` continues
    in display order and ``previous`` goes back, as a negative cursor.
    """
    fwd_op, back_op = (">", "<") if not descending else ("<", ">")
    fwd_order, back_order = ("ASC", "DESC") if not descending else ("DESC", "ASC")
    frm = source if source is not None else select[select.upper().index(" FROM ") :]
    conn = sc.conn
    where = f"{workspace} = ? AND {where}" if where else f"{workspace} = ?"
    limit = cursor.limit
    c = cursor.cursor_id
    base = [sc.ws, *args]
    if c >= 0:
        cond, params = (f" AND {key} {fwd_op} ?", [c]) if c > 0 else ("", [])
        rows = await conn.fetch_all(
            f"{select} WHERE {where}{cond} ORDER BY {key} {fwd_order} LIMIT ?",
            *base,
            *params,
            limit + 1,
        )
        more = len(rows) > limit
        rows = rows[:limit]
        next_cursor = rows[-1][0] if more else None
        previous_cursor = None
        if c > 0:
            anchor = rows[0][0] if rows else None
            probe_op = back_op if anchor is not None else (back_op + "=")
            probe_val = anchor if anchor is not None else c
            if await _exists(conn, frm, where, base, f"{key} {probe_op} ?", probe_val):
                previous_cursor = -(anchor if anchor is not None else _step(c, descending))
        return PageRows(rows, next_cursor, previous_cursor)
    rows = await conn.fetch_all(
        f"{select} WHERE {where} AND {key} {back_op} ? ORDER BY {key} {back_order} LIMIT ?",
        *base,
        -c,
        limit + 1,
    )
    more = len(rows) > limit
    rows = list(reversed(rows[:limit]))
    previous_cursor = -rows[0][0] if more else None
    next_cursor = None
    if rows and await _exists(conn, frm, where, base, f"{key} {fwd_op} ?", rows[-1][0]):
        next_cursor = rows[-1][0]
    return PageRows(rows, next_cursor, previous_cursor)


def _step(c: int, descending: bool) -> int:
    # An empty page after cursor c: "previous" must include the item at c itself.
    return c - 1 if descending else c + 1


async def _exists(
    conn: Connection, frm: str, where: str, args: list[Any], cond: str, value: Any
) -> bool:
    row = await conn.fetch_one(f"SELECT 1{frm} WHERE {where} AND {cond} LIMIT 1", *args, value)
    return row is not None
