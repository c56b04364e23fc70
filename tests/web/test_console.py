"""The developer console in a real browser: the API request log, webhooks and API tokens,
the overview; agents and other workspaces get 404; secrets are shown once and never again."""

from __future__ import annotations

import contextlib
import re
import time
from collections.abc import Iterator

import httpx
import pytest
from playwright.sync_api import Browser, Page, expect

from openrespond.webhooks.signing import verify
from tests.web.conftest import App, start_app
from tests.web.test_forms import signed_in
from tests.web.test_inbox import _incoming
from tests.webhooks.receiver import Receiver, receiving


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[App]:
    """A demo server with its worker on: webhook attempts come quickly and give up after a
    second, so a failed delivery can be replayed."""
    server = start_app(
        tmp_path_factory.mktemp("console"),
        OPENRESPOND_RETRY_BASE_MS="100",
        OPENRESPOND_WEBHOOK_RETRY_SECONDS="1",
        OPENRESPOND_ALLOW_PRIVATE_NETWORKS="127.0.0.0/8",
    )
    try:
        yield server
    finally:
        server.proc.stop()


@pytest.fixture(scope="module")
def receiver() -> Iterator[Receiver]:
    with receiving() as r:
        yield r


# Every secret a test shows once; the last test looks for them in every console page.
SECRETS: dict[str, str] = {}


def test_a_failing_call_shows_in_the_log_with_its_bodies_within_a_second(
    app: App, page: Page
) -> None:
    app.sign_in(page, "owner@example.com")
    page.goto(f"{app.url}/app/1/console/requests")
    expect(page.get_by_role("heading", name="API requests")).to_be_visible()
    with app.api() as api:
        r = api.post(
            "/v2/contact",
            json={"firstName": "Broken", "email": "not-an-email", "password": "hunter2-secret"},
        )
    assert r.status_code == 400
    sent = time.monotonic()
    row = page.locator("#requests tr", has_text=r.headers["x-request-id"])
    expect(row).to_be_visible(timeout=1000)
    assert time.monotonic() - sent < 1.0
    expect(row).to_contain_text("400")
    expect(row).to_contain_text("POST")
    row.get_by_role("link").click()
    expect(page.locator("#request-body")).to_contain_text('"firstName": "Broken"')
    expect(page.locator("#request-body")).to_contain_text('"password": "[redacted]"')
    expect(page.locator("#response-body")).to_contain_text("not a valid email address")
    assert "hunter2-secret" not in page.content()


def test_filters_narrow_the_log_and_bad_ones_are_shown_on_their_field(app: App, page: Page) -> None:
    with app.api() as api:
        ok = api.get("/v2/space/user")
        missing = api.get("/v2/contact/id:999999")
    assert ok.status_code == 200
    assert missing.status_code == 404
    app.sign_in(page, "owner@example.com")
    page.goto(f"{app.url}/app/1/console/requests")
    page.get_by_label("Status").select_option("4xx")
    page.get_by_role("button", name="Filter").click()
    expect(page.locator("#requests")).to_contain_text(missing.headers["x-request-id"])
    expect(page.locator("#requests")).not_to_contain_text(ok.headers["x-request-id"])
    page.goto(f"{app.url}/app/1/console/requests?route=/v2/space/user&status=2xx")
    expect(page.locator("#requests")).to_contain_text(ok.headers["x-request-id"])
    expect(page.locator("#requests")).not_to_contain_text(missing.headers["x-request-id"])
    r = page.goto(f"{app.url}/app/1/console/requests?since=yesterday")
    assert r is not None
    assert r.status == 400
    expect(page.get_by_label("From (UTC)")).to_have_attribute("aria-invalid", "true")
    expect(page.locator("#filter-error")).to_contain_text("since must be an ISO 8601 time")


