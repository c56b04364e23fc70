"""What the drivers of providers' channels (WhatsApp Cloud, Telegram, Twilio) share: what
an incoming request turns into, a connection pool per provider origin, and media downloads.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from urllib.parse import urlsplit

import httpx

from openrespond import __version__, common
from openrespond.channels import provider_channels
from openrespond.channels.drivers import Job, Outcome
from openrespond.db import Connection
from openrespond.messages.schemas import ContactProfile, Message, StatusValue
from openrespond.net import Networks, guarded_client
from openrespond.sealing import Sealer

__all__ = [
    "MAX_MEDIA_BYTES",
    "MAX_REASON",
    "Incoming",
    "MediaFailed",
    "MediaRef",
    "Pools",
    "ProviderDriver",
    "StatusReport",
    "download",
]

MAX_REASON = 500
MAX_MEDIA_BYTES = 16 * 1024 * 1024
"""Inbound media larger than this is not kept (the message is, with the reason)."""


@dataclass(frozen=True, slots=True)
class MediaRef:
    """Where a provider keeps an incoming file: fetched by the driver with its credentials."""

    kind: str  # the attachment type: image, video, audio, file
    ref: str  # the provider's media id or URL
    content_type: str | None = None
    file_name: str | None = None


@dataclass(slots=True)
class Incoming:
    """A message from a contact (or, with ``echo``, one the business sent elsewhere)."""

    provider_id: str
    address: str
    at_ms: int
    message: Message | None = None  # None while ``media`` is still to be fetched
    media: MediaRef | None = None
    external_id: str | None = None
    profile: ContactProfile | None = None
    echo: bool = False
    # The sender's own phone number, shared by them (Telegram's contact button).
    shared_phone: str | None = None


@dataclass(frozen=True, slots=True)
class StatusReport:
    """What became of an outgoing message the provider knows by ``provider_id``."""

    provider_id: str
    value: StatusValue
    at_ms: int
    reason: str | None = None


class MediaFailed(Exception):
    """A provider's file could not be fetched; ``retry`` when it may work later."""

    def __init__(self, reason: str, *, retry: bool = False) -> None:
        super().__init__(reason)
        self.retry = retry


class Pools:
    """A few keep-alive connections and a gate per provider origin: a slow provider (or a
    fake one in tests) does not hold up the others."""

    def __init__(
        self,
        networks: Networks,
        *,
        timeout_seconds: float = 10,
        per_origin: int = 8,
        follow_redirects: bool = False,
    ) -> None:
        self.networks = networks
        self.timeout_seconds = timeout_seconds
        self.per_origin = per_origin
        self.follow_redirects = follow_redirects
        self._pools: dict[str, tuple[httpx.AsyncClient, asyncio.Semaphore]] = {}

    def get(self, url: str) -> tuple[httpx.AsyncClient, asyncio.Semaphore]:
        parts = urlsplit(url)
        origin = f"{parts.scheme}://{parts.netloc}"
        found = self._pools.get(origin)
        if found is None:
            client = guarded_client(
                self.networks,
                timeout=self.timeout_seconds,
                max_connections=self.per_origin,
                headers=[("User-Agent", f"openrespond/{__version__}")],
                follow_redirects=self.follow_redirects,
            )
            found = self._pools[origin] = (client, asyncio.Semaphore(self.per_origin))
        return found

    async def close(self) -> None:
        pools, self._pools = self._pools, {}
        for client, _ in pools.values():
            await client.aclose()


async def download(
    pools: Pools, url: str, *, headers: dict[str, str], limit: int = MAX_MEDIA_BYTES
) -> tuple[bytes, str | None]:
    """GET ``url`` (redirects followed, each hop under the network rules), at most ``limit``
    bytes; (body, content type). ``MediaFailed`` says why not: an expired or refused link
    for good, a 5xx, 429 or a network fault with ``retry``."""
    client, gate = pools.get(url)
    try:
        async with gate, client.stream("GET", url, headers=headers) as resp:
            if resp.status_code != 200:
                retry = resp.status_code >= 500 or resp.status_code in (408, 429)
                raise MediaFailed(f"media download answered HTTP {resp.status_code}", retry=retry)
            declared = resp.headers.get("content-length")
            if declared is not None and declared.isdigit() and int(declared) > limit:
                raise MediaFailed(f"media is larger than the {limit // (1024 * 1024)} MiB kept")
            chunks: list[bytes] = []
            size = 0
            async for chunk in resp.aiter_bytes():
                size += len(chunk)
                if size > limit:
                    raise MediaFailed(f"media is larger than the {limit // (1024 * 1024)} MiB kept")
                chunks.append(chunk)
            return b"".join(chunks), resp.headers.get("content-type")
    except httpx.TimeoutException:
        raise MediaFailed("media download timed out", retry=True) from None
    except httpx.HTTPError as exc:
        raise MediaFailed(
            f"media download failed: {type(exc).__name__}: {exc}"[:MAX_REASON], retry=True
        ) from None


class ProviderDriver:
    """What the drivers of providers' APIs share: a pool per provider origin, and the last
    credential problem ``send`` saw on a channel, kept on the channel's state by ``record``
    (and cleared by a later success)."""

    inline = False

    # How long a channel found without an error is taken to have none (another process may
    # record one meanwhile; it is cleared by that process's next success, or after this).
    CLEAN_SECONDS = 60.0

    def __init__(self, sealer: Sealer, networks: Networks, *, timeout_seconds: float = 10) -> None:
        self.sealer = sealer
        self.pools = Pools(networks, timeout_seconds=timeout_seconds)
        self._channel_errors: dict[int, str | None] = {}
        self._clean: dict[int, float] = {}  # channel id -> until when it is known clean

    def note(self, channel_id: int, error: str | None) -> None:
        """A credential error on the channel (or, with None, a success)."""
        if error is None:
            if self._clean.get(channel_id, 0.0) < time.monotonic():
                self._channel_errors.setdefault(channel_id, None)
        else:
            self._channel_errors[channel_id] = error
            self._clean.pop(channel_id, None)

    async def close(self) -> None:
        await self.pools.close()

    async def send(self, job: Job) -> Outcome:
        raise NotImplementedError

    async def record(
        self, tx: Connection, done: list[tuple[Job, Outcome]], *, worker: str, now: int
    ) -> None:
        errors, self._channel_errors = self._channel_errors, {}
        for channel_id, error in errors.items():
            if error is None:
                # A success: clear the error only if one is kept (a read without a lock; the
                # locked change only when there is something to clear), then trust the
                # channel clean for a while, so that a busy channel's batches read nothing.
                if await provider_channels.has_error(tx, channel_id):
                    await set_channel_error(tx, channel_id, None)
                self._clean[channel_id] = time.monotonic() + self.CLEAN_SECONDS
            else:
                await set_channel_error(tx, channel_id, error)


async def set_channel_error(conn: Connection, channel_id: int, error: str | None) -> None:
    """Record (or, with None, clear) the driver's last error on the channel's state."""
    await provider_channels.set_state(
        conn, channel_id, {"error": error, "errorAt": common.now_ms() if error else None}
    )
