"""A token of workspace A gets 404 for every object of workspace B, on every route.

The route list comes from the application itself, so a new route without a case here fails.
"""

from __future__ import annotations

import time
from typing import Any

import pytest

from openrespond.app import create_app
from tests.conftest import Workspace, make_settings


@pytest.fixture
def b_objects(other: Workspace) -> dict[str, Any]:
    """Objects that exist only in workspace B."""
    cid = other.contact("Bee", email="bee@example.com", phone="+60133333333")
    other.contact("Bee2", email="bee2@example.com")
    other.api.post(f"/contact/id:{cid}/tag", json=["b-only-tag"])
    field = other.api.post(
        "/space/custom_field", json={"name": "b_field", "dataType": "text"}
    ).json()
    users = other.api.get("/space/user").json()["items"]
    tokens = other.control.get(f"/control/workspaces/{other.wid}/tokens").json()["items"]
    templates = other.api.get(f"/space/channel/{other.channel_id}/template").json()["items"]
    other.control.post(
        f"/control/workspaces/{other.wid}/lifecycle_stages", json={"name": "B Stage"}
    )
    other.control.post(
        f"/control/workspaces/{other.wid}/closing_notes", json={"category": "B Note"}
    )
    hooks = f"/control/workspaces/{other.wid}/webhooks"
    hook = other.control.post(hooks, json={"url": "https://example.com/b-hook"}).json()
    other.contact("Bee3", email="bee3@example.com")  # queues a contact.created for the hook
    other.control.put(f"{hooks}/{hook['id']}", json={"enabled": False})
    (delivery,) = other.control.get(f"{hooks}/{hook['id']}/deliveries").json()["items"]
    second = other.api.get("/contact/email:bee2@example.com").json()["id"]
    sent = other.api.post(
        f"/contact/id:{cid}/message",
        json={"channelId": other.channel_id, "message": {"type": "text", "text": "b only"}},
    )
    assert sent.status_code == 200, sent.text
    logged = f"/control/workspaces/{other.wid}/requests"
    deadline = time.monotonic() + 5  # the request log is written a moment after the answers
    while not (requests := other.control.get(logged).json()["items"]):
        assert time.monotonic() < deadline
        time.sleep(0.05)
    return {
        "request": requests[0]["id"],
        "message": sent.json()["messageId"],
        "contact": cid,
        "contact2": second,
        "field": field["id"],
        "user": users[0]["id"],
        "channel": other.channel_id,
        "wid": other.wid,
        "token": tokens[0]["id"],
        "template": templates[0]["id"],
        "webhook": hook["id"],
        "delivery": delivery["id"],
    }


