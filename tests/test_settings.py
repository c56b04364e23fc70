"""Settings read from the environment, failing fast with one clear message."""

from __future__ import annotations

import pytest

from openrespond.settings import ConfigError, Settings


def test_defaults() -> None:
    s = Settings.from_env({})
    assert s.database_url == "sqlite:///openrespond.db"
    assert s.sqlite_path == "openrespond.db"
    assert (s.host, s.port) == ("127.0.0.1", 8000)
    assert s.rate_limit_per_second == 50
    assert s.rate_limit_burst == 100
    assert s.admin_token is None
    assert s.demo_token is None
    assert s.public_url is None


def test_postgresql_url_and_redis() -> None:
    s = Settings.from_env(
        {
            "OPENRESPOND_DATABASE_URL": "postgresql://app@db.internal:5432/crm?schema=openrespond",
            "OPENRESPOND_DB_POOL_SIZE": "20",
            "OPENRESPOND_REDIS_URL": "redis://127.0.0.1:6379/0",
        }
    )
    assert (s.dialect, s.db_pool_size, s.redis_url) == (
        "postgresql",
        20,
        "redis://127.0.0.1:6379/0",
    )
    assert (
        Settings.from_env({"OPENRESPOND_DATABASE_URL": "postgres://h/db"}).dialect == "postgresql"
    )


def test_everything_from_environment() -> None:
    s = Settings.from_env(
        {
            "OPENRESPOND_DATABASE_URL": "sqlite:////var/lib/openrespond/data.db",
            "OPENRESPOND_HOST": "0.0.0.0",
            "OPENRESPOND_PORT": "9000",
            "OPENRESPOND_ADMIN_TOKEN": "admin-token-0123456789",
            "OPENRESPOND_DEMO_TOKEN": "demo-token-0123456789",
            "OPENRESPOND_PUBLIC_URL": "https://crm.example.com/",
            "OPENRESPOND_RATE_LIMIT_PER_SECOND": "5",
        }
    )
    assert s.sqlite_path == "/var/lib/openrespond/data.db"
    assert (s.host, s.port, s.public_url) == ("0.0.0.0", 9000, "https://crm.example.com")
    assert s.rate_limit_per_second == 5
    assert s.rate_limit_burst == 10


@pytest.mark.parametrize(
    ("env", "word"),
    [
        ({"OPENRESPOND_DATABASE_URL": "mysql://x"}, "OPENRESPOND_DATABASE_URL"),
        ({"OPENRESPOND_DATABASE_URL": "postgresql:///x"}, "needs a host"),
        ({"OPENRESPOND_REDIS_URL": "http://127.0.0.1:6379"}, "OPENRESPOND_REDIS_URL"),
        ({"OPENRESPOND_DB_POOL_SIZE": "0"}, "OPENRESPOND_DB_POOL_SIZE"),
        ({"OPENRESPOND_LOG_FORMAT": "xml"}, "OPENRESPOND_LOG_FORMAT"),
        ({"OPENRESPOND_DATABASE_URL": "sqlite:///"}, "OPENRESPOND_DATABASE_URL"),
        ({"OPENRESPOND_PORT": "http"}, "OPENRESPOND_PORT"),
        ({"OPENRESPOND_PORT": "70000"}, "OPENRESPOND_PORT"),
        ({"OPENRESPOND_ADMIN_TOKEN": "short"}, "OPENRESPOND_ADMIN_TOKEN"),
        ({"OPENRESPOND_DEMO_TOKEN": "short"}, "OPENRESPOND_DEMO_TOKEN"),
        ({"OPENRESPOND_PUBLIC_URL": "crm.example.com"}, "OPENRESPOND_PUBLIC_URL"),
        ({"OPENRESPOND_RATE_LIMIT_PER_SECOND": "fast"}, "OPENRESPOND_RATE_LIMIT_PER_SECOND"),
        ({"OPENRESPOND_RATE_LIMIT_PER_SECOND": "-1"}, "OPENRESPOND_RATE_LIMIT_PER_SECOND"),
        ({"OPENRESPOND_WORKER": "maybe"}, "OPENRESPOND_WORKER"),
        ({"OPENRESPOND_LEASE_SECONDS": "0"}, "OPENRESPOND_LEASE_SECONDS"),
        ({"OPENRESPOND_LEASE_SECONDS": "soon"}, "OPENRESPOND_LEASE_SECONDS"),
        ({"OPENRESPOND_WORKER_POLL_MS": "0"}, "OPENRESPOND_WORKER_POLL_MS"),
        ({"OPENRESPOND_WORKER_POLL_MS": "often"}, "OPENRESPOND_WORKER_POLL_MS"),
        ({"OPENRESPOND_RETRY_BASE_MS": "0"}, "OPENRESPOND_RETRY_BASE_MS"),
        ({"OPENRESPOND_ALLOW_PRIVATE_NETWORKS": "intranet"}, "OPENRESPOND_ALLOW_PRIVATE_NETWORKS"),
        ({"OPENRESPOND_WEBHOOK_RETRY_SECONDS": "-5"}, "OPENRESPOND_WEBHOOK_RETRY_SECONDS"),
        ({"OPENRESPOND_WEBHOOK_TIMEOUT_SECONDS": "0"}, "OPENRESPOND_WEBHOOK_TIMEOUT_SECONDS"),
        ({"OPENRESPOND_WEBHOOK_LOG_DAYS": "0"}, "OPENRESPOND_WEBHOOK_LOG_DAYS"),
        ({"OPENRESPOND_DELIVERY_DEADLINE_SECONDS": "x"}, "OPENRESPOND_DELIVERY_DEADLINE_SECONDS"),
        ({"OPENRESPOND_HEADER_TIMEOUT_SECONDS": "0"}, "OPENRESPOND_HEADER_TIMEOUT_SECONDS"),
        ({"OPENRESPOND_BODY_TIMEOUT_SECONDS": "soon"}, "OPENRESPOND_BODY_TIMEOUT_SECONDS"),
        ({"OPENRESPOND_BODY_TIMEOUT_SECONDS": "nan"}, "OPENRESPOND_BODY_TIMEOUT_SECONDS"),
        ({"OPENRESPOND_MAX_CONNECTIONS": "0"}, "OPENRESPOND_MAX_CONNECTIONS"),
        ({"OPENRESPOND_TRUSTED_PROXIES": "*"}, "OPENRESPOND_TRUSTED_PROXIES"),
        ({"OPENRESPOND_TRUSTED_PROXIES": "the proxy"}, "OPENRESPOND_TRUSTED_PROXIES"),
        ({"OPENRESPOND_TEMPLATE_SYNC_SECONDS": "-1"}, "OPENRESPOND_TEMPLATE_SYNC_SECONDS"),
        ({"OPENRESPOND_TELEGRAM_POLL_SECONDS": "0"}, "OPENRESPOND_TELEGRAM_POLL_SECONDS"),
        ({"OPENRESPOND_MEDIA_MAX_BYTES": "big"}, "OPENRESPOND_MEDIA_MAX_BYTES"),
        ({"OPENRESPOND_MEDIA_DIR": "/no/such/directory"}, "OPENRESPOND_MEDIA_DIR"),
    ],
)
def test_bad_values_fail_fast_naming_the_variable(env: dict[str, str], word: str) -> None:
    with pytest.raises(ConfigError, match=word):
        Settings.from_env(env)


