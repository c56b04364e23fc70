"""Signing in and out of the browser app, in a real Chromium."""

from __future__ import annotations

import re

import httpx
from playwright.sync_api import Browser, Page, expect

from tests.backend import query
from tests.web.conftest import App


def test_sign_in_lands_in_the_inbox_and_sign_out_ends_the_session(app: App, page: Page) -> None:
    app.sign_in(page, "owner@example.com")
    expect(page).to_have_url(re.compile(r"/app/1/$"))
    expect(page.get_by_role("link", name="Inbox")).to_be_visible()
    expect(page.get_by_role("navigation", name="Status")).to_be_visible()
    page.get_by_role("button", name="Sign out").click()
    expect(page).to_have_url(re.compile(r"/app/sign-in$"))
    page.goto(f"{app.url}/app/1/")
    expect(page).to_have_url(re.compile(r"/app/sign-in\?next="))


def test_wrong_password_is_refused_with_the_reason(app: App, page: Page) -> None:
    app.sign_in(page, "owner@example.com", "not-the-password")
    expect(page.get_by_role("alert")).to_have_text("That email and password do not match.")
    expect(page.get_by_label("Email")).to_have_value("owner@example.com")
    page.goto(f"{app.url}/app/1/")
    expect(page).to_have_url(re.compile(r"/app/sign-in"))


def test_repeated_failures_throttle_the_account_even_with_the_right_password(
    app: App, page: Page
) -> None:
    with app.admin() as admin:
        r = admin.post(
            "/control/workspaces/1/users",
            json={"email": "throttled@example.com", "firstName": "Tia", "role": "agent"},
        )
        assert r.status_code == 200, r.text
    app.set_password(1, "throttled@example.com", "right-password-1")
    for _ in range(5):
        app.sign_in(page, "throttled@example.com", "wrong-password-1")
        expect(page.get_by_role("alert")).to_have_text("That email and password do not match.")
    app.sign_in(page, "throttled@example.com", "right-password-1")
    expect(page.get_by_role("alert")).to_contain_text("too many failed sign-ins for this account")
    expect(page).to_have_url(re.compile(r"/app/sign-in$"))
    # Another account from the same client is not locked out by it.
    app.sign_in(page, "agent@example.com")
    expect(page).to_have_url(re.compile(r"/app/1/$"))


def test_an_idle_session_expires(app: App, page: Page) -> None:
    app.sign_in(page, "agent@example.com")
    expect(page).to_have_url(re.compile(r"/app/1/$"))
    # Eight hours and a second without a request, as far as the server can tell.
    query(app.proc.db_path, "UPDATE web_sessions SET seen_at = seen_at - 28801")
    page.goto(f"{app.url}/app/1/")
    expect(page).to_have_url(re.compile(r"/app/sign-in"))


def test_an_invitation_link_sets_a_password_once(app: App, browser: Browser) -> None:
    with app.admin() as admin:
        admin.post(
            "/control/workspaces/1/users",
            json={"email": "new@example.com", "firstName": "Nia", "role": "agent"},
        )
    url = app.link(1, app.user_id(1, "new@example.com"))
    page = browser.new_page()
    page.goto(url)
    expect(page.get_by_role("heading")).to_have_text("Welcome to Demo")
    page.get_by_label("New password").fill("short")
    page.get_by_label("Repeat it").fill("short")
    page.get_by_role("button", name="Set password and sign in").click()
    # The browser refuses it first (minlength); the server would too.
    expect(page).to_have_url(url)
    page.get_by_label("New password").fill("a-long-password-1")
    page.get_by_label("Repeat it").fill("a-long-password-2")
    page.get_by_role("button", name="Set password and sign in").click()
    expect(page.get_by_role("alert")).to_have_text("password: the two passwords differ")
    page.get_by_label("New password").fill("a-long-password-1")
    page.get_by_label("Repeat it").fill("a-long-password-1")
    page.get_by_role("button", name="Set password and sign in").click()
    expect(page).to_have_url(re.compile(r"/app/1/$"))
    page.goto(url)
    expect(page.get_by_role("alert")).to_have_text("this link was used already; ask for a new one")
    page.close()


def test_one_email_in_two_workspaces_picks_and_switches(app: App, browser: Browser) -> None:
    with app.admin() as admin:
        other = admin.post("/control/workspaces", json={"name": "Second"}).json()["id"]
        admin.post(
            f"/control/workspaces/{other}/users",
            json={"email": "agent@example.com", "firstName": "Alex", "role": "manager"},
        )
    app.set_password(other, "agent@example.com", "agent-password-1")
    page = browser.new_page()
    app.sign_in(page, "agent@example.com")
    expect(page.get_by_role("heading")).to_have_text("Choose a workspace")
    page.get_by_role("link", name=re.compile("Second")).click()
    expect(page).to_have_url(re.compile(rf"/app/{other}/$"))
    expect(page.get_by_role("link", name="Settings")).to_be_visible()  # a manager there
    page.locator(".switch summary").click()
    page.get_by_role("link", name="Demo").click()
    expect(page).to_have_url(re.compile(r"/app/1/$"))
    expect(page.get_by_role("link", name="Settings")).to_have_count(0)  # an agent here
    page.close()


def test_the_sign_in_form_needs_its_csrf_cookie(app: App) -> None:
    with httpx.Client(base_url=app.url) as client:
        r = client.post(
            "/app/sign-in", data={"email": "owner@example.com", "password": "owner-password-1"}
        )
        assert r.status_code == 403
        assert "CSRF" in r.text
