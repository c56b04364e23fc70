"""/healthz and /readyz: no token, no rate limit, and each failing check named."""

from __future__ import annotations

import asyncio
from pathlib import Path

import httpx

from openrespond.app import create_app
from tests.backend import query
from tests.conftest import ServerThread, make_settings


def test_alive_and_ready_without_a_token(server_url: str) -> None:
    assert httpx.get(f"{server_url}/healthz").json() == {"status": "ok"}
    r = httpx.get(f"{server_url}/readyz")
    assert r.status_code == 200, r.text
    assert r.json()["checks"] == {"database": "ok", "migrations": "ok", "workers": "ok"}


def test_health_is_never_rate_limited(tmp_path: Path) -> None:
    settings = make_settings(tmp_path / "rl.db", rate_limit_per_second=1)
    with ServerThread(create_app(settings)) as url:
        statuses = {httpx.get(f"{url}/readyz").status_code for _ in range(20)}
        assert statuses == {200}
        assert "x-ratelimit-limit" not in httpx.get(f"{url}/healthz").headers


def test_each_failing_check_is_named(tmp_path: Path) -> None:
    db = tmp_path / "ready.db"
    app = create_app(make_settings(db))
    with ServerThread(app) as url:
        # a migration the database has not had
        query(
            db,
            "DELETE FROM schema_migrations WHERE version = (SELECT MAX(version) FROM schema_migrations)",
        )
        r = httpx.get(f"{url}/readyz")
        assert r.status_code == 503
        body = r.json()
        assert body["code"] == 503
        assert "migrations: 1 migration(s) pending" in body["message"]
        assert body["checks"]["database"] == "ok"
        # the workers stopped
        app.state.workers.task.cancel()
        r = httpx.get(f"{url}/readyz")
        assert r.json()["checks"]["workers"] == "not running"
        # the database gone
        asyncio.run_coroutine_threadsafe(app.state.db.close(), _loop(app)).result(5)
        r = httpx.get(f"{url}/readyz")
        assert r.status_code == 503
        assert r.json()["checks"]["database"] == "unreachable"
        assert httpx.get(f"{url}/healthz").status_code == 200  # alive all the same


def test_workers_off_is_not_a_failure(tmp_path: Path) -> None:
    with ServerThread(create_app(make_settings(tmp_path / "off.db", worker=False))) as url:
        r = httpx.get(f"{url}/readyz")
        assert r.status_code == 200
        assert r.json()["checks"]["workers"] == "off"


def _loop(app: object) -> asyncio.AbstractEventLoop:
    task = app.state.workers.task  # type: ignore[attr-defined]
    return task.get_loop()  # type: ignore[no-any-return]