def test_a_webhook_gets_a_signed_test_event_and_a_failure_is_replayed(
    app: App, page: Page, receiver: Receiver
) -> None:
    receiver.default = 500
    app.sign_in(page, "owner@example.com")
    page.goto(f"{app.url}/app/1/console/webhooks")
    page.get_by_label("URL").fill(receiver.url)
    page.get_by_label("Description").fill("console test")
    page.get_by_role("button", name="Subscribe").click()
    key = page.locator("#signing-key").input_value()
    assert len(key) >= 16
    SECRETS["signing key"] = key
    page.get_by_role("link", name="Open the subscription").click()
    page.get_by_role("button", name="Send a test event").click()
    # The receiver answers 500: the attempts show, and the delivery is given up (1 s here).
    expect(page.locator(".attempt").first).to_contain_text("HTTP 500", timeout=5000)
    expect(page.locator("#delivery-status")).to_have_text("failed", timeout=5000)
    first = receiver.wait_for(1, "webhook.test")[0]
    request = next(r for r in receiver.requests if r.event["event_id"] == first["event_id"])
    assert verify(key, request.headers, request.body) == "standard"
    headers = dict(request.headers)
    del headers["webhook-signature"]
    assert verify(key, headers, request.body) == "respondio"
    attempt = page.locator(".attempt").last
    expect(attempt).to_contain_text("webhook-signature")
    expect(attempt).to_contain_text("X-Webhook-Signature")
    expect(page.locator("#payload")).to_contain_text(first["event_id"])
    # It answers 200 now: replayed, delivered.
    receiver.default = 200
    page.get_by_role("button", name="Send again now").click()
    expect(page.locator("#delivery-status")).to_have_text("delivered", timeout=5000)
    expect(page.locator(".attempt").last).to_contain_text("HTTP 200")
    # Rotating shows the new key once.
    page.get_by_role("link", name=f"← {receiver.url}").click()
    page.get_by_role("button", name="Rotate the signing key").click()
    rotated = page.locator("#signing-key").input_value()
    assert rotated != key
    SECRETS["rotated key"] = rotated


def test_a_webhook_to_a_private_address_is_refused_on_the_field(app: App, page: Page) -> None:
    app.sign_in(page, "owner@example.com")
    page.goto(f"{app.url}/app/1/console/webhooks")
    page.get_by_label("URL").fill("http://169.254.169.254/latest/meta-data")
    page.get_by_role("button", name="Subscribe").click()
    expect(page.get_by_label("URL")).to_have_attribute("aria-invalid", "true")
    expect(page.locator("#hook-error")).to_contain_text("url")
    assert "169.254.169.254" not in page.locator("table").inner_text()


def test_a_token_issued_in_the_console_works_until_revoked(app: App, page: Page) -> None:
    app.sign_in(page, "owner@example.com")
    page.goto(f"{app.url}/app/1/console/tokens")
    page.get_by_label("Name").fill("console-ci")
    page.get_by_role("button", name="Issue").click()
    token = page.locator("#new-token").input_value()
    SECRETS["token"] = token
    with httpx.Client(base_url=app.url, headers={"Authorization": f"Bearer {token}"}) as api:
        assert api.get("/v2/space/user").status_code == 200
        # A body that carries the token is redacted in the log.
        assert api.post("/v2/contact", json={"email": "x", "apiToken": token}).status_code == 400
        page.goto(f"{app.url}/app/1/console/tokens")
        row = page.locator("tr", has_text="console-ci")
        expect(row).not_to_contain_text("never")  # last used is recorded
        row.get_by_role("button", name="Revoke console-ci").click()
        expect(page.locator("tr", has_text="console-ci")).to_contain_text("revoked")
        assert api.get("/v2/space/user").status_code == 401


def test_the_overview_counts_todays_traffic(app: App, page: Page) -> None:
    app.sign_in(page, "owner@example.com")
    page.goto(f"{app.url}/app/1/console")
    before = int(page.locator("#fig-in").inner_text())
    _incoming(app, "+60123450001", "hello from the overview test")
    expect(page.locator("#fig-in")).to_have_text(str(before + 1), timeout=3000)
    expect(page.locator("#q-delivery")).to_have_text(re.compile(r"^\d+$"))


