"""The browser app's tests: a real ``openrespond serve --demo`` process and a real Chromium.

The browser is Debian's ``chromium`` (or ``OPENRESPOND_BROWSER``), driven by Playwright
(its own browser download is not needed).
Without one these tests are skipped with the reason; with ``OPENRESPOND_REQUIRE_BROWSER=1``
(CI) a missing browser fails them instead.
"""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Browser, Page, sync_playwright

from tests.server_process import ServerProcess

ADMIN = "web-admin-token-0123456789"
PASSWORDS = {"owner@example.com": "owner-password-1", "agent@example.com": "agent-password-1"}


def browser_path() -> str | None:
    given = os.environ.get("OPENRESPOND_BROWSER")
    if given:
        return given
    for name in ("chromium", "chromium-browser", "google-chrome", "chrome"):
        found = shutil.which(name)
        if found:
            return found
    return None


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    """Chromium for one module. Playwright's synchronous API keeps an event loop running
    while it is started, so it is stopped after each module: the rest of the suite calls
    ``asyncio.run``."""
    path = browser_path()
    if path is None:
        reason = "no Chromium: install Debian's chromium or set OPENRESPOND_BROWSER"
        if os.environ.get("OPENRESPOND_REQUIRE_BROWSER") == "1":
            pytest.fail(f"OPENRESPOND_REQUIRE_BROWSER=1: {reason}")
        pytest.skip(reason)
    playwright = sync_playwright().start()
    try:
        chromium = playwright.chromium.launch(executable_path=path, args=["--no-sandbox"])
        try:
            yield chromium
        finally:
            chromium.close()
    finally:
        playwright.stop()


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    """A page in a context of its own (its own cookies)."""
    context = browser.new_context()
    try:
        yield context.new_page()
    finally:
        context.close()


@dataclass
class App:
    """The server, the demo workspace's API token, and the administrator's client."""

    proc: ServerProcess
    token: str
    ws: int

    @property
    def url(self) -> str:
        return self.proc.url

    def admin(self) -> httpx.Client:
        return httpx.Client(
            base_url=self.url, headers={"Authorization": f"Bearer {ADMIN}"}, timeout=10
        )

    def api(self) -> httpx.Client:
        return httpx.Client(
            base_url=self.url, headers={"Authorization": f"Bearer {self.token}"}, timeout=10
        )

    def user_id(self, ws: int, email: str) -> int:
        with self.admin() as admin:
            users = admin.get(f"/control/workspaces/{ws}/users").json()["items"]
        return int(next(u["id"] for u in users if u["email"] == email))

    def link(self, ws: int, user_id: int, purpose: str = "invite") -> str:
        with self.admin() as admin:
            r = admin.post(
                f"/control/workspaces/{ws}/users/{user_id}/links", json={"purpose": purpose}
            )
            assert r.status_code == 200, r.text
            return str(r.json()["url"])

    def set_password(self, ws: int, email: str, password: str) -> None:
        """Through an invitation link, as a person would (the form, its CSRF cookie)."""
        url = self.link(ws, self.user_id(ws, email))
        with httpx.Client(timeout=10) as client:
            form = client.get(url)
            csrf = re.search(r'name="_csrf" value="([^"]+)"', form.text)
            assert csrf, form.text
            r = client.post(
                url, data={"_csrf": csrf.group(1), "password": password, "confirm": password}
            )
            assert r.status_code == 303, r.text

    def sign_in(self, page: Page, email: str, password: str | None = None) -> None:
        page.goto(f"{self.url}/app/sign-in")
        page.get_by_label("Email").fill(email)
        page.get_by_label("Password").fill(password or PASSWORDS[email])
        page.get_by_role("button", name="Sign in").click()


def start_app(tmp: Path, **env: str) -> App:
    proc = ServerProcess(
        tmp / "web.db",
        "--demo",
        env={"OPENRESPOND_ADMIN_TOKEN": ADMIN, "OPENRESPOND_LOG_LEVEL": "warning", **env},
    ).start()
    token = re.search(r"API token\s+(\S+)", proc.output())
    assert token, proc.output()
    app = App(proc, token.group(1), 1)
    for email, password in PASSWORDS.items():
        app.set_password(1, email, password)
    return app


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[App]:
    """A demo server whose worker is off: outgoing messages stay pending until a test
    reports their fate through the sandbox."""
    server = start_app(tmp_path_factory.mktemp("web"), OPENRESPOND_WORKER="0")
    try:
        yield server
    finally:
        server.proc.stop()
