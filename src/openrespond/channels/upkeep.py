"""Channel upkeep: what providers' channels need besides sending and receiving.

- Telegram: the bot's webhook is registered with ``setWebhook`` (and its secret) when the
  channel is created or changed, or when the server's public address changes; without a
  public HTTPS address (or with ``mode: polling``) the bot is long-polled with ``getUpdates``
  instead, by one process at a time (a lease), each batch of updates stored in the
  transaction that moves the offset past them.
- WhatsApp Cloud: approved templates are synchronised from the Graph API's
  ``message_templates`` every ``template_sync_seconds`` (and on demand, see
  ``sync_templates``).

Problems are kept on the channel's state (``error``) for its settings page.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import logging
import os
import socket
import uuid
from typing import Any

import httpx

from openrespond import common, signals
from openrespond.channels import provider_channels, provider_inbox, telegram, whatsapp
from openrespond.channels import settings as channel_settings
from openrespond.channels.providers import MAX_REASON, Pools
from openrespond.db import Database, Row, Scope
from openrespond.messages import repository as messages_repo
from openrespond.messages.attachments import MediaDirectory
from openrespond.net import Networks
from openrespond.sealing import Sealer, SealError
from openrespond.space import templates as space_templates

__all__ = ["ChannelUpkeep", "read_templates_now", "sync_templates"]

log = logging.getLogger("openrespond.upkeep")


def telegram_mode(settings: dict[str, Any], public_url: str | None) -> str:
    """``webhook`` or ``polling``: what a Telegram channel uses on this server."""
    mode = settings.get("mode") or "auto"
    if mode == "auto":
        return "webhook" if public_url and public_url.startswith("https://") else "polling"
    return str(mode)


async def sync_templates(
    db: Database, pools: Pools, channel: Row, *, sealer: Sealer
) -> tuple[int, int, int]:
    """Bring a WhatsApp Cloud channel's templates in line with the Graph API's; (added,
    changed, removed). Raises ``whatsapp.TemplateSyncError`` naming what went wrong."""
    settings: dict[str, Any] = json.loads(channel["settings"] or "{}")
    found = await whatsapp.fetch_templates(pools, settings, sealer=sealer)
    async with db.transaction() as tx:
        counts = await space_templates.sync_templates(
            Scope(tx, channel["workspace_id"]), channel["id"], items=found
        )
        await provider_channels.set_state(
            tx, channel["id"], {"templatesSyncedAt": common.now_ms(), "templatesError": None}
        )
    return counts


async def read_templates_now(
    db: Database, channel: Row, *, sealer: Sealer, networks: Networks, timeout_seconds: float
) -> tuple[int, int, int]:
    """``sync_templates`` when someone asks for it (its own connections, closed after)."""
    pools = Pools(networks, timeout_seconds=timeout_seconds)
    try:
        return await sync_templates(db, pools, channel, sealer=sealer)
    finally:
        await pools.close()


class ChannelUpkeep:
    """Registers webhooks, long-polls bots and synchronises templates until told to stop."""

    def __init__(
        self,
        db: Database,
        sealer: Sealer,
        networks: Networks,
        *,
        public_url: str | None,
        name: str | None = None,
        check_seconds: float = 30.0,
        poll_timeout_seconds: int = 25,
        lease_seconds: float = 60.0,
        template_sync_seconds: float = 3600.0,
        retry_seconds: float = 5.0,
        timeout_seconds: float = 10.0,
        media: MediaDirectory | None = None,
    ) -> None:
        self.db = db
        self.sealer = sealer
        self.public_url = public_url.rstrip("/") if public_url else None
        self.name = name or f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self.check_seconds = check_seconds
        self.poll_timeout_seconds = poll_timeout_seconds
        self.lease_ms = int(lease_seconds * 1000)
        self.template_sync_ms = int(template_sync_seconds * 1000)
        self.retry_seconds = retry_seconds
        self.media = media
        self.pools = Pools(networks, timeout_seconds=timeout_seconds)
        # Long polls hold their connection for the poll's timeout, beyond the usual one.
        self.poll_pools = Pools(networks, timeout_seconds=poll_timeout_seconds + timeout_seconds)
        self._wake = signals.Flag()
        self._polls: dict[int, asyncio.Task[None]] = {}

    def wake(self) -> None:
        self._wake.set()

    async def run_once(self) -> None:
        """Look at every provider's channel once (register, start or stop polling, sync)."""
        rows = await provider_channels.channels_of(self.db.reader(), ("telegram", "whatsapp_cloud"))
        polling: set[int] = set()
        for row in rows:
            try:
                if row["driver"] == "telegram":
                    if await self._telegram(row):
                        polling.add(row["id"])
                elif row["driver"] == "whatsapp_cloud":
                    await self._whatsapp(row)
            except Exception:
                log.exception("upkeep of channel %s failed", row["id"])
        for channel_id in set(self._polls) - polling:
            self._polls.pop(channel_id).cancel()
        for channel_id in polling - set(self._polls):
            self._polls[channel_id] = asyncio.create_task(self._poll(channel_id))
        stranded = await messages_repo.stranded_early_statuses(self.db.reader())
        if stranded:
            async with self.db.transaction() as tx:
                await messages_repo.apply_early_statuses_many(tx, stranded)
        if self.media is not None:
            try:
                removed = await self.media.sweep(self.db.reader())
                if removed:
                    log.info("removed %s files no message uses any more", removed)
            except OSError:
                log.exception("sweeping the media directory failed")

    async def _telegram(self, row: Row) -> bool:
        """Register or drop the bot's webhook as its mode needs; whether to poll it."""
        settings: dict[str, Any] = json.loads(row["settings"] or "{}")
        state: dict[str, Any] = json.loads(row["state"] or "{}")
        mode = telegram_mode(settings, self.public_url)
        if mode == "webhook" and not self.public_url:
            needs = "webhook mode needs the server's public address (OPENRESPOND_PUBLIC_URL)"
            await self._note(row["id"], {"mode": mode, "error": needs})
            return False
        wanted = f"{self.public_url}/hooks/telegram/{row['id']}" if mode == "webhook" else ""
        registered = state.get("webhook", "")
        # The settings' digest: a new token or secret registers the webhook again.
        digest = hashlib.sha256((row["settings"] or "").encode()).hexdigest()[:16]
        if registered == wanted and state.get("webhookFor") == digest:
            return mode == "polling"
        try:
            token = telegram.token_of(settings, self.sealer)
            secret = channel_settings.secret(settings, "telegram", self.sealer, "webhookSecret")
        except SealError as exc:
            await self._note(row["id"], {"error": f"channel secrets unusable: {exc}"})
            return False
        if token is None:
            return False
        if wanted:
            params: dict[str, Any] = {
                "url": wanted,
                "secret_token": secret,
                "allowed_updates": telegram.ALLOWED_UPDATES,
            }
            method = "setWebhook"
        else:
            params, method = {"drop_pending_updates": False}, "deleteWebhook"
        problem = await self._call(settings, token, method, params)
        changes: dict[str, Any] = {"mode": mode}
        if problem is None:
            changes.update(webhook=wanted or None, webhookFor=digest, error=None, errorAt=None)
            log.info("channel %s: %s done (%s)", row["id"], method, mode)
        else:
            changes.update(error=f"{method}: {problem}", errorAt=common.now_ms())
            log.warning("channel %s: %s failed: %s", row["id"], method, problem)
        await self._note(row["id"], changes)
        return mode == "polling" and problem is None

    async def _call(
        self, settings: dict[str, Any], token: str, method: str, params: dict[str, Any]
    ) -> str | None:
        """None when the Bot API did it, else why not."""
        try:
            resp = await telegram.api_call(self.pools, settings, token, method, params)
        except httpx.HTTPError as exc:
            return f"Bot API unreachable: {type(exc).__name__}"
        if resp.status_code == 200:
            return None
        description, _ = telegram.error_of(resp)
        return telegram.scrub(description, token)

    async def _note(self, channel_id: int, changes: dict[str, Any]) -> None:
        async with self.db.transaction() as tx:
            await provider_channels.set_state(tx, channel_id, changes)

    async def _whatsapp(self, row: Row) -> None:
        settings: dict[str, Any] = json.loads(row["settings"] or "{}")
        if not settings.get("businessAccountId") or self.template_sync_ms <= 0:
            return
        state: dict[str, Any] = json.loads(row["state"] or "{}")
        last = max(state.get("templatesSyncedAt") or 0, state.get("templatesTriedAt") or 0)
        if common.now_ms() - last < self.template_sync_ms:
            return
        try:
            added, changed, removed = await sync_templates(
                self.db, self.pools, row, sealer=self.sealer
            )
            log.info(
                "channel %s: templates synchronised (%s new, %s changed, %s removed)",
                row["id"],
                added,
                changed,
                removed,
            )
        except whatsapp.TemplateSyncError as exc:
            await self._note(
                row["id"],
                {"templatesError": str(exc)[:MAX_REASON], "templatesTriedAt": common.now_ms()},
            )

    async def _poll(self, channel_id: int) -> None:
        """Long-poll one bot while this process holds its lease; store what comes."""
        while True:
            try:
                wait = await self._poll_once(channel_id)
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("polling channel %s failed", channel_id)
                wait = self.retry_seconds
            if wait:
                await asyncio.sleep(wait)

    async def _poll_once(self, channel_id: int) -> float:
        """One getUpdates; how long to wait before the next (0: at once)."""
        async with self.db.transaction() as tx:
            offset = await provider_channels.claim_poll(
                tx,
                channel_id,
                owner=self.name,
                now_ms=common.now_ms(),
                lease_ms=self.lease_ms,
            )
            row = await provider_channels.one(tx, channel_id)
        if offset is None or row is None:
            return self.retry_seconds  # another process polls this bot
        settings: dict[str, Any] = json.loads(row["settings"] or "{}")
        token = telegram.token_of(settings, self.sealer)
        if token is None:
            return self.retry_seconds
        params = {
            "offset": offset,
            "timeout": self.poll_timeout_seconds,
            "allowed_updates": telegram.ALLOWED_UPDATES,
        }
        try:
            resp = await telegram.api_call(self.poll_pools, settings, token, "getUpdates", params)
        except httpx.HTTPError as exc:
            log.warning("channel %s: getUpdates failed: %s", channel_id, type(exc).__name__)
            return self.retry_seconds
        if resp.status_code != 200:
            description, retry_after = telegram.error_of(resp)
            await self._note(
                channel_id,
                {
                    "error": f"getUpdates: {telegram.scrub(description, token)}",
                    "errorAt": common.now_ms(),
                },
            )
            return float(retry_after or self.retry_seconds)
        updates = resp.json().get("result") or []
        if not updates:
            return 0.0
        next_offset = max(int(u["update_id"]) for u in updates) + 1
        now = common.now_ms()
        async with self.db.transaction() as tx:
            if await provider_channels.advance_poll(
                tx, channel_id, owner=self.name, next_offset=next_offset
            ):
                for update in updates:
                    await provider_inbox.put(
                        tx,
                        channel_id,
                        content_type="application/json",
                        body=json.dumps(update),
                        now_ms=now,
                    )
        return 0.0

    async def run(self, stop: asyncio.Event) -> None:
        signals.channels.connect(self.db, self.wake)
        try:
            while not stop.is_set():
                self._wake.clear()
                try:
                    await self.run_once()
                except Exception:
                    log.exception("channel upkeep failed; retrying")
                await signals.wait_any(self.check_seconds, stop, self._wake)
        finally:
            signals.channels.disconnect(self.db, self.wake)
            for task in self._polls.values():
                task.cancel()
            for task in self._polls.values():
                with contextlib.suppress(BaseException):
                    await task
            self._polls.clear()
            with contextlib.suppress(Exception):
                async with self.db.transaction() as tx:
                    await provider_channels.release_polls(tx, self.name)
            await self.close()

    async def close(self) -> None:
        with contextlib.suppress(Exception):
            await self.pools.close()
            await self.poll_pools.close()