def test_client_deadlines_and_the_connection_cap() -> None:
    s = Settings.from_env({})
    assert (s.header_timeout_seconds, s.body_timeout_seconds, s.max_connections) == (10, 5, 1000)
    s = Settings.from_env(
        {
            "OPENRESPOND_HEADER_TIMEOUT_SECONDS": "2.5",
            "OPENRESPOND_BODY_TIMEOUT_SECONDS": "30",
            "OPENRESPOND_MAX_CONNECTIONS": "50",
        }
    )
    assert (s.header_timeout_seconds, s.body_timeout_seconds, s.max_connections) == (2.5, 30, 50)


def test_zero_switches_rate_limiting_off() -> None:
    assert Settings.from_env({"OPENRESPOND_RATE_LIMIT_PER_SECOND": "0"}).rate_limit_per_second == 0


@pytest.mark.parametrize(("raw", "on"), [("0", False), ("off", False), ("1", True), ("TRUE", True)])
def test_the_in_process_worker_can_be_switched_off(raw: str, on: bool) -> None:
    assert Settings.from_env({"OPENRESPOND_WORKER": raw}).worker is on
    assert Settings.from_env({}).worker is True


def test_lease_seconds() -> None:
    assert Settings.from_env({}).lease_seconds == 30
    assert Settings.from_env({"OPENRESPOND_LEASE_SECONDS": "5"}).lease_seconds == 5


def test_worker_poll_ms() -> None:
    assert Settings.from_env({}).worker_poll_seconds == 0.01
    pg = {"OPENRESPOND_DATABASE_URL": "postgresql://h/db"}
    assert Settings.from_env(pg).worker_poll_seconds == 0.25
    assert Settings.from_env({**pg, "OPENRESPOND_WORKER_POLL_MS": "20"}).worker_poll_seconds == 0.02
    assert Settings.from_env({"OPENRESPOND_WORKER_POLL_MS": "250"}).worker_poll_ms == 250


def test_webhook_settings() -> None:
    import ipaddress

    s = Settings.from_env({})
    assert s.webhook_retry_seconds == 3 * 24 * 3600
    assert s.webhook_timeout_seconds == 10
    assert not s.networks.permits(ipaddress.ip_address("127.0.0.1"))
    s = Settings.from_env(
        {
            "OPENRESPOND_ALLOW_PRIVATE_NETWORKS": "127.0.0.0/8, ::1",
            "OPENRESPOND_RETRY_BASE_MS": "50",
        }
    )
    assert s.networks.permits(ipaddress.ip_address("127.0.0.1"))
    assert s.retry_base_ms == 50
    assert not s.networks.permits(ipaddress.ip_address("10.0.0.1"))


def test_provider_settings() -> None:
    import ipaddress

    s = Settings.from_env({})
    assert (s.template_sync_seconds, s.telegram_poll_seconds) == (3600, 25)
    assert s.media_max_bytes == 16 * 1024 * 1024
    assert s.proxies == ()
    s = Settings.from_env(
        {
            "OPENRESPOND_TRUSTED_PROXIES": "127.0.0.1/32, 10.0.0.0/8",
            "OPENRESPOND_TEMPLATE_SYNC_SECONDS": "0",
        }
    )
    assert ipaddress.ip_address("10.1.2.3") in s.proxies[1]
    assert s.template_sync_seconds == 0