def test_an_agent_gets_404_on_every_console_page(app: App) -> None:
    client, csrf = signed_in(app, "agent@example.com")
    with contextlib.closing(client):
        for path in (
            "/app/1/console",
            "/app/1/console/requests",
            "/app/1/console/requests/1",
            "/app/1/console/webhooks",
            "/app/1/console/webhooks/1",
            "/app/1/console/webhooks/1/deliveries/1",
            "/app/1/console/tokens",
            "/app/1/console/simulator",
        ):
            assert client.get(path).status_code == 404, path
        for path in (
            "/app/1/console/tokens",
            "/app/1/console/tokens/1/revoke",
            "/app/1/console/webhooks",
            "/app/1/console/webhooks/1/test",
            "/app/1/console/webhooks/1/deliveries/1/replay",
            "/app/1/console/simulator/incoming",
            "/app/1/console/simulator/messages/1/status",
            "/app/1/console/simulator/reset",
        ):
            r = client.post(path, data={"_csrf": csrf, "name": "x", "url": "https://e.com/h"})
            assert r.status_code == 404, path
        with httpx.Client(
            base_url=app.url, headers={"Authorization": f"Bearer {app.token}"}
        ) as api:
            assert api.get("/v2/space/user").status_code == 200  # the demo token still works


def test_another_workspaces_ids_are_404(app: App) -> None:
    with app.admin() as admin:
        wid = admin.post("/control/workspaces", json={"name": "elsewhere"}).json()["id"]
        token = admin.post(f"/control/workspaces/{wid}/tokens", json={"name": "t"}).json()
        hook = admin.post(
            f"/control/workspaces/{wid}/webhooks", json={"url": "https://example.com/h"}
        ).json()
        with httpx.Client(
            base_url=app.url, headers={"Authorization": f"Bearer {token['token']}"}
        ) as api:
            api.get("/v2/contact/id:1")
        deadline = time.monotonic() + 5
        while not (items := admin.get(f"/control/workspaces/{wid}/requests").json()["items"]):
            assert time.monotonic() < deadline
            time.sleep(0.1)
    client, csrf = signed_in(app)
    with contextlib.closing(client):
        for path in (
            f"/app/1/console/requests/{items[0]['id']}",
            f"/app/1/console/webhooks/{hook['id']}",
            f"/app/{wid}/console",
            f"/app/{wid}/console/requests",
        ):
            assert client.get(path).status_code == 404, path
        for path in (
            f"/app/1/console/webhooks/{hook['id']}/test",
            f"/app/1/console/webhooks/{hook['id']}/delete",
            f"/app/1/console/tokens/{token['id']}/revoke",
        ):
            assert client.post(path, data={"_csrf": csrf}).status_code == 404, path
    with app.admin() as admin:  # nothing happened to them
        assert admin.get(f"/control/workspaces/{wid}/webhooks/{hook['id']}").status_code == 200
        listed = admin.get(f"/control/workspaces/{wid}/tokens").json()["items"]
        assert all(t["revoked_at"] is None for t in listed)


