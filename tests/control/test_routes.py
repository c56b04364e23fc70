"""The control API: administrator and workspace tokens, every resource, bad input."""

from __future__ import annotations

import httpx
import pytest

from openrespond.http.openapi import NUL_FREE
from tests.conftest import ADMIN_TOKEN, Workspace, admin_client
from tests.contacts.test_routes import error


def test_admin_creates_lists_and_deletes_workspaces(server_url: str) -> None:
    with admin_client(server_url) as admin:
        r = admin.post("/control/workspaces", json={"name": "Acme"})
        assert r.status_code == 200
        w = r.json()
        assert w["name"] == "Acme"
        assert w["demo"] is False
        assert isinstance(w["orgId"], int)
        assert w["id"] in [x["id"] for x in admin.get("/control/workspaces").json()["items"]]
        assert admin.get(f"/control/workspaces/{w['id']}").json() == w
        token = admin.post(f"/control/workspaces/{w['id']}/tokens", json={"name": "ci"}).json()[
            "token"
        ]
        assert admin.delete(f"/control/workspaces/{w['id']}").status_code == 200
        error(admin.get(f"/control/workspaces/{w['id']}"), 404)
        # its tokens died with it
        error(
            httpx.get(f"{server_url}/v2/space/user", headers={"Authorization": f"Bearer {token}"}),
            401,
        )


@pytest.mark.parametrize("auth", [None, "Bearer wrong-admin-token-123456", "Basic x"])
def test_control_needs_a_token(server_url: str, auth: str | None) -> None:
    headers = {"Authorization": auth} if auth else {}
    error(httpx.get(f"{server_url}/control/workspaces", headers=headers), 401)


def test_workspace_token_manages_its_own_workspace(ws: Workspace) -> None:
    own = httpx.Client(base_url=ws.base, headers={"Authorization": f"Bearer {ws.token}"})
    W = f"/control/workspaces/{ws.wid}"
    assert own.get(W).json()["id"] == ws.wid
    r = own.post(
        f"{W}/users",
        json={"email": "new@example.com", "firstName": "New", "role": "manager", "team": "Sales"},
    )
    assert r.status_code == 200
    assert r.json()["team"]["name"] == "Sales"
    assert r.json()["role"] == "manager"
    error(own.delete(W), 403)
    own.close()


def test_users(ws: Workspace) -> None:
    W = f"/control/workspaces/{ws.wid}"
    users = ws.control.get(f"{W}/users").json()["items"]
    assert [u["email"] for u in users] == ["agent@example.com", "owner@example.com"]
    error(
        ws.control.post(f"{W}/users", json={"email": "AGENT@example.com", "firstName": "Dup"}),
        409,
        "agent@example.com",
    )
    error(ws.control.post(f"{W}/users", json={"email": "bad", "firstName": "X"}), 400, "email")
    error(
        ws.control.post(
            f"{W}/users", json={"email": "x@example.com", "firstName": "X", "role": "god"}
        ),
        400,
        "role",
    )
    error(ws.control.post(f"{W}/users", json={"email": "x@example.com"}), 400, "firstName")
    uid = ws.users["agent@example.com"]
    cid = ws.contact()
    assert ws.control.delete(f"{W}/users/{uid}").status_code == 200
    error(ws.control.delete(f"{W}/users/{uid}"), 404)
    error(ws.api.get(f"/space/user/{uid}"), 404)
    assert ws.api.get(f"/contact/id:{cid}").status_code == 200


def test_lifecycle_stages(ws: Workspace) -> None:
    W = f"/control/workspaces/{ws.wid}"
    r = ws.control.post(f"{W}/lifecycle_stages", json={"name": "Churned"})
    assert [s["name"] for s in r.json()["items"]] == ["New Lead", "Hot Lead", "Customer", "Churned"]
    error(ws.control.post(f"{W}/lifecycle_stages", json={"name": "Churned"}), 409)
    error(ws.control.post(f"{W}/lifecycle_stages", json={"name": ""}), 400, "name")
    cid = ws.contact()
    ws.api.post(f"/contact/id:{cid}/lifecycle/update", json={"name": "Churned"})
    assert ws.control.delete(f"{W}/lifecycle_stages/Churned").status_code == 200
    assert ws.api.get(f"/contact/id:{cid}").json()["lifecycle"] is None
    error(ws.control.delete(f"{W}/lifecycle_stages/Churned"), 404)


def test_closing_notes(ws: Workspace) -> None:
    W = f"/control/workspaces/{ws.wid}"
    r = ws.control.post(
        f"{W}/closing_notes", json={"category": "Won", "description": "Deal closed"}
    )
    assert r.json() == {"category": "Won", "description": "Deal closed"}
    error(ws.control.post(f"{W}/closing_notes", json={"category": "Won"}), 409)
    error(ws.control.post(f"{W}/closing_notes", json={"category": "x" * 129}), 400, "category")
    assert "Won" in [n["category"] for n in ws.api.get("/space/closing_notes").json()["items"]]
    assert ws.control.delete(f"{W}/closing_notes/Won").status_code == 200
    error(ws.control.delete(f"{W}/closing_notes/Won"), 404)


