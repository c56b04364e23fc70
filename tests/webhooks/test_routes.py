"""Webhook subscriptions through the control API: the signing key shown once and stored
sealed, bad input refused with nothing stored, events of every type delivered signed."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest

from openrespond.app import create_app
from openrespond.webhooks.signing import SignatureError, verify
from tests.conftest import Rows, ServerThread, Workspace, make_settings, new_workspace
from tests.webhooks.receiver import Receiver, receiving


def _hook(ws: Workspace, url: str, **body: Any) -> dict[str, Any]:
    r = ws.control.post(f"/control/workspaces/{ws.wid}/webhooks", json={"url": url, **body})
    assert r.status_code == 201 or r.status_code == 200, r.text
    hook: dict[str, Any] = r.json()
    return hook


def _verified(receiver: Receiver, key: str) -> None:
    """Every request the receiver got carries both signatures, valid for ``key``."""
    for req in receiver.requests:
        headers = dict(req.headers)
        assert verify(key, headers, req.body) == "standard"
        del headers["webhook-signature"]
        assert verify(key, headers, req.body) == "respondio"


def test_create_shows_the_key_once_and_stores_it_sealed(ws: Workspace, db_rows: Rows) -> None:
    hook = _hook(ws, "https://hooks.example.com/in", events=["contact.created"])
    key = hook["signingKey"]
    assert key.startswith("whsec_")
    assert hook["events"] == ["contact.created"]
    assert hook["enabled"] is True
    assert hook["disabledReason"] is None
    path = f"/control/workspaces/{ws.wid}/webhooks"
    listed = ws.control.get(path).json()["items"]
    assert [h["id"] for h in listed] == [hook["id"]]
    got = ws.control.get(f"{path}/{hook['id']}").json()
    for shown in (listed[0], got):
        assert "signingKey" not in shown
        assert key not in str(shown)
    (stored,) = db_rows("SELECT secret FROM webhooks WHERE id = ?", hook["id"])
    assert key not in stored[0]
    assert key[6:] not in stored[0]
    rotated = ws.control.post(f"{path}/{hook['id']}/rotate").json()
    assert rotated["signingKey"] != key
    assert rotated["signingKey"].startswith("whsec_")


@pytest.mark.parametrize(
    ("body", "word"),
    [
        ({"url": "ftp://example.com/x"}, "url"),
        ({"url": "not a url"}, "url"),
        ({"url": "https://user:pw@example.com/x"}, "credentials"),
        ({"url": "http://10.1.2.3/x"}, "private"),
        ({"url": "http://169.254.169.254/latest/meta-data"}, "private"),
        ({"url": "http://[::1]:8080/x"}, "private"),
        ({"url": "http://0.0.0.0/x"}, "private"),
        ({"url": "http://192.168.1.10/x"}, "private"),
        ({"url": "https://example.com/x", "events": ["contact.exploded"]}, "events"),
        ({"url": "https://example.com/x", "events": []}, "events"),
        ({"url": "https://example.com/x", "signingKey": "short"}, "signingKey"),
        ({}, "url"),
    ],
)
def test_bad_subscriptions_are_refused_and_nothing_is_stored(
    ws: Workspace, db_rows: Rows, body: dict[str, Any], word: str
) -> None:
    r = ws.control.post(f"/control/workspaces/{ws.wid}/webhooks", json=body)
    assert r.status_code == 400, r.text
    assert r.json()["code"] == 400
    assert word in r.json()["message"]
    assert db_rows("SELECT COUNT(*) FROM webhooks WHERE workspace_id = ?", ws.wid) == [(0,)]


def test_loopback_is_refused_unless_configured(tmp_path: Path) -> None:
    settings = make_settings(tmp_path / "strict.db", allow_private_networks="")
    with ServerThread(create_app(settings)) as base, new_workspace(base) as w:
        for url in ("http://127.0.0.1:9/x", "http://localhost:9/x"):
            r = w.control.post(f"/control/workspaces/{w.wid}/webhooks", json={"url": url})
            assert r.status_code == 400
            assert "OPENRESPOND_ALLOW_PRIVATE_NETWORKS" in r.text


def test_update_checks_the_url_and_enabling_clears_the_reason(ws: Workspace) -> None:
    hook = _hook(ws, "https://example.com/a")
    path = f"/control/workspaces/{ws.wid}/webhooks/{hook['id']}"
    r = ws.control.put(path, json={"url": "http://10.0.0.1/"})
    assert r.status_code == 400
    assert "url" in r.json()["message"]
    assert ws.control.get(path).json()["url"] == "https://example.com/a"
    off = ws.control.put(path, json={"enabled": False}).json()
    assert off["enabled"] is False
    assert off["disabledReason"]
    on = ws.control.put(path, json={"enabled": True, "events": ["message.sent", "*"]}).json()
    assert on["enabled"] is True
    assert on["disabledReason"] is None
    assert on["events"] == ["*"]
    assert ws.control.put(path, json={"enabled": "yes"}).status_code == 400
    assert ws.control.delete(path).status_code == 200
    assert ws.control.get(path).status_code == 404
    assert ws.control.delete(path).status_code == 404


def test_every_event_type_is_delivered_signed_with_its_payload(ws: Workspace) -> None:
    with receiving() as rx:
        hook = _hook(ws, rx.url)
        key = hook["signingKey"]
        # contact.created, updated, tag, lifecycle, assignee
        cid = ws.contact("Ada", email="ada@example.com", phone="+60123456789")
        assert ws.api.put(f"/contact/id:{cid}", json={"lastName": "Lovelace"}).status_code == 200
        assert ws.api.post(f"/contact/id:{cid}/tag", json=["vip"]).status_code == 200
        r = ws.api.post(f"/contact/id:{cid}/lifecycle/update", json={"name": "Hot Lead"})
        assert r.status_code == 200, r.text
        r = ws.api.post(
            f"/contact/id:{cid}/conversation/assignee", json={"assignee": "agent@example.com"}
        )
        assert r.status_code == 200, r.text
        # conversation.opened by an incoming message, which is message.received
        r = ws.control.post(
            f"/control/workspaces/{ws.wid}/sandbox/incoming",
            json={
                "channelId": ws.channel_id,
                "address": "+60123456789",
                "message": {"type": "text", "text": "hi"},
            },
        )
        assert r.status_code == 200, r.text
        # message.sent once the sandbox driver sent it
        r = ws.api.post(
            f"/contact/id:{cid}/message",
            json={"channelId": ws.channel_id, "message": {"type": "text", "text": "hello"}},
        )
        sent_id = r.json()["messageId"]
        rx.wait_for(1, "message.sent")
        r = ws.api.post(
            f"/contact/id:{cid}/comment",
            json={"text": "call {{@user." + str(ws.users["agent@example.com"]) + "}}"},
        )
        assert r.status_code == 200, r.text
        r = ws.api.post(
            f"/contact/id:{cid}/conversation/status",
            json={"status": "close", "category": "resolved", "summary": "done"},
        )
        assert r.status_code == 200, r.text
        assert ws.api.delete(f"/contact/id:{cid}").status_code == 200

        rx.wait_for(1, "contact.deleted")
        events = {e["event_type"]: e for e in rx.events()}
        assert set(events) == {
            "contact.created",
            "contact.updated",
            "contact.tag.updated",
            "contact.lifecycle.updated",
            "contact.assignee.updated",
            "conversation.opened",
            "message.received",
            "message.sent",
            "comment.created",
            "conversation.closed",
            "contact.deleted",
        }
        _verified(rx, key)
        for e in rx.events():
            assert e["event_id"].startswith("evt_")
            assert abs(e["timestamp"] - time.time()) < 60
            assert e["contact"]["id"] == cid
        assert events["contact.tag.updated"]["contact"]["tags"] == ["vip"]
        assert events["contact.lifecycle.updated"]["contact"]["lifecycle"] == "Hot Lead"
        assert (
            events["contact.assignee.updated"]["contact"]["assignee"]["email"]
            == "agent@example.com"
        )
        assert events["contact.deleted"]["contact"]["lastName"] == "Lovelace"
        received = events["message.received"]
        assert received["message"]["traffic"] == "incoming"
        assert received["message"]["message"] == {"type": "text", "text": "hi"}
        assert received["channel"]["id"] == ws.channel_id
        assert received["channel"]["lastIncomingMessageTime"] is not None
        sent = events["message.sent"]
        assert sent["message"]["messageId"] == sent_id
        assert [s["value"] for s in sent["message"]["status"]][-1] in ("sent", "delivered")
        closed = events["conversation.closed"]["conversation"]
        assert closed["category"] == "Resolved"
        assert closed["summary"] == "done"
        assert closed["closedBySource"] == "api"
        assert closed["incomingMessageCount"] == 1
        assert closed["outgoingMessageCount"] == 1
        assert closed["resolutionTime"] >= 0
        opened = events["conversation.opened"]["conversation"]
        assert opened["openedBySource"] == "contact"
        assert opened["status"] == "open"
        comment = events["comment.created"]["comment"]
        assert [m["email"] for m in comment["mentions"]] == ["agent@example.com"]
        # the webhook-id header is the event's id
        assert {r.headers["webhook-id"] for r in rx.requests} == {
            e["event_id"] for e in rx.events()
        }


def test_only_subscribed_types_are_sent_and_disabled_hooks_get_nothing(
    ws: Workspace, db_rows: Rows
) -> None:
    with receiving() as rx, receiving() as off:
        _hook(ws, rx.url, events=["contact.updated"])
        hook_off = _hook(ws, off.url, enabled=False)
        cid = ws.contact("Grace")
        assert ws.api.put(f"/contact/id:{cid}", json={"lastName": "Hopper"}).status_code == 200
        rx.wait_for(1, "contact.updated")
        time.sleep(0.2)
        assert [e["event_type"] for e in rx.events()] == ["contact.updated"]
        assert off.requests == []
        assert db_rows(
            "SELECT COUNT(*) FROM webhook_deliveries WHERE webhook_id = ?", hook_off["id"]
        ) == [(0,)]


def test_a_rolled_back_change_sends_no_event(ws: Workspace, db_rows: Rows) -> None:
    with receiving() as rx:
        _hook(ws, rx.url)
        ws.contact("Ada", email="taken@example.com")
        rx.wait_for(1, "contact.created")
        r = ws.api.post("/contact", json={"firstName": "Twin", "email": "taken@example.com"})
        assert r.status_code == 409
        time.sleep(0.2)
        assert len(rx.events("contact.created")) == 1
        assert db_rows(
            "SELECT COUNT(*) FROM events WHERE workspace_id = ? AND type = 'contact.created'",
            ws.wid,
        ) == [(1,)]


def test_a_wrong_key_does_not_verify(ws: Workspace) -> None:
    with receiving() as rx:
        _hook(ws, rx.url, signingKey="a-key-the-receiver-already-has")
        ws.contact("Ada")
        rx.wait_for(1)
        (req,) = rx.requests
        assert verify("a-key-the-receiver-already-has", req.headers, req.body) == "standard"
        with pytest.raises(SignatureError):
            verify("another-key-entirely-0000", req.headers, req.body)
        with pytest.raises(SignatureError):
            verify("a-key-the-receiver-already-has", req.headers, req.body + b" ")
