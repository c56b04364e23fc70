"""The background workers, built from settings: message delivery and webhook posting.

``serve`` runs one of each in-process (unless ``OPENRESPOND_WORKER=0``); ``openrespond worker``
runs them in a process of their own, as many as wanted against one database.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

from openrespond import signals
from openrespond.channels.custom import CustomChannelDriver
from openrespond.channels.drivers import Driver, SandboxDriver
from openrespond.channels.smtp import SmtpDriver
from openrespond.channels.worker import DeliveryWorker
from openrespond.db import Database
from openrespond.sealing import Sealer
from openrespond.settings import Settings
from openrespond.webhooks.worker import WebhookWorker

__all__ = ["Workers", "build", "running"]


@dataclass(slots=True)
class Workers:
    delivery: DeliveryWorker
    webhooks: WebhookWorker
    task: asyncio.Task[None] | None = None  # while ``running``

    async def run_once(self) -> tuple[int, int]:
        """Deliver and post everything due now; (messages, webhook deliveries) handled."""
        messages = hooks = 0
        try:
            while handled := await self.delivery.run_once():
                messages += handled
            while handled := await self.webhooks.run_once():
                hooks += handled
        finally:
            await self.delivery.close()
        return messages, hooks

    async def run(self, stop: asyncio.Event) -> None:
        # Work queued by other processes wakes these workers too (PostgreSQL).
        await self.delivery.db.listen(signals.deliveries, signals.events)
        await asyncio.gather(self.delivery.run(stop), self.webhooks.run(stop))


def build(db: Database, settings: Settings, secret: str, *, batch: int = 256) -> Workers:
    poll = settings.worker_poll_seconds
    sealer = Sealer(secret)
    drivers: dict[str, Driver] = {
        "sandbox": SandboxDriver(),
        "custom_channel": CustomChannelDriver(
            sealer, settings.networks, timeout_seconds=settings.webhook_timeout_seconds
        ),
        "smtp": SmtpDriver(sealer, settings.networks),
    }
    return Workers(
        delivery=DeliveryWorker(
            db,
            batch=batch,
            lease_seconds=settings.lease_seconds,
            poll_seconds=poll,
            retry_base_ms=settings.retry_base_ms,
            deadline_seconds=settings.delivery_deadline_seconds,
            drivers=drivers,
        ),
        webhooks=WebhookWorker(
            db,
            sealer,
            settings.networks,
            lease_seconds=settings.lease_seconds,
            poll_seconds=poll,
            timeout_seconds=settings.webhook_timeout_seconds,
            retry_seconds=settings.webhook_retry_seconds,
            retry_base_ms=settings.retry_base_ms,
            log_days=settings.webhook_log_days,
        ),
    )


@asynccontextmanager
async def running(workers: Workers) -> AsyncIterator[Workers]:
    """Run ``workers`` in this process while the block runs; stop them (leases handed back)
    when it ends."""
    stop = asyncio.Event()
    task = workers.task = asyncio.create_task(workers.run(stop), name="openrespond-workers")
    try:
        yield workers
    finally:
        stop.set()
        await task
        workers.task = None