def cases(b: dict[str, Any]) -> dict[tuple[str, str], list[tuple[str, Any]]]:
    """(method, route template) -> requests (path, json body) aimed at B's objects."""
    c = b["contact"]
    ident = [f"id:{c}", "email:bee@example.com", "phone:+60133333333"]
    W = f"/control/workspaces/{b['wid']}"
    return {
        ("GET", "/v2/contact/{identifier:str}"): [(f"/v2/contact/{i}", None) for i in ident],
        ("PUT", "/v2/contact/{identifier:str}"): [
            (f"/v2/contact/{i}", {"firstName": "X"}) for i in ident
        ],
        ("DELETE", "/v2/contact/{identifier:str}"): [(f"/v2/contact/{i}", None) for i in ident],
        ("POST", "/v2/contact/create_or_update/{identifier:str}"): [
            (f"/v2/contact/create_or_update/id:{c}", {"firstName": "X"})
        ],
        ("POST", "/v2/contact/merge"): [
            ("/v2/contact/merge", {"contactIds": [c, b["contact2"]]}),
            ("/v2/contact/merge", {"primaryContactId": c, "secondaryContactId": b["contact2"]}),
        ],
        ("GET", "/v2/contact/{identifier:str}/channels"): [
            (f"/v2/contact/{i}/channels", None) for i in ident
        ],
        ("GET", "/v2/contact/{identifier:str}/channel"): [
            (f"/v2/contact/{i}/channel", None) for i in ident
        ],
        ("POST", "/v2/contact/{identifier:str}/lifecycle/update"): [
            (f"/v2/contact/id:{c}/lifecycle/update", {"name": None})
        ],
        ("POST", "/v2/contact/{identifier:str}/tag"): [(f"/v2/contact/id:{c}/tag", ["x"])],
        ("DELETE", "/v2/contact/{identifier:str}/tag"): [
            (f"/v2/contact/id:{c}/tag", ["b-only-tag"])
        ],
        ("PUT", "/v2/space/tag"): [
            ("/v2/space/tag", {"currentName": "b-only-tag", "name": "stolen"})
        ],
        ("DELETE", "/v2/space/tag"): [("/v2/space/tag", {"name": "b-only-tag"})],
        ("POST", "/v2/contact/{identifier:str}/message"): [
            (f"/v2/contact/{i}/message", {"message": {"type": "text", "text": "x"}}) for i in ident
        ],
        ("GET", "/v2/contact/{identifier:str}/message/list"): [
            (f"/v2/contact/{i}/message/list", None) for i in ident
        ],
        ("GET", "/v2/contact/{identifier:str}/message/{messageId:int}"): [
            (f"/v2/contact/{i}/message/{b['message']}", None) for i in ident
        ],
        ("POST", "/v2/contact/{identifier:str}/conversation"): [
            (f"/v2/contact/id:{c}/conversation", {"status": "open"})
        ],
        ("POST", "/v2/contact/{identifier:str}/conversation/status"): [
            (f"/v2/contact/id:{c}/conversation/status", {"status": "close"})
        ],
        ("POST", "/v2/contact/{identifier:str}/conversation/assignee"): [
            (f"/v2/contact/id:{c}/conversation/assignee", {"assignee": None})
        ],
        ("POST", "/v2/contact/{identifier:str}/comment"): [
            (f"/v2/contact/id:{c}/comment", {"text": "x"})
        ],
        ("POST", "/control/workspaces/{wid:int}/sandbox/incoming"): [
            (
                f"{W}/sandbox/incoming",
                {
                    "channelId": b["channel"],
                    "address": "+60133333333",
                    "message": {"type": "text", "text": "x"},
                },
            )
        ],
        ("POST", "/control/workspaces/{wid:int}/sandbox/messages/{messageId:int}/status"): [
            (f"{W}/sandbox/messages/{b['message']}/status", {"status": "read"})
        ],
        ("GET", "/control/workspaces/{wid:int}/sandbox/channels/{channelId:int}/sent"): [
            (f"{W}/sandbox/channels/{b['channel']}/sent", None)
        ],
        **webhook_cases(W, b["webhook"], b["delivery"]),
        ("PUT", "/control/workspaces/{wid:int}/users/{userId:int}"): [
            (f"{W}/users/{b['user']}", {"role": "owner"})
        ],
        ("GET", "/control/workspaces/{wid:int}/requests"): [(f"{W}/requests", None)],
        ("GET", "/control/workspaces/{wid:int}/requests/{requestId:int}"): [
            (f"{W}/requests/{b['request']}", None)
        ],
        ("POST", "/control/workspaces/{wid:int}/sandbox/reset"): [
            (f"{W}/sandbox/reset", {"to": "empty"})
        ],
        ("GET", "/v2/space/custom_field/{fieldId:int}"): [
            (f"/v2/space/custom_field/{b['field']}", None)
        ],
        ("GET", "/v2/space/user/{userId:int}"): [(f"/v2/space/user/{b['user']}", None)],
        ("GET", "/v2/space/channel/{channelId:int}/mtm"): [
            (f"/v2/space/channel/{b['channel']}/mtm", None)
        ],
        ("GET", "/v2/space/mtm/{templateId:int}"): [(f"/v2/space/mtm/{b['template']}", None)],
        ("GET", "/v2/space/channel/{channelId:int}/template"): [
            (f"/v2/space/channel/{b['channel']}/template", None)
        ],
        ("GET", W.replace(str(b["wid"]), "{wid:int}")): [(W, None)],
        ("DELETE", "/control/workspaces/{wid:int}"): [(W, None)],
        ("POST", "/control/workspaces/{wid:int}/tokens"): [(f"{W}/tokens", {"name": "x"})],
        ("GET", "/control/workspaces/{wid:int}/tokens"): [(f"{W}/tokens", None)],
        ("DELETE", "/control/workspaces/{wid:int}/tokens/{tokenId:int}"): [
            (f"{W}/tokens/{b['token']}", None)
        ],
        ("POST", "/control/workspaces/{wid:int}/users"): [
            (f"{W}/users", {"email": "x@example.com", "firstName": "X"})
        ],
        ("GET", "/control/workspaces/{wid:int}/users"): [(f"{W}/users", None)],
        ("DELETE", "/control/workspaces/{wid:int}/users/{userId:int}"): [
            (f"{W}/users/{b['user']}", None)
        ],
        ("POST", "/control/workspaces/{wid:int}/users/{userId:int}/links"): [
            (f"{W}/users/{b['user']}/links", {"purpose": "signin"})
        ],
        ("POST", "/control/workspaces/{wid:int}/lifecycle_stages"): [
            (f"{W}/lifecycle_stages", {"name": "X"})
        ],
        ("GET", "/control/workspaces/{wid:int}/lifecycle_stages"): [
            (f"{W}/lifecycle_stages", None)
        ],
        ("DELETE", "/control/workspaces/{wid:int}/lifecycle_stages/{name:str}"): [
            (f"{W}/lifecycle_stages/B Stage", None)
        ],
        ("POST", "/control/workspaces/{wid:int}/closing_notes"): [
            (f"{W}/closing_notes", {"category": "X"})
        ],
        ("GET", "/control/workspaces/{wid:int}/closing_notes"): [(f"{W}/closing_notes", None)],
        ("DELETE", "/control/workspaces/{wid:int}/closing_notes/{category:str}"): [
            (f"{W}/closing_notes/B Note", None)
        ],
        ("POST", "/control/workspaces/{wid:int}/custom_fields"): [
            (f"{W}/custom_fields", {"name": "x", "dataType": "text"})
        ],
        ("GET", "/control/workspaces/{wid:int}/custom_fields"): [(f"{W}/custom_fields", None)],
        ("DELETE", "/control/workspaces/{wid:int}/custom_fields/{fieldId:int}"): [
            (f"{W}/custom_fields/{b['field']}", None)
        ],
        ("POST", "/control/workspaces/{wid:int}/tags"): [(f"{W}/tags", {"name": "x"})],
        ("GET", "/control/workspaces/{wid:int}/tags"): [(f"{W}/tags", None)],
        ("DELETE", "/control/workspaces/{wid:int}/tags/{name:str}"): [
            (f"{W}/tags/b-only-tag", None)
        ],
        ("POST", "/control/workspaces/{wid:int}/channels"): [
            (f"{W}/channels", {"name": "x", "source": "telegram"})
        ],
        ("GET", "/control/workspaces/{wid:int}/channels"): [(f"{W}/channels", None)],
        ("PUT", "/control/workspaces/{wid:int}/channels/{channelId:int}"): [
            (f"{W}/channels/{b['channel']}", {"name": "stolen"})
        ],
        ("DELETE", "/control/workspaces/{wid:int}/channels/{channelId:int}"): [
            (f"{W}/channels/{b['channel']}", None)
        ],
        ("POST", "/control/workspaces/{wid:int}/channels/{channelId:int}/templates"): [
            (f"{W}/channels/{b['channel']}/templates", {"name": "x", "languageCode": "en"})
        ],
        ("POST", "/control/workspaces/{wid:int}/channels/{channelId:int}/templates/sync"): [
            (f"{W}/channels/{b['channel']}/templates/sync", None)
        ],
        ("GET", "/control/workspaces/{wid:int}/channels/{channelId:int}/templates"): [
            (f"{W}/channels/{b['channel']}/templates", None)
        ],
        ("DELETE", "/control/workspaces/{wid:int}/templates/{templateId:int}"): [
            (f"{W}/templates/{b['template']}", None)
        ],
    }


