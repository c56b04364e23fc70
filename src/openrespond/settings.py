"""Configuration, read once from ``OPENRESPOND_*`` environment variables."""

from __future__ import annotations

import ipaddress
import os
from collections.abc import Mapping
from dataclasses import dataclass, replace
from urllib.parse import urlsplit

from openrespond.net import Networks, parse_networks

__all__ = ["ConfigError", "Settings"]

MIN_TOKEN_LENGTH = 16


class ConfigError(Exception):
    """A configuration value is unusable; the message says which and why."""


# The HTTP servers `openrespond serve` can run (docs/deployment.md says what each keeps).
SERVERS = ("uvicorn", "granian")


@dataclass(frozen=True, slots=True)
class Settings:
    """Everything the server and the CLI read from the environment."""

    database_url: str = "sqlite:///openrespond.db"
    host: str = "127.0.0.1"
    port: int = 8000
    admin_token: str | None = None
    demo_token: str | None = None
    public_url: str | None = None
    # Peers whose X-Forwarded-Proto/-Host say how clients addressed the server (a reverse
    # proxy); nobody's by default.
    trusted_proxies: str = ""
    rate_limit_per_second: float = 50.0
    secret_key: str | None = None
    max_body_bytes: int = 1024 * 1024
    idempotency_ttl_seconds: int = 24 * 3600
    worker: bool = True
    lease_seconds: int = 30
    worker_poll_ms: int | None = None
    retry_base_ms: int = 1000
    allow_private_networks: str = ""
    webhook_retry_seconds: int = 3 * 24 * 3600
    webhook_timeout_seconds: int = 10
    delivery_deadline_seconds: int = 24 * 3600
    webhook_log_days: int = 7
    # The workspace's API request log (the console): kept this many days, and at most this
    # many requests per workspace; 0 days records nothing.
    api_log_days: int = 7
    api_log_max_rows: int = 50_000
    # Providers' channels: inbound media kept up to this size; WhatsApp templates read from
    # the Graph API this often (0: only on demand); a Telegram long poll waits this long.
    media_max_bytes: int = 16 * 1024 * 1024
    # Files (received from providers, attached in the inbox) kept in this directory, which
    # every process must share, instead of the database.
    media_dir: str | None = None
    template_sync_seconds: int = 3600
    telegram_poll_seconds: int = 25
    db_pool_size: int = 10
    log_format: str = "text"
    log_level: str = "info"
    redis_url: str | None = None
    metrics_token: str | None = None
    shutdown_grace_seconds: int = 30
    header_timeout_seconds: float = 10.0
    body_timeout_seconds: float = 5.0
    max_connections: int = 1000
    # The HTTP server of `openrespond serve`: "uvicorn" or "granian".
    server: str = "uvicorn"
    # Browser sessions end after this long without a request, and this long after sign-in.
    session_idle_seconds: int = 8 * 3600
    session_max_seconds: int = 7 * 24 * 3600

    @property
    def worker_poll_seconds(self) -> float:
        """How often an idle worker looks for due work: 10 ms on SQLite (a local read);
        250 ms on PostgreSQL, where a NOTIFY wakes workers at once and polling only catches
        what a lost notification would miss (retries coming due, a listener reconnecting)."""
        if self.worker_poll_ms is not None:
            return self.worker_poll_ms / 1000
        return 0.25 if self.dialect == "postgresql" else 0.01

    @property
    def dialect(self) -> str:
        """``sqlite`` or ``postgresql``, from the database URL's scheme."""
        scheme = urlsplit(self.database_url).scheme
        return "postgresql" if scheme in ("postgresql", "postgres") else scheme

    @property
    def rate_limit_burst(self) -> int:
        """Bucket size: twice the per-second rate, at least one request."""
        return max(1, int(self.rate_limit_per_second * 2))

    @property
    def networks(self) -> Networks:
        """Non-public networks that webhooks and bridges may reach (none by default)."""
        return parse_networks(self.allow_private_networks)

    @property
    def proxies(self) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
        """The reverse proxies whose X-Forwarded-* headers are believed."""
        return parse_networks(self.trusted_proxies).networks

    @property
    def sqlite_path(self) -> str:
        """The file of a ``sqlite:///`` URL (``:memory:`` allowed)."""
        return sqlite_path(self.database_url)

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        """Read and validate the ``OPENRESPOND_*`` variables; raise ConfigError on a bad one."""
        env = os.environ if env is None else env
        s = cls()
        values: dict[str, object] = {}
        if url := env.get("OPENRESPOND_DATABASE_URL"):
            values["database_url"] = url
        if host := env.get("OPENRESPOND_HOST"):
            values["host"] = host
        if port := env.get("OPENRESPOND_PORT"):
            values["port"] = _int("OPENRESPOND_PORT", port, 1, 65535)
        if admin := env.get("OPENRESPOND_ADMIN_TOKEN"):
            values["admin_token"] = _token("OPENRESPOND_ADMIN_TOKEN", admin)
        if demo := env.get("OPENRESPOND_DEMO_TOKEN"):
            values["demo_token"] = _token("OPENRESPOND_DEMO_TOKEN", demo)
        if public := env.get("OPENRESPOND_PUBLIC_URL"):
            parts = urlsplit(public)
            if parts.scheme not in ("http", "https") or not parts.netloc:
                raise ConfigError(
                    f"OPENRESPOND_PUBLIC_URL must be an absolute http(s) URL, got {public!r}"
                )
            values["public_url"] = public.rstrip("/")
        if (rate := env.get("OPENRESPOND_RATE_LIMIT_PER_SECOND")) is not None and rate != "":
            try:
                r = float(rate)
            except ValueError:
                raise ConfigError(
                    f"OPENRESPOND_RATE_LIMIT_PER_SECOND must be a number, got {rate!r}"
                ) from None
            if r < 0 or r != r or r == float("inf"):
                raise ConfigError(
                    "OPENRESPOND_RATE_LIMIT_PER_SECOND must be 0 or a positive number"
                )
            values["rate_limit_per_second"] = r
        if (worker := env.get("OPENRESPOND_WORKER")) is not None and worker != "":
            if worker.lower() not in ("0", "1", "true", "false", "yes", "no", "on", "off"):
                raise ConfigError(f"OPENRESPOND_WORKER must be 1 or 0, got {worker!r}")
            values["worker"] = worker.lower() in ("1", "true", "yes", "on")
        if lease := env.get("OPENRESPOND_LEASE_SECONDS"):
            values["lease_seconds"] = _int("OPENRESPOND_LEASE_SECONDS", lease, 1, 3600)
        if poll := env.get("OPENRESPOND_WORKER_POLL_MS"):
            values["worker_poll_ms"] = _int("OPENRESPOND_WORKER_POLL_MS", poll, 1, 60_000)
        if base := env.get("OPENRESPOND_RETRY_BASE_MS"):
            values["retry_base_ms"] = _int("OPENRESPOND_RETRY_BASE_MS", base, 1, 3_600_000)
        if (nets := env.get("OPENRESPOND_ALLOW_PRIVATE_NETWORKS")) is not None:
            try:
                parse_networks(nets)
            except ValueError as exc:
                raise ConfigError(f"OPENRESPOND_ALLOW_PRIVATE_NETWORKS: {exc}") from None
            values["allow_private_networks"] = nets.strip()
        if proxies := env.get("OPENRESPOND_TRUSTED_PROXIES"):
            if proxies.strip() == "*":
                raise ConfigError(
                    "OPENRESPOND_TRUSTED_PROXIES names the proxies' networks; * would let"
                    " any client say where it came from"
                )
            try:
                parse_networks(proxies)
            except ValueError as exc:
                raise ConfigError(f"OPENRESPOND_TRUSTED_PROXIES: {exc}") from None
            values["trusted_proxies"] = proxies.strip()
        for name, attr, hi in (
            ("OPENRESPOND_WEBHOOK_RETRY_SECONDS", "webhook_retry_seconds", 30 * 24 * 3600),
            ("OPENRESPOND_WEBHOOK_TIMEOUT_SECONDS", "webhook_timeout_seconds", 300),
            ("OPENRESPOND_DELIVERY_DEADLINE_SECONDS", "delivery_deadline_seconds", 30 * 24 * 3600),
            ("OPENRESPOND_WEBHOOK_LOG_DAYS", "webhook_log_days", 3650),
            ("OPENRESPOND_API_LOG_MAX_ROWS", "api_log_max_rows", 100_000_000),
            ("OPENRESPOND_SESSION_IDLE_SECONDS", "session_idle_seconds", 365 * 24 * 3600),
            ("OPENRESPOND_SESSION_MAX_SECONDS", "session_max_seconds", 365 * 24 * 3600),
            ("OPENRESPOND_MEDIA_MAX_BYTES", "media_max_bytes", 100 * 1024 * 1024),
            ("OPENRESPOND_TELEGRAM_POLL_SECONDS", "telegram_poll_seconds", 50),
        ):
            if raw := env.get(name):
                values[attr] = _int(name, raw, 1, hi)
        if media := env.get("OPENRESPOND_MEDIA_DIR"):
            if not os.path.isdir(media) or not os.access(media, os.W_OK | os.X_OK):
                raise ConfigError(
                    f"OPENRESPOND_MEDIA_DIR must be a directory this process can write: {media!r}"
                )
            values["media_dir"] = os.path.abspath(media)
        if (sync := env.get("OPENRESPOND_TEMPLATE_SYNC_SECONDS")) is not None and sync != "":
            values["template_sync_seconds"] = _int(
                "OPENRESPOND_TEMPLATE_SYNC_SECONDS", sync, 0, 7 * 24 * 3600
            )
        if (days := env.get("OPENRESPOND_API_LOG_DAYS")) is not None and days != "":
            values["api_log_days"] = _int("OPENRESPOND_API_LOG_DAYS", days, 0, 3650)
        if fmt := env.get("OPENRESPOND_LOG_FORMAT"):
            if fmt not in ("text", "json"):
                raise ConfigError(f"OPENRESPOND_LOG_FORMAT must be text or json, got {fmt!r}")
            values["log_format"] = fmt
        if level := env.get("OPENRESPOND_LOG_LEVEL"):
            if level.lower() not in ("debug", "info", "warning", "error"):
                raise ConfigError(
                    f"OPENRESPOND_LOG_LEVEL must be debug, info, warning or error, got {level!r}"
                )
            values["log_level"] = level.lower()
        if pool := env.get("OPENRESPOND_DB_POOL_SIZE"):
            values["db_pool_size"] = _int("OPENRESPOND_DB_POOL_SIZE", pool, 1, 1000)
        if redis := env.get("OPENRESPOND_REDIS_URL"):
            if urlsplit(redis).scheme not in ("redis", "rediss", "unix"):
                raise ConfigError(
                    f"OPENRESPOND_REDIS_URL must be a redis:// or rediss:// URL, got {redis!r}"
                )
            values["redis_url"] = redis
        if metrics := env.get("OPENRESPOND_METRICS_TOKEN"):
            values["metrics_token"] = _token("OPENRESPOND_METRICS_TOKEN", metrics)
        if grace := env.get("OPENRESPOND_SHUTDOWN_GRACE_SECONDS"):
            values["shutdown_grace_seconds"] = _int(
                "OPENRESPOND_SHUTDOWN_GRACE_SECONDS", grace, 1, 3600
            )
        for name, attr in (
            ("OPENRESPOND_HEADER_TIMEOUT_SECONDS", "header_timeout_seconds"),
            ("OPENRESPOND_BODY_TIMEOUT_SECONDS", "body_timeout_seconds"),
        ):
            if raw := env.get(name):
                values[attr] = _seconds(name, raw, 0.1, 3600)
        if cap := env.get("OPENRESPOND_MAX_CONNECTIONS"):
            values["max_connections"] = _int("OPENRESPOND_MAX_CONNECTIONS", cap, 1, 1_000_000)
        if server := env.get("OPENRESPOND_SERVER"):
            if server not in SERVERS:
                raise ConfigError(f"OPENRESPOND_SERVER must be uvicorn or granian, got {server!r}")
            values["server"] = server
        if key := env.get("OPENRESPOND_SECRET_KEY"):
            values["secret_key"] = _token("OPENRESPOND_SECRET_KEY", key)
        s = replace(s, **values)  # type: ignore[arg-type]
        s.validate()
        return s

    def validate(self) -> None:
        """Fail fast on a database URL this build cannot use."""
        scheme = urlsplit(self.database_url).scheme
        if scheme == "sqlite":
            if not self.sqlite_path:
                raise ConfigError(
                    "OPENRESPOND_DATABASE_URL: a sqlite URL needs a file, e.g. sqlite:///openrespond.db"
                )
        elif scheme in ("postgresql", "postgres"):
            parts = urlsplit(self.database_url)
            if not parts.hostname and "host=" not in parts.query:
                raise ConfigError(
                    "OPENRESPOND_DATABASE_URL: a postgresql URL needs a host,"
                    " e.g. postgresql://user@127.0.0.1:5432/openrespond"
                )
        else:
            raise ConfigError(
                "OPENRESPOND_DATABASE_URL must start with sqlite:/// or postgresql://,"
                f" got {self.database_url!r}"
            )


def sqlite_path(url: str) -> str:
    """``sqlite:///rel.db`` -> ``rel.db``; ``sqlite:////abs.db`` -> ``/abs.db``."""
    prefix = "sqlite:///"
    return url[len(prefix) :] if url.startswith(prefix) else ""


def _int(name: str, raw: str, lo: int, hi: int) -> int:
    try:
        value = int(raw)
    except ValueError:
        raise ConfigError(f"{name} must be an integer, got {raw!r}") from None
    if not lo <= value <= hi:
        raise ConfigError(f"{name} must be between {lo} and {hi}, got {value}")
    return value


def _seconds(name: str, raw: str, lo: float, hi: float) -> float:
    try:
        value = float(raw)
    except ValueError:
        raise ConfigError(f"{name} must be a number of seconds, got {raw!r}") from None
    if not lo <= value <= hi:
        raise ConfigError(f"{name} must be between {lo:g} and {hi:g} seconds, got {raw}")
    return value


def _token(name: str, raw: str) -> str:
    if len(raw) < MIN_TOKEN_LENGTH:
        raise ConfigError(f"{name} must be at least {MIN_TOKEN_LENGTH} characters long")
    return raw