def test_custom_fields_and_tags(ws: Workspace) -> None:
    W = f"/control/workspaces/{ws.wid}"
    f = ws.control.post(
        f"{W}/custom_fields", json={"name": "Plan", "type": "list", "options": ["a"]}
    ).json()
    assert ws.control.get(f"{W}/custom_fields").json()["items"] == [f]
    cid = ws.contact(custom_fields=[{"name": "Plan", "value": "a"}])
    assert ws.control.delete(f"{W}/custom_fields/{f['id']}").status_code == 200
    assert ws.api.get(f"/contact/id:{cid}").json()["custom_fields"] == []
    error(ws.control.delete(f"{W}/custom_fields/{f['id']}"), 404)
    t = ws.control.post(f"{W}/tags", json={"name": "gold"}).json()
    assert ws.control.get(f"{W}/tags").json()["items"] == [t]
    assert ws.control.delete(f"{W}/tags/gold").status_code == 200
    error(ws.control.delete(f"{W}/tags/gold"), 404)


def test_channels_and_templates(ws: Workspace) -> None:
    W = f"/control/workspaces/{ws.wid}"
    ch = ws.control.post(
        f"{W}/channels", json={"name": "Mail", "source": "other_email", "driver": "sandbox"}
    ).json()
    assert ch["source"] == "other_email"
    error(ws.control.post(f"{W}/channels", json={"name": "X", "source": "pigeon"}), 400, "source")
    error(
        ws.control.post(f"{W}/channels", json={"name": "X", "source": "telegram", "driver": "fax"}),
        400,
        "driver",
    )
    error(
        ws.control.post(f"{W}/channels", json={"name": "X", "source": "telegram", "id": ch["id"]}),
        409,
        "id",
    )
    renamed = ws.control.put(f"{W}/channels/{ch['id']}", json={"name": " Support mail "})
    assert renamed.json() == {**ch, "name": "Support mail"}
    assert (
        ws.control.put(f"{W}/channels/{ch['id']}", json={"settings": {"k": 1}}).status_code == 200
    )
    assert ws.control.put(f"{W}/channels/{ch['id']}", json={}).json()["name"] == "Support mail"
    error(ws.control.put(f"{W}/channels/{ch['id']}", json={"name": "   "}), 400, "name")
    error(ws.control.put(f"{W}/channels/{ch['id']}", json={"name": "x" * 256}), 400, "name")
    error(ws.control.put(f"{W}/channels/{ch['id']}", json={"settings": [1]}), 400, "settings")
    error(ws.control.put(f"{W}/channels/987654321", json={"name": "x"}), 404, "channel")
    error(
        ws.control.post(
            f"{W}/channels", json={"name": "X", "source": "telegram", "driver": "smtp"}
        ),
        400,
        "driver",
    )
    fixed = ws.control.post(
        f"{W}/channels", json={"name": "Fixed", "source": "telegram", "id": 900000 + ws.wid}
    ).json()
    assert fixed["id"] == 900000 + ws.wid
    tpl = ws.control.post(
        f"{W}/channels/{ch['id']}/templates", json={"name": "welcome", "languageCode": "en_US"}
    )
    assert tpl.status_code == 200
    error(
        ws.control.post(
            f"{W}/channels/{ch['id']}/templates", json={"name": "welcome", "languageCode": "en_US"}
        ),
        409,
    )
    error(
        ws.control.post(
            f"{W}/channels/{ch['id']}/templates",
            json={"name": "w", "languageCode": "en", "status": "x"},
        ),
        400,
        "status",
    )
    error(
        ws.control.post(
            f"{W}/channels/987654321/templates", json={"name": "w", "languageCode": "en"}
        ),
        404,
        "channel",
    )
    assert [
        t["name"] for t in ws.control.get(f"{W}/channels/{ch['id']}/templates").json()["items"]
    ] == ["welcome"]
    assert ws.control.delete(f"{W}/templates/{tpl.json()['id']}").status_code == 200
    assert ws.control.delete(f"{W}/channels/{ch['id']}").status_code == 200
    error(ws.control.delete(f"{W}/channels/{ch['id']}"), 404)
    assert ch["id"] not in [c["id"] for c in ws.api.get("/space/channel").json()["items"]]


def test_tokens_issue_list_revoke(ws: Workspace) -> None:
    W = f"/control/workspaces/{ws.wid}"
    issued = ws.control.post(f"{W}/tokens", json={"name": "zapier"}).json()
    assert issued["workspaceId"] == ws.wid
    assert issued["token"].count(".") == 2
    listed = ws.control.get(f"{W}/tokens").json()["items"]
    assert [t["name"] for t in listed] == ["tests", "zapier"]
    assert all(t["revoked_at"] is None for t in listed)
    assert ws.control.delete(f"{W}/tokens/{issued['id']}").status_code == 200
    error(ws.control.delete(f"{W}/tokens/{issued['id']}"), 404)
    assert ws.control.get(f"{W}/tokens").json()["items"][1]["revoked_at"] is not None


def test_admin_token_is_compared_exactly(server_url: str) -> None:
    error(
        httpx.get(
            f"{server_url}/control/workspaces", headers={"Authorization": f"Bearer {ADMIN_TOKEN}x"}
        ),
        401,
    )


def test_user_restrictions_are_short_labels_as_the_document_says(ws: Workspace) -> None:
    doc = httpx.get(f"{ws.base}/openapi.json").json()
    items = doc["components"]["schemas"]["UserCreate"]["properties"]["restrictions"]["items"]
    assert items == {"type": "string", "maxLength": 64, "pattern": NUL_FREE}  # no NUL, as all text
    r = ws.control.post(
        f"/control/workspaces/{ws.wid}/users",
        json={"email": "r@example.com", "firstName": "R", "restrictions": ["x" * 65]},
    )
    error(r, 400, "restrictions")
