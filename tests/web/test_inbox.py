"""The inbox in a real Chromium: live messages, replies and their statuses, the panel's
actions, and what must stay inert or hidden."""

from __future__ import annotations

import re
import subprocess
import sys
import time

import httpx
from playwright.sync_api import Browser, Dialog, Page, expect

from tests.web.conftest import App

SANDBOX = "/control/workspaces/1/sandbox"


def _incoming(app: App, address: str, text: str, **contact: str) -> dict[str, int]:
    body: dict[str, object] = {
        "channelId": 123,
        "address": address,
        "message": {"type": "text", "text": text},
    }
    if contact:
        body["contact"] = contact
    with app.admin() as admin:
        r = admin.post(f"{SANDBOX}/incoming", json=body)
        assert r.status_code == 200, r.text
        return dict(r.json())


def _open(app: App, page: Page, contact_id: int) -> None:
    page.goto(f"{app.url}/app/1/c/{contact_id}")
    expect(page.locator("#timeline")).to_be_visible()


def test_a_customer_message_appears_in_open_inboxes_within_a_second(
    app: App, browser: Browser
) -> None:
    owner, agent = browser.new_page(), browser.new_page()
    app.sign_in(owner, "owner@example.com")
    app.sign_in(agent, "agent@example.com")
    _open(app, owner, 12345)
    expect(agent).to_have_url(re.compile(r"/app/1/$"))
    owner.wait_for_timeout(300)  # the live stream connects
    sent = time.monotonic()
    _incoming(app, "+60111111111", "Is my order on its way?")
    expect(owner.locator("#timeline")).to_contain_text("Is my order on its way?", timeout=1000)
    expect(agent.locator("#rows a.row").first).to_contain_text(
        "Is my order on its way?", timeout=1000
    )
    assert time.monotonic() - sent < 1.5
    # The agent has not opened it: unread, counted in the tab title.
    expect(agent.locator("#rows a.row.unread").first).to_contain_text("Priya")
    expect(agent).to_have_title(re.compile(r"^\(\d+\) "))
    owner.close()
    agent.close()


