"""Custom-field routes: both paths, both body forms, the idempotent rule."""

from __future__ import annotations

import pytest

from tests.conftest import Workspace
from tests.contacts.test_routes import error


@pytest.mark.parametrize("path", ["/custom_field", "/space/custom_field"])
@pytest.mark.parametrize(
    "body",
    [
        {"name": "account_tier", "type": "list", "options": ["free", "pro"]},
        {"name": "account_tier", "dataType": "list", "allowedValues": ["free", "pro"]},
    ],
)
def test_create_both_forms_on_both_paths(ws: Workspace, path: str, body: dict[str, object]) -> None:
    r = ws.api.post(path, json=body)
    assert r.status_code == 200, r.text
    field = r.json()
    assert field["name"] == "account_tier"
    assert field["slug"] == "account_tier"
    assert field["dataType"] == "list"
    assert field["allowedValues"] == {"listValues": ["free", "pro"]}
    assert field["description"] is None
    assert isinstance(field["created_at"], int)
    assert ws.api.get(f"/space/custom_field/{field['id']}").json() == field


def test_the_n8n_nodes_bodies_are_accepted(ws: Workspace) -> None:
    """respond.io's n8n node sends an empty slug when none is given, ``allowedValues: []``
    for other types, and reads the choices back from ``allowedValues.listValues``."""
    r = ws.api.post(
        "/space/custom_field",
        json={
            "name": "Plan",
            "description": "",
            "dataType": "list",
            "allowedValues": ["a", "b"],
            "slug": "",
        },
    )
    assert r.status_code == 200, r.text
    assert r.json()["slug"] == "plan"
    assert r.json()["allowedValues"]["listValues"] == ["a", "b"]
    r = ws.api.post(
        "/space/custom_field",
        json={
            "name": "Note",
            "description": "",
            "dataType": "text",
            "allowedValues": [],
            "slug": "",
        },
    )
    assert r.status_code == 200, r.text
    assert r.json()["allowedValues"] is None
    # the answer's own shape is accepted as input too
    r = ws.api.post(
        "/space/custom_field",
        json={"name": "Size", "dataType": "list", "allowedValues": {"listValues": ["S", "M"]}},
    )
    assert r.status_code == 200, r.text
    assert r.json()["allowedValues"] == {"listValues": ["S", "M"]}
    again = ws.api.post(
        "/space/custom_field",
        json={"name": "Size", "dataType": "list", "allowedValues": ["S", "M"]},
    )
    assert again.json() == r.json()


def test_slug_is_derived_and_can_be_given(ws: Workspace) -> None:
    assert (
        ws.api.post(
            "/space/custom_field", json={"name": "Account Tier!", "dataType": "text"}
        ).json()["slug"]
        == "account_tier"
    )
    assert (
        ws.api.post(
            "/space/custom_field", json={"name": "X", "slug": "My_Slug", "dataType": "text"}
        ).json()["slug"]
        == "My_Slug"
    )


def test_same_definition_is_idempotent_different_is_409(ws: Workspace) -> None:
    first = ws.api.post(
        "/custom_field", json={"name": "tier", "type": "list", "options": ["a", "b"]}
    ).json()
    again = ws.api.post(
        "/space/custom_field",
        json={"name": "tier", "dataType": "list", "allowedValues": ["a", "b"]},
    )
    assert again.status_code == 200
    assert again.json() == first
    error(
        ws.api.post("/space/custom_field", json={"name": "tier", "dataType": "text"}), 409, "tier"
    )
    error(
        ws.api.post(
            "/space/custom_field", json={"name": "tier", "dataType": "list", "allowedValues": ["a"]}
        ),
        409,
    )
    error(
        ws.api.post(
            "/space/custom_field", json={"name": "other", "slug": "tier", "dataType": "text"}
        ),
        409,
        "slug",
    )


def test_list_both_paths_and_pages(ws: Workspace) -> None:
    for n in range(3):
        ws.api.post("/space/custom_field", json={"name": f"f{n}", "dataType": "text"})
    for path in ("/custom_field", "/space/custom_field"):
        page = ws.api.get(f"{path}?limit=2").json()
        assert [f["name"] for f in page["items"]] == ["f0", "f1"]
        assert page["pagination"]["next"]


def test_get_unknown_is_404(ws: Workspace) -> None:
    error(ws.api.get("/space/custom_field/987654321"), 404)
    error(ws.api.get("/space/custom_field/abc"), 404)


@pytest.mark.parametrize(
    ("body", "word"),
    [
        ({}, "name"),
        ({"name": "x"}, "dataType"),
        ({"name": "x", "dataType": "colour"}, "dataType"),
        ({"name": "x", "type": "colour"}, "type"),
        ({"name": "x", "dataType": "list"}, "allowedValues"),
        ({"name": "x", "dataType": "list", "allowedValues": []}, "allowedValues"),
        ({"name": "x", "dataType": "list", "allowedValues": ["a", "a"]}, "allowedValues"),
        ({"name": "x", "dataType": "text", "allowedValues": ["a"]}, "allowedValues"),
        ({"name": "x", "dataType": "text", "type": "number"}, "not both"),
        ({"name": "x", "dataType": "text", "type": "text"}, "not both"),
        ({"name": "x", "dataType": "list", "allowedValues": ["a"], "options": ["a"]}, "not both"),
        ({"name": "x", "dataType": "list", "allowedValues": {"listValues": []}}, "allowedValues"),
        ({"name": "x", "dataType": "list", "allowedValues": {"values": ["a"]}}, "listValues"),
        (
            {"name": "x", "dataType": "text", "allowedValues": {"listValues": ["a"]}},
            "allowedValues",
        ),
        ({"name": "x" * 51, "dataType": "text"}, "name"),
        ({"name": "x", "slug": "bad slug", "dataType": "text"}, "slug"),
        ({"name": "x", "slug": "s" * 51, "dataType": "text"}, "slug"),
        ({"name": "x", "description": "d" * 256, "dataType": "text"}, "description"),
        ({"name": "   ", "dataType": "text"}, "name"),
    ],
)
def test_bad_create_is_400_naming_the_field(
    ws: Workspace, body: dict[str, object], word: str
) -> None:
    error(ws.api.post("/space/custom_field", json=body), 400, word)
    error(ws.api.post("/custom_field", json=body), 400, word)
    assert ws.api.get("/space/custom_field").json()["items"] == []
