"""``openrespond doctor``: checks a deployment's configuration, database, schema, stores and
endpoints, and says in plain words what is wrong.

Nothing is changed: the schema is read, not migrated; endpoints are checked by resolving their
host under the same SSRF rules the workers apply and opening a TCP connection, without
sending a request. Each check ends ``ok``, ``warn`` (worth knowing, not a failure) or
``fail``.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import tempfile
import time
from dataclasses import dataclass
from typing import Any, Literal
from urllib.parse import urlsplit, urlunsplit

import httpx

from openrespond.channels import delivery_queue
from openrespond.db import Database, open_database
from openrespond.db.migrations import available
from openrespond.net import ForbiddenAddress, Networks, parse_networks, resolve
from openrespond.settings import ConfigError, Settings
from openrespond.space import repository as space
from openrespond.space import workspaces as space_workspaces
from openrespond.webhooks import repository as webhooks

__all__ = ["Check", "diagnose", "redacted"]

Level = Literal["ok", "warn", "fail"]
TIMEOUT_SECONDS = 5.0
# A queue whose oldest entry is older than this suggests no worker is running.
STALE_SECONDS = 300


@dataclass(frozen=True, slots=True)
class Check:
    name: str
    level: Level
    detail: str


def redacted(url: str) -> str:
    """``url`` with any password replaced by ``***``."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    netloc = f"{parts.username}:***@{host}" + (f":{parts.port}" if parts.port else "")
    return urlunsplit(parts._replace(netloc=netloc))


async def diagnose(env: dict[str, str] | None = None) -> list[Check]:
    """Every check, in order; later checks are skipped when what they need failed."""
    env = dict(os.environ if env is None else env)
    checks: list[Check] = []
    try:
        settings = Settings.from_env(env)
    except ConfigError as exc:
        return [Check("configuration", "fail", str(exc))]
    checks += _configuration(settings, env)
    if settings.dialect == "sqlite" and not await asyncio.to_thread(
        os.path.exists, settings.sqlite_path
    ):
        checks.append(
            Check(
                "database",
                "fail",
                f"no database file at {settings.sqlite_path}: `openrespond migrate` or `serve`"
                " creates it (is OPENRESPOND_DATABASE_URL the one the server uses?)",
            )
        )
        return checks
    db = open_database(settings)
    try:
        await asyncio.wait_for(db.connect(), TIMEOUT_SECONDS)
        await asyncio.wait_for(db.reader().fetch_val("SELECT 1"), TIMEOUT_SECONDS)
    except Exception as exc:
        checks.append(
            Check(
                "database",
                "fail",
                f"cannot reach {redacted(settings.database_url)}: {_reason(exc)}",
            )
        )
        with contextlib.suppress(Exception):
            await db.close()
        return checks
    try:
        checks.append(Check("database", "ok", f"{db.dialect} at {redacted(settings.database_url)}"))
        schema = await _schema(db)
        checks.append(schema)
        if schema.level != "fail":
            checks += await _queues(db)
            networks, check = await _networks(db, settings, env)
            checks.append(check)
            checks += await _endpoints(db, networks)
    finally:
        await db.close()
    if settings.redis_url:
        checks.append(await _redis(settings.redis_url))
    return checks


def _configuration(settings: Settings, env: dict[str, str]) -> list[Check]:
    out = [Check("configuration", "ok", "every OPENRESPOND_* variable is valid")]
    if settings.admin_token is None:
        out.append(
            Check(
                "admin token",
                "warn",
                "OPENRESPOND_ADMIN_TOKEN is not set: `serve` starts only with --demo (which"
                " makes one per run), and the control API has no fixed token",
            )
        )
    if settings.host in ("0.0.0.0", "::") and settings.public_url is None:
        out.append(
            Check(
                "public URL",
                "warn",
                f"listening on {settings.host} without OPENRESPOND_PUBLIC_URL: pagination links"
                " and custom-channel webhook URLs name the address the client used",
            )
        )
    if directory := env.get("OPENRESPOND_METRICS_DIR"):
        out.append(_metrics_dir(directory))
    return out


def _metrics_dir(directory: str) -> Check:
    if not os.path.isdir(directory):
        return Check(
            "metrics directory",
            "fail",
            f"OPENRESPOND_METRICS_DIR {directory!r} is not a directory: create it (empty) first",
        )
    try:
        with tempfile.NamedTemporaryFile(dir=directory, prefix=".doctor-"):
            pass
    except OSError as exc:
        return Check("metrics directory", "fail", f"cannot write to {directory!r}: {exc.strerror}")
    return Check("metrics directory", "ok", f"{directory} is writable")


async def _schema(db: Database) -> Check:
    shipped = {m.version for m in available(db.dialect)}
    try:
        rows = await db.reader().fetch_all("SELECT version FROM schema_migrations")
    except Exception:
        return Check(
            "schema",
            "fail",
            "the database has no openrespond schema yet: run `openrespond migrate`",
        )
    applied = {row[0] for row in rows}
    if unknown := applied - shipped:
        return Check(
            "schema",
            "fail",
            f"the database has migration(s) {', '.join(map(str, sorted(unknown)))} that this"
            " build does not know: it was migrated by a newer openrespond; upgrade this one",
        )
    if missing := shipped - applied:
        return Check(
            "schema",
            "fail",
            f"{len(missing)} migration(s) pending ({', '.join(map(str, sorted(missing)))}):"
            " run `openrespond migrate` (serve also applies them when it starts)",
        )
    return Check("schema", "ok", f"at version {max(shipped)}, current")


