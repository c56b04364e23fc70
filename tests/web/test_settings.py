"""Workspace settings in a real browser: users (roles, deactivation), channels (secrets
write-only, the SSRF rule on the field), tags, custom fields, lifecycle stages and closing
notes, each with the API's validation message next to the field."""

from __future__ import annotations

import contextlib
import re
from collections.abc import Iterator

import httpx
import pytest
from playwright.sync_api import Browser, Page, expect

from tests.web.conftest import PASSWORDS, App, start_app
from tests.web.test_forms import signed_in


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[App]:
    """A demo server that allows no private network: loopback channels are refused."""
    server = start_app(tmp_path_factory.mktemp("settings"), OPENRESPOND_WORKER="0")
    try:
        yield server
    finally:
        server.proc.stop()


SECRETS: dict[str, str] = {}


def test_a_channel_pointed_at_loopback_is_refused_on_the_field(app: App, page: Page) -> None:
    app.sign_in(page, "owner@example.com")
    page.goto(f"{app.url}/app/1/settings#channels")
    form = page.locator("#channel-form")
    form.get_by_label("Name", exact=True).fill("Local bridge")
    form.get_by_label("Source").select_option("custom_channel")
    form.get_by_label("Driver").select_option("custom_channel")
    form.get_by_label("Bridge URL (apiBaseUrl)").fill("http://127.0.0.1:9/bridge")
    form.get_by_role("button", name="Add channel").click()
    field = page.locator("#channel-form").get_by_label("Bridge URL (apiBaseUrl)")
    expect(field).to_have_attribute("aria-invalid", "true")
    expect(page.locator("#channels-error")).to_contain_text("settings.apiBaseUrl")
    with app.admin() as admin:
        names = [c["name"] for c in admin.get("/control/workspaces/1/channels").json()["items"]]
    assert "Local bridge" not in names


def test_channel_secrets_are_write_only(app: App, page: Page) -> None:
    app.sign_in(page, "owner@example.com")
    page.goto(f"{app.url}/app/1/settings#channels")
    form = page.locator("#channel-form")
    form.get_by_label("Name", exact=True).fill("Support mail")
    form.get_by_label("Source").select_option("other_email")
    form.get_by_label("Driver").select_option("smtp")
    form.get_by_label("Host").fill("smtp.example.com")
    form.get_by_label("Username").fill("mailer")
    form.get_by_label("Password", exact=True).fill("smtp-secret-password-123")
    form.get_by_label("From", exact=True).fill("support@example.com")
    form.get_by_role("button", name="Add channel").click()
    expect(page.get_by_role("status")).to_contain_text("Support mail")
    SECRETS["smtp password"] = "smtp-secret-password-123"
    assert "smtp-secret-password-123" not in page.content()
    # A custom channel's generated token is shown once.
    form = page.locator("#channel-form")
    form.get_by_label("Name", exact=True).fill("Bridge")
    form.get_by_label("Source").select_option("custom_channel")
    form.get_by_label("Driver").select_option("custom_channel")
    form.get_by_label("Bridge URL (apiBaseUrl)").fill("https://bridge.example.com/respond")
    form.get_by_role("button", name="Add channel").click()
    token = page.locator("#channel-token").input_value()
    assert len(token) >= 16
    SECRETS["bridge token"] = token
    # Editing: the secret is not filled in; leaving it empty keeps it.
    page.goto(f"{app.url}/app/1/settings")
    page.get_by_role("link", name="Support mail").click()
    expect(page.get_by_label("Host")).to_have_value("smtp.example.com")
    expect(page.get_by_label(re.compile("^Password"))).to_have_value("")
    assert "smtp-secret-password-123" not in page.content()
    page.get_by_label("Port").fill("not-a-port")
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_label("Port")).to_have_attribute("aria-invalid", "true")
    page.get_by_label("Port").fill("2525")
    page.get_by_label("Name", exact=True).fill("Support mail (2525)")
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_role("link", name="Support mail (2525)")).to_be_visible()
    with app.admin() as admin:
        channel = next(
            c
            for c in admin.get("/control/workspaces/1/channels").json()["items"]
            if c["name"] == "Support mail (2525)"
        )
        assert "smtp-secret-password-123" not in str(channel)


