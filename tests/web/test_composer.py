"""The composer in a real Chromium: canned replies typed with "/" and WhatsApp templates
with their values."""

from __future__ import annotations

import re
from pathlib import Path

import httpx
from playwright.sync_api import Page, expect

from tests.backend import query
from tests.web.conftest import App


def _write_in(app: App, address: str = "+60111111111") -> None:
    with app.admin() as admin:
        r = admin.post(
            "/control/workspaces/1/sandbox/incoming",
            json={"channelId": 123, "address": address, "message": {"type": "text", "text": "hi"}},
        )
        assert r.status_code == 200, r.text


def test_canned_replies_are_managed_in_settings_and_typed_with_a_slash(
    app: App, page: Page
) -> None:
    _write_in(app)
    app.sign_in(page, "owner@example.com")
    page.goto(f"{app.url}/app/1/settings")
    page.get_by_label("Short code").fill("Bad Code!")
    page.get_by_label("Text", exact=True).fill("x")
    page.get_by_role("button", name="Add", exact=True).click()
    expect(page.get_by_role("alert")).to_contain_text("shortCode")
    page.get_by_label("Short code").fill("thanks")
    page.get_by_label("Text", exact=True).fill("Thank you for your patience!")
    page.get_by_role("button", name="Add", exact=True).click()
    expect(page.locator("#canned")).to_contain_text("/thanks")
    page.get_by_label("Short code").fill("thanks")
    page.get_by_label("Text", exact=True).fill("again")
    page.get_by_role("button", name="Add", exact=True).click()
    expect(page.get_by_role("alert")).to_contain_text("/thanks exists already")
    page.goto(f"{app.url}/app/1/c/12345")
    box = page.get_by_label("Reply")
    box.click()
    box.press_sequentially("/tha")
    expect(page.locator("#canned-menu [role=option]")).to_have_text(
        ["/thanks — Thank you for your patience!"]
    )
    box.press("Enter")
    expect(box).to_have_value("Thank you for your patience!")
    box.press("Control+Enter")
    expect(page.locator("li.msg.out").last).to_contain_text("Thank you for your patience!")
    # An agent cannot manage them.
    other = page.context.browser
    assert other is not None
    agent = other.new_page()
    app.sign_in(agent, "agent@example.com")
    expect(agent).to_have_url(re.compile(r"/app/1/$"))
    r = agent.request.post(
        f"{app.url}/app/1/settings/canned",
        form={
            "shortCode": "x",
            "text": "y",
            "_csrf": agent.locator("body").get_attribute("data-csrf") or "",
        },
    )
    assert r.status == 404
    agent.close()


def test_a_whatsapp_template_is_sent_with_its_values(app: App, page: Page) -> None:
    _write_in(app)
    app.sign_in(page, "owner@example.com")
    page.goto(f"{app.url}/app/1/c/12345")
    page.get_by_label("Type", exact=True).select_option("whatsapp_template")
    expect(page.get_by_label("Reply")).to_be_hidden()
    page.get_by_role("button", name="Send").click()
    expect(page.locator("#err-reply-template")).to_contain_text("fill in all 1 value(s)")
    page.get_by_label("Type", exact=True).select_option("whatsapp_template")
    page.get_by_label("Body {{1}}").fill("Ada")
    page.get_by_role("button", name="Send").click()
    bubble = page.locator("li.msg.out").last
    expect(bubble).to_contain_text("Template hello_world")
    expect(bubble).to_contain_text("Hello Ada, welcome and congratulations!")
    with app.api() as api:
        items = api.get("/v2/contact/id:12345/message/list").json()["items"]
    sent = next(m for m in items if m["message"]["type"] == "whatsapp_template")
    assert sent["message"]["template"] == {
        "name": "hello_world",
        "languageCode": "en",
        "components": [{"type": "body", "parameters": [{"type": "text", "text": "Ada"}]}],
    }


# A 1x1 PNG.
PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d49444154789c6360000002000185d0a4a30000000049454e44ae426082"
)


def test_a_file_is_attached_stored_and_served(app: App, page: Page, tmp_path: Path) -> None:
    _write_in(app)
    app.sign_in(page, "owner@example.com")
    page.goto(f"{app.url}/app/1/c/12345")
    before = page.locator("li.msg").count()
    bad = tmp_path / "tool.exe"
    bad.write_bytes(b"MZ\x90\x00" + bytes(200))
    page.get_by_label("Attach a file").set_input_files(str(bad))
    page.get_by_role("button", name="Send").click()
    expect(page.locator("#err-reply-file")).to_contain_text("not a kind that can be sent")
    expect(page.locator("li.msg")).to_have_count(before)
    assert query(app.proc.db_path, "SELECT count(*) FROM files")[0][0] == 0
    image = tmp_path / "photo <1>.png"
    image.write_bytes(PNG)
    page.get_by_label("Attach a file").set_input_files(str(image))
    page.get_by_label("Reply").fill("Here is the photo")
    page.get_by_role("button", name="Send").click()
    img = page.locator("li.msg.out img").last
    expect(img).to_have_attribute("alt", "photo _1_.png")
    expect(page.locator("li.msg.out").nth(-2)).to_contain_text("Here is the photo")
    url = img.get_attribute("src") or ""
    assert url.startswith(f"{app.url}/app/files/")
    with httpx.Client() as anyone:  # the channel fetches it without a session
        got = anyone.get(url)
        assert got.status_code == 200
        assert got.content == PNG
        assert got.headers["content-type"] == "image/png"
        assert "sandbox" in got.headers["content-security-policy"]
        assert anyone.get(url.replace("/app/files/", "/app/files/x")).status_code == 404
    with app.api() as api:
        items = api.get("/v2/contact/id:12345/message/list").json()["items"]
    sent = next(m for m in items if m["message"]["type"] == "attachment")
    assert sent["message"]["attachment"] == {
        "type": "image",
        "url": url,
        "fileName": "photo _1_.png",
    }