def test_hostile_form_values_never_answer_5xx(app: App) -> None:
    client, csrf = signed_in(app)
    with contextlib.closing(client):
        for value in ("", "x" * 5000, "<script>alert(1)</script>", "\u202e", "http://[::1"):
            for path, field in (
                ("/app/1/console/simulator/incoming", "address"),
                ("/app/1/console/simulator/incoming", "text"),
                ("/app/1/console/simulator/incoming", "channel"),
                ("/app/1/console/simulator/incoming", "url"),
                ("/app/1/console/simulator/incoming", "type"),
                ("/app/1/console/simulator/messages/1/status", "status"),
                ("/app/1/console/simulator/messages/1/status", "reason"),
                ("/app/1/console/tokens", "name"),
                ("/app/1/console/webhooks", "url"),
                ("/app/1/console/webhooks", "signingKey"),
            ):
                data = {
                    "_csrf": csrf,
                    "url": "https://example.com/h",
                    "channel": "123",
                    "address": "+60199990003",
                    "text": "x",
                    "type": "attachment" if field == "url" else "text",
                    field: value,
                }
                r = client.post(path, data=data)
                assert r.status_code < 500, (path, field, value, r.text[:200])
                assert "<script>alert(1)</script>" not in r.text
        for query in ("status=7xx", "token=abc", "since=2021-13-01", "route=x"):
            r = client.get(f"/app/1/console/requests?{query}")
            assert r.status_code == 400, query
        assert client.get("/app/1/console/requests?cursorId=zz").status_code == 400
        assert (
            client.post("/app/1/console/webhooks/999999/nope", data={"_csrf": csrf}).status_code
            == 404
        )
        assert client.post("/app/1/console/tokens", data={"name": "x"}).status_code == 403
        # What the hostile values left behind (an attachment URL that is no URL, say) still
        # renders everywhere it shows.
        for path in ("/app/1/", "/app/1/console/simulator", "/app/1/contacts"):
            assert client.get(path).status_code == 200, path


def test_no_secret_appears_on_any_console_page_after_it_was_shown(
    app: App, page: Page, browser: Browser
) -> None:
    assert set(SECRETS) == {"signing key", "rotated key", "token"}, SECRETS
    app.sign_in(page, "owner@example.com")
    seen: set[str] = set()
    todo = ["/app/1/console", "/app/1/settings", "/app/1/"]
    while todo:
        path = todo.pop()
        if path in seen or len(seen) > 60:
            continue
        seen.add(path)
        page.goto(app.url + path)
        html = page.content()
        for name, secret in SECRETS.items():
            assert secret not in html, f"the {name} is on {path}"
        for href in page.eval_on_selector_all(
            "a[href^='/app/1/console']", "els => els.map(e => e.getAttribute('href'))"
        ):
            todo.append(href)
    assert any("/deliveries/" in p for p in seen)
    assert any("/requests/" in p for p in seen)


def test_a_message_written_as_the_customer_reaches_an_open_inbox(
    app: App, page: Page, browser: Browser
) -> None:
    app.sign_in(page, "owner@example.com")
    page.goto(f"{app.url}/app/1/")
    inbox = page.locator("#rows")
    expect(inbox).to_be_visible()
    other = browser.new_context()
    try:
        console_page = other.new_page()
        app.sign_in(console_page, "owner@example.com")
        console_page.goto(f"{app.url}/app/1/console/simulator")
        console_page.get_by_label("From (phone, email or id)").fill("+60199990001")
        console_page.get_by_label("First name").fill("Simone")
        console_page.get_by_label("Text").fill("Written in the simulator")
        console_page.get_by_role("button", name="Send as the customer").click()
        expect(inbox).to_contain_text("Simone", timeout=3000)
        expect(inbox).to_contain_text("Written in the simulator")
        # A bad address is refused on its field; nothing is created.
        console_page.get_by_label("From (phone, email or id)").fill(" ")
        console_page.get_by_label("Text").fill("nobody")
        console_page.get_by_role("button", name="Send as the customer").click()
        expect(console_page.get_by_label("From (phone, email or id)")).to_have_attribute(
            "aria-invalid", "true"
        )
    finally:
        other.close()
    with app.api() as api:
        found = api.post(
            "/v2/contact/list", json={"search": "Simone", "filter": {"$and": []}}
        ).json()["items"]
    assert len(found) == 1


