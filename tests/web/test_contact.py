"""The contact panel in a real Chromium: editing fields with the API's validation, deleting,
and merging with a preview of what survives."""

from __future__ import annotations

import re

from playwright.sync_api import Page, expect

from tests.web.conftest import App


def _field(app: App, name: str, data_type: str, allowed: list[str] | None = None) -> None:
    body: dict[str, object] = {"name": name, "dataType": data_type}
    if allowed:
        body["allowedValues"] = allowed
    with app.api() as api:
        r = api.post("/v2/space/custom_field", json=body)
        assert r.status_code == 200, r.text


def _open_editor(page: Page) -> None:
    editor = page.locator("#edit-contact")
    if editor.get_attribute("open") is None:
        editor.locator("summary").click()
    expect(page.get_by_role("button", name="Save contact")).to_be_visible()


def _contact(app: App, email: str, **fields: object) -> int:
    with app.api() as api:
        r = api.post(f"/v2/contact/email:{email}", json={"firstName": "X", **fields})
        assert r.status_code == 200, r.text
        return int(r.json()["contactId"])


def test_fields_are_edited_with_the_apis_validation(app: App, page: Page) -> None:
    _field(app, "Plan", "list", ["free", "pro"])
    _field(app, "Seats", "number")
    cid = _contact(app, "edit@example.com", firstName="Edna", phone="+60155555555")
    app.sign_in(page, "owner@example.com")
    page.goto(f"{app.url}/app/1/c/{cid}")
    _open_editor(page)
    # An invalid value: its error by its field, and nothing changes.
    page.get_by_label("Seats").fill("many")
    page.get_by_label("Last name", exact=True).fill("Changed")
    page.get_by_role("button", name="Save contact").click()
    expect(page.locator("#err-contact-cf\\:Seats")).to_contain_text("must be a number")
    expect(page.get_by_label("Seats")).to_have_attribute("aria-invalid", "true")
    expect(page.get_by_label("Seats")).to_have_value("many")
    with app.api() as api:
        stored = api.get(f"/v2/contact/id:{cid}").json()
    assert stored["lastName"] is None
    assert stored["custom_fields"] == []
    # A bad email, named by its field.
    page.get_by_label("Seats").fill("12")
    page.get_by_label("Email", exact=True).fill("not-an-email")
    page.get_by_role("button", name="Save contact").click()
    expect(page.locator("#err-contact-email")).to_contain_text("not a valid email address")
    # Then valid values, saved as the API would.
    page.get_by_label("Email", exact=True).fill("edna@example.com")
    page.get_by_label("Plan").select_option("pro")
    page.get_by_role("button", name="Save contact").click()
    expect(page.locator("#panel dl")).to_contain_text("pro")
    with app.api() as api:
        stored = api.get(f"/v2/contact/id:{cid}").json()
    assert stored["lastName"] == "Changed"
    assert stored["email"] == "edna@example.com"
    assert {f["name"]: f["value"] for f in stored["custom_fields"]} == {"Plan": "pro", "Seats": 12}
    # A field emptied is cleared; the first name cannot be.
    _open_editor(page)
    page.get_by_label("First name", exact=True).fill("")
    page.get_by_role("button", name="Save contact").click()
    expect(page.locator("#err-contact-firstName")).to_be_visible()
    page.get_by_label("First name", exact=True).fill("Edna")
    page.get_by_label("Last name", exact=True).fill("")
    page.get_by_role("button", name="Save contact").click()
    expect(page.locator(".conv-head h1")).to_have_text(re.compile(r"^Edna\s*$"))
    with app.api() as api:
        assert api.get(f"/v2/contact/id:{cid}").json()["lastName"] is None


def test_delete_asks_first(app: App, page: Page) -> None:
    cid = _contact(app, "gone@example.com", firstName="Gus")
    app.sign_in(page, "owner@example.com")
    page.goto(f"{app.url}/app/1/c/{cid}")
    page.get_by_role("link", name="Delete contact…").click()
    expect(page.get_by_role("heading")).to_have_text(re.compile("Delete Gus"))
    page.get_by_role("button", name="Delete contact").click()
    expect(page).to_have_url(re.compile(r"/app/1/$"))
    with app.api() as api:
        assert api.get(f"/v2/contact/id:{cid}").status_code == 404
    response = page.goto(f"{app.url}/app/1/c/{cid}")
    assert response is not None
    assert response.status == 404


def test_merge_previews_what_survives_then_merges(app: App, page: Page) -> None:
    keep = _contact(app, "keep@example.com", firstName="Kim", lastName=None)
    other = _contact(app, "fold@example.com", firstName="Kimberly", lastName="Fold")
    with app.api() as api:
        api.post(f"/v2/contact/id:{other}/tag", json=["from-other"])
        api.post(f"/v2/contact/id:{keep}/tag", json=["kept"])
    with app.admin() as admin:
        r = admin.post(
            "/control/workspaces/1/sandbox/incoming",
            json={
                "channelId": 124,
                "address": "fold@example.com",
                "message": {"type": "text", "text": "a message of the other one"},
            },
        )
        assert r.status_code == 200, r.text
    app.sign_in(page, "owner@example.com")
    page.goto(f"{app.url}/app/1/c/{keep}")
    page.get_by_role("link", name="Merge with another contact…").click()
    page.get_by_label("Find the other contact").fill("fold@example.com")
    page.get_by_role("button", name="Search").click()
    page.get_by_role("link", name=re.compile("Kimberly")).click()
    table = page.locator("table.merge")
    expect(table.locator("tr", has_text="Last name").locator("td").last).to_have_text("Fold")
    expect(table.locator("tr", has_text="First name").locator("td").last).to_have_text("Kim")
    expect(table.locator("tr", has_text="Tags").locator("td").last).to_have_text("from-other, kept")
    page.get_by_role("button", name="Merge Kimberly into Kim").click()
    expect(page).to_have_url(re.compile(rf"/app/1/c/{keep}$"))
    expect(page.locator("#timeline")).to_contain_text("a message of the other one")
    with app.api() as api:
        merged = api.get(f"/v2/contact/id:{keep}").json()
        assert api.get(f"/v2/contact/id:{other}").status_code == 404
    assert merged["lastName"] == "Fold"
    assert merged["firstName"] == "Kim"
    assert sorted(merged["tags"]) == ["from-other", "kept"]
