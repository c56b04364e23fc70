"""The webhook worker: posts queued events, signed, and records every attempt.

Deliveries are leased like delivery jobs, so a worker that dies leaves nothing behind for
longer than its lease and two workers never post the same attempt. Up to ``concurrency``
posts are in flight, at most ``per_endpoint`` (half of them) to one subscription, and claims go round the
subscriptions with due deliveries a slot each in turn: an endpoint that is slow or times out
with a backlog holds only its own slots, and the others' events keep their latency.
Finished posts are recorded together in one short transaction. A
failure (connection error, timeout, any answer but 2xx) is retried with exponential backoff
and full jitter — or after ``Retry-After`` when the receiver gives one — until the retry
horizon has passed since the event was queued; then the delivery is ``failed``. An endpoint
answering 410 Gone is disabled and keeps its pending deliveries until it is enabled again.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import email.utils
import json
import logging
import os
import socket
import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass

import httpx

from openrespond import __version__, common, fair, metrics, outbox, signals
from openrespond.common import backoff_ms
from openrespond.db import Database, Row, Transaction
from openrespond.net import Networks, guarded_client
from openrespond.sealing import Sealer, SealError
from openrespond.webhooks import repository as repo
from openrespond.webhooks.service import PURPOSE
from openrespond.webhooks.signing import sign_headers

__all__ = ["WebhookWorker", "retry_after_ms"]

log = logging.getLogger("openrespond.webhooks")

MAX_RETRY_AFTER_MS = 24 * 3600 * 1000
PURGE_EVERY_SECONDS = 600
# How much of a receiver's answer is kept with each attempt.
EXCERPT_BYTES = 1024


def retry_after_ms(value: str | None, *, now: float | None = None) -> int | None:
    """``Retry-After`` as milliseconds from now: delta-seconds or an HTTP date."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return min(int(value) * 1000, MAX_RETRY_AFTER_MS)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        return None
    delta = when.timestamp() - (time.time() if now is None else now)
    return max(0, min(int(delta * 1000), MAX_RETRY_AFTER_MS))


@dataclass(slots=True)
class _Result:
    delivery_id: int
    webhook_id: int
    uid: str
    attempt: int
    queued_ms: int
    started_ms: int
    latency_ms: int
    status_code: int | None
    error: str | None
    retry_after_ms: int | None
    headers: str | None = None
    excerpt: str | None = None