def test_forcing_failed_shows_the_reason_and_statuses_only_move_forward(
    app: App, page: Page
) -> None:
    with app.api() as api:
        contact = api.post("/v2/contact", json={"firstName": "Fate", "phone": "+60199990002"})
        cid = contact.json()["contactId"]
        sent = api.post(
            f"/v2/contact/id:{cid}/message",
            json={"channelId": 123, "message": {"type": "text", "text": "Will it arrive?"}},
        )
        assert sent.status_code == 200, sent.text
        mid = sent.json()["messageId"]
        deadline = time.monotonic() + 5  # the sandbox channel delivers it (worker on)
        while (
            api.get(f"/v2/contact/id:{cid}/message/{mid}").json()["status"][-1]["value"]
            != "delivered"
        ):
            assert time.monotonic() < deadline
            time.sleep(0.05)
    app.sign_in(page, "owner@example.com")
    page.goto(f"{app.url}/app/1/console/simulator")
    row = page.locator(f"#message-{mid}")
    row.get_by_role("button", name=f"Mark message {mid} read").click()
    expect(page.locator(f"#message-{mid} .badge")).to_have_text("read")
    # read is as far as it goes: no way back to delivered, no failing now
    expect(page.locator(f"#message-{mid}").get_by_role("button")).to_have_count(0)
    client, csrf = signed_in(app)
    with contextlib.closing(client):
        r = client.post(
            f"/app/1/console/simulator/messages/{mid}/status",
            data={"_csrf": csrf, "status": "delivered"},
        )
        assert r.status_code == 409
        assert "only move forward" in r.text
    with app.api() as api:
        again = api.post(
            f"/v2/contact/id:{cid}/message",
            json={"channelId": 123, "message": {"type": "text", "text": "This one fails"}},
        ).json()["messageId"]
        deadline = time.monotonic() + 5
        while (
            api.get(f"/v2/contact/id:{cid}/message/{again}").json()["status"][-1]["value"]
            != "delivered"
        ):
            assert time.monotonic() < deadline
            time.sleep(0.05)
    page.goto(f"{app.url}/app/1/console/simulator")
    page.get_by_label(f"Reason message {again} failed").fill("131026: undeliverable")
    page.get_by_role("button", name=f"Mark message {again} failed").click()
    expect(page.locator(f"#message-{again}")).to_contain_text("131026: undeliverable")
    page.goto(f"{app.url}/app/1/c/{cid}")
    bubble = page.locator("li.msg.out").filter(has_text="This one fails")
    expect(bubble.locator(".status")).to_contain_text("131026: undeliverable")


def test_a_custom_channel_can_be_played_too(app: App) -> None:
    with app.admin() as admin:
        channel = admin.post(
            "/control/workspaces/1/channels",
            json={
                "name": "Console bridge",
                "source": "custom_channel",
                "driver": "custom_channel",
                "settings": {"apiBaseUrl": "https://bridge.example.com/x", "token": "b" * 32},
            },
        ).json()
    client, csrf = signed_in(app)
    with contextlib.closing(client):
        page = client.get("/app/1/console/simulator")
        assert "Console bridge (custom_channel, custom_channel)" in page.text
        r = client.post(
            "/app/1/console/simulator/incoming",
            data={
                "_csrf": csrf,
                "channel": str(channel["id"]),
                "address": "+60199990077",
                "type": "text",
                "text": "Through the bridge",
            },
        )
        assert r.status_code == 303, r.text
    with app.api() as api:
        messages = api.get("/v2/contact/phone:+60199990077/message/list").json()["items"]
    assert [(m["channelId"], m["message"]["text"]) for m in messages] == [
        (channel["id"], "Through the bridge")
    ]


def test_reset_asks_for_the_workspace_name(app: App) -> None:
    client, csrf = signed_in(app)
    with contextlib.closing(client):
        r = client.post(
            "/app/1/console/simulator/reset", data={"_csrf": csrf, "to": "demo", "confirm": "nope"}
        )
        assert r.status_code == 400
        assert "type the workspace" in r.text
        with app.api() as api:
            assert api.get("/v2/contact/id:12345").status_code == 200  # nothing was removed
        r = client.post("/app/1/console/simulator/reset", data={"_csrf": csrf, "to": "sideways"})
        assert r.status_code == 400