def webhook_cases(w: str, hook: int, delivery: int) -> dict[tuple[str, str], list[tuple[str, Any]]]:
    """The webhook routes, aimed at ``hook`` and ``delivery`` under workspace path ``w``."""
    H = "/control/workspaces/{wid:int}/webhooks"
    h = f"{w}/webhooks/{hook}"
    return {
        ("POST", H): [(f"{w}/webhooks", {"url": "https://example.com/x"})],
        ("GET", H): [(f"{w}/webhooks", None)],
        ("GET", H + "/{webhookId:int}"): [(h, None)],
        ("PUT", H + "/{webhookId:int}"): [(h, {"enabled": True})],
        ("DELETE", H + "/{webhookId:int}"): [(h, None)],
        ("POST", H + "/{webhookId:int}/rotate"): [(f"{h}/rotate", None)],
        ("POST", H + "/{webhookId:int}/test"): [(f"{h}/test", None)],
        ("GET", H + "/{webhookId:int}/deliveries"): [(f"{h}/deliveries", None)],
        ("GET", H + "/{webhookId:int}/deliveries/{deliveryId:int}"): [
            (f"{h}/deliveries/{delivery}", None)
        ],
        ("POST", H + "/{webhookId:int}/deliveries/{deliveryId:int}/replay"): [
            (f"{h}/deliveries/{delivery}/replay", None)
        ],
    }


