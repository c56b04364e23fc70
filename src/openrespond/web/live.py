"""Live updates for open pages: follows ``live_changes`` and fans changes out per workspace.

Rows are written by the outbox in the transactions of the changes, so only what committed is
seen. This process hears of new rows at once when its own transactions commit, and from other
processes by PostgreSQL's NOTIFY (or, on SQLite, by polling every quarter second while pages
are open). Ids on PostgreSQL can commit out of order: an id skipped over is looked for again
for a few seconds before it is given up as rolled back.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass, field

from openrespond import common, signals
from openrespond.db import Database

__all__ = ["LiveHub", "Subscriber"]

log = logging.getLogger("openrespond.live")

_POLL_SECONDS = {"sqlite": 0.25, "postgresql": 1.0}
# After a wake, changes committing within this long are read together (one query for a
# burst of commits rather than one each).
_GATHER_SECONDS = 0.05
# With no page open, the position is looked up at most this often: a burst of API writes
# (each committing a change and waking the hub) costs a few queries a second, not one each.
_IDLE_SECONDS = 0.25
_GAP_SECONDS = 10.0
_KEEP_MS = 10 * 60 * 1000
_PRUNE_SECONDS = 60.0
_BATCH = 1000


@dataclass(eq=False, slots=True)
class Subscriber:
    """One open page of workspace ``ws``: the contacts changed since it last looked."""

    ws: int
    contacts: set[int] = field(default_factory=set)
    kinds: set[str] = field(default_factory=set)
    ready: asyncio.Event = field(default_factory=asyncio.Event)
    closed: bool = False

    def take(self) -> tuple[list[int], list[str]]:
        contacts, kinds = sorted(self.contacts), sorted(self.kinds)
        self.contacts.clear()
        self.kinds.clear()
        self.ready.clear()
        return contacts, kinds


class LiveHub:
    """Started with the app; ``subscribe`` for each open page."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self._subscribers: dict[int, set[Subscriber]] = {}
        self._wake = signals.Flag()
        self._last = 0
        self._gaps: dict[int, float] = {}
        self._task: asyncio.Task[None] | None = None
        self._closed = False
        self._loop: asyncio.AbstractEventLoop | None = None

    async def start(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._last = await self._newest()
        signals.live.connect(self.db, self._wake.set)
        await self.db.listen(signals.live)
        self._task = asyncio.create_task(self._run(), name="live-changes")

    async def close(self) -> None:
        self.close_now()
        signals.live.disconnect(self.db, self._wake.set)
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    def close_now(self) -> None:
        """End every open stream (the server is stopping)."""
        self._closed = True
        for subs in self._subscribers.values():
            for sub in subs:
                sub.closed = True
                sub.ready.set()

    def close_threadsafe(self) -> None:
        if self._loop is not None:
            self._loop.call_soon_threadsafe(self.close_now)

    @property
    def position(self) -> int:
        """The newest change this hub has seen: a page rendered now shows everything up to it
        (and may show more); its stream passes it back as ``since``."""
        return self._last

    def subscribe(self, ws: int, *, since: int | None = None) -> Subscriber:
        """A stream for workspace ``ws``. A page rendered at hub position ``since`` that
        subscribes after changes came in between is told at once (conservatively: any change
        of the hub, as changes seen meanwhile were fanned out before it subscribed)."""
        sub = Subscriber(ws)
        if since is not None and self._last > since:
            sub.kinds.add("resync")
            sub.ready.set()
        if self._closed:
            sub.closed = True
        self._subscribers.setdefault(ws, set()).add(sub)
        self._wake.set()
        return sub

    def unsubscribe(self, sub: Subscriber) -> None:
        subs = self._subscribers.get(sub.ws)
        if subs is not None:
            subs.discard(sub)
            if not subs:
                del self._subscribers[sub.ws]

    async def _newest(self) -> int:
        return int(
            await self.db.reader().fetch_val("SELECT COALESCE(max(id), 0) FROM live_changes")
        )

    async def _run(self) -> None:
        poll = _POLL_SECONDS.get(self.db.dialect, 0.5)
        loop = asyncio.get_running_loop()
        pruned = refreshed = loop.time()
        while True:
            try:
                await signals.wait_any(poll, self._wake)
                if self._subscribers:
                    await asyncio.sleep(_GATHER_SECONDS)
                    self._wake.clear()
                    await self._follow()
                else:
                    # Nobody to tell: only the position moves, and lagging it is safe (a page
                    # made meanwhile asks for changes after an older one, and may hear of some
                    # it already shows). A wake skipped here is caught up by the next poll.
                    self._wake.clear()
                    if loop.time() - refreshed >= _IDLE_SECONDS:
                        refreshed = loop.time()
                        self._last = await self._newest()
                        self._gaps.clear()
                if loop.time() - pruned > _PRUNE_SECONDS:
                    pruned = loop.time()
                    async with self.db.transaction() as tx:
                        await tx.execute(
                            "DELETE FROM live_changes WHERE created_ms < ?",
                            common.now_ms() - _KEEP_MS,
                        )
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("following live changes failed; trying again")
                await asyncio.sleep(1)

    async def _follow(self) -> None:
        loop = asyncio.get_running_loop()
        now = loop.time()
        self._gaps = {i: t for i, t in self._gaps.items() if t > now}
        gaps = sorted(self._gaps)[:200]
        sql = "SELECT id, workspace_id, kind, contact_id FROM live_changes WHERE id > ?"
        args: list[int] = [self._last]
        if gaps:
            sql += f" OR id IN ({', '.join('?' * len(gaps))})"
            args.extend(gaps)
        rows = await self.db.reader().fetch_all(f"{sql} ORDER BY id LIMIT {_BATCH}", *args)
        if not rows:
            return
        seen = set()
        changed: dict[int, tuple[set[int], set[str]]] = {}
        for row in rows:
            seen.add(row["id"])
            self._gaps.pop(row["id"], None)
            contacts, kinds = changed.setdefault(row["workspace_id"], (set(), set()))
            if row["contact_id"] is not None:
                contacts.add(row["contact_id"])
            kinds.add(row["kind"])
        for ws, (contacts, kinds) in changed.items():
            for sub in self._subscribers.get(ws, ()):
                sub.contacts |= contacts
                sub.kinds |= kinds
                sub.ready.set()
        newest = max(seen)
        if newest > self._last:
            for missing in range(self._last + 1, newest):
                if missing not in seen and len(self._gaps) < 10_000:
                    self._gaps[missing] = now + _GAP_SECONDS
            self._last = newest
        if len(rows) == _BATCH:
            self._wake.set()
