"""Workspace tag routes: /tag (collection) and /space/tag (official)."""

from __future__ import annotations

import pytest

from tests.conftest import Workspace
from tests.contacts.test_routes import error


@pytest.mark.parametrize("path", ["/tag", "/space/tag"])
def test_create_returns_the_tag(ws: Workspace, path: str) -> None:
    r = ws.api.post(
        path, json={"name": "vip", "description": "Top", "colorCode": "#ff0000", "emoji": "⭐"}
    )
    assert r.status_code == 200, r.text
    tag = r.json()
    assert tag["name"] == "vip"
    assert tag["description"] == "Top"
    assert tag["colorCode"] == "#ff0000"
    assert tag["emoji"] == "⭐"
    assert isinstance(tag["id"], int)
    assert isinstance(tag["createdAt"], int)


def test_create_is_idempotent_and_conflicts_on_different_attributes(ws: Workspace) -> None:
    first = ws.api.post("/space/tag", json={"name": "vip", "colorCode": "#ff0000"}).json()
    assert ws.api.post("/tag", json={"name": "vip"}).json() == first
    assert ws.api.post("/space/tag", json={"name": "vip", "colorCode": "#ff0000"}).json() == first
    error(ws.api.post("/space/tag", json={"name": "vip", "colorCode": "#00ff00"}), 409, "colorCode")
    error(
        ws.api.post("/space/tag", json={"name": "vip", "description": "other"}), 409, "description"
    )


def test_the_n8n_nodes_colour_names_and_empty_strings(ws: Workspace) -> None:
    """respond.io's n8n node sends its own colour names and "" for what is not set."""
    cid = ws.contact()
    ws.api.post(f"/contact/id:{cid}/tag", json=["auto"])  # made by tagging: no attributes
    r = ws.api.post(
        "/space/tag", json={"name": "auto", "description": "", "colorCode": "tag-blue", "emoji": ""}
    )
    assert r.status_code == 409  # the colour differs from none
    r = ws.api.post(
        "/space/tag", json={"name": "auto", "description": "", "colorCode": "", "emoji": ""}
    )
    assert r.status_code == 200, r.text
    for colour in (
        "tag-grey",
        "tag-red",
        "tag-orange",
        "tag-yellow",
        "tag-green",
        "tag-blue",
        "tag-indigo",
        "tag-purple",
    ):
        r = ws.api.post(
            "/space/tag", json={"name": colour, "description": "", "colorCode": colour, "emoji": ""}
        )
        assert r.status_code == 200, r.text
        assert r.json()["colorCode"] == colour
    r = ws.api.put(
        "/space/tag",
        json={
            "currentName": "tag-red",
            "name": "red",
            "description": "",
            "colorCode": "tag-green",
            "emoji": "",
        },
    )
    assert r.status_code == 200, r.text
    assert r.json()["colorCode"] == "tag-green"
    error(ws.api.post("/space/tag", json={"name": "x", "colorCode": "tag-pink"}), 400, "colorCode")


def test_update_renames_and_keeps_contacts(ws: Workspace) -> None:
    cid = ws.contact()
    ws.api.post(f"/contact/id:{cid}/tag", json=["vip"])
    r = ws.api.put("/space/tag", json={"currentName": "vip", "name": "VIP", "emoji": "🔥"})
    assert r.status_code == 200
    assert r.json()["name"] == "VIP"
    assert r.json()["emoji"] == "🔥"
    assert ws.api.get(f"/contact/id:{cid}").json()["tags"] == ["VIP"]


def test_update_errors(ws: Workspace) -> None:
    ws.api.post("/space/tag", json={"name": "a"})
    ws.api.post("/space/tag", json={"name": "b"})
    error(ws.api.put("/space/tag", json={"currentName": "zzz", "name": "y"}), 404, "zzz")
    error(ws.api.put("/space/tag", json={"currentName": "a", "name": "b"}), 409, "b")
    error(ws.api.put("/space/tag", json={"name": "y"}), 400, "currentName")
    error(ws.api.put("/space/tag", json={"currentName": "a", "colorCode": "red"}), 400, "colorCode")


def test_delete_removes_from_contacts(ws: Workspace) -> None:
    cid = ws.contact()
    ws.api.post(f"/contact/id:{cid}/tag", json=["vip", "keep"])
    r = ws.api.request("DELETE", "/space/tag", json={"name": "vip"})
    assert r.json() == {"code": 200, "message": "Tag deleted successfully"}
    assert ws.api.get(f"/contact/id:{cid}").json()["tags"] == ["keep"]
    error(ws.api.request("DELETE", "/space/tag", json={"name": "vip"}), 404)
    error(ws.api.request("DELETE", "/space/tag"), 400)


def test_list_pages(ws: Workspace) -> None:
    for n in range(5):
        ws.api.post("/space/tag", json={"name": f"t{n}"})
    page = ws.api.get("/space/tag?limit=2").json()
    assert [t["name"] for t in page["items"]] == ["t0", "t1"]
    assert page["pagination"]["next"]


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"name": ""},
        {"name": "   "},
        {"name": "x" * 256},
        {"name": 5},
        {"name": "a", "description": "d" * 256},
        {"name": "a", "colorCode": "blue"},
        {"name": "a", "emoji": "e" * 33},
        ["vip"],
    ],
)
def test_bad_create_is_400(ws: Workspace, body: object) -> None:
    error(ws.api.post("/space/tag", json=body), 400)
    error(ws.api.post("/tag", json=body), 400)
    assert ws.api.get("/space/tag").json()["items"] == []