# Routes that name no object of another workspace: they act on the caller's own workspace, and
# the test below checks that B's objects never show up in their answers.
OWN_WORKSPACE_ONLY = {
    ("POST", "/v2/contact"),
    ("POST", "/v2/contact/{identifier:str}"),
    ("GET", "/v2/contact/list"),
    ("POST", "/v2/contact/list"),
    ("POST", "/v2/tag"),
    ("POST", "/v2/space/tag"),
    ("GET", "/v2/space/tag"),
    ("GET", "/v2/custom_field"),
    ("POST", "/v2/custom_field"),
    ("GET", "/v2/space/custom_field"),
    ("POST", "/v2/space/custom_field"),
    ("GET", "/v2/space/user"),
    ("GET", "/v2/space/channel"),
    ("GET", "/v2/space/closing_notes"),
    ("POST", "/control/workspaces"),
    ("GET", "/control/workspaces"),
}


def app_routes() -> set[tuple[str, str]]:
    app = create_app(make_settings(__import__("pathlib").Path("/nonexistent/unused.db")))
    out: set[tuple[str, str]] = set()
    for route in app.routes:
        if not (route.path.startswith("/v2") or route.path.startswith("/control")):
            continue
        for method in route.methods - {"OPTIONS", "HEAD"}:
            out.add((method, route.path))
    return out


def test_every_route_has_an_isolation_case() -> None:
    known = set(
        cases(
            {
                "contact": 1,
                "contact2": 2,
                "message": 1,
                "field": 1,
                "user": 1,
                "channel": 1,
                "wid": 1,
                "token": 1,
                "template": 1,
                "webhook": 1,
                "delivery": 1,
                "request": 1,
            }
        )
    )
    missing = app_routes() - known - OWN_WORKSPACE_ONLY
    assert not missing, f"routes without a cross-workspace case: {sorted(missing)}"


def test_workspace_a_gets_404_for_every_object_of_b(
    ws: Workspace, other: Workspace, b_objects: dict[str, Any]
) -> None:
    import httpx

    a = httpx.Client(base_url=ws.base, headers={"Authorization": f"Bearer {ws.token}"})
    failures = []
    for (method, template), requests in cases(b_objects).items():
        for path, body in requests:
            r = a.request(method, path, json=body) if body is not None else a.request(method, path)
            if r.status_code != 404 or r.json().get("code") != 404:
                failures.append(f"{method} {path} ({template}) -> {r.status_code} {r.text[:120]}")
    a.close()
    assert not failures, "\n".join(failures)
    # B is untouched
    got = other.api.get(f"/contact/id:{b_objects['contact']}").json()
    assert got["firstName"] == "Bee"
    assert got["tags"] == ["b-only-tag"]
    assert len(other.api.get("/space/user").json()["items"]) == 2
    assert other.api.get(f"/space/custom_field/{b_objects['field']}").status_code == 200
    assert other.api.get(f"/contact/id:{b_objects['contact']}/message/list").json()["items"]