def test_provider_channels_from_the_settings_page(app: App, page: Page) -> None:
    """WhatsApp Cloud, Telegram and Twilio channels made in the browser: the API's message
    on the field, the webhook URL to register, secrets write-only."""
    app.sign_in(page, "owner@example.com")
    page.goto(f"{app.url}/app/1/settings#channels")
    form = page.locator("#channel-form")
    form.get_by_label("Name", exact=True).fill("WhatsApp Cloud")
    form.get_by_label("Source").select_option("whatsapp_cloud")
    form.get_by_label("Driver").select_option("whatsapp_cloud")
    # only the chosen driver's settings are shown
    expect(form.locator("fieldset[data-driver=whatsapp_cloud]")).to_be_visible()
    for other in ("custom_channel", "smtp", "telegram", "twilio"):
        expect(form.locator(f"fieldset[data-driver={other}]")).to_be_hidden()
    form.get_by_label("Phone number ID").fill("not-digits")
    form.get_by_label(re.compile("^Access token")).fill("EAAG-browser-access-token-123")
    form.get_by_label(re.compile("^App secret")).fill("browser-app-secret-1234")
    form.get_by_label(re.compile("^Verify token")).fill("browser-verify-token-1234")
    # an address literal: no name to look up on a machine without DNS
    form.get_by_label("Graph API URL").fill("https://157.240.0.1")
    form.get_by_role("button", name="Add channel").click()
    field = page.locator("#channel-form").get_by_label("Phone number ID")
    expect(field).to_have_attribute("aria-invalid", "true")
    expect(page.locator("#channels-error")).to_contain_text("phoneNumberId")
    form = page.locator("#channel-form")
    form.get_by_label("Phone number ID").fill("106540352242922")
    form.get_by_label(re.compile("^Access token")).fill("EAAG-browser-access-token-123")
    form.get_by_label(re.compile("^App secret")).fill("browser-app-secret-1234")
    form.get_by_label(re.compile("^Verify token")).fill("browser-verify-token-1234")
    form.get_by_role("button", name="Add channel").click()
    expect(page.locator("#channel-webhook")).to_contain_text("/hooks/whatsapp/")
    for name, value in (
        ("whatsapp access token", "EAAG-browser-access-token-123"),
        ("whatsapp app secret", "browser-app-secret-1234"),
        ("whatsapp verify token", "browser-verify-token-1234"),
    ):
        SECRETS[name] = value
        assert value not in page.content()
    page.get_by_role("link", name="WhatsApp Cloud").click()
    expect(page.locator("#webhook-url")).to_have_value(re.compile(r"/hooks/whatsapp/\d+$"))
    expect(page.get_by_label("Phone number ID")).to_have_value("106540352242922")
    expect(page.get_by_label(re.compile("^Access token"))).to_have_value("")
    expect(page.get_by_text("(set; empty keeps it)")).to_have_count(3)
    assert "browser-app-secret-1234" not in page.content()
    # Telegram and Twilio
    page.goto(f"{app.url}/app/1/settings#channels")
    form = page.locator("#channel-form")
    form.get_by_label("Name", exact=True).fill("Bot")
    form.get_by_label("Source").select_option("telegram")
    form.get_by_label("Driver").select_option("telegram")
    form.get_by_label(re.compile("^Bot token")).fill("123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw")
    form.get_by_label("Bot API URL").fill("https://149.154.167.220")
    form.get_by_role("button", name="Add channel").click()
    expect(page.locator("#channel-webhook")).to_contain_text("/hooks/telegram/")
    SECRETS["telegram bot token"] = "123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw"
    form = page.locator("#channel-form")
    form.get_by_label("Name", exact=True).fill("SMS")
    form.get_by_label("Source").select_option("twilio")
    form.get_by_label("Driver").select_option("twilio")
    form.get_by_label("Account SID").fill("AC" + "0123456789abcdef" * 2)
    form.get_by_label(re.compile("^Auth token")).fill("browser-twilio-auth-token-1234")
    form.get_by_label("From (number)").fill("12345")
    form.get_by_label("Twilio API URL").fill("https://54.172.60.0")
    form.get_by_role("button", name="Add channel").click()
    expect(page.locator("#channel-form").get_by_label("From (number)")).to_have_attribute(
        "aria-invalid", "true"
    )
    form = page.locator("#channel-form")
    form.get_by_label(re.compile("^Auth token")).fill("browser-twilio-auth-token-1234")
    form.get_by_label("From (number)").fill("+15005550006")
    form.get_by_role("button", name="Add channel").click()
    expect(page.locator("#channel-webhook")).to_contain_text("/hooks/twilio/")
    SECRETS["twilio auth token"] = "browser-twilio-auth-token-1234"
    assert "browser-twilio-auth-token-1234" not in page.content()


