"""The inbound worker: applies what providers posted (``provider_inbox``).

Each stored request is leased, read by its channel's driver, its media fetched (outside any
transaction, with the provider's credentials, size-capped) into openrespond's own store, and
then applied in one savepoint with the deletion of the request: incoming messages found by
their provider id are not stored twice, and status reports go through the status machine, so
a request applied twice (a lease run out, a crash before the commit) changes nothing more.
A file that cannot be fetched (an expired link) leaves the message stored with a ``failed``
status naming why; a provider error worth retrying (5xx, timeouts) puts the whole request
back for later, up to ``max_attempts``.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import re
import secrets
import socket
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import msgspec

from openrespond import common, signals
from openrespond.channels import provider_inbox, telegram, twilio, whatsapp
from openrespond.channels.providers import (
    MAX_MEDIA_BYTES,
    MAX_REASON,
    Incoming,
    MediaFailed,
    MediaRef,
    Pools,
    StatusReport,
)
from openrespond.common import backoff_ms
from openrespond.contacts import service as contacts
from openrespond.contacts.schemas import ContactFields
from openrespond.db import Database, Row, Scope, Transaction
from openrespond.errors import BadRequest, Conflict
from openrespond.identifiers import Identifier
from openrespond.messages import attachments
from openrespond.messages import repository as messages_repo
from openrespond.messages import service as messages
from openrespond.messages.attachments import MediaDirectory
from openrespond.messages.schemas import MessageStatus
from openrespond.net import Networks
from openrespond.sealing import Sealer

__all__ = ["InboundWorker", "Reader"]

log = logging.getLogger("openrespond.inbound")

_NAME = re.compile(r"[^A-Za-z0-9._ -]+")
_MEDIA_TYPE = re.compile(r"(audio|video)/[a-z0-9.+-]{1,40}")
_EXTENSIONS = {
    "image/jpeg": ".jpg",
    "image/png": ".png",
    "image/webp": ".webp",
    "image/gif": ".gif",
    "video/mp4": ".mp4",
    "audio/mpeg": ".mp3",
    "audio/ogg": ".ogg",
    "application/pdf": ".pdf",
}


@dataclass(frozen=True, slots=True)
class Reader:
    """How the inbound worker reads one driver's requests and fetches its files."""

    parse: Callable[[Row, dict[str, Any]], list[Incoming | StatusReport]]
    fetch: Callable[..., Awaitable[tuple[bytes, str | None]]]
    media_link: Callable[[dict[str, Any], MediaRef], str]


def _whatsapp_link(settings: dict[str, Any], ref: MediaRef) -> str:
    return f"{settings['graphBaseUrl']}/{settings.get('graphVersion', 'v25.0')}/{ref.ref}"


READERS: dict[str, Reader] = {
    "whatsapp_cloud": Reader(
        parse=lambda row, settings: whatsapp.parse(
            row["body"].encode(), str(settings["phoneNumberId"])
        ),
        fetch=whatsapp.fetch_media,
        media_link=_whatsapp_link,
    ),
    "telegram": Reader(
        parse=lambda row, settings: telegram.parse(row["body"].encode()),
        fetch=telegram.fetch_media,
        media_link=lambda settings, ref: f"{settings.get('apiBaseUrl')}/file/{ref.ref}",
    ),
    "twilio": Reader(
        parse=lambda row, settings: twilio.parse(row["body"].encode()),
        fetch=twilio.fetch_media,
        media_link=lambda settings, ref: ref.ref,
    ),
}


@dataclass(slots=True)
class _File:
    """A fetched file, as it will be kept: its bytes (until written to the media
    directory), or why it could not be fetched."""

    data: bytes | None = None
    size: int = 0
    content_type: str = "application/octet-stream"
    kind: str = "file"
    name: str = "file"
    location: str | None = None  # in the media directory, written before the transaction
    error: str | None = None


_Prepared = tuple[Row, list[Incoming | StatusReport], dict[int, "_File"], str | None]

# Files held in memory by one transaction's worth of requests, at most (then it commits).
MAX_BATCH_BYTES = 32 * 1024 * 1024


