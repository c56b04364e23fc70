"""The delivery worker: claims due jobs with a lease, runs their channel's driver, records.

A job is finished in the same transaction that records its outcome, and only while the
worker still holds its lease; a worker that dies leaves leases that run out, and the jobs
are claimed again. In-process for ``serve``; ``openrespond worker`` runs more alongside.

Jobs of inline drivers (the sandbox) are claimed, delivered and finished in one transaction.
Jobs whose driver does I/O (a custom-channel bridge, an SMTP server) are sent concurrently,
at most ``concurrency`` at a time and ``per_channel`` (half of them) a channel, and each is
recorded as soon as its answer comes (together with the others finished meanwhile): a slow or
dead bridge holds only its own channel's share of the slots, and nobody waits for its answers.
Claims go round the channels with due work, a slot each in turn.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import json
import logging
import os
import socket
import time
import uuid

import msgspec

from openrespond import common, fair, metrics, signals
from openrespond.channels import delivery_queue
from openrespond.channels.drivers import DRIVERS, Driver, Job, Outcome
from openrespond.common import backoff_ms
from openrespond.db import Database, IntegrityError, Row, Scope, Transaction
from openrespond.messages import events
from openrespond.messages import repository as messages_repo
from openrespond.messages.schemas import MessageStatus

__all__ = ["DeliveryWorker"]

log = logging.getLogger("openrespond.worker")

# Channels one claim looks at (SQLite takes at most 500 terms in one statement); whose turn
# it is moves on from claim to claim.
MAX_CHANNELS_PER_CLAIM = 200
ADOPT_EVERY_SECONDS = 30.0


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
        per_channel: int = 32,
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
        self.per_channel = per_channel
        self.drivers = DRIVERS if drivers is None else drivers
        self._wake = signals.Flag()
        self._room = signals.Flag()  # a send was recorded: its slot is free
        self._finished = signals.Flag()  # a send has its outcome
        self._inline = frozenset(n for n, d in self.drivers.items() if getattr(d, "inline", False))
        self._by_channel: collections.Counter[int] = collections.Counter()  # sends in flight
        self.sending = 0  # sends claimed and not yet recorded, all channels
        self._done: list[tuple[Job, Outcome]] = []
        self._tasks: set[asyncio.Task[None]] = set()
        self._last_channel: int | None = None
        self._next_adoption = 0.0

    def wake(self) -> None:
        """Look for work now instead of at the next poll."""
        self._wake.set()

    def _freed(self, job: Job) -> None:
        """``job``'s send is over (recorded, or abandoned): its slot is free."""
        self.sending -= 1
        self._by_channel[job.channel_id] -= 1
        if self._by_channel[job.channel_id] <= 0:
            del self._by_channel[job.channel_id]
        self._room.set()

    async def _dispatch(self) -> int:
        """Claim due jobs, in turn per channel: inline ones are delivered and finished in
        this same transaction, the others start sending. How many were claimed."""
        room = self.concurrency - self.sending
        now = common.now_ms()
        async with self.db.transaction(urgent=True) as tx:
            if time.monotonic() >= self._next_adoption:
                # Jobs queued without their channel (by a server of a version before jobs
                # knew it, during an upgrade) are given it, now and then.
                self._next_adoption = time.monotonic() + ADOPT_EVERY_SECONDS
                await delivery_queue.adopt(tx)
            due = await delivery_queue.due_channels(tx, now_ms=now)
            order = fair.rotate([r[0] for r in due], self._last_channel)[:MAX_CHANNELS_PER_CLAIM]
            drivers = {r[0]: r[1] for r in due}
            io = {
                c: self.per_channel - self._by_channel[c]
                for c in order
                if drivers[c] not in self._inline
            }
            quotas = fair.shares(min(room, self.batch), io, order)
            inline = {c: self.batch for c in order if drivers[c] in self._inline}
            quotas.update(fair.shares(self.batch - sum(quotas.values()), inline, order))
            if not quotas:
                return 0
            self._last_channel = next(c for c in reversed(order) if c in quotas)
            ids = await delivery_queue.claim(
                tx, owner=self.name, now_ms=now, lease_ms=self.lease_ms, quotas=quotas
            )
            claimed = [
                _job(row) for row in await delivery_queue.jobs_for(tx, self.name, job_ids=ids)
            ]
            here = [job for job in claimed if job.driver in self._inline]
            if here:
                await self._finish(tx, here, [await self._send(job) for job in here])
        for job in claimed:
            if job.driver not in self._inline:
                self.sending += 1
                self._by_channel[job.channel_id] += 1
                task = asyncio.create_task(self._send_one(job))
                self._tasks.add(task)
                task.add_done_callback(self._tasks.discard)
        return len(claimed)

    async def _send_one(self, job: Job) -> None:
        try:
            outcome = await self._send(job)
        except asyncio.CancelledError:
            # Stopping past the grace period: nothing to record; the lease is handed back.
            self._freed(job)
            raise
        self._done.append((job, outcome))
        self._finished.set()

    async def _finish_sent(self) -> int:
        """Finish every send that has its outcome, in one transaction; how many. If that
        transaction fails, the outcomes wait for the next try (while the leases last)."""
        done, self._done = self._done, []
        if not done:
            return 0
        try:
            async with self.db.transaction(urgent=True) as tx:
                await self._finish(tx, [job for job, _ in done], [o for _, o in done])
        except BaseException:
            self._done[:0] = done
            raise
        for job, _ in done:
            self._freed(job)
        return len(done)

    async def run_once(self) -> int:
        """Claim what is due, deliver it and record the outcomes; the number of jobs handled
        (tests and ``worker --once``)."""
        n = await self._dispatch()
        while self._tasks:
            await asyncio.gather(*tuple(self._tasks))
        await self._finish_sent()
        return n

    async def _finish(self, tx: Transaction, batch: list[Job], outcomes: list[Outcome]) -> None:
        """Record each outcome and drop its job, for the jobs this worker still holds."""
        now_ms = common.now_ms()
        done: list[tuple[Job, Outcome]] = []
        counts: collections.Counter[tuple[str, str, str]] = collections.Counter()
        for job, outcome in zip(batch, outcomes, strict=True):
            if outcome.retry:
                wait = outcome.retry_in_ms
                if wait is None:
                    wait = backoff_ms(job.attempts, base_ms=self.retry_base_ms, cap_ms=3_600_000)
                run_at = now_ms + wait
                if run_at - job.queued_ms <= self.deadline_ms:
                    log.info(
                        "message %s: attempt %s failed, will be retried: %s",
                        job.message_id,
                        job.attempts,
                        outcome.error,
                        extra=_fields(job),
                    )
                    if await delivery_queue.retry(
                        tx,
                        job.job_id,
                        owner=self.name,
                        run_at_ms=run_at,
                        error=outcome.error or "retry",
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
        held = await delivery_queue.finish_many(
            tx, self.name, job_ids=[job.job_id for job, _ in done]
        )
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
            await self._record(tx, done, now_ms)

    async def _record(self, tx: Transaction, done: list[tuple[Job, Outcome]], now_ms: int) -> None:
        """Statuses and channel message ids of finished jobs, a few statements per batch."""
        now = now_ms // 1000
        deliveries = [
            messages_repo.Delivery(
                message_id=job.message_id,
                channel_id=job.channel_id,
                channel_message_id=outcome.channel_message_id,
                entries=[
                    msgspec.json.encode(
                        MessageStatus.at(
                            value,  # type: ignore[arg-type]
                            now_ms,
                            outcome.error if value == "failed" else None,
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
                    Scope(tx, job.workspace_id),
                    "message.sent",
                    contact_id=job.contact_id,
                    message_id=job.message_id,
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
        """Wait until woken (a send in this process), until a send frees a slot, or until a
        poll finds due work this worker can take (a send in another process, a retry coming
        due, a lease running out). Polls are reads, so they never queue for the writer."""
        while not stop.is_set():
            self._wake.clear()
            self._room.clear()
            await signals.wait_any(self.poll_seconds, stop, self._wake, self._room)
            if self._room.is_set():
                return
            if self._wake.is_set():
                # Let sends that arrive together share one batch (and its commit).
                await signals.wait_any(self.coalesce_seconds, stop)
                return
            # Work this worker can take now: any channel's, short of the channels (or, with
            # every slot taken, all the I/O drivers) it has no room for.
            full = self.sending >= self.concurrency
            busy = [c for c, n in self._by_channel.items() if n >= self.per_channel]
            try:
                if await delivery_queue.due(
                    self.db.reader(),
                    now_ms=common.now_ms(),
                    skip=busy,
                    drivers=self._inline if full else None,
                ):
                    return
            except Exception:
                log.exception("delivery poll failed; retrying in 1 s")
                await signals.wait_any(1.0, stop)

    async def _recorder(self, stop: asyncio.Event) -> None:
        """Record finished sends as they come, until stopped with nothing left in flight."""
        while not (stop.is_set() and not self._tasks and not self._done):
            self._finished.clear()
            if not self._done:
                await signals.wait_any(0.5, stop, self._finished)
                # Let sends finishing together share one transaction.
                await signals.wait_any(self.coalesce_seconds, stop)
            try:
                await self._finish_sent()
            except Exception:
                log.exception("recording deliveries failed; retrying in 1 s")
                await signals.wait_any(1.0, stop)
            if stop.is_set() and self._tasks:
                await asyncio.wait(tuple(self._tasks), timeout=0.1)

    async def run(self, stop: asyncio.Event) -> None:
        """Work until ``stop`` is set; then let the sends in flight finish and record them
        (the grace period is the caller's), and hand back any lease still held."""
        signals.deliveries.connect(self.db, self.wake)
        recorder_stop = signals.Flag()
        recorder = asyncio.create_task(self._recorder(recorder_stop))
        cancelled = False  # the grace period ran out: sends are abandoned, leases handed back
        try:
            while not stop.is_set():
                try:
                    claimed = await self._dispatch()
                except Exception:
                    log.exception("delivery batch failed; retrying in 1 s")
                    claimed = 0
                    await signals.wait_any(1.0, stop)
                if claimed >= self.batch:
                    continue  # a full batch: more is probably due
                await self._idle(stop)
        except asyncio.CancelledError:
            cancelled = True
            raise
        finally:
            signals.deliveries.disconnect(self.db, self.wake)
            try:
                if self._tasks and not cancelled:
                    await asyncio.wait(tuple(self._tasks))
            except asyncio.CancelledError:
                cancelled = True
            for task in tuple(self._tasks):
                task.cancel()
            recorder_stop.set()
            self._finished.set()
            with contextlib.suppress(Exception, asyncio.CancelledError):
                await asyncio.wait_for(recorder, 5)
            with contextlib.suppress(Exception):
                async with self.db.transaction() as tx:
                    await delivery_queue.release(tx, self.name)
            await self.close()
            if cancelled:
                raise asyncio.CancelledError

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
