"""``openrespond doctor``: each problem named in plain words, exit 1 on any failure, and nothing
changed by looking."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from openrespond.app import create_app
from openrespond.doctor import redacted
from tests.backend import POSTGRES, database_url, query
from tests.conftest import ServerThread, make_settings, new_workspace
from tests.webhooks.receiver import bridge_channel, receiving, subscribe


def doctor(db_url: str, **env: str) -> tuple[int, dict[str, tuple[str, str]]]:
    """Exit code and {check: (level, detail)} of ``openrespond doctor --json``."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith("OPENRESPOND_")}
    proc = subprocess.run(
        [sys.executable, "-m", "openrespond", "doctor", "--json"],
        env={**clean, "OPENRESPOND_DATABASE_URL": db_url, **env},
        capture_output=True,
        text=True,
        timeout=60,
    )
    checks = {c["check"]: (c["level"], c["detail"]) for c in json.loads(proc.stdout)}
    return proc.returncode, checks


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
    return port  # nothing listens there once the socket is closed


@pytest.fixture
def deployment(tmp_path: Path) -> Any:
    """A migrated database with a webhook subscription and a custom channel, both pointed at
    live receivers on loopback, served without workers (what is queued stays queued); yields
    (database URL, its path, the workspace)."""
    path = tmp_path / "doc.db"
    with (
        receiving() as hooks,
        receiving() as bridge,
        ServerThread(create_app(make_settings(path, worker=False))) as url,
        new_workspace(url) as w,
    ):
        subscribe(w.control, w.wid, hooks.url)
        bridge_channel(w.control, w.wid, bridge)
        yield database_url(path), path, w


LOOPBACK = {"OPENRESPOND_ALLOW_PRIVATE_NETWORKS": "127.0.0.0/8"}


def test_a_healthy_deployment_passes(deployment: Any) -> None:
    url, path, _w = deployment
    before = query(path, "SELECT COUNT(*) FROM schema_migrations")
    code, checks = doctor(url, OPENRESPOND_ADMIN_TOKEN="admin-token-0123456789", **LOOPBACK)
    assert code == 0, checks
    assert checks["database"][0] == checks["schema"][0] == "ok"
    assert "current" in checks["schema"][1]
    endpoints = {k: v for k, v in checks.items() if k.startswith("endpoint of")}
    assert len(endpoints) == 2, endpoints
    assert all(level == "ok" for level, _ in endpoints.values()), endpoints
    assert checks["delivery queue"] == ("ok", "0 waiting")
    assert "admin token" not in checks
    assert query(path, "SELECT COUNT(*) FROM schema_migrations") == before


def test_endpoints_are_judged_by_the_ssrf_rules(deployment: Any) -> None:
    url, _, _ = deployment
    # this shell allows no private network, unlike the server: it says so, and judges by it
    code, checks = doctor(url, OPENRESPOND_ALLOW_PRIVATE_NETWORKS="")
    assert code == 1
    for name, (level, detail) in checks.items():
        if name.startswith("endpoint of"):
            assert level == "fail", detail
            assert "OPENRESPOND_ALLOW_PRIVATE_NETWORKS" in detail, detail
    assert checks["admin token"][0] == "warn"
    level, detail = checks["allowed networks"]
    assert level == "warn", detail
    assert "127.0.0.0/8" in detail, detail
    assert "server" in detail, detail


def test_from_a_plain_shell_endpoints_are_judged_as_the_server_judges_them(
    deployment: Any,
) -> None:
    """The server (like `make demo`'s) allows loopback receivers through its environment;
    doctor, run where that variable is not set, uses what the server started with."""
    url, _, _ = deployment
    code, checks = doctor(url, OPENRESPOND_ADMIN_TOKEN="admin-token-0123456789")
    assert code == 0, checks
    level, detail = checks["allowed networks"]
    assert level == "ok"
    assert "127.0.0.0/8" in detail
    assert "as the server allows" in detail
    endpoints = [v for k, v in checks.items() if k.startswith("endpoint of")]
    assert len(endpoints) == 2, endpoints
    assert all(level == "ok" for level, _ in endpoints), endpoints