class InboundWorker:
    """Applies stored provider requests until told to stop."""

    def __init__(
        self,
        db: Database,
        sealer: Sealer,
        networks: Networks,
        *,
        files_base: str,
        name: str | None = None,
        batch: int = 200,
        lease_seconds: float = 30.0,
        poll_seconds: float = 0.5,
        retry_base_ms: int = 1000,
        max_attempts: int = 8,
        media_limit: int = MAX_MEDIA_BYTES,
        timeout_seconds: float = 10,
        media: MediaDirectory | None = None,
    ) -> None:
        self.db = db
        self.sealer = sealer
        self.files_base = files_base.rstrip("/")
        self.name = name or f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self.batch = batch
        self.lease_ms = int(lease_seconds * 1000)
        self.poll_seconds = poll_seconds
        self.retry_base_ms = retry_base_ms
        self.max_attempts = max_attempts
        self.media_limit = media_limit
        self.media = media
        self.pools = Pools(networks, timeout_seconds=timeout_seconds, follow_redirects=True)
        self._wake = signals.Flag()

    def wake(self) -> None:
        self._wake.set()

    async def run_once(self) -> int:
        """Apply what is due now; how many requests were handled."""
        now = common.now_ms()
        async with self.db.transaction(urgent=True) as tx:
            rows = await provider_inbox.claim(
                tx, owner=self.name, now_ms=now, lease_ms=self.lease_ms, limit=self.batch
            )
        if not rows:
            return 0
        # Requests are applied a transaction's worth at a time: the files fetched for them
        # are held in memory only until then.
        chunk: list[_Prepared] = []
        held = 0
        for row in rows:
            prepared = await self._prepare(row)
            chunk.append(prepared)
            held += sum(len(f.data or b"") for f in prepared[2].values())
            if held >= MAX_BATCH_BYTES:
                await self._commit(chunk)
                chunk, held = [], 0
        if chunk:
            await self._commit(chunk)
        return len(rows)

    async def _commit(self, prepared: list[_Prepared]) -> None:
        """Apply each prepared request with its deletion, in one transaction; one that
        fails is put back for later (or, after ``max_attempts``, dropped with a log line)."""
        async with self.db.transaction(urgent=True) as tx:
            for row, items, files, problem in prepared:
                if problem is not None:
                    await self._retry(tx, row, problem)
                    continue
                try:
                    async with tx.savepoint():
                        held = await provider_inbox.finish(tx, self.name, ids=[row["id"]])
                        if held:
                            await self._apply(tx, row, items, files)
                except Exception as exc:
                    log.exception(
                        "provider request %s of channel %s could not be applied",
                        row["id"],
                        row["channel_id"],
                    )
                    await self._retry(tx, row, f"{type(exc).__name__}: {exc}")

    async def _retry(self, tx: Transaction, row: Row, problem: str) -> None:
        """Put a request back for later; after ``max_attempts``, drop it (logged as an
        error, with why): a request that cannot be applied must not block the others."""
        if row["attempts"] >= self.max_attempts:
            log.error(
                "provider request %s of channel %s dropped after %s attempts: %s",
                row["id"],
                row["channel_id"],
                row["attempts"],
                problem,
            )
            await provider_inbox.finish(tx, self.name, ids=[row["id"]])
            return
        wait = backoff_ms(row["attempts"], base_ms=self.retry_base_ms, cap_ms=3_600_000)
        log.info("provider request %s: will retry: %s", row["id"], problem)
        await provider_inbox.retry(
            tx, row["id"], owner=self.name, run_at_ms=common.now_ms() + wait, error=problem
        )

    async def _prepare(self, row: Row) -> _Prepared:
        """Read the request and fetch its files: (row, items, files by item, a reason to
        try again later). Never raises: whatever goes wrong is that request's alone."""
        try:
            return await self._fetch(row)
        except Exception as exc:
            log.exception("provider request %s could not be prepared", row["id"])
            return row, [], {}, f"{type(exc).__name__}: {exc}"[:MAX_REASON]

    async def _fetch(self, row: Row) -> _Prepared:
        reader = READERS.get(row["driver"])
        settings: dict[str, Any] = json.loads(row["settings"] or "{}")
        if reader is None:
            return row, [], {}, f"channel {row['channel_id']} is no longer a provider's"
        try:
            items = reader.parse(row, settings)
        except Exception as exc:
            log.warning("provider request %s is unreadable: %s", row["id"], exc)
            return row, [], {}, None  # it will not read better later
        files: dict[int, _File] = {}
        for i, item in enumerate(items):
            if not isinstance(item, Incoming) or item.media is None:
                continue
            try:
                data, content_type = await reader.fetch(
                    self.pools, settings, item.media, sealer=self.sealer, limit=self.media_limit
                )
                kept_type, kind, name = _kind(item.media, data, content_type)
                file = _File(data, len(data), kept_type, kind, name)
                if self.media is not None:
                    file.location = await self.media.write(data)
                    file.data = None  # on disk now: not held until the transaction
                files[i] = file
            except MediaFailed as exc:
                if exc.retry and row["attempts"] < self.max_attempts:
                    return row, items, files, str(exc)
                files[i] = _File(error=str(exc))
        return row, items, files, None

    async def _apply(
        self,
        tx: Transaction,
        row: Row,
        items: list[Incoming | StatusReport],
        files: dict[int, _File],
    ) -> None:
        channel_id, ws = int(row["channel_id"]), int(row["workspace_id"])
        settings: dict[str, Any] = json.loads(row["settings"] or "{}")
        for i, item in enumerate(items):
            known = await messages_repo.by_channel_message(
                tx, channel_id, channel_message_id=item.provider_id, for_update=True
            )
            if isinstance(item, StatusReport):
                await _status(tx, channel_id, item, known)
                continue
            if known is not None:
                continue  # redelivered by the provider
            await self._incoming(tx, ws, channel_id, settings, row, item, files.get(i))

    async def _incoming(
        self,
        tx: Transaction,
        ws: int,
        channel_id: int,
        settings: dict[str, Any],
        row: Row,
        item: Incoming,
        file: _File | None,
    ) -> None:
        sc = Scope(tx, ws)
        message = item.message
        token: str | None = None
        failure: str | None = None
        if item.media is not None:
            reader = READERS[row["driver"]]
            if file is not None and file.error is None:
                token = secrets.token_urlsafe(32)
                url = f"{self.files_base}/app/files/{token}/{quote(file.name)}"
                message = whatsapp.attachment(file.kind, url, file.name)
            else:
                failure = (file.error if file is not None else None) or "media not fetched"
                message = whatsapp.attachment(
                    item.media.kind, reader.media_link(settings, item.media), item.media.file_name
                )
        assert message is not None
        contact_id, message_id = await messages.receive(
            sc,
            channel_id=channel_id,
            address=item.address,
            message=message,
            profile=item.profile,
            channel_message_id=item.provider_id,
            echo=item.echo,
            external_id=item.external_id,
            at_ms=item.at_ms,
            from_provider=True,
        )
        if item.shared_phone:
            await _share_phone(sc, contact_id, item.shared_phone)
        if token is not None and file is not None:
            await messages_repo.insert_file(
                sc,
                contact_id,
                token=token,
                name=file.name,
                content_type=file.content_type,
                data=file.data or b"",
                now=common.now(),
                location=file.location,
                size=file.size,
            )
        if failure is not None:
            entry = MessageStatus.at("failed", common.now_ms(), failure)
            await messages_repo.append_status(
                sc, message_id, status=msgspec.json.encode(entry), value="failed", now=common.now()
            )

    async def _idle(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            self._wake.clear()
            await signals.wait_any(self.poll_seconds, stop, self._wake)
            if self._wake.is_set():
                return
            try:
                if await provider_inbox.due(self.db.reader(), now_ms=common.now_ms()):
                    return
            except Exception:
                log.exception("inbound poll failed; retrying in 1 s")
                await signals.wait_any(1.0, stop)

    async def run(self, stop: asyncio.Event) -> None:
        signals.inbound.connect(self.db, self.wake)
        try:
            while not stop.is_set():
                try:
                    handled = await self.run_once()
                except Exception:
                    log.exception("applying provider requests failed; retrying in 1 s")
                    handled = 0
                    await signals.wait_any(1.0, stop)
                if handled >= self.batch:
                    continue
                await self._idle(stop)
        finally:
            signals.inbound.disconnect(self.db, self.wake)
            with contextlib.suppress(Exception):
                async with self.db.transaction() as tx:
                    await provider_inbox.release(tx, self.name)
            await self.close()

    async def close(self) -> None:
        with contextlib.suppress(Exception):
            await self.pools.close()


async def _status(
    tx: Transaction, channel_id: int, report: StatusReport, known: Row | None
) -> None:
    entry = msgspec.json.encode(MessageStatus.at(report.value, report.at_ms, report.reason))
    if known is None:
        # The send's answer with this id may not be recorded yet: applied once it is.
        await messages_repo.stash_early_status(
            tx,
            channel_id,
            channel_message_id=report.provider_id,
            status=entry,
            value=report.value,
            now=common.now(),
        )
        return
    if known["traffic"] != "outgoing":
        return
    await messages_repo.report_status(
        Scope(tx, known["workspace_id"]),
        known,
        value=report.value,
        status=entry,
        now=report.at_ms // 1000,
    )


async def _share_phone(sc: Scope[Transaction], contact_id: int, phone: str) -> None:
    """A Telegram user shared their own number: it becomes the contact's phone, unless the
    contact has one or another contact holds it (then nothing changes)."""
    current = await contacts.lock(sc, Identifier("id", contact_id))
    if current["phone"]:
        return
    try:
        async with sc.conn.savepoint():
            await contacts.update_contact(
                sc, Identifier("id", contact_id), fields=ContactFields(phone=phone)
            )
    except (BadRequest, Conflict) as exc:
        log.info("contact %s shared phone %s, not kept: %s", contact_id, phone[:32], exc)


def _kind(media: MediaRef, data: bytes, declared: str | None) -> tuple[str, str, str]:
    """(content type, attachment type, file name) of a fetched file: its first bytes decide;
    audio and video they do not show (AAC, AMR, 3GP voice notes) keep the provider's type;
    anything else is kept as an opaque download."""
    name = _NAME.sub("_", media.file_name or "").strip(" .")[:120]
    try:
        content_type, kind = attachments.sniff(data, name or "file")
    except Exception:
        content_type, kind = "application/octet-stream", "file"
        stated = (declared or "").split(";", 1)[0].strip().lower()
        if _MEDIA_TYPE.fullmatch(stated):
            content_type, kind = stated, stated.split("/", 1)[0]
    if not name:
        name = f"{media.kind}{_EXTENSIONS.get(content_type, '')}"
    return content_type, kind, name