class WebhookWorker:
    """Posts due webhook deliveries until told to stop."""

    def __init__(
        self,
        db: Database,
        sealer: Sealer,
        networks: Networks,
        *,
        name: str | None = None,
        concurrency: int = 64,
        per_endpoint: int = 32,
        lease_seconds: float = 30.0,
        poll_seconds: float = 0.01,
        timeout_seconds: float = 10.0,
        retry_seconds: float = 3 * 24 * 3600,
        retry_base_ms: int = 1000,
        retry_cap_ms: int = 3600 * 1000,
        log_days: float = 7,
    ) -> None:
        self.db = db
        self.sealer = sealer
        self.networks = networks
        self.name = name or f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}:hooks"
        self.concurrency = concurrency
        self.per_endpoint = per_endpoint
        # A lease outlasts the slowest post, so no attempt is made twice while one runs.
        self.lease_ms = int(max(lease_seconds, timeout_seconds + 2) * 1000)
        self.poll_seconds = poll_seconds
        self.timeout_seconds = timeout_seconds
        self.retry_ms = int(retry_seconds * 1000)
        self.retry_base_ms = retry_base_ms
        self.retry_cap_ms = retry_cap_ms
        self.log_ms = int(log_days * 86_400_000)
        self._next_purge = 0.0
        self._wake = signals.Flag()
        self._room = signals.Flag()
        self._finished = signals.Flag()
        self._done: list[_Result] = []
        self._inflight = 0
        self._by_hook: collections.Counter[int] = collections.Counter()  # posts in flight
        self._last_hook: int | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self._keys: dict[str, str] = {}
        self._client: httpx.AsyncClient | None = None

    def wake(self) -> None:
        self._wake.set()

    # -- dispatching -----------------------------------------------------------------------

    async def _dispatch(self, client: httpx.AsyncClient) -> int:
        """Claim as many due deliveries as there is room for and start posting them."""
        room = self.concurrency - self._inflight
        if room <= 0:
            return 0
        now = common.now_ms()
        async with self.db.transaction(urgent=True) as tx:
            order = fair.rotate(await repo.due_endpoints(tx, now_ms=now), self._last_hook)
            allowed = {h: self.per_endpoint - self._by_hook[h] for h in order}
            quotas = fair.shares(room, allowed, order)
            if not quotas:
                return 0
            self._last_hook = next(h for h in reversed(order) if h in quotas)
            rows = await repo.claim(
                tx, owner=self.name, now_ms=now, lease_ms=self.lease_ms, quotas=quotas
            )
        for row in rows:
            self._inflight += 1
            self._by_hook[row["webhook_id"]] += 1
            task = asyncio.create_task(self._post(client, row))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
        return len(rows)

    def _key(self, sealed: str) -> str:
        key = self._keys.get(sealed)
        if key is None:
            key = self._keys[sealed] = self.sealer.open(sealed, purpose=PURPOSE)
        return key

    async def _post(self, client: httpx.AsyncClient, row: Row) -> None:
        started = common.now_ms()
        t0 = time.perf_counter()
        body: bytes = row["body"] if isinstance(row["body"], bytes) else row["body"].encode()
        code: int | None = None
        error: str | None = None
        retry_after: int | None = None
        sent: str | None = None
        excerpt: str | None = None
        try:
            headers = sign_headers(self._key(row["secret"]), row["uid"], body)
            headers["Content-Type"] = "application/json"
            headers["User-Agent"] = f"openrespond-webhooks/{__version__}"
            sent = json.dumps(headers)
            async with client.stream(
                "POST", row["url"], content=body, headers=headers, timeout=self.timeout_seconds
            ) as resp:
                code = resp.status_code
                # The start of the answer is kept with the attempt (the console shows it).
                snippet = b""
                async for chunk in resp.aiter_raw():
                    snippet += chunk
                    if len(snippet) >= EXCERPT_BYTES:
                        break
                excerpt = snippet[:EXCERPT_BYTES].decode("utf-8", "replace").replace("\x00", "")
                if not 200 <= code < 300:
                    text = excerpt[:200].strip()
                    error = f"HTTP {code}" + (f": {text}" if text else "")
                    retry_after = retry_after_ms(resp.headers.get("retry-after"))
        except SealError as exc:
            error = f"signing key unusable: {exc}"
        except httpx.TimeoutException:
            error = f"no answer within {self.timeout_seconds:g} s"
        except httpx.HTTPError as exc:
            error = f"{type(exc).__name__}: {exc}"[:500]
        except Exception as exc:  # recorded and retried, never lost
            log.exception("webhook delivery %s failed", row["id"])
            error = f"{type(exc).__name__}: {exc}"[:500]
        except asyncio.CancelledError:
            # Stopping past the grace period: nothing to record; the lease is handed back.
            self._inflight -= 1
            self._by_hook[row["webhook_id"]] -= 1
            self._room.set()
            self._finished.set()
            raise
        self._done.append(
            _Result(
                delivery_id=row["id"],
                webhook_id=row["webhook_id"],
                uid=row["uid"],
                attempt=row["attempts"],
                queued_ms=row["queued_ms"],
                started_ms=started,
                latency_ms=int((time.perf_counter() - t0) * 1000),
                status_code=code,
                error=error,
                retry_after_ms=retry_after,
                headers=sent,
                excerpt=excerpt or None,
            )
        )
        self._finished.set()

    # -- recording -------------------------------------------------------------------------

    async def _record(self) -> int:
        """Record every finished post in one transaction; how many. If that transaction
        fails, the results wait for the next try (while the leases last)."""
        done, self._done = self._done, []
        if not done:
            return 0
        # Kept apart from ``done``, which narrows to the leases still held: every finished
        # post frees its slot, whether it is recorded or its lease was lost.
        finished = done
        now_ms = common.now_ms()
        try:
            async with self.db.transaction(urgent=True) as tx:
                held = await repo.held(tx, self.name, delivery_ids=[r.delivery_id for r in done])
                for r in done:
                    if r.delivery_id not in held:
                        log.warning("webhook delivery %s: lease lost", r.delivery_id)
                done = [r for r in done if r.delivery_id in held]
                await repo.record_attempts(
                    tx,
                    [
                        (
                            r.delivery_id,
                            r.attempt,
                            self.name,
                            r.started_ms,
                            r.latency_ms,
                            r.status_code,
                            r.error,
                            r.headers,
                            r.excerpt,
                        )
                        for r in done
                    ],
                )
                outcomes = [await self._outcome(tx, r, now_ms) for r in done]
                await outbox.deliveries_changed(tx, [r.delivery_id for r in done])
                await repo.set_outcomes(tx, outcomes)
                kinds = collections.Counter(
                    _kind(r, o.status) for r, o in zip(done, outcomes, strict=True)
                )
                for kind, n in kinds.items():
                    metrics.count_on_commit(tx, metrics.WEBHOOK_DELIVERIES.labels(kind), n)
        except BaseException:
            self._done[:0] = finished
            raise
        self._inflight -= len(finished)
        for r in finished:
            self._by_hook[r.webhook_id] -= 1
            if self._by_hook[r.webhook_id] <= 0:
                del self._by_hook[r.webhook_id]
        self._room.set()
        return len(done)

    async def _outcome(self, tx: Transaction, r: _Result, now_ms: int) -> repo.Outcome:
        status, run_at, error, delivered = "pending", None, r.error, None
        fields = {
            "delivery_id": r.delivery_id,
            "event_id": r.uid,
            "webhook_id": r.webhook_id,
            "attempt": r.attempt,
            "status_code": r.status_code,
            "latency_ms": r.latency_ms,
        }
        if r.error is None:
            status, delivered = "delivered", now_ms
            log.debug(
                "webhook delivery %s (event %s) attempt %s delivered: HTTP %s in %s ms",
                r.delivery_id,
                r.uid,
                r.attempt,
                r.status_code,
                r.latency_ms,
                extra=fields,
            )
        elif r.status_code == 410:
            # Disabled; this delivery waits with the others until the endpoint is enabled.
            await repo.disable(
                tx, r.webhook_id, reason="the endpoint answered 410 Gone", now=now_ms // 1000
            )
            log.warning(
                "webhook %s disabled: 410 Gone (event %s)", r.webhook_id, r.uid, extra=fields
            )
            run_at = now_ms
        else:
            wait = r.retry_after_ms
            if wait is None:
                wait = backoff_ms(r.attempt, base_ms=self.retry_base_ms, cap_ms=self.retry_cap_ms)
            run_at = now_ms + wait
            if run_at - r.queued_ms > self.retry_ms:
                status, run_at = "failed", None
                error = f"{r.error} (gave up after {r.attempt} attempts)"
            log.warning(
                "webhook delivery %s (event %s) attempt %s %s: %s",
                r.delivery_id,
                r.uid,
                r.attempt,
                "failed for good" if status == "failed" else "will be retried",
                r.error,
                extra=fields,
            )
        return repo.Outcome(
            delivery_id=r.delivery_id,
            status=status,
            run_at_ms=run_at,
            status_code=r.status_code,
            error=error,
            delivered_ms=delivered,
        )

    # -- the loops -------------------------------------------------------------------------

    async def run_once(self) -> int:
        """Claim what is due, post it, record it; the number of deliveries handled (tests and
        ``worker --once``)."""
        async with self._client_ctx() as client:
            n = await self._dispatch(client)
            while self._tasks:
                await asyncio.gather(*tuple(self._tasks))
            await self._record()
        return n

    @contextlib.asynccontextmanager
    async def _client_ctx(self) -> AsyncIterator[httpx.AsyncClient]:
        if self._client is not None:
            yield self._client
            return
        async with guarded_client(
            self.networks, timeout=self.timeout_seconds, max_connections=self.concurrency
        ) as client:
            yield client

    async def _recorder(self, stop: asyncio.Event) -> None:
        while not (stop.is_set() and self._inflight == 0):
            self._finished.clear()
            if not self._done:
                await signals.wait_any(0.5, self._finished, stop)
            try:
                await self._record()
            except Exception:
                log.exception("recording webhook attempts failed; retrying in 1 s")
                await asyncio.sleep(1)
            if stop.is_set() and self._tasks:
                await asyncio.wait(tuple(self._tasks), timeout=0.1)

    async def run(self, stop: asyncio.Event) -> None:
        """Post until ``stop`` is set; then finish the posts in flight (within their timeout)
        and hand back any lease still held."""
        signals.events.connect(self.db, self.wake)
        recorder_stop = signals.Flag()
        async with self._client_ctx() as client:
            self._client = client
            recorder = asyncio.create_task(self._recorder(recorder_stop))
            # Cancelled (the grace period ran out): posts in flight are abandoned, the cleanup
            # below still runs, and the cancellation is passed on after it.
            cancelled = False
            try:
                while not stop.is_set():
                    try:
                        claimed = await self._dispatch(client)
                    except Exception:
                        log.exception("claiming webhook deliveries failed; retrying in 1 s")
                        claimed = 0
                        await signals.wait_any(1.0, stop)
                    if claimed and self._inflight < self.concurrency:
                        continue
                    await self._maybe_purge()
                    await self._idle(stop)
            except asyncio.CancelledError:
                cancelled = True
                raise
            finally:
                signals.events.disconnect(self.db, self.wake)
                try:
                    if self._tasks and not cancelled:
                        await asyncio.wait(tuple(self._tasks), timeout=self.timeout_seconds + 1)
                except asyncio.CancelledError:
                    cancelled = True
                for task in tuple(self._tasks):
                    task.cancel()
                recorder_stop.set()
                self._finished.set()
                with contextlib.suppress(Exception, asyncio.CancelledError):
                    await asyncio.wait_for(recorder, 5)
                self._client = None
                with contextlib.suppress(Exception):
                    async with self.db.transaction() as tx:
                        await repo.release(tx, self.name)
                if cancelled:
                    raise asyncio.CancelledError

    async def purge(self) -> int:
        """Drop events (and their delivery log) past the log's retention; how many."""
        total = 0
        before = common.now_ms() - self.log_ms
        while True:
            async with self.db.transaction() as tx:
                n = await repo.purge(tx, before_ms=before)
            total += n
            if n < 1000:
                return total
            await asyncio.sleep(0)  # let requests have the writer between batches

    async def _maybe_purge(self) -> None:
        if time.monotonic() < self._next_purge:
            return
        self._next_purge = time.monotonic() + PURGE_EVERY_SECONDS
        try:
            if n := await self.purge():
                log.info("forgot %s webhook event(s) older than the log's retention", n)
        except Exception:
            log.exception("purging old webhook events failed")

    async def _idle(self, stop: asyncio.Event) -> None:
        """Until woken by a commit in this process, room after a full house, or a poll that
        finds due work (reads only)."""
        while not stop.is_set():
            self._wake.clear()
            self._room.clear()
            full = self._inflight >= self.concurrency
            await signals.wait_any(self.poll_seconds, self._room if full else self._wake, stop)
            if full:
                if self._inflight < self.concurrency:
                    return
                continue
            if self._wake.is_set():
                await asyncio.sleep(0.002)  # let events committed together share a claim
                return
            busy = [h for h, n in self._by_hook.items() if n >= self.per_endpoint]
            try:
                if await repo.due(self.db.reader(), now_ms=common.now_ms(), skip=busy):
                    return
            except Exception:
                log.exception("webhook poll failed; retrying in 1 s")
                await signals.wait_any(1.0, stop)


def _kind(r: _Result, status: str) -> str:
    """The metric outcome of one attempt."""
    if r.error is None:
        return "delivered"
    if r.status_code == 410:
        return "disabled"
    return "failed" if status == "failed" else "retried"
