"""Merging contacts (API.md §3.2), rule by rule and field by field."""

from __future__ import annotations

from typing import Any

import pytest

from tests.conftest import Workspace
from tests.contacts.test_routes import error


@pytest.fixture
def fields(ws: Workspace) -> None:
    for body in (
        {"name": "Tier", "dataType": "list", "allowedValues": ["free", "pro"]},
        {"name": "Score", "dataType": "number"},
    ):
        ws.api.post("/space/custom_field", json=body)


def get(ws: Workspace, cid: int) -> dict[str, Any]:
    r = ws.api.get(f"/contact/id:{cid}")
    assert r.status_code == 200, r.text
    contact: dict[str, Any] = r.json()
    return contact


@pytest.mark.parametrize("form", ["collection", "official"])
def test_primary_survives_secondary_is_deleted(ws: Workspace, form: str) -> None:
    p = ws.contact("Primary", email="p@example.com")
    s = ws.contact("Secondary", email="s@example.com")
    body = (
        {"primaryContactId": p, "secondaryContactId": s}
        if form == "collection"
        else {"contactIds": [p, s]}
    )
    r = ws.api.post("/contact/merge", json=body)
    assert r.status_code == 200
    assert r.json() == {"contactId": p}
    assert get(ws, p)["email"] == "p@example.com"
    error(ws.api.get(f"/contact/id:{s}"), 404)
    error(ws.api.get("/contact/email:s@example.com"), 404)


@pytest.mark.parametrize(
    ("field", "primary_value", "secondary_value", "expected"),
    [
        ("lastName", "Lovelace", "Byron", "Lovelace"),
        ("lastName", None, "Byron", "Byron"),
        ("email", "p@example.com", "s@example.com", "p@example.com"),
        ("email", None, "s@example.com", "s@example.com"),
        ("phone", "+60111111111", "+60122222222", "+60111111111"),
        ("phone", None, "+60122222222", "+60122222222"),
        ("language", None, "fr", "fr"),
        ("language", "en", "fr", "en"),
        ("countryCode", None, "MY", "MY"),
        ("profilePic", None, "https://example.com/s.png", "https://example.com/s.png"),
    ],
)
def test_scalar_fields_primary_wins_unless_empty(
    ws: Workspace, field: str, primary_value: str | None, secondary_value: str, expected: str
) -> None:
    p = ws.contact("P", **({field: primary_value} if primary_value is not None else {}))
    s = ws.contact("S", **{field: secondary_value})
    assert ws.api.post("/contact/merge", json={"contactIds": [p, s]}).status_code == 200
    assert get(ws, p)[field] == expected
    assert get(ws, p)["firstName"] == "P"


def test_lifecycle_and_assignee_fill_from_secondary(ws: Workspace) -> None:
    p = ws.contact("P")
    s = ws.contact("S")
    ws.api.post(f"/contact/id:{s}/lifecycle/update", json={"name": "Customer"})
    assert ws.api.post("/contact/merge", json={"contactIds": [p, s]}).status_code == 200
    assert get(ws, p)["lifecycle"] == "Customer"
    q = ws.contact("Q")
    ws.api.post(f"/contact/id:{q}/lifecycle/update", json={"name": "New Lead"})
    r = ws.contact("R")
    ws.api.post(f"/contact/id:{r}/lifecycle/update", json={"name": "Hot Lead"})
    ws.api.post("/contact/merge", json={"contactIds": [q, r]})
    assert get(ws, q)["lifecycle"] == "New Lead"


def test_custom_fields_primary_wins_unless_empty(ws: Workspace, fields: None) -> None:
    p = ws.contact("P", custom_fields=[{"name": "Tier", "value": "pro"}])
    s = ws.contact(
        "S", custom_fields=[{"name": "Tier", "value": "free"}, {"name": "Score", "value": 7}]
    )
    ws.api.post("/contact/merge", json={"contactIds": [p, s]})
    values = {f["name"]: f["value"] for f in get(ws, p)["custom_fields"]}
    assert values == {"Tier": "pro", "Score": 7}


def test_tags_are_united(ws: Workspace) -> None:
    p = ws.contact("P")
    s = ws.contact("S")
    ws.api.post(f"/contact/id:{p}/tag", json=["a", "b"])
    ws.api.post(f"/contact/id:{s}/tag", json=["b", "c"])
    ws.api.post("/contact/merge", json={"contactIds": [p, s]})
    assert get(ws, p)["tags"] == ["a", "b", "c"]


def test_body_fields_override_both(ws: Workspace, fields: None) -> None:
    p = ws.contact("P", email="p@example.com", custom_fields=[{"name": "Tier", "value": "free"}])
    s = ws.contact("S", email="s@example.com", phone="+60122222222")
    r = ws.api.post(
        "/contact/merge",
        json={
            "contactIds": [p, s],
            "firstName": "Merged",
            "email": "s@example.com",
            "custom_fields": [{"name": "Tier", "value": "pro"}],
        },
    )
    assert r.status_code == 200, r.text
    got = get(ws, p)
    assert (got["firstName"], got["email"], got["phone"]) == (
        "Merged",
        "s@example.com",
        "+60122222222",
    )
    assert got["custom_fields"] == [{"name": "Tier", "value": "pro"}]


def test_same_id_twice_is_400(ws: Workspace) -> None:
    p = ws.contact("P")
    error(ws.api.post("/contact/merge", json={"contactIds": [p, p]}), 400, "same")
    error(
        ws.api.post("/contact/merge", json={"primaryContactId": p, "secondaryContactId": p}),
        400,
        "same",
    )


def test_missing_contact_is_404_and_nothing_changes(ws: Workspace) -> None:
    p = ws.contact("P")
    error(ws.api.post("/contact/merge", json={"contactIds": [p, 987654321]}), 404, "secondary")
    error(ws.api.post("/contact/merge", json={"contactIds": [987654321, p]}), 404, "primary")
    assert get(ws, p)["firstName"] == "P"


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"contactIds": [1]},
        {"contactIds": [1, 2, 3]},
        {"contactIds": ["a", "b"]},
        {"contactIds": [0, 1]},
        {"primaryContactId": 1},
        {"primaryContactId": "x", "secondaryContactId": 2},
        {"contactIds": None},
        {"contactIds": [1, 2], "primaryContactId": 1, "secondaryContactId": 2},
    ],
)
def test_malformed_bodies_are_400(ws: Workspace, body: dict[str, object]) -> None:
    error(ws.api.post("/contact/merge", json=body), 400)


def test_bad_override_rolls_everything_back(ws: Workspace) -> None:
    p = ws.contact("P")
    s = ws.contact("S")
    ws.api.post(f"/contact/id:{s}/tag", json=["x"])
    error(
        ws.api.post("/contact/merge", json={"contactIds": [p, s], "email": "not-an-email"}),
        400,
        "email",
    )
    assert get(ws, s)["tags"] == ["x"]
    assert get(ws, p)["tags"] == []


def test_override_taking_a_third_contacts_email_is_409_and_rolls_back(ws: Workspace) -> None:
    p = ws.contact("P")
    s = ws.contact("S")
    ws.contact("T", email="t@example.com")
    r = ws.api.post("/contact/merge", json={"contactIds": [p, s], "email": "t@example.com"})
    error(r, 409, "email")
    assert get(ws, s)["firstName"] == "S"
