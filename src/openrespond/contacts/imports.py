"""Contact imports started from the app: the CSV is stored with the job, a worker loads it.

The upload is checked (UTF-8, a header naming ``firstName``, at least one row, at most
``MAX_BYTES``) and queued in one transaction; the page that follows shows the job's progress.
A worker claims the job under a lease and loads it with ``bulk.import_contacts`` (the API's
rules for every row, ``BATCH`` rows per transaction, pausing between them so that the
server's requests go on meanwhile); each batch's transaction also records how
many rows are done, so an import resumed after a crash or restart starts after the last batch
that committed: every row is loaded once.
"""

from __future__ import annotations

import asyncio
import csv
import io
import itertools
import json
import logging
import uuid
from dataclasses import dataclass

from openrespond import common, signals
from openrespond.contacts import bulk
from openrespond.contacts import repository as repo
from openrespond.db import Connection, Database, Row, Scope, Transaction
from openrespond.errors import BadRequest, NotFound

__all__ = ["BATCH", "MAX_BYTES", "ImportJob", "ImportWorker", "get_import", "start_import"]

log = logging.getLogger("openrespond.imports")

MAX_BYTES = 50 * 1024 * 1024
# Rows per transaction, and the pause between them in which the server answers requests.
BATCH = 500
PAUSE = 0.002
KEEP_ERRORS = 100


async def start_import(
    sc: Scope[Transaction], *, user_id: int | None, file_name: str, data: bytes
) -> int:
    """Queue an import of the CSV ``data``; its job id. 400 naming ``file`` when the file
    cannot be one."""
    if len(data) > MAX_BYTES:
        raise BadRequest(f"file: at most {MAX_BYTES // (1024 * 1024)} MiB")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise BadRequest("file: must be UTF-8 text (CSV, as an export writes it)") from None
    if "\x00" in text:
        raise BadRequest("file: must not contain NUL characters")
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = next(reader, None)
        total = sum(1 for record in reader if record)
    except csv.Error as exc:
        raise BadRequest(f"file: not CSV: {exc}") from None
    if not header or "firstName" not in header:
        raise BadRequest(
            "file: the first line must name the columns, firstName among them"
            " (as an export writes them)"
        )
    if total == 0:
        raise BadRequest("file: no rows below the header")
    job_id = await repo.insert_import(
        sc,
        user_id=user_id,
        file_name=file_name[:255] or "contacts.csv",
        data=text.encode(),
        total=total,
        now=common.now(),
    )
    sc.conn.announce(signals.imports)
    return job_id


@dataclass(frozen=True, slots=True)
class ImportJob:
    id: int
    file_name: str
    total: int
    done: int
    created: int
    skipped: int
    errors: list[tuple[int, str]]
    status: str

    @property
    def percent(self) -> int:
        return min(100, self.done * 100 // self.total) if self.total else 100


async def get_import(sc: Scope[Connection], job_id: int) -> ImportJob:
    """An import of the workspace; 404 when there is none."""
    row = await repo.get_import(sc, job_id)
    if row is None:
        raise NotFound(f"import {job_id} not found")
    return ImportJob(
        id=row["id"],
        file_name=row["file_name"],
        total=row["total"],
        done=row["done"],
        created=row["created"],
        skipped=row["skipped"],
        errors=[(int(line), str(reason)) for line, reason in json.loads(row["errors"])],
        status=row["status"],
    )


class _LeaseLost(Exception):
    """Another worker took the job over (this one was too slow): stop without writing."""


class ImportWorker:
    """Loads queued imports, one at a time."""

    def __init__(self, db: Database, *, lease_seconds: int, poll_seconds: float) -> None:
        self.db = db
        self.lease_seconds = lease_seconds
        self.poll_seconds = max(poll_seconds, 0.25)
        self.name = f"imports-{uuid.uuid4().hex[:8]}"

    async def run_once(self) -> int:
        """Load one import if one is waiting; 1 when one was loaded, else 0."""
        async with self.db.transaction() as tx:
            job = await repo.claim_import(
                tx, owner=self.name, now=common.now(), lease=self.lease_seconds
            )
        if job is None:
            return 0
        await self._load(job)
        return 1

    async def _load(self, job: Row) -> None:
        job_id, first = int(job["id"]), int(job["done"])
        text = bytes(job["data"]).decode()
        rows = itertools.islice(bulk.read_rows(io.StringIO(text, newline=""), "csv"), first, None)
        earlier = [tuple(e) for e in json.loads(job["errors"])]

        async def on_batch(tx: Transaction, report: bulk.ImportReport) -> None:
            errors = [*earlier, *report.errors][:KEEP_ERRORS]
            if not await repo.import_progress(
                tx,
                job_id,
                owner=self.name,
                done=first + report.read,
                created=int(job["created"]) + report.created,
                skipped=int(job["skipped"]) + report.skipped,
                errors=json.dumps(errors),
                lease_until=common.now() + self.lease_seconds,
            ):
                raise _LeaseLost

        try:
            report = await bulk.import_contacts(
                self.db,
                int(job["workspace_id"]),
                rows=rows,
                batch=BATCH,
                on_batch=on_batch,
                pause=PAUSE,
            )
        except _LeaseLost:
            log.warning("import %d was taken over by another worker", job_id)
            return
        async with self.db.transaction() as tx:
            await repo.finish_import(tx, job_id, owner=self.name, now=common.now())
        log.info(
            "import %d: %d contact(s) created, %d row(s) skipped",
            job_id,
            report.created,
            report.skipped,
        )

    async def run(self, stop: asyncio.Event) -> None:
        wake = signals.Flag()
        signals.imports.connect(self.db, wake.set)
        try:
            while not stop.is_set():
                try:
                    handled = await self.run_once()
                except Exception:
                    log.exception("an import failed; trying again")
                    handled = 0
                if not handled:
                    await signals.wait_any(self.poll_seconds * 4, stop, wake)
                    wake.clear()
        finally:
            signals.imports.disconnect(self.db, wake.set)
