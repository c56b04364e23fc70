"""The delivery worker: claims due jobs with a lease, runs their channel's driver, records.

A job is finished in the same transaction that records its outcome, and only while the
worker still holds its lease; a worker that dies leaves leases that run out, and the jobs
are claimed again. In-process for ``serve``; ``openrespond worker`` runs more alongside.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import json
import logging
import os
import random
import socket
import time
import uuid

import msgspec

from openrespond import metrics, signals
from openrespond.channels import jobs
from openrespond.channels.drivers import DRIVERS, Driver, Job, Outcome
from openrespond.db import Database, IntegrityError, Row, Transaction
from openrespond.messages import repository as messages_repo
from openrespond.messages.schemas import MessageStatus
from openrespond.webhooks import events

__all__ = ["DeliveryWorker", "backoff_ms"]

log = logging.getLogger("openrespond.worker")


def backoff_ms(attempts: int, *, base_ms: int = 1000, cap_ms: int = 600_000) -> int:
    """Exponential backoff with full jitter for the given attempt number (1-based)."""
    return random.randint(base_ms // 2, min(cap_ms, base_ms * 2 ** min(attempts - 1, 20)))


class DeliveryWorker:
    """Delivers outgoing messages until told to stop."""

    def __init__(
        self,
        db: Database,
        *,
        name: str | None = None,
        batch: int = 256,
        lease_seconds: float = 30.0,
        poll_seconds: float = 0.01,
        coalesce_seconds: float = 0.005,
        retry_base_ms: int = 1000,
        deadline_seconds: float = 24 * 3600,
        concurrency: int = 64,
        drivers: dict[str, Driver] | None = None,
    ) -> None:
        self.db = db
        self.name = name or f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self.batch = batch
        self.lease_ms = int(lease_seconds * 1000)
        self.poll_seconds = poll_seconds
        self.coalesce_seconds = coalesce_seconds
        self.retry_base_ms = retry_base_ms
        self.deadline_ms = int(deadline_seconds * 1000)
        self.concurrency = concurrency
        self.drivers = DRIVERS if drivers is None else drivers
        self._wake = asyncio.Event()

    def wake(self) -> None:
        """Look for work now instead of at the next poll."""
        self._wake.set()

    async def run_once(self) -> int:
        """Claim one batch, deliver it and record the outcomes; the number of jobs handled.

        Both transactions are short and go ahead of queued requests for the writer, so
        delivery keeps moving while the API is saturated. A batch whose drivers are all
        inline is claimed, sent and finished in a single transaction.
        """
        async with self.db.transaction(urgent=True) as tx:
            ids = await jobs.claim(
                tx, owner=self.name, now_ms=_now_ms(), lease_ms=self.lease_ms, limit=self.batch
            )
            batch = [_job(row) for row in await jobs.jobs_for(tx, self.name, ids)]
            if batch and all(getattr(self.drivers.get(j.driver), "inline", False) for j in batch):
                await self._finish(tx, batch, [await self._send(job) for job in batch])
                return len(batch)
        if not batch:
            return 0
        # Sends that do I/O run a bounded number at a time: past that, more connections to
        # the same bridge or server only queue (and cost) more.
        gate = asyncio.Semaphore(self.concurrency)

        async def send(job: Job) -> Outcome:
            async with gate:
                return await self._send(job)

        outcomes = await asyncio.gather(*(send(job) for job in batch))
        async with self.db.transaction(urgent=True) as tx:
            await self._finish(tx, batch, list(outcomes))
        return len(batch)

    async def _finish(self, tx: Transaction, batch: list[Job], outcomes: list[Outcome]) -> None:
        """Record each outcome and drop its job, for the jobs this worker still holds."""
        now = int(time.time())
        done: list[tuple[Job, Outcome]] = []
        counts: collections.Counter[tuple[str, str, str]] = collections.Counter()
        for job, outcome in zip(batch, outcomes, strict=True):
            if outcome.retry:
                wait = outcome.retry_in_ms
                if wait is None:
                    wait = backoff_ms(job.attempts, base_ms=self.retry_base_ms, cap_ms=3_600_000)
                run_at = _now_ms() + wait
                if run_at - job.queued_ms <= self.deadline_ms:
                    log.info(
                        "message %s: attempt %s failed, will be retried: %s",
                        job.message_id,
                        job.attempts,
                        outcome.error,
                        extra=_fields(job),
                    )
                    if await jobs.retry(
                        tx, job.job_id, self.name, run_at_ms=run_at, error=outcome.error or "retry"
                    ):
                        counts[(job.source, job.driver, "retried")] += 1
                    continue
                log.warning(
                    "message %s: attempt %s failed for good: %s",
                    job.message_id,
                    job.attempts,
                    outcome.error,
                    extra=_fields(job),
                )
                outcome = Outcome(
                    ("failed",),
                    error=f"{outcome.error} (gave up after {job.attempts} attempts)",
                )
            done.append((job, outcome))
        held = await jobs.finish_many(tx, self.name, [job.job_id for job, _ in done])
        for job, _ in done:
            if job.job_id not in held:
                log.warning("job %s of message %s: lease lost", job.job_id, job.message_id)
        done = [(job, outcome) for job, outcome in done if job.job_id in held]
        for job, outcome in done:
            for value in outcome.statuses:
                counts[(job.source, job.driver, value)] += 1
        if log.isEnabledFor(logging.DEBUG):
            for job, outcome in done:
                log.debug(
                    "message %s: attempt %s: %s",
                    job.message_id,
                    job.attempts,
                    "/".join(outcome.statuses) or "no status",
                    extra=_fields(job),
                )
        for labels, n in counts.items():
            metrics.count_on_commit(tx, metrics.MESSAGES.labels(*labels), n)
        if done:
            await self._record(tx, done, now)

    async def _record(self, tx: Transaction, done: list[tuple[Job, Outcome]], now: int) -> None:
        """Statuses and channel message ids of finished jobs, a few statements per batch."""
        deliveries = [
            messages_repo.Delivery(
                message_id=job.message_id,
                channel_id=job.channel_id,
                channel_message_id=outcome.channel_message_id,
                entries=[
                    msgspec.json.encode(
                        MessageStatus(
                            value=value,  # type: ignore[arg-type]
                            timestamp=now,
                            message=outcome.error if value == "failed" else None,
                        )
                    )
                    for value in outcome.statuses
                ],
                status=outcome.statuses[-1] if outcome.statuses else None,
            )
            for job, outcome in done
        ]
        # A channel may give an id it already gave another message: keep the delivery, not
        # the id. Taken ids are looked up first; one taken meanwhile by another transaction
        # fails the batch's statement inside its savepoint, and the messages go one by one.
        taken = await messages_repo.taken_channel_ids(tx, deliveries)
        for d in deliveries:
            if (d.channel_id, d.channel_message_id) in taken:
                log.warning(
                    "message %s: channel message id %r is taken", d.message_id, d.channel_message_id
                )
                d.channel_message_id = None
        try:
            async with tx.savepoint():
                await messages_repo.record_deliveries(tx, deliveries, now=now)
        except IntegrityError:
            for d in deliveries:
                try:
                    async with tx.savepoint():
                        await messages_repo.record_deliveries(tx, [d], now=now)
                except IntegrityError:
                    log.warning(
                        "message %s: channel message id %r is taken",
                        d.message_id,
                        d.channel_message_id,
                    )
                    d.channel_message_id = None
                    await messages_repo.record_deliveries(tx, [d], now=now)
        await messages_repo.apply_early_statuses_many(
            tx,
            [(d.channel_id, d.channel_message_id) for d in deliveries if d.channel_message_id],
        )
        by_driver: dict[str, list[tuple[Job, Outcome]]] = {}
        for job, outcome in done:
            by_driver.setdefault(job.driver, []).append((job, outcome))
        for name, items in by_driver.items():
            driver = self.drivers.get(name)
            if driver is not None:
                await driver.record(tx, items, worker=self.name, now=now)
        for job, outcome in done:
            if "sent" in outcome.statuses:
                await events.emit(
                    tx, job.workspace_id, "message.sent", job.contact_id, message_id=job.message_id
                )

    async def _send(self, job: Job) -> Outcome:
        driver = self.drivers.get(job.driver)
        if driver is None:
            return Outcome(("failed",), error=f"driver {job.driver!r} is not available")
        try:
            return await driver.send(job)
        except Exception as exc:  # a driver fault is retried, never lost
            log.exception("message %s: driver %s failed", job.message_id, job.driver)
            return Outcome(error=f"{type(exc).__name__}: {exc}", retry=True)

    async def _idle(self, stop: asyncio.Event) -> None:
        """Wait until woken (a send in this process) or until a poll finds due work (a send
        in another process, a retry coming due, a lease running out). Polls are reads, so
        they never queue for the writer."""
        while not stop.is_set():
            self._wake.clear()
            await _wait_any(stop, self._wake, self.poll_seconds)
            if self._wake.is_set():
                # Let sends that arrive together share one batch (and its commit).
                await _wait(stop, self.coalesce_seconds)
                return
            try:
                if await jobs.due(self.db.reader(), now_ms=_now_ms()):
                    return
            except Exception:
                log.exception("delivery poll failed; retrying in 1 s")
                await _wait(stop, 1.0)

    async def run(self, stop: asyncio.Event) -> None:
        """Work until ``stop`` is set, then hand back any lease still held."""
        signals.deliveries.connect(self.db, self.wake)
        try:
            while not stop.is_set():
                try:
                    handled = await self.run_once()
                except Exception:
                    log.exception("delivery batch failed; retrying in 1 s")
                    handled = 0
                    await _wait(stop, 1.0)
                if handled < self.batch:
                    await self._idle(stop)
        finally:
            signals.deliveries.disconnect(self.db, self.wake)
            with contextlib.suppress(Exception):
                async with self.db.transaction() as tx:
                    await jobs.release(tx, self.name)
            await self.close()

    async def close(self) -> None:
        """Release what the drivers hold (connections)."""
        for driver in self.drivers.values():
            with contextlib.suppress(Exception):
                await driver.close()


def _fields(job: Job) -> dict[str, object]:
    """What a log line about a delivery attempt carries (JSON logs): ids, never content."""
    return {
        "message_id": job.message_id,
        "attempt": job.attempts,
        "channel_id": job.channel_id,
        "driver": job.driver,
        "workspace": job.workspace_id,
    }


def _job(row: Row) -> Job:
    return Job(
        job_id=row["job_id"],
        attempts=row["attempts"],
        queued_ms=row["queued_ms"],
        message_id=row["message_id"],
        workspace_id=row["workspace_id"],
        contact_id=row["contact_id"],
        channel_id=row["channel_id"],
        type=row["type"],
        content=row["content"],
        driver=row["driver"],
        source=row["source"],
        settings=json.loads(row["settings"]),
        address=row["address"],
    )


def _now_ms() -> int:
    return int(time.time() * 1000)


async def _wait(stop: asyncio.Event, seconds: float) -> None:
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(stop.wait(), seconds)


async def _wait_any(stop: asyncio.Event, wake: asyncio.Event, seconds: float) -> None:
    waiters = [asyncio.ensure_future(stop.wait()), asyncio.ensure_future(wake.wait())]
    try:
        await asyncio.wait(waiters, timeout=seconds, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for w in waiters:
            w.cancel()
