"""Channel configuration: the source clients see, the driver that delivers, its settings."""

from __future__ import annotations

import json
from typing import Any

from openrespond import signals
from openrespond.channels import settings as channel_settings
from openrespond.common import now
from openrespond.db import Connection, IntegrityError, Row, Scope, Transaction
from openrespond.errors import BadRequest, Conflict, NotFound
from openrespond.net import Networks
from openrespond.sealing import Sealer
from openrespond.space import repository as repo
from openrespond.space.schemas import (
    CHANNEL_SOURCES,
    Channel,
    ControlChannel,
)
from openrespond.space.workspaces import existing
from openrespond.validation import clean

__all__ = [
    "DRIVERS",
    "channel_from_row",
    "check_channel_settings",
    "control_channel_from_row",
    "create_channel",
    "delete_channel",
    "get_channel",
    "list_channels",
    "update_channel",
]


DRIVERS = ("sandbox", "custom_channel", "smtp", "whatsapp_cloud", "telegram", "twilio")
# Drivers whose channels the channel upkeep looks after (webhooks, polling, templates).
PROVIDER_DRIVERS = ("whatsapp_cloud", "telegram")


def channel_from_row(row: Row) -> Channel:
    return Channel(
        id=row["id"], name=row["name"], source=row["source"], created_at=row["created_at"]
    )


async def create_channel(
    sc: Scope[Transaction],
    *,
    name: str,
    source: str,
    driver: str = "sandbox",
    settings: dict[str, Any] | None = None,
    channel_id: int | None = None,
    sealer: Sealer | None = None,
    networks: Networks | None = None,
) -> Row:
    """A workspace channel with the ``source`` clients see and the ``driver`` that delivers
    (its settings checked, secrets sealed with ``sealer``; a bridge or SMTP server must be
    reachable under ``networks``)."""
    await existing(sc)
    name = clean(name)
    if not 1 <= len(name) <= 255:
        raise BadRequest("name must be 1-255 characters")
    if source not in CHANNEL_SOURCES:
        raise BadRequest(f"source must be one of {', '.join(CHANNEL_SOURCES)}, got {source!r}")
    if driver not in DRIVERS:
        raise BadRequest(f"driver must be one of {', '.join(DRIVERS)}, got {driver!r}")
    if channel_id is not None and not 0 < channel_id < 2**53:
        raise BadRequest("id must be a positive integer")
    stored = channel_settings.prepare(driver, source, settings, sealer=sealer)
    # Addresses only: names were looked up before the transaction (check_channel_settings).
    await channel_settings.check_reachable(driver, stored, networks, lookup=False)
    try:
        new_id = await repo.insert_channel(
            sc,
            id=channel_id,
            name=name,
            source=source,
            driver=driver,
            settings=json.dumps(stored),
            created_at=now(),
        )
    except IntegrityError:
        raise Conflict(f"channel id {channel_id} is already taken") from None
    if driver in PROVIDER_DRIVERS:
        sc.conn.announce(signals.channels)  # its webhook is registered, its polling begun
    row = await repo.get_channel(sc, new_id)
    assert row is not None
    return row


async def check_channel_settings(
    sc: Scope[Connection],
    *,
    settings: dict[str, Any] | None,
    networks: Networks,
    driver: str | None = None,
    channel_id: int | None = None,
) -> None:
    """Look up where new delivery settings point (the bridge's or SMTP server's name), before
    the write transaction that stores them begins: a lookup can take seconds. The driver is
    given (a new channel) or read (channel ``channel_id``; one that does not exist is left to
    the write to answer)."""
    if driver is None and channel_id is not None:
        row = await repo.get_channel(sc, channel_id)
        driver = None if row is None else row["driver"]
    if driver is not None:
        await channel_settings.check_reachable(driver, settings, networks, lookup=True)


async def get_channel(sc: Scope[Connection], channel_id: int) -> Row:
    row = await repo.get_channel(sc, channel_id)
    if row is None:
        raise NotFound(f"channel {channel_id} not found")
    return row


async def update_channel(
    sc: Scope[Transaction],
    channel_id: int,
    *,
    name: str | None = None,
    settings: dict[str, Any] | None = None,
    sealer: Sealer | None = None,
    networks: Networks | None = None,
) -> Row:
    """Rename a channel or replace its delivery settings; its source and driver stay, and a
    secret the new settings leave out keeps its value. A bridge or SMTP server must be
    reachable under ``networks``."""
    if name is not None:
        name = clean(name)
        if not 1 <= len(name) <= 255:
            raise BadRequest("name must be 1-255 characters")
    encoded = None
    if settings is not None:
        # Locked: a concurrent change of the same channel waits, and a secret it set is kept.
        current = await repo.get_channel(sc, channel_id, for_update=True)
        if current is None:
            raise NotFound(f"channel {channel_id} not found")
        stored = channel_settings.prepare(
            current["driver"],
            current["source"],
            settings,
            sealer=sealer,
            current=json.loads(current["settings"] or "{}"),
        )
        await channel_settings.check_reachable(current["driver"], stored, networks, lookup=False)
        encoded = json.dumps(stored)
    if not await repo.update_channel(sc, channel_id, name=name, settings=encoded):
        raise NotFound(f"channel {channel_id} not found")
    if encoded is not None:
        sc.conn.announce(signals.channels)
    return await get_channel(sc, channel_id)


async def delete_channel(sc: Scope[Transaction], channel_id: int) -> None:
    if not await repo.delete_channel(sc, channel_id):
        raise NotFound(f"channel {channel_id} not found")
    sc.conn.announce(signals.channels)  # a bot polled for it is let go


def control_channel_from_row(row: Row) -> ControlChannel:
    """A channel as the control API shows it: with the driver that delivers."""
    return ControlChannel(
        id=row["id"],
        name=row["name"],
        source=row["source"],
        created_at=row["created_at"],
        driver=row["driver"],
    )


async def list_channels(sc: Scope[Connection]) -> list[ControlChannel]:
    await existing(sc)
    return [control_channel_from_row(r) for r in await repo.all_channels(sc)]
