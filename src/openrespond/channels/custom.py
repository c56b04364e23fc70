"""The ``custom_channel`` driver: respond.io's Custom Channel protocol over real HTTP.

Outgoing: ``POST <apiBaseUrl>/message`` with ``Authorization: Bearer <channel token>`` and
``{channelId, contactId, message}``; the bridge answers ``200 {"mId": ...}`` (stored as the
message's ``channelMessageId``, status ``sent``), a 4xx with ``{"error": {"message": ...}}``
(the message fails with that reason), or a 5xx / nothing (retried with backoff until the
delivery deadline).
"""

from __future__ import annotations

import json
from typing import Any

import httpx

from openrespond.channels import settings as channel_settings
from openrespond.channels.drivers import Job, Outcome
from openrespond.channels.providers import Pools
from openrespond.db import Connection
from openrespond.net import ForbiddenAddress, Networks
from openrespond.sealing import Sealer, SealError

__all__ = ["CustomChannelDriver"]

MAX_REASON = 500
PER_BRIDGE = 8


def _reason(resp: httpx.Response) -> str:
    """The bridge's ``error.message``, else the start of its answer."""
    try:
        data = resp.json()
    except ValueError:
        data = None
    if isinstance(data, dict):
        error = data.get("error")
        message = error.get("message") if isinstance(error, dict) else data.get("message")
        if isinstance(message, str) and message:
            return message[:MAX_REASON]
    text = resp.text.strip()[:200]
    return f"HTTP {resp.status_code}" + (f": {text}" if text else "")


class CustomChannelDriver:
    """Posts messages to the channel's bridge."""

    inline = False

    def __init__(
        self,
        sealer: Sealer,
        networks: Networks,
        *,
        timeout_seconds: float = 10,
        per_bridge: int = PER_BRIDGE,
    ) -> None:
        self.sealer = sealer
        self.timeout_seconds = timeout_seconds
        # A few keep-alive connections carry the most per second (httpcore's pool costs
        # grow with its size), and a slow bridge does not hold up the others.
        self.pools = Pools(networks, timeout_seconds=timeout_seconds, per_origin=per_bridge)

    async def close(self) -> None:
        await self.pools.close()

    async def send(self, job: Job) -> Outcome:
        if job.address is None:
            return Outcome(("failed",), error="the contact has no address on this channel")
        try:
            token = channel_settings.secret(job.settings, "custom_channel", self.sealer)
        except SealError as exc:
            return Outcome(("failed",), error=f"channel token unusable: {exc}")
        base = str(job.settings.get("apiBaseUrl", "")).rstrip("/")
        if not base or token is None:
            return Outcome(("failed",), error="channel settings lack apiBaseUrl or token")
        body: dict[str, Any] = {
            "channelId": str(job.channel_id),
            "contactId": job.address,
            "message": json.loads(job.content),
        }
        client, gate = self.pools.get(base)
        try:
            async with gate:
                resp = await client.post(
                    f"{base}/message",
                    json=body,
                    headers={"Authorization": f"Bearer {token}"},
                )
        except ForbiddenAddress as exc:
            # Refused by the network rules: trying again would be refused again.
            return Outcome(("failed",), error=f"bridge address refused: {exc}")
        except httpx.TimeoutException:
            return Outcome(
                retry=True, error=f"bridge gave no answer within {self.timeout_seconds:g} s"
            )
        except httpx.HTTPError as exc:
            return Outcome(
                retry=True, error=f"bridge unreachable: {type(exc).__name__}: {exc}"[:MAX_REASON]
            )
        if 200 <= resp.status_code < 300:
            try:
                data = resp.json()
            except ValueError:
                data = None
            m_id = data.get("mId") if isinstance(data, dict) else None
            if not isinstance(m_id, (str, int)) or isinstance(m_id, bool) or not str(m_id):
                return Outcome(retry=True, error="bridge answered without an mId")
            return Outcome(("sent",), channel_message_id=str(m_id)[:255])
        if 400 <= resp.status_code < 500 and resp.status_code not in (408, 429):
            return Outcome(("failed",), error=_reason(resp))
        return Outcome(retry=True, error=_reason(resp))

    async def record(
        self, tx: Connection, done: list[tuple[Job, Outcome]], *, worker: str, now: int
    ) -> None:
        """Nothing beyond the message itself."""
