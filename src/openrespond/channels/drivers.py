"""The driver interface, and the ``sandbox`` driver that records what it is given."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

from openrespond import common
from openrespond.channels import sandbox_deliveries
from openrespond.db import Connection

__all__ = ["DRIVERS", "Driver", "Job", "Outcome", "SandboxDriver"]


@dataclass(frozen=True, slots=True)
class Job:
    """One leased delivery: the message and where it goes."""

    job_id: int
    attempts: int
    queued_ms: int
    message_id: int
    workspace_id: int
    contact_id: int
    channel_id: int
    type: str
    content: str
    driver: str
    source: str
    settings: dict[str, Any]
    address: str | None


@dataclass(frozen=True, slots=True)
class Outcome:
    """What a delivery attempt achieved.

    ``statuses`` are appended to the message's history in order; ``retry`` asks for another
    attempt later instead (after ``retry_in_ms``, else the worker's backoff), until the
    delivery deadline; ``error`` is the reason kept with a retry or a ``failed`` status.
    """

    statuses: tuple[str, ...] = ()
    channel_message_id: str | None = None
    error: str | None = None
    retry: bool = False
    retry_in_ms: int | None = None


class Driver(Protocol):
    """Moves a message over a channel. ``send`` runs outside any transaction; ``record``
    runs in the transaction that finishes the job, only if this worker still holds it.

    An ``inline`` driver does no I/O in ``send``: its jobs are claimed, sent and finished in
    one transaction.
    """

    inline: bool

    async def send(self, job: Job) -> Outcome: ...

    async def close(self) -> None: ...

    async def record(
        self, tx: Connection, done: list[tuple[Job, Outcome]], *, worker: str, now: int
    ) -> None:
        """Keep what the channel needs about finished jobs (a batch, all of this driver)."""
        ...


class SandboxDriver:
    """Delivers into the database: the message is recorded as received by the channel."""

    inline = True

    async def close(self) -> None:
        """Nothing to release."""

    async def send(self, job: Job) -> Outcome:
        if job.address is None:
            return Outcome(("failed",), error="the contact has no address on this channel")
        return Outcome(("sent", "delivered"), channel_message_id=f"sandbox-{job.message_id}")

    async def record(
        self, tx: Connection, done: list[tuple[Job, Outcome]], *, worker: str, now: int
    ) -> None:
        delivered_ms = common.now_ms()
        await sandbox_deliveries.record_deliveries(
            tx,
            [
                (
                    job.workspace_id,
                    job.channel_id,
                    job.message_id,
                    job.contact_id,
                    job.address or "",
                    job.content,
                    worker,
                    job.queued_ms,
                    delivered_ms,
                    now,
                )
                for job, outcome in done
                if outcome.error is None
            ],
        )


DRIVERS: dict[str, Driver] = {"sandbox": SandboxDriver()}