def test_b_objects_named_inside_a_requests_are_not_found(
    ws: Workspace, other: Workspace, b_objects: dict[str, Any]
) -> None:
    """B's channel or message named from A's own contact or workspace: 404, nothing stored."""
    mine = ws.contact("Mine", email="mine2@example.com", phone="+60144444444")
    r = ws.api.post(
        f"/contact/id:{mine}/message",
        json={"channelId": b_objects["channel"], "message": {"type": "text", "text": "x"}},
    )
    assert r.status_code == 404
    assert "channel" in r.json()["message"]
    r = ws.api.get(f"/contact/id:{mine}/message/{b_objects['message']}")
    assert r.status_code == 404
    W = f"/control/workspaces/{ws.wid}"
    own = httpx_request(
        ws,
        "POST",
        f"{W}/sandbox/incoming",
        {
            "channelId": b_objects["channel"],
            "address": "+60155555555",
            "message": {"type": "text", "text": "x"},
        },
    )
    assert own.status_code == 404
    assert own.json()["code"] == 404
    status = httpx_request(
        ws, "POST", f"{W}/sandbox/messages/{b_objects['message']}/status", {"status": "read"}
    )
    assert status.status_code == 404
    sent = httpx_request(ws, "GET", f"{W}/sandbox/channels/{b_objects['channel']}/sent", None)
    assert sent.status_code == 404
    rename = httpx_request(ws, "PUT", f"{W}/channels/{b_objects['channel']}", {"name": "stolen"})
    assert rename.status_code == 404
    assert "stolen" not in other.api.get("/space/channel").text
    assert ws.api.get(f"/contact/id:{mine}/message/list").json()["items"] == []
    assert ws.api.get("/contact/phone:+60155555555").status_code == 404
    # B's webhook and delivery named under A's own workspace
    for (method, _), requests in webhook_cases(
        W, b_objects["webhook"], b_objects["delivery"]
    ).items():
        for path, body in requests:
            if path.endswith("/webhooks"):
                continue  # A's own list and create
            r = httpx_request(ws, method, path, body)
            assert r.status_code == 404, (method, path, r.text)
            assert r.json()["code"] == 404, (method, path, r.text)
    # B's logged request and B's user named under A's own workspace
    r = httpx_request(ws, "GET", f"{W}/requests/{b_objects['request']}", None)
    assert r.status_code == 404
    r = httpx_request(ws, "PUT", f"{W}/users/{b_objects['user']}", {"role": "owner"})
    assert r.status_code == 404
    hook = other.control.get(f"/control/workspaces/{other.wid}/webhooks/{b_objects['webhook']}")
    assert hook.status_code == 200
    assert hook.json()["enabled"] is False


def test_own_workspace_routes_never_show_b(
    ws: Workspace, other: Workspace, b_objects: dict[str, Any]
) -> None:
    ws.contact("Mine", email="mine@example.com")
    text = (
        "".join(
            ws.api.get(p).text
            for p in (
                "/contact/list?limit=100",
                "/space/tag",
                "/custom_field",
                "/space/custom_field",
                "/space/user",
                "/space/channel",
                "/space/closing_notes",
            )
        )
        + ws.api.post("/contact/list", json={"search": "bee"}).text
    )
    for secret in ("bee@example.com", "b-only-tag", "b_field", "B Note"):
        assert secret not in text
    # creating the same email in A is fine: uniqueness is per workspace
    assert (
        ws.api.post("/contact", json={"firstName": "A-bee", "email": "bee@example.com"}).status_code
        == 200
    )
    # workspace tokens cannot list or create workspaces
    for method, path, body in (
        ("GET", "/control/workspaces", None),
        ("POST", "/control/workspaces", {"name": "x"}),
    ):
        r = httpx_request(ws, method, path, body)
        assert r.status_code == 403
        assert r.json()["code"] == 403


def httpx_request(ws: Workspace, method: str, path: str, body: Any) -> Any:
    import httpx

    with httpx.Client(base_url=ws.base, headers={"Authorization": f"Bearer {ws.token}"}) as c:
        return c.request(method, path, json=body)
