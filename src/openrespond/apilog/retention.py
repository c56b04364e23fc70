"""Keeps the API request log within its bounds: at most ``max_rows`` requests per workspace,
none older than ``days``. Run by the workers beside webhook retention, every minute."""

from __future__ import annotations

import asyncio
import logging

from openrespond import common, signals
from openrespond.apilog import repository as repo
from openrespond.db import Database

__all__ = ["ApiLogRetention"]

log = logging.getLogger("openrespond.apilog")

EVERY_SECONDS = 60.0
_BATCH = 5000


class ApiLogRetention:
    def __init__(self, db: Database, *, days: int, max_rows: int) -> None:
        self.db = db
        self.keep_ms = days * 86_400_000
        self.max_rows = max_rows

    async def purge(self) -> int:
        """Drop what is past the bounds, a batch per transaction; how many went."""
        total = 0
        while True:
            async with self.db.transaction() as tx:
                n = await repo.purge(
                    tx,
                    before_ms=common.now_ms() - self.keep_ms,
                    keep=self.max_rows,
                    batch=_BATCH,
                )
            total += n
            if n < _BATCH:
                return total
            await asyncio.sleep(0)  # let requests have the writer between batches

    async def run(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            try:
                if n := await self.purge():
                    log.info("forgot %s API request(s) past the request log's bounds", n)
            except Exception:
                log.exception("trimming the API request log failed")
            await signals.wait_any(EVERY_SECONDS, stop)
