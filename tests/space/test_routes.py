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


def test_whatsapp_templates_as_respond_io_lists_and_wraps_them(
    ws: Workspace, other: Workspace
) -> None:
    """``/space/channel/{id}/mtm`` and ``/space/mtm/{id}``, in the shapes respond.io's n8n
    node reads: components as JSON text in lists and lowercase, ``next`` an absolute URL
    with ``cursorId``, one template in ``{status, message, data}``."""
    components = [
        {"type": "HEADER", "format": "IMAGE", "example": {"header_handle": ["https://x.io/a.png"]}},
        {"type": "BODY", "text": "Hi {{1}}"},
        {"type": "BUTTONS", "buttons": [{"type": "QUICK_REPLY", "text": "Stop"}]},
    ]
    r = ws.control.post(
        f"/control/workspaces/{ws.wid}/channels/{ws.channel_id}/templates",
        json={
            "name": "promo",
            "languageCode": "en_US",
            "category": "MARKETING",
            "components": components,
        },
    )
    assert r.status_code == 200, r.text
    page = ws.api.get(f"/space/channel/{ws.channel_id}/mtm", params={"limit": 1})
    assert page.status_code == 200, page.text
    first = page.json()
    (hello,) = first["items"]
    assert hello["name"] == "hello_world"
    assert first["pagination"]["next"].startswith("http")
    assert "cursorId=" in first["pagination"]["next"]
    second = ws.api.get(first["pagination"]["next"].split("/v2", 1)[1]).json()
    (promo,) = second["items"]
    assert set(promo) == {
        "id",
        "name",
        "components",
        "bundle",
        "channelId",
        "botId",
        "created_at",
        "updated_at",
        "languageCode",
        "namespace",
        "category",
        "status",
        "statusDetail",
        "templateId",
        "label",
        "qualityScore",
    }
    assert promo["channelId"] == str(ws.channel_id)
    assert promo["status"] == "approved"
    assert promo["languageCode"] == "en_US"
    assert promo["created_at"].endswith("Z")
    listed = __import__("json").loads(promo["components"])
    assert [c["type"] for c in listed] == ["header", "body", "buttons"]
    assert listed[0]["format"] == "image"
    assert listed[2]["buttons"][0]["type"] == "quick_reply"
    one = ws.api.get(f"/space/mtm/{promo['id']}")
    assert one.status_code == 200, one.text
    body = one.json()
    assert set(body) == {"status", "message", "data"}
    data = body["data"]
    assert data["id"] == promo["id"]
    assert data["components"] == listed
    assert data["catalogProducts"] == []
    assert data["channel"]["id"] == ws.channel_id
    # another workspace's template or channel, or none, is 404
    error(other.api.get(f"/space/mtm/{promo['id']}"), 404, "template")
    error(other.api.get(f"/space/channel/{ws.channel_id}/mtm"), 404, "channel")
    error(ws.api.get("/space/mtm/987654321"), 404)
    error(ws.api.get("/space/mtm/abc"), 404)
