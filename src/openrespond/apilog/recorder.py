"""Records ``/v2`` requests into the workspace's log off the request's path.

A request adds a tuple to an in-memory list (its bodies too when it failed); a task writes the
list in one transaction a moment later (``FLUSH_SECONDS``, or at once past ``BATCH``), with
one ``live_changes`` row per workspace so open consoles refresh, and each token's last use.
Redacting and encoding happen there, not while the caller waits. The log is diagnostics, not
an acknowledged write: what a killed process had not yet written (a fraction of a second) is
lost, and past ``MAX_PENDING`` unwritten entries (the database stalled) the oldest are
dropped and counted, so memory stays bounded.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any

from openrespond import common, signals
from openrespond.apilog import repository as repo
from openrespond.apilog.service import redact
from openrespond.db import Database

__all__ = ["FLUSH_SECONDS", "ApiLog"]

log = logging.getLogger("openrespond.apilog")

FLUSH_SECONDS = 0.1
BATCH = 2000
MAX_PENDING = 20_000
_PATH_LIMIT = 2048
LIVE_KIND = "api.request"


def _clip(path: str) -> str:
    return path[:_PATH_LIMIT].replace("\x00", "\\u0000")


def _redacted(e: tuple[Any, ...]) -> tuple[Any, ...]:
    return (*e[:9], redact(e[9]), redact(e[10]))


class ApiLog:
    """One per process; ``record`` from the request path, ``start``/``close`` with the app."""

    def __init__(self, db: Database, *, enabled: bool = True) -> None:
        self.db = db
        self.enabled = enabled
        self.dropped = 0
        self._pending: list[tuple[Any, ...]] = []
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._flushed = asyncio.Event()
        self._retrying = False

    def record(
        self,
        ws: int,
        token_id: int | None,
        method: str,
        route: str,
        path: str,
        status: int,
        duration_us: int,
        request_id: str,
        request_body: bytes | None,
        response_body: bytes | None,
    ) -> None:
        pending = self._pending
        if not pending:
            self._wake.set()
        pending.append(
            (
                ws,
                token_id,
                common.now_ms(),
                method,
                route,
                path if len(path) <= _PATH_LIMIT and "\x00" not in path else _clip(path),
                status,
                duration_us,
                request_id,
                request_body if status >= 400 else None,
                response_body if status >= 400 else None,
            )
        )
        if len(pending) >= BATCH:
            self._wake.set()
            if len(pending) > MAX_PENDING:
                drop = len(pending) - MAX_PENDING
                del pending[:drop]
                self.dropped += drop

    async def start(self) -> None:
        if self.enabled:
            self._task = asyncio.create_task(self._run(), name="api-log")

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        with contextlib.suppress(Exception):
            await self.flush()

    async def settled(self) -> None:
        """Until what was recorded before this call is written (tests, and the CLI's follow)."""
        while self._pending:
            self._flushed.clear()
            self._wake.set()
            await self._flushed.wait()

    async def _run(self) -> None:
        while True:
            await self._wake.wait()
            if len(self._pending) < BATCH:
                await asyncio.sleep(FLUSH_SECONDS)
            self._wake.clear()
            try:
                await self.flush()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("writing the API request log failed; trying again")
                await asyncio.sleep(1)

    async def flush(self) -> None:
        """Write what is pending, in one transaction."""
        entries, self._pending = self._pending, []
        if not entries:
            self._flushed.set()
            return
        # Rows of successful requests go in as recorded; failures get their bodies redacted.
        rows = [
            e if e[6] < 400 or (e[9] is None and e[10] is None) else _redacted(e) for e in entries
        ]
        workspaces = {e[0] for e in entries}
        used: dict[int, int] = {}
        for e in entries:
            if e[1] is not None:
                used[e[1]] = e[2]  # entries are in time order: the last one is the latest
        try:
            async with self.db.transaction() as tx:
                found = await repo.known_workspaces(tx, sorted(workspaces))
                if len(found) < len(workspaces):  # a workspace deleted meanwhile: its go too
                    rows = [row for row in rows if row[0] in found]
                await repo.insert_requests(tx, rows)
                await repo.batch_written(
                    tx,
                    tokens=[(at, token) for token, at in used.items()],
                    workspaces=sorted(found),
                    kind=LIVE_KIND,
                    now_ms=common.now_ms(),
                )
                tx.announce(signals.live)
        except asyncio.CancelledError:
            self._pending[:0] = entries
            raise
        except Exception:
            # Put them back in front, within the bound, to be tried once more; a batch that
            # fails twice is dropped (and counted) rather than blocking the log for good.
            if self._retrying:
                self._retrying = False
                self.dropped += len(entries)
                self._flushed.set()
            else:
                self._retrying = True
                self._pending[:0] = entries[-MAX_PENDING:]
            raise
        self._retrying = False
        self._flushed.set()