def _deliver(app: App) -> None:
    """A worker process delivers what is queued (the sandbox channel reports sent and
    delivered), then exits."""
    env = {**app.proc.env, "OPENRESPOND_WORKER": "1"}
    done = subprocess.run(
        [sys.executable, "-m", "openrespond", "worker", "--once"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr


def test_a_reply_goes_pending_then_sent_then_delivered_then_read(app: App, page: Page) -> None:
    app.sign_in(page, "owner@example.com")
    _open(app, page, 12345)
    page.get_by_label("Reply").fill("It ships today.")
    page.get_by_label("Reply").press("Control+Enter")
    bubble = page.locator("li.msg.out").filter(has_text="It ships today.")
    status = bubble.locator(".status")
    expect(status).to_have_text("pending")
    expect(page.get_by_label("Reply")).to_have_value("")
    message_id = int(bubble.get_attribute("data-message") or 0)
    # Delivered by another process: the open page hears of it all the same.
    _deliver(app)
    expect(status).to_have_text("delivered", timeout=1000)
    expect(status).to_have_attribute("title", re.compile(r"^pending .*\nsent .*\ndelivered "))
    with app.admin() as admin:
        r = admin.post(f"{SANDBOX}/messages/{message_id}/status", json={"status": "read"})
        assert r.status_code == 200, r.text
    expect(status).to_have_text("read", timeout=1000)
    with app.api() as api:
        msg = api.get(f"/v2/contact/id:12345/message/{message_id}").json()
        assert msg["sender"] == {"source": "user", "userId": app.user_id(1, "owner@example.com")}


def test_a_failed_message_shows_its_reason(app: App, page: Page) -> None:
    app.sign_in(page, "owner@example.com")
    _open(app, page, 12345)
    page.get_by_label("Reply").fill("This one will fail.")
    page.get_by_role("button", name="Send").click()
    bubble = page.locator("li.msg.out").filter(has_text="This one will fail.")
    expect(bubble.locator(".status")).to_have_text("pending")
    message_id = int(bubble.get_attribute("data-message") or 0)
    _deliver(app)
    with app.admin() as admin:
        admin.post(
            f"{SANDBOX}/messages/{message_id}/status",
            json={"status": "failed", "reason": "131047: outside the 24-hour window"},
        )
    expect(bubble.locator(".status")).to_contain_text("131047: outside the 24-hour window")
    expect(bubble.locator(".status")).to_have_attribute("title", re.compile("131047"))


def test_close_with_a_note_and_reopen(app: App, page: Page) -> None:
    app.sign_in(page, "owner@example.com")
    _open(app, page, 12345)
    if page.get_by_role("button", name="Reopen conversation").count():
        page.get_by_role("button", name="Reopen conversation").click()
    page.get_by_label("Closing note").select_option("Resolved")
    page.get_by_label("Summary").fill("Shipped.")
    page.get_by_role("button", name="Close conversation").click()
    expect(page.locator(".conv-head .badge")).to_have_text("Closed")
    with app.api() as api:
        assert api.get("/v2/contact/id:12345").json()["status"] == "close"
    page.get_by_role("button", name="Reopen conversation").click()
    expect(page.locator(".conv-head .badge")).to_have_text("Open")


def test_assign_to_me_and_to_another(app: App, page: Page) -> None:
    app.sign_in(page, "owner@example.com")
    _open(app, page, 67890)
    page.get_by_role("button", name="Assign to me").click()
    owner = app.user_id(1, "owner@example.com")
    expect(page.get_by_label("Assigned to")).to_have_value(str(owner))
    with app.api() as api:
        assert api.get("/v2/contact/id:67890").json()["assignee"]["id"] == owner
    agent = app.user_id(1, "agent@example.com")
    page.get_by_label("Assigned to").select_option(str(agent))
    page.get_by_role("button", name="Assign", exact=True).click()
    expect(page.get_by_label("Assigned to")).to_have_value(str(agent))
    # Sam has no conversation yet: the closed tab lists him, under his assignee only.
    page.goto(f"{app.url}/app/1/?status=closed&assignee={agent}")
    expect(page.locator("#rows")).to_contain_text("Sam")
    page.goto(f"{app.url}/app/1/?status=closed&assignee=unassigned")
    expect(page.locator("#rows")).not_to_contain_text("Sam")


def test_comment_with_a_mention_completed_from_the_list(app: App, page: Page) -> None:
    app.sign_in(page, "owner@example.com")
    _open(app, page, 12345)
    box = page.get_by_label("Internal comment")
    box.click()
    box.press_sequentially("Please check @ale")
    expect(page.locator("#mention-menu [role=option]")).to_have_text(
        ["Alex Agent <agent@example.com>"]
    )
    box.press("Enter")
    expect(box).to_have_value("Please check @[agent@example.com] ")
    page.get_by_role("button", name="Add comment").click()
    note = page.locator("li.note").last
    expect(note).to_contain_text("Please check @Alex Agent")
    expect(note.locator(".who")).to_have_text("Olivia")


def test_tags_and_lifecycle(app: App, page: Page) -> None:
    app.sign_in(page, "owner@example.com")
    _open(app, page, 12345)
    page.get_by_label("Add a tag").fill("vip")
    page.get_by_role("button", name="Add", exact=True).click()
    expect(page.locator("#panel .chips")).to_contain_text("vip")
    page.get_by_label("Lifecycle stage").select_option("Customer")
    page.get_by_role("button", name="Set stage").click()
    expect(page.get_by_label("Lifecycle stage")).to_have_value("Customer")
    with app.api() as api:
        contact = api.get("/v2/contact/id:12345").json()
        assert "vip" in contact["tags"]
        assert contact["lifecycle"] == "Customer"
    page.get_by_role("button", name="Remove tag vip").click()
    expect(page.locator("#panel .chips")).not_to_contain_text("vip")


def test_an_invalid_reply_shows_its_error_and_keeps_nothing(app: App, page: Page) -> None:
    app.sign_in(page, "owner@example.com")
    _open(app, page, 12345)
    before = page.locator("li.msg").count()
    page.get_by_label("Reply").fill("x" * 5000)
    page.get_by_role("button", name="Send").click()
    expect(page.locator("#err-reply-text")).to_contain_text("text")
    expect(page.get_by_label("Reply")).to_have_attribute("aria-invalid", "true")
    expect(page.get_by_label("Reply")).to_have_value("x" * 5000)
    page.reload()
    expect(page.locator("li.msg")).to_have_count(before)


def test_hostile_text_stays_inert(app: App, page: Page) -> None:
    dialogs: list[str] = []

    def refuse(dialog: Dialog) -> None:
        dialogs.append(dialog.message)
        dialog.dismiss()

    page.on("dialog", refuse)
    got = _incoming(
        app,
        "+60199999999",
        "<script>alert(2)</script> see https://example.com/x?a=1&b=<2>",
        firstName="<img src=x onerror=alert(1)>",
    )
    app.sign_in(page, "owner@example.com")
    expect(page.locator("#rows")).to_contain_text("<img src=x onerror=alert(1)>")
    _open(app, page, got["contactId"])
    expect(page.locator("#timeline")).to_contain_text("<script>alert(2)</script>")
    expect(page.locator("#timeline img")).to_have_count(0)
    expect(page.locator("#timeline script")).to_have_count(0)
    link = page.locator("#timeline a", has_text="https://example.com")
    expect(link).to_have_attribute("href", "https://example.com/x?a=1&b=")
    assert dialogs == []


def test_an_agent_cannot_open_settings(app: App, page: Page) -> None:
    app.sign_in(page, "agent@example.com")
    expect(page.get_by_role("link", name="Settings")).to_have_count(0)
    response = page.goto(f"{app.url}/app/1/settings")
    assert response is not None
    assert response.status == 404


def test_an_owner_invites_from_settings(app: App, page: Page, browser: Browser) -> None:
    app.sign_in(page, "owner@example.com")
    page.get_by_role("link", name="Settings").click()
    page.get_by_label("Email").fill("invitee@example.com")
    page.get_by_label("First name").fill("Ivy")
    page.get_by_role("button", name="Create link").click()
    url = page.get_by_label("Invitation link").input_value()
    assert "/app/link/" in url
    other = browser.new_page()
    other.goto(url)
    other.get_by_label("New password").fill("invitee-password-1")
    other.get_by_label("Repeat it").fill("invitee-password-1")
    other.get_by_role("button", name="Set password and sign in").click()
    expect(other).to_have_url(re.compile(r"/app/1/$"))
    expect(other.locator(".me")).to_contain_text("Ivy")
    other.close()
    # The link is not in the page any more once it is left.
    page.reload()
    assert url not in page.content()


def test_posts_without_the_csrf_token_are_refused(app: App, page: Page) -> None:
    app.sign_in(page, "owner@example.com")
    r = page.request.post(f"{app.url}/app/1/c/12345/comment", form={"text": "forged"})
    assert r.status == 403
    r = page.request.post(
        f"{app.url}/app/1/c/12345/comment", form={"text": "forged", "_csrf": "wrong"}
    )
    assert r.status == 403
    with app.api() as api:
        assert "forged" not in api.get("/v2/contact/id:12345/message/list").text


def test_another_workspaces_pages_are_404(app: App, page: Page) -> None:
    with app.admin() as admin:
        other = admin.post("/control/workspaces", json={"name": "Elsewhere"}).json()["id"]
    app.sign_in(page, "owner@example.com")
    for path in (f"/app/{other}/", f"/app/{other}/c/12345", f"/app/{other}/settings"):
        response = page.goto(f"{app.url}{path}")
        assert response is not None
        assert response.status == 404, path
    # A contact of another workspace, under this one: 404 as well.
    with app.admin() as admin:
        token = admin.post(f"/control/workspaces/{other}/tokens", json={"name": "t"}).json()
    with httpx.Client(
        base_url=app.url, headers={"Authorization": f"Bearer {token['token']}"}
    ) as api:
        foreign = api.post("/v2/contact/email:stranger@example.com", json={"firstName": "S"})
        assert foreign.status_code == 200, foreign.text
        foreign_id = api.get("/v2/contact/email:stranger@example.com").json()["id"]
    page.goto(f"{app.url}/app/1/")
    csrf = page.locator("body").get_attribute("data-csrf") or ""
    response = page.goto(f"{app.url}/app/1/c/{foreign_id}")
    assert response is not None
    assert response.status == 404
    r = page.request.post(
        f"{app.url}/app/1/c/{foreign_id}/comment", form={"text": "x", "_csrf": csrf}
    )
    assert r.status == 404
    for path in (
        f"/app/1/c/{foreign_id}/confirm-delete",
        f"/app/1/c/{foreign_id}/merge-with",
        f"/app/1/c/12345/merge-with?with={foreign_id}",
    ):
        response = page.goto(f"{app.url}{path}")
        assert response is not None
        assert response.status == 404, path
    for action, form in (("delete", {"confirm": "delete"}), ("contact", {"firstName": "Z"})):
        r = page.request.post(
            f"{app.url}/app/1/c/{foreign_id}/{action}", form={**form, "_csrf": csrf}
        )
        assert r.status == 404, action
    r = page.request.post(
        f"{app.url}/app/1/c/12345/merge", form={"with": str(foreign_id), "_csrf": csrf}
    )
    assert r.status == 404
    with httpx.Client(
        base_url=app.url, headers={"Authorization": f"Bearer {token['token']}"}
    ) as api:
        assert api.get(f"/v2/contact/id:{foreign_id}").json()["firstName"] == "S"


def test_bad_list_parameters_are_answered_400(app: App, page: Page) -> None:
    app.sign_in(page, "owner@example.com")
    for qs, field in (
        ("status=pending", "status"),
        ("assignee=bob", "assignee"),
        ("after=x", "after"),
    ):
        response = page.goto(f"{app.url}/app/1/?{qs}")
        assert response is not None
        assert response.status == 400, qs
        expect(page.get_by_role("alert")).to_contain_text(field)


def test_keyboard_moves_through_the_list_and_opens(app: App, page: Page) -> None:
    _incoming(app, "+60111111111", "first")
    _incoming(app, "+60122222222", "second")
    app.sign_in(page, "owner@example.com")
    expect(page).to_have_url(re.compile(r"/app/1/$"))
    page.keyboard.press("j")
    first = page.locator("#rows a.row").first
    expect(first).to_be_focused()
    page.keyboard.press("j")
    expect(page.locator("#rows a.row").nth(1)).to_be_focused()
    page.keyboard.press("k")
    expect(first).to_be_focused()
    page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile(r"/app/1/c/\d+"))
    page.keyboard.press("r")
    expect(page.get_by_label("Reply")).to_be_focused()


def test_a_live_refresh_keeps_a_form_being_filled_in(app: App, page: Page) -> None:
    _incoming(app, "+60111111111", "Hello again")  # an open conversation: a close form
    app.sign_in(page, "owner@example.com")
    _open(app, page, 12345)
    page.get_by_label("Lifecycle stage").select_option("Hot Lead")
    page.get_by_label("Summary").fill("half-written")
    page.wait_for_timeout(300)  # the live stream connects
    _incoming(app, "+60111111111", "A change made elsewhere")
    expect(page.locator("#timeline")).to_contain_text("A change made elsewhere", timeout=1000)
    expect(page.get_by_label("Lifecycle stage")).to_have_value("Hot Lead")
    expect(page.get_by_label("Summary")).to_have_value("half-written")
