"""The background workers, built from settings: message delivery, webhook posting, contact
imports started from the app, and the API request log's retention.

``serve`` runs one of each in-process (unless ``OPENRESPOND_WORKER=0``); ``openrespond worker``
runs them in a process of their own, as many as wanted against one database.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

from openrespond import signals
from openrespond.apilog.retention import ApiLogRetention
from openrespond.channels.custom import CustomChannelDriver
from openrespond.channels.drivers import Driver, SandboxDriver
from openrespond.channels.ingest import InboundWorker
from openrespond.channels.smtp import SmtpDriver
from openrespond.channels.telegram import TelegramDriver
from openrespond.channels.twilio import TwilioDriver
from openrespond.channels.upkeep import ChannelUpkeep
from openrespond.channels.whatsapp import WhatsappCloudDriver
from openrespond.channels.worker import DeliveryWorker
from openrespond.contacts.imports import ImportWorker
from openrespond.db import Database
from openrespond.messages.attachments import MediaDirectory
from openrespond.sealing import Sealer
from openrespond.settings import Settings
from openrespond.webhooks.worker import WebhookWorker

__all__ = ["Stopping", "Workers", "build", "running"]

log = logging.getLogger("openrespond.workers")


@dataclass(slots=True)
class Workers:
    delivery: DeliveryWorker
    webhooks: WebhookWorker
    imports: ImportWorker
    api_log: ApiLogRetention
    inbound: InboundWorker
    upkeep: ChannelUpkeep
    task: asyncio.Task[None] | None = None  # while ``running``

    async def run_once(self) -> tuple[int, int]:
        """Deliver and post everything due now; (messages, webhook deliveries) handled."""
        messages = hooks = 0
        try:
            while handled := await self.delivery.run_once():
                messages += handled
            while handled := await self.webhooks.run_once():
                hooks += handled
            while await self.imports.run_once():
                pass
            await self.upkeep.run_once()
            while await self.inbound.run_once():
                pass
            await self.api_log.purge()
        finally:
            await self.delivery.close()
            await self.inbound.close()
            await self.upkeep.close()
        return messages, hooks

    async def run(self, stop: asyncio.Event) -> None:
        # Work queued by other processes wakes these workers too (PostgreSQL).
        await self.delivery.db.listen(
            signals.deliveries, signals.events, signals.imports, signals.inbound, signals.channels
        )
        await asyncio.gather(
            self.delivery.run(stop),
            self.inbound.run(stop),
            self.upkeep.run(stop),
            self.webhooks.run(stop),
            self.imports.run(stop),
            self.api_log.run(stop),
        )


def build(db: Database, settings: Settings, secret: str, *, batch: int = 256) -> Workers:
    poll = settings.worker_poll_seconds
    sealer = Sealer(secret)
    media = MediaDirectory(settings.media_dir) if settings.media_dir else None
    drivers: dict[str, Driver] = {
        "sandbox": SandboxDriver(),
        "custom_channel": CustomChannelDriver(
            sealer, settings.networks, timeout_seconds=settings.webhook_timeout_seconds
        ),
        "smtp": SmtpDriver(sealer, settings.networks),
        "whatsapp_cloud": WhatsappCloudDriver(
            sealer, settings.networks, timeout_seconds=settings.webhook_timeout_seconds
        ),
        "telegram": TelegramDriver(
            sealer, settings.networks, timeout_seconds=settings.webhook_timeout_seconds
        ),
        "twilio": TwilioDriver(
            sealer,
            settings.networks,
            public_url=settings.public_url,
            db=db,
            timeout_seconds=settings.webhook_timeout_seconds,
        ),
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
        imports=ImportWorker(db, lease_seconds=settings.lease_seconds, poll_seconds=poll),
        api_log=ApiLogRetention(db, days=settings.api_log_days, max_rows=settings.api_log_max_rows),
        inbound=InboundWorker(
            db,
            sealer,
            settings.networks,
            batch=min(batch, 200),
            files_base=settings.public_url or f"http://{_local(settings.host)}:{settings.port}",
            lease_seconds=settings.lease_seconds,
            poll_seconds=poll,
            retry_base_ms=settings.retry_base_ms,
            timeout_seconds=settings.webhook_timeout_seconds,
            media_limit=settings.media_max_bytes,
            media=media,
        ),
        upkeep=ChannelUpkeep(
            db,
            sealer,
            settings.networks,
            public_url=settings.public_url,
            poll_timeout_seconds=settings.telegram_poll_seconds,
            lease_seconds=max(settings.lease_seconds, settings.telegram_poll_seconds + 15),
            template_sync_seconds=settings.template_sync_seconds,
            retry_seconds=min(5.0, settings.retry_base_ms / 1000 * 5),
            timeout_seconds=settings.webhook_timeout_seconds,
            media=media,
        ),
    )


def _local(host: str) -> str:
    """An address of this server to put in links when no public URL is set."""
    if host in ("0.0.0.0", "::", ""):
        return "127.0.0.1"
    return f"[{host}]" if ":" in host else host


@asynccontextmanager
async def running(workers: Workers, *, grace_seconds: float = 30.0) -> AsyncIterator[Stopping]:
    """Run ``workers`` in this process while the block runs; then stop them: the batch in
    hand is finished and recorded, posts in flight get their answer, and leases still held
    are handed back so another worker takes those jobs at once. Work still going on
    ``grace_seconds`` after the stop began is cancelled (its jobs handed back, to be
    delivered again: at least once)."""
    stopping = Stopping(grace_seconds)
    task = workers.task = asyncio.create_task(
        workers.run(stopping.event), name="openrespond-workers"
    )
    try:
        yield stopping
    finally:
        stopping.begin()
        try:
            await asyncio.wait_for(asyncio.shield(task), max(0.0, stopping.remaining()))
        except TimeoutError:
            log.warning(
                "workers still busy %.0f s after the stop began; cancelling, their jobs are"
                " handed back",
                grace_seconds,
            )
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        except asyncio.CancelledError:
            if not task.cancelled():
                raise  # this shutdown itself was cancelled
            # the workers' task had been cancelled already: nothing left to wait for
        workers.task = None


class Stopping:
    """When the workers were told to stop, and how long they have left."""

    def __init__(self, grace_seconds: float) -> None:
        self.grace_seconds = grace_seconds
        self.event = signals.Flag()
        self._deadline: float | None = None
        self._loop = asyncio.get_running_loop()

    def begin(self) -> None:
        """Start stopping now (the grace period runs from the first call)."""
        if self._deadline is None:
            self._deadline = time.monotonic() + self.grace_seconds
            log.info("workers stopping (grace %g s)", self.grace_seconds)
        self.event.set()

    def begin_threadsafe(self) -> None:
        """``begin`` from a signal handler or another thread."""
        self._loop.call_soon_threadsafe(self.begin)

    def remaining(self) -> float:
        if self._deadline is None:
            return self.grace_seconds
        return self._deadline - time.monotonic()