def test_the_catalogue_with_the_apis_validation(app: App, page: Page) -> None:
    app.sign_in(page, "owner@example.com")
    page.goto(f"{app.url}/app/1/settings")
    # tags
    page.locator("#tag-name").fill("vip-console")
    page.locator("#tag-color").fill("red")
    page.get_by_role("button", name="Add tag").click()
    expect(page.locator("#tag-color")).to_have_attribute("aria-invalid", "true")
    expect(page.locator("#tags-error")).to_contain_text("colorCode")
    page.locator("#tag-color").fill("#ff0000")
    page.get_by_role("button", name="Add tag").click()
    expect(page.locator("#tags")).to_contain_text("vip-console")
    # custom fields: a list needs its values
    page.locator("#field-name").fill("Plan")
    page.locator("#field-type").select_option("list")
    page.get_by_role("button", name="Add field").click()
    expect(page.locator("#fields-error")).to_be_visible()
    with app.api() as api:
        r = api.post("/v2/space/custom_field", json={"name": "Plan", "dataType": "list"})
    assert r.status_code == 400
    expect(page.locator("#fields-error")).to_have_text(r.json()["message"])
    page.locator("#field-values").fill("free, pro, enterprise")
    page.get_by_role("button", name="Add field").click()
    expect(page.locator("#fields")).to_contain_text("free, pro, enterprise")
    # lifecycle stages and closing notes
    page.locator("#stage-name").fill("Churned")
    page.get_by_role("button", name="Add stage").click()
    expect(page.locator("#stages")).to_contain_text("Churned")
    page.locator("#stage-name").fill("Churned")
    page.get_by_role("button", name="Add stage").click()
    expect(page.locator("#stages-error")).to_be_visible()
    page.locator("#note-category").fill("Duplicate")
    page.get_by_role("button", name="Add category").click()
    expect(page.locator("#notes")).to_contain_text("Duplicate")
    page.get_by_role("button", name="Delete category Duplicate").click()
    expect(page.locator("#notes")).not_to_contain_text("Duplicate")
    with app.api() as api:
        fields = api.get("/v2/space/custom_field").json()["items"]
        assert any(f["name"] == "Plan" for f in fields)
        assert any(t["name"] == "vip-console" for t in api.get("/v2/space/tag").json()["items"])


def test_deactivating_a_user_ends_their_session_at_once(
    app: App, page: Page, browser: Browser
) -> None:
    other = browser.new_context()
    try:
        agent = other.new_page()
        app.sign_in(agent, "agent@example.com")
        agent.goto(f"{app.url}/app/1/")
        expect(agent.locator("#rows")).to_be_visible()
        app.sign_in(page, "owner@example.com")
        page.goto(f"{app.url}/app/1/settings")
        page.get_by_role("button", name="Deactivate agent@example.com").click()
        expect(page.locator("#users")).to_contain_text("deactivated")
        agent.goto(f"{app.url}/app/1/")
        expect(agent).to_have_url(re.compile(r"/app/sign-in"))
        app.sign_in(agent, "agent@example.com")
        expect(agent.locator(".error")).to_be_visible()  # cannot sign in either
        page.get_by_role("button", name="Reactivate agent@example.com").click()
        expect(page.locator("#user-" + str(app.user_id(1, "agent@example.com")))).to_contain_text(
            "active"
        )
        app.sign_in(agent, "agent@example.com", PASSWORDS["agent@example.com"])
        expect(agent).to_have_url(re.compile(r"/app/1/"))
    finally:
        other.close()


def test_roles_change_and_the_last_owner_stays(app: App) -> None:
    client, csrf = signed_in(app)
    owner = app.user_id(1, "owner@example.com")
    with contextlib.closing(client):
        r = client.post(f"/app/1/settings/users/{owner}", data={"_csrf": csrf, "role": "agent"})
        assert r.status_code == 409
        assert "only active owner" in r.text
        r = client.post(f"/app/1/settings/users/{owner}", data={"_csrf": csrf, "active": "0"})
        assert r.status_code == 409
        agent = app.user_id(1, "agent@example.com")
        r = client.post(f"/app/1/settings/users/{agent}", data={"_csrf": csrf, "role": "boss"})
        assert r.status_code == 400
        assert "role must be one of" in r.text
    with app.admin() as admin:  # the control API answers the same
        r = admin.put(f"/control/workspaces/1/users/{owner}", json={"role": "agent"})
        assert r.status_code == 409
        r = admin.put(f"/control/workspaces/1/users/{agent}", json={"role": "manager"})
        assert r.status_code == 200
        assert r.json()["role"] == "manager"
        assert (
            admin.put(f"/control/workspaces/1/users/{agent}", json={"role": "agent"}).status_code
            == 200
        )


