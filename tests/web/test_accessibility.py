"""axe-core on every page of the app, in both colour schemes and at phone width: no serious or
critical violations."""

from __future__ import annotations

import time
from typing import Any, Literal

import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import Browser, Page

from tests.web.conftest import App

AXE = Axe()


def _serious(page: Page) -> list[dict[str, Any]]:
    results = AXE.run(page)
    found = results.response["violations"]
    return [
        {"id": v["id"], "impact": v["impact"], "nodes": [n["target"] for n in v["nodes"]][:3]}
        for v in found
        if v["impact"] in ("serious", "critical")
    ]


@pytest.mark.parametrize("scheme", ["light", "dark"])
@pytest.mark.parametrize("width", [1280, 360])
def test_no_serious_violations_on_any_page(
    app: App, browser: Browser, scheme: Literal["light", "dark"], width: int
) -> None:
    with app.admin() as admin:
        admin.post(
            "/control/workspaces/1/sandbox/incoming",
            json={
                "channelId": 123,
                "address": "+60111111111",
                "message": {"type": "text", "text": "Hello, is anyone there? https://example.com"},
            },
        )
        # The console's pages with something on them: a failed API call, a webhook with a
        # pending delivery (the worker is off here).
        hook = admin.post(
            "/control/workspaces/1/webhooks", json={"url": "https://example.com/hook"}
        ).json()
        delivery = admin.post(f"/control/workspaces/1/webhooks/{hook['id']}/test").json()
        with app.api() as api:
            api.post("/v2/contact", json={"email": "not-an-email"})
        deadline = time.monotonic() + 5
        while not (items := admin.get("/control/workspaces/1/requests").json()["items"]):
            assert time.monotonic() < deadline
            time.sleep(0.1)
    console = [
        "/app/1/console",
        "/app/1/console/requests",
        "/app/1/console/requests?since=nonsense",
        f"/app/1/console/requests/{items[0]['id']}",
        "/app/1/console/webhooks",
        f"/app/1/console/webhooks/{hook['id']}",
        f"/app/1/console/webhooks/{hook['id']}/deliveries/{delivery['id']}",
        "/app/1/console/tokens",
        "/app/1/console/simulator",
        "/app/1/settings/channels/123",
    ]
    context = browser.new_context(color_scheme=scheme, viewport={"width": width, "height": 800})
    page = context.new_page()
    link = app.link(1, app.user_id(1, "owner@example.com"), "reset")
    problems: dict[str, list[dict[str, Any]]] = {}
    pages = [f"{app.url}/app/sign-in", link]
    for url in pages:
        page.goto(url)
        problems[url] = _serious(page)
    app.sign_in(page, "owner@example.com")
    page.wait_for_url(f"{app.url}/app/1/")
    for path in (
        "/app/1/",
        "/app/1/c/12345",
        "/app/1/settings",
        "/app/1/?status=closed",
        "/app/1/c/12345/confirm-delete",
        "/app/1/c/12345/merge-with?q=example&with=67890",
        "/app/1/contacts",
        "/app/1/contacts?category=contactField&field=nope&operator=isEqualTo&value=x",
        "/app/1/contacts/import",
        *console,
    ):
        page.goto(f"{app.url}{path}")
        if path == "/app/1/c/12345":
            page.locator("#edit-contact summary").click()  # the contact form too
        problems[path] = _serious(page)
    page.goto(f"{app.url}/app/1/c/999999")  # the error page
    problems["error page"] = _serious(page)
    context.close()
    assert {k: v for k, v in problems.items() if v} == {}
