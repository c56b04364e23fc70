"""Contacts page, CSV export and the CSV import with its progress bar, in a real Chromium
against a server whose in-process worker loads the imports."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from tests.backend import query
from tests.web.conftest import App, start_app

ROWS = 100_000


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[App]:
    server = start_app(tmp_path_factory.mktemp("import"), OPENRESPOND_WORKER="1")
    try:
        yield server
    finally:
        server.proc.stop()


def test_a_large_import_shows_its_progress_and_loads_every_row(
    app: App, page: Page, tmp_path: Path
) -> None:
    csv = tmp_path / "contacts.csv"
    lines = ["firstName,lastName,email,tags"]
    lines += [f"Bulk{i},Row,bulk{i}@example.com,imported" for i in range(ROWS - 2)]
    lines += ["Broken,Row,not-an-email,", "Dup,Row,bulk1@example.com,"]  # two bad rows
    csv.write_text("\n".join(lines) + "\n", encoding="utf-8")
    app.sign_in(page, "owner@example.com")
    page.goto(f"{app.url}/app/1/contacts")
    page.get_by_role("link", name="Import CSV").click()
    page.get_by_label("CSV file").set_input_files(str(csv))
    page.get_by_role("button", name="Import").click()
    expect(page).to_have_url(re.compile(r"/app/1/contacts/imports/\d+$"))
    bar = page.locator("#import-progress")
    seen: set[int] = set()
    deadline = time.monotonic() + 240
    while time.monotonic() < deadline:
        value = int(bar.get_attribute("value") or 0)
        seen.add(value)
        if value == ROWS and "done" in page.locator("#import-status").inner_text():
            break
        page.wait_for_timeout(50)
    progress = sorted(v for v in seen if 0 < v < ROWS)
    assert len(progress) >= 2, sorted(seen)
    expect(page.locator("#import-status")).to_contain_text(
        f"{ROWS - 2} contact(s) created, 2 row(s) skipped"
    )
    expect(page.locator("#import-status")).to_contain_text(f"line {ROWS}: email")
    expect(page.locator("#import-status")).to_contain_text(
        f"line {ROWS + 1}: another contact already has this email or phone"
    )
    count = query(
        app.proc.db_path,
        "SELECT count(*) FROM contacts WHERE workspace_id = 1 AND last_name = ?",
        "Row",
    )
    assert count[0][0] == ROWS - 2
    # The file is not kept once it is loaded.
    assert query(app.proc.db_path, "SELECT length(data) FROM import_jobs")[0][0] == 0


def test_bad_files_are_refused_on_the_field(app: App, page: Page, tmp_path: Path) -> None:
    app.sign_in(page, "owner@example.com")
    for content, message in (
        (b"email\nx@example.com\n", "firstName among them"),
        (b"firstName\n", "no rows below the header"),
        (b"firstName\n\xff\xfe\n", "must be UTF-8"),
    ):
        bad = tmp_path / "bad.csv"
        bad.write_bytes(content)
        page.goto(f"{app.url}/app/1/contacts/import")
        page.get_by_label("CSV file").set_input_files(str(bad))
        page.get_by_role("button", name="Import").click()
        expect(page.get_by_role("alert")).to_contain_text(message)
    assert query(app.proc.db_path, "SELECT count(*) FROM import_jobs WHERE total < 2")[0][0] == 0


def test_the_contacts_page_filters_with_the_apis_language(app: App, page: Page) -> None:
    with app.api() as api:
        api.post("/v2/contact/id:12345/tag", json=["vip"])
    app.sign_in(page, "agent@example.com")
    page.get_by_role("link", name="Contacts").click()
    expect(page.get_by_role("link", name="Import CSV")).to_have_count(0)  # agents do not
    page.get_by_label("Condition 1: category").select_option("contactTag")
    page.get_by_label("Condition 1: operator").select_option("hasAnyOf")
    page.get_by_label("Condition 1: value").fill("vip")
    page.get_by_role("button", name="Search").click()
    rows = page.locator("table.contacts tbody tr")
    expect(rows).to_have_count(1)
    expect(rows).to_contain_text("Priya")
    page.get_by_label("Condition 2: category").select_option("contactField")
    page.get_by_label("Condition 2: field").fill("nope")
    page.get_by_label("Condition 2: operator").select_option("isEqualTo")
    page.get_by_role("button", name="Search").click()
    expect(page.get_by_role("alert")).to_contain_text(
        "unknown contact field or custom field 'nope'"
    )
    response = page.goto(f"{app.url}/app/1/contacts/import")
    assert response is not None
    assert response.status == 404
    with page.expect_download() as download:
        page.goto(f"{app.url}/app/1/contacts")
        page.get_by_role("link", name="Export CSV").click()
    text = Path(download.value.path()).read_text("utf-8")
    assert text.splitlines()[0].startswith("id,firstName,lastName,email,phone")
    assert "priya@example.com" in text