def test_an_agent_gets_404_and_other_workspaces_ids_are_404(app: App) -> None:
    with app.admin() as admin:
        wid = admin.post("/control/workspaces", json={"name": "elsewhere"}).json()["id"]
        channel = admin.post(
            f"/control/workspaces/{wid}/channels", json={"name": "theirs", "source": "telegram"}
        ).json()
        user = admin.post(
            f"/control/workspaces/{wid}/users", json={"email": "x@example.com", "firstName": "X"}
        ).json()
        field = admin.post(
            f"/control/workspaces/{wid}/custom_fields", json={"name": "Theirs", "dataType": "text"}
        ).json()
    agent, agent_csrf = signed_in(app, "agent@example.com")
    with contextlib.closing(agent):
        assert agent.get("/app/1/settings").status_code == 404
        assert agent.get("/app/1/settings/channels/123").status_code == 404
        for path in (
            "/app/1/settings/tags",
            "/app/1/settings/channels",
            "/app/1/settings/stages",
            "/app/1/settings/channels/123/templates",
        ):
            assert agent.post(path, data={"_csrf": agent_csrf, "name": "x"}).status_code == 404
    client, csrf = signed_in(app)
    with contextlib.closing(client):
        assert client.get(f"/app/1/settings/channels/{channel['id']}").status_code == 404
        for path in (
            f"/app/1/settings/channels/{channel['id']}",
            f"/app/1/settings/channels/{channel['id']}/delete",
            f"/app/1/settings/channels/{channel['id']}/templates",
            "/app/1/settings/channels/123/templates",  # the demo's sandbox channel: no templates to read
            f"/app/1/settings/users/{user['id']}",
            f"/app/1/settings/fields/{field['id']}/delete",
        ):
            r = client.post(path, data={"_csrf": csrf, "name": "mine", "role": "owner"})
            assert r.status_code == 404, path
    with app.admin() as admin:  # untouched
        assert (
            admin.get(f"/control/workspaces/{wid}/channels").json()["items"][0]["name"] == "theirs"
        )
        assert admin.get(f"/control/workspaces/{wid}/users").json()["items"][0]["role"] == "agent"


def test_hostile_values_never_answer_5xx(app: App) -> None:
    client, csrf = signed_in(app)
    with contextlib.closing(client):
        for value in ("", "x" * 5000, "<script>alert(1)</script>", "\u202e", "http://[::1", "-1"):
            for path, fields in (
                (
                    "/app/1/settings/channels",
                    ("name", "source", "driver", "apiBaseUrl", "port", "host"),
                ),
                ("/app/1/settings/tags", ("name", "colorCode", "emoji")),
                ("/app/1/settings/fields", ("name", "dataType", "slug", "allowedValues")),
                ("/app/1/settings/stages", ("name",)),
                ("/app/1/settings/notes", ("category", "description")),
                ("/app/1/settings/users/1", ("role", "active")),
            ):
                for field in fields:
                    data = {"_csrf": csrf, "name": "n", "driver": "smtp", "source": "other_email"}
                    data[field] = value
                    r = client.post(path, data=data)
                    assert r.status_code < 500, (path, field, value, r.text[:300])
                    assert "<script>alert(1)</script>" not in r.text
        assert client.get("/app/1/settings").status_code == 200


def test_no_secret_appears_on_any_settings_or_console_page(app: App, page: Page) -> None:
    assert set(SECRETS) == {
        "smtp password",
        "bridge token",
        "whatsapp access token",
        "whatsapp app secret",
        "whatsapp verify token",
        "telegram bot token",
        "twilio auth token",
    }, SECRETS
    app.sign_in(page, "owner@example.com")
    seen: set[str] = set()
    todo = ["/app/1/settings", "/app/1/console"]
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
            "a[href^='/app/1/settings'], a[href^='/app/1/console']",
            "els => els.map(e => e.getAttribute('href').split('#')[0])",
        ):
            todo.append(href)
    assert any("/settings/channels/" in p for p in seen)
    with httpx.Client(base_url=app.url) as anonymous:
        assert anonymous.get("/app/1/settings").status_code in (302, 303)