async def _queues(db: Database) -> list[Check]:
    now_ms = time.time() * 1000
    out = []
    for name, (depth, oldest) in (
        ("delivery queue", await delivery_queue.queue_stats(db.reader())),
        ("webhook queue", await webhooks.queue_stats(db.reader())),
    ):
        age = (now_ms - oldest) / 1000 if oldest is not None else 0.0
        if depth and age > STALE_SECONDS:
            out.append(
                Check(
                    name,
                    "warn",
                    f"{depth} waiting, the oldest for {age / 60:.0f} min: are workers running"
                    " (serve without --no-worker, or `openrespond worker`), and can they reach"
                    " the endpoints below?",
                )
            )
        else:
            out.append(Check(name, "ok", f"{depth} waiting"))
    return out


async def _networks(
    db: Database, settings: Settings, env: dict[str, str]
) -> tuple[Networks, Check]:
    """The non-public networks endpoints are judged by: this shell's
    OPENRESPOND_ALLOW_PRIVATE_NETWORKS when it sets one, else what the server last started
    with (kept in the database), so that a doctor run from a plain shell agrees with a server
    started otherwise (``make demo`` allows loopback receivers)."""
    name = "allowed networks"
    recorded = await space_workspaces.server_networks(db.reader())
    mine = settings.allow_private_networks or "none"
    if "OPENRESPOND_ALLOW_PRIVATE_NETWORKS" in env:
        if recorded is not None and recorded[0] != settings.allow_private_networks:
            return settings.networks, Check(
                name,
                "warn",
                f"this shell allows {mine}, but the server last started allowing"
                f" {recorded[0] or 'none'}: endpoints are judged by this shell's setting",
            )
        return settings.networks, Check(name, "ok", f"{mine} (OPENRESPOND_ALLOW_PRIVATE_NETWORKS)")
    if recorded is None:
        return settings.networks, Check(
            name,
            "ok",
            "none (OPENRESPOND_ALLOW_PRIVATE_NETWORKS is not set, and no server has run)",
        )
    when = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime(recorded[1]))
    return parse_networks(recorded[0]), Check(
        name,
        "ok",
        f"{recorded[0] or 'none'}, as the server allows (its setting since {when});"
        " set OPENRESPOND_ALLOW_PRIVATE_NETWORKS to check another setting",
    )


async def _endpoints(db: Database, networks: Networks) -> list[Check]:
    """Each webhook subscription and each channel whose driver connects out."""
    targets: list[tuple[str, str, int, str | None]] = []  # name, URL, port, disabled reason
    for row in await webhooks.endpoints(db.reader()):
        disabled = None if row["enabled"] else (row["disabled_reason"] or "disabled by its owner")
        name = f"endpoint of webhook {row['id']} (workspace {row['workspace_id']})"
        targets.append((name, row["url"], 0, disabled))
    for row in await space.delivery_channels(db.reader()):
        name = (
            f"endpoint of channel {row['id']} {row['name']!r}"
            f" (workspace {row['workspace_id']}, {row['driver']})"
        )
        settings: dict[str, Any] = json.loads(row["settings"] or "{}")
        if row["driver"] == "smtp":
            url, port = f"smtp://{settings.get('host', '')}", int(settings.get("port", 587))
        else:
            url, port = str(settings.get("apiBaseUrl", "")), 0
        targets.append((name, url, port, None))
    return list(await asyncio.gather(*(_reach(*target, networks) for target in targets)))


async def _reach(name: str, url: str, port: int, disabled: str | None, networks: Networks) -> Check:
    parts = urlsplit(url)
    host = parts.hostname
    if not host:
        return Check(name, "fail", f"{url!r} has no host")
    try:
        port = port or parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError:
        return Check(name, "fail", f"{url!r} has an invalid port")
    where = f"{host}:{port}"
    try:
        addresses = await asyncio.wait_for(resolve(host, port, networks), TIMEOUT_SECONDS)
    except ForbiddenAddress as exc:
        return Check(
            name,
            "fail",
            f"{where}: {exc}; workers will not connect to it (allow its network with"
            " OPENRESPOND_ALLOW_PRIVATE_NETWORKS if that is intended)",
        )
    except (httpx.HTTPError, TimeoutError) as exc:
        return Check(name, "fail", f"{where}: {_reason(exc)}")
    error = ""
    for address in addresses:
        try:
            _, writer = await asyncio.wait_for(
                asyncio.open_connection(address, port), TIMEOUT_SECONDS
            )
        except (OSError, TimeoutError) as exc:
            error = _reason(exc)
            continue
        writer.close()
        with contextlib.suppress(OSError):
            await writer.wait_closed()
        if disabled is not None:
            return Check(
                name,
                "warn",
                f"{where} accepts connections, but the subscription is off: {disabled}",
            )
        return Check(name, "ok", f"{where} accepts connections")
    return Check(name, "fail", f"{where} does not accept connections: {error}")


async def _redis(url: str) -> Check:
    import redis.asyncio as redis

    client: Any = redis.from_url(
        url, socket_timeout=TIMEOUT_SECONDS, socket_connect_timeout=TIMEOUT_SECONDS
    )
    try:
        await client.ping()
    except Exception as exc:
        return Check(
            "redis",
            "fail",
            f"cannot reach {redacted(url)}: {_reason(exc)} (rate limits then let requests through)",
        )
    finally:
        await client.aclose()
    return Check("redis", "ok", f"{redacted(url)} answers")


def _reason(exc: BaseException) -> str:
    if isinstance(exc, TimeoutError):
        return f"no answer within {TIMEOUT_SECONDS:g} s"
    text = str(exc).strip()
    if isinstance(exc, OSError) and exc.strerror:
        text = exc.strerror
    return text or type(exc).__name__
