"""Shared fixtures: a real openrespond server on loopback and a fresh workspace per test."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn

from openrespond.app import create_app
from openrespond.http import server
from openrespond.settings import Settings
from tests.backend import BACKEND, PG_URL, POSTGRES, database_url, drop_run_schemas, query

ADMIN_TOKEN = "test-admin-token-0123456789"


def pytest_report_header() -> str:
    where = f"PostgreSQL at {PG_URL}" if POSTGRES else "SQLite files"
    return f"openrespond test backend: {BACKEND} ({where})"


def pytest_sessionfinish() -> None:
    drop_run_schemas()


class ServerThread:
    """uvicorn serving an app on an ephemeral loopback port, in a background thread."""

    def __init__(self, app: Any, port: int = 0, settings: Settings | None = None) -> None:
        # Served as `openrespond serve` serves (JSON for the server's own answers, deadlines,
        # the connection cap), with the app's settings when it has them.
        settings = settings or getattr(getattr(app, "state", None), "settings", None) or Settings()
        config = uvicorn.Config(
            app,
            host="127.0.0.1",
            port=port,
            log_level="warning",
            lifespan="on",
            **server.uvicorn_options(settings),
        )
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self) -> str:
        self.thread.start()
        deadline = time.monotonic() + 15
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("test server did not start")
            time.sleep(0.01)
        port = self.server.servers[0].sockets[0].getsockname()[1]
        return f"http://127.0.0.1:{port}"

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(10)


def make_settings(path: Path, **overrides: Any) -> Settings:
    base = Settings(
        database_url=database_url(path),
        admin_token=ADMIN_TOKEN,
        rate_limit_per_second=0,
        # webhook receivers in tests listen on loopback; retries come fast
        allow_private_networks="127.0.0.0/8",
        retry_base_ms=100,
    )
    return replace(base, **overrides)


@pytest.fixture(scope="session")
def server_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The database of the suite's shared server (a SQLite file, or the PostgreSQL schema
    named after that path)."""
    return tmp_path_factory.mktemp("server") / "openrespond.db"


@pytest.fixture(scope="session")
def server_url(server_db: Path) -> Iterator[str]:
    with ServerThread(create_app(make_settings(server_db))) as url:
        yield url


Rows = Callable[..., list[tuple[Any, ...]]]


@pytest.fixture
def db_rows(server_db: Path) -> Rows:
    """Rows of a query on the shared server's database (what it stored, read directly)."""

    def rows(sql: str, *args: Any) -> list[tuple[Any, ...]]:
        return query(server_db, sql, *args)

    return rows


@dataclass
class Workspace:
    """A fresh workspace on the shared server, with the demo-like catalogue."""

    base: str
    wid: int
    token: str
    api: httpx.Client
    control: httpx.Client
    users: dict[str, int]
    channel_id: int

    def __enter__(self) -> Workspace:
        return self

    def __exit__(self, *exc: object) -> None:
        self.api.close()
        self.control.close()

    def contact(self, first: str = "Ada", **fields: Any) -> int:
        """Create a contact and return its id."""
        r = self.api.post("/contact", json={"firstName": first, **fields})
        assert r.status_code == 200, r.text
        contact_id: int = r.json()["contactId"]
        return contact_id


def admin_client(base: str) -> httpx.Client:
    return httpx.Client(
        base_url=base, headers={"Authorization": f"Bearer {ADMIN_TOKEN}"}, timeout=30
    )


def new_workspace(base: str, name: str = "test") -> Workspace:
    admin = admin_client(base)
    wid = admin.post("/control/workspaces", json={"name": name}).json()["id"]
    token = admin.post(f"/control/workspaces/{wid}/tokens", json={"name": "tests"}).json()["token"]
    w = f"/control/workspaces/{wid}"
    users = {}
    for email, first, role in (
        ("agent@example.com", "Alex", "agent"),
        ("owner@example.com", "Olivia", "owner"),
    ):
        r = admin.post(f"{w}/users", json={"email": email, "firstName": first, "role": role})
        assert r.status_code == 200, r.text
        users[email] = r.json()["id"]
    for stage in ("New Lead", "Hot Lead", "Customer"):
        assert admin.post(f"{w}/lifecycle_stages", json={"name": stage}).status_code == 200
    for category in ("Resolved", "Spam"):
        assert admin.post(f"{w}/closing_notes", json={"category": category}).status_code == 200
    channel = admin.post(
        f"{w}/channels", json={"name": "WhatsApp", "source": "whatsapp_cloud"}
    ).json()
    r = admin.post(
        f"{w}/channels/{channel['id']}/templates",
        json={"name": "hello_world", "languageCode": "en"},
    )
    assert r.status_code == 200, r.text
    api = httpx.Client(
        base_url=f"{base}/v2", headers={"Authorization": f"Bearer {token}"}, timeout=30
    )
    return Workspace(base, wid, token, api, admin, users, channel["id"])


@pytest.fixture
def ws(server_url: str) -> Iterator[Workspace]:
    with new_workspace(server_url) as w:
        yield w


@pytest.fixture
def other(server_url: str) -> Iterator[Workspace]:
    """A second workspace, for isolation tests."""
    with new_workspace(server_url, "other") as w:
        yield w
