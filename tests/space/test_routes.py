"""Read-only workspace routes: users, channels, closing notes, templates."""

from __future__ import annotations

from tests.conftest import Workspace
from tests.contacts.test_routes import error


def test_users_list_and_get(ws: Workspace) -> None:
    page = ws.api.get("/space/user").json()
    emails = [u["email"] for u in page["items"]]
    assert emails == ["agent@example.com", "owner@example.com"]
    agent = page["items"][0]
    assert set(agent) == {"id", "firstName", "lastName", "email", "role", "team", "restrictions"}
    assert agent["role"] == "agent"
    assert agent["restrictions"] == []
    assert ws.api.get(f"/space/user/{agent['id']}").json() == agent
    error(ws.api.get("/space/user/987654321"), 404, "user")
    assert ws.api.get("/space/user?limit=1").json()["pagination"]["next"]


def test_channels(ws: Workspace) -> None:
    items = ws.api.get("/space/channel").json()["items"]
    assert items == [
        {
            "id": ws.channel_id,
            "name": "WhatsApp",
            "source": "whatsapp_cloud",
            "created_at": items[0]["created_at"],
        }
    ]


def test_closing_notes(ws: Workspace) -> None:
    items = ws.api.get("/space/closing_notes").json()["items"]
    assert [n["category"] for n in items] == ["Resolved", "Spam"]
    assert all(set(n) == {"category", "description"} for n in items)


def test_templates(ws: Workspace) -> None:
    items = ws.api.get(f"/space/channel/{ws.channel_id}/template").json()["items"]
    assert [(t["name"], t["languageCode"], t["channelId"]) for t in items] == [
        ("hello_world", "en", ws.channel_id)
    ]
    error(ws.api.get("/space/channel/987654321/template"), 404, "channel")


def test_contact_channels_both_paths(ws: Workspace) -> None:
    cid = ws.contact()
    for path in ("channel", "channels"):
        r = ws.api.get(f"/contact/id:{cid}/{path}")
        assert r.status_code == 200
        assert r.json() == {
            "items": [],
            "pagination": {"next": None, "previous": None},
        }
    error(ws.api.get("/contact/id:987654321/channels"), 404)
    error(ws.api.get(f"/contact/id:{cid}/channels?limit=500"), 400, "limit")