def test_unreachable_disabled_and_stale(deployment: Any) -> None:
    url, path, w = deployment
    port = closed_port()
    # the bridge moved away; the webhook was turned off; a message waits with no worker
    query(
        path,
        "UPDATE channels SET settings = ? WHERE driver = 'custom_channel'",
        json.dumps({"apiBaseUrl": f"http://127.0.0.1:{port}", "token": "x"}),
    )
    query(
        path, "UPDATE webhooks SET enabled = 0, disabled_reason = 'the endpoint answered 410 Gone'"
    )
    contact = w.contact("Ada", phone="+60123456780")
    r = w.api.post(
        f"/contact/id:{contact}/message",
        json={"channelId": w.channel_id, "message": {"type": "text", "text": "hi"}},
    )
    assert r.status_code == 200
    query(
        path, "UPDATE delivery_jobs SET queued_ms = queued_ms - 3600000, run_at = run_at + 3600000"
    )
    code, checks = doctor(url, **LOOPBACK)
    assert code == 1
    [(level, detail)] = [v for k, v in checks.items() if k.startswith("endpoint of channel")]
    assert level == "fail"
    assert f"127.0.0.1:{port} does not accept connections" in detail
    [(level, detail)] = [v for k, v in checks.items() if k.startswith("endpoint of webhook")]
    assert level == "warn"
    assert "410 Gone" in detail
    level, detail = checks["delivery queue"]
    assert level == "warn"
    assert "1 waiting" in detail
    assert "workers" in detail


def test_schema_behind_or_ahead_of_this_build(deployment: Any) -> None:
    url, path, _ = deployment
    query(
        path,
        "DELETE FROM schema_migrations WHERE version = (SELECT MAX(version) FROM schema_migrations)",
    )
    code, checks = doctor(url, **LOOPBACK)
    assert code == 1
    assert checks["schema"][0] == "fail"
    assert "pending" in checks["schema"][1]
    assert "openrespond migrate" in checks["schema"][1]
    query(
        path, "INSERT INTO schema_migrations (version, name, applied_at) VALUES (9999, 'future', 0)"
    )
    code, checks = doctor(url, **LOOPBACK)
    assert code == 1
    assert "newer openrespond" in checks["schema"][1]


def test_configuration_and_stores(tmp_path: Path) -> None:
    code, checks = doctor("sqlite:///x.db", OPENRESPOND_PORT="eighty")
    assert code == 1
    assert checks == {
        "configuration": ("fail", "OPENRESPOND_PORT must be an integer, got 'eighty'")
    }
    code, checks = doctor(f"postgresql://user:hunter2@127.0.0.1:{closed_port()}/x")
    assert code == 1
    assert checks["database"][0] == "fail"
    assert "hunter2" not in checks["database"][1]
    assert "***" in checks["database"][1]


@pytest.mark.skipif(POSTGRES, reason="a missing database file is SQLite's")
def test_a_missing_database_file_is_not_created(tmp_path: Path) -> None:
    missing = tmp_path / "nowhere.db"
    code, checks = doctor(f"sqlite:///{missing}")
    assert code == 1
    assert "no database file" in checks["database"][1]
    assert not missing.exists()


def test_metrics_directory_and_redis(deployment: Any, tmp_path: Path) -> None:
    url, _, _ = deployment
    code, checks = doctor(
        url,
        OPENRESPOND_METRICS_DIR=str(tmp_path / "absent"),
        OPENRESPOND_REDIS_URL=f"redis://127.0.0.1:{closed_port()}/0",
        **LOOPBACK,
    )
    assert code == 1
    assert checks["metrics directory"][0] == "fail"
    assert "not a directory" in checks["metrics directory"][1]
    assert checks["redis"][0] == "fail"
    (tmp_path / "present").mkdir()
    code, checks = doctor(url, OPENRESPOND_METRICS_DIR=str(tmp_path / "present"), **LOOPBACK)
    assert checks["metrics directory"][0] == "ok"
    assert not list((tmp_path / "present").iterdir())


def test_redacted_hides_only_the_password() -> None:
    assert (
        redacted("postgresql://u:pw@db:5432/x?schema=s") == "postgresql://u:***@db:5432/x?schema=s"
    )
    assert redacted("postgresql://u@db/x") == "postgresql://u@db/x"
    assert redacted("redis://:pw@[::1]:6379/0") == "redis://:***@[::1]:6379/0"
