"""The whatsapp_cloud driver against a fake Graph API on loopback, both ways."""

from __future__ import annotations

import functools
import json
import time
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest

from tests.channels.fake_meta import (
    APP_SECRET,
    VERIFY_TOKEN,
    FakeMeta,
    channel_settings,
    envelope,
    fake_meta,
    graph_error,
    post_webhook,
    sign,
    status_of,
    text_from,
)
from tests.conftest import Rows, Workspace
from tests.waiting import until


@pytest.fixture
def meta() -> Iterator[FakeMeta]:
    with fake_meta() as fake:
        yield fake


def _channel(ws: Workspace, meta: FakeMeta) -> dict[str, Any]:
    r = ws.control.post(
        f"/control/workspaces/{ws.wid}/channels",
        json={
            "name": "WhatsApp Cloud",
            "source": "whatsapp_cloud",
            "driver": "whatsapp_cloud",
            "settings": channel_settings(meta),
        },
    )
    assert r.status_code == 200, r.text
    channel: dict[str, Any] = r.json()
    return channel


def _contact_by_phone(ws: Workspace, phone: str) -> dict[str, Any]:
    def found() -> dict[str, Any] | None:
        r = ws.api.get(f"/contact/phone:{phone}")
        return r.json() if r.status_code == 200 else None

    contact: dict[str, Any] = until(found, f"contact {phone}")
    return contact


def _messages(ws: Workspace, contact: int) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = ws.api.get(f"/contact/id:{contact}/message/list").json()["items"]
    return items


def _history(ws: Workspace, contact: int, message_id: int) -> list[str]:
    record = ws.api.get(f"/contact/id:{contact}/message/{message_id}").json()
    return [s["value"] for s in record["status"]]


def _wait_history(ws: Workspace, contact: int, message_id: int, last: str) -> list[str]:
    history: list[str] = until(
        lambda: (h := _history(ws, contact, message_id)) and h[-1] == last and h,
        f"message {message_id} reaching {last}",
    )
    return history


def _send(ws: Workspace, contact: int, channel: int, message: dict[str, Any]) -> httpx.Response:
    return ws.api.post(
        f"/contact/id:{contact}/message", json={"channelId": channel, "message": message}
    )


def _writes_in(ws: Workspace, channel: dict[str, Any], phone: str, wamid: str) -> int:
    """The customer writes first (opening the window); the contact's id."""
    r = post_webhook(ws.base, channel["id"], text_from(phone.removeprefix("+"), "Hello!", wamid))
    assert r.status_code == 200, r.text
    contact_id: int = _contact_by_phone(ws, phone)["id"]
    until(lambda: _messages(ws, contact_id), "the incoming message")
    return contact_id


def test_verification_handshake_answers_the_challenge_only_to_the_verify_token(
    ws: Workspace, meta: FakeMeta
) -> None:
    channel = _channel(ws, meta)
    assert channel["webhookUrl"] == f"{ws.base}/hooks/whatsapp/{channel['id']}"
    url = channel["webhookUrl"]
    ok = httpx.get(
        url,
        params={
            "hub.mode": "subscribe",
            "hub.verify_token": VERIFY_TOKEN,
            "hub.challenge": "1158201444",
        },
    )
    assert ok.status_code == 200
    assert ok.text == "1158201444"
    for params in (
        {"hub.mode": "subscribe", "hub.verify_token": "wrong-token", "hub.challenge": "1"},
        {"hub.mode": "unsubscribe", "hub.verify_token": VERIFY_TOKEN, "hub.challenge": "1"},
        {"hub.challenge": "1"},
    ):
        r = httpx.get(url, params=params)
        assert r.status_code == 403, r.text
        assert r.json()["code"] == 403
    # a channel of another driver, or none, is refused alike
    assert (
        httpx.get(
            f"{ws.base}/hooks/whatsapp/{ws.channel_id}",
            params={
                "hub.mode": "subscribe",
                "hub.verify_token": VERIFY_TOKEN,
                "hub.challenge": "1",
            },
        ).status_code
        == 403
    )


def test_a_full_round_trip(ws: Workspace, meta: FakeMeta) -> None:
    channel = _channel(ws, meta)
    contact = _writes_in(ws, channel, "+60123450001", "wamid.IN1")
    shown = ws.api.get(f"/contact/id:{contact}").json()
    assert (shown["firstName"], shown["lastName"]) == ("Ada", "Lovelace")
    incoming = _messages(ws, contact)[0]
    assert incoming["traffic"] == "incoming"
    assert incoming["message"] == {"type": "text", "text": "Hello!"}
    assert incoming["channelMessageId"] == "wamid.IN1"
    conversation = ws.api.get(f"/contact/id:{contact}").json()
    assert conversation["status"] == "open"

    r = _send(ws, contact, channel["id"], {"type": "text", "text": "Hi Ada, how can we help?"})
    assert r.status_code == 200, r.text
    message_id = r.json()["messageId"]
    (sent,) = meta.wait_sent(1)
    assert sent["messaging_product"] == "whatsapp"
    assert sent["to"] == "60123450001"
    assert sent["type"] == "text"
    assert sent["text"] == {"body": "Hi Ada, how can we help?", "preview_url": False}
    assert sent["biz_opaque_callback_data"] == f"openrespond:{message_id}"
    _wait_history(ws, contact, message_id, "sent")
    record = ws.api.get(f"/contact/id:{contact}/message/{message_id}").json()
    wamid = record["channelMessageId"]
    assert wamid.startswith("wamid.FAKE")

    for status in ("sent", "delivered", "read"):
        r = post_webhook(ws.base, channel["id"], status_of(wamid, status, wa_id="60123450001"))
        assert r.status_code == 200
    assert _wait_history(ws, contact, message_id, "read") == [
        "pending",
        "sent",
        "delivered",
        "read",
    ]


def test_statuses_out_of_order_and_twice_change_nothing_more(ws: Workspace, meta: FakeMeta) -> None:
    channel = _channel(ws, meta)
    contact = _writes_in(ws, channel, "+60123450002", "wamid.IN2")
    ids = []
    for text in ("one", "two"):
        r = _send(ws, contact, channel["id"], {"type": "text", "text": text})
        ids.append(r.json()["messageId"])
    meta.wait_sent(2)

    def wamid(message_id: int) -> str | None:
        record = ws.api.get(f"/contact/id:{contact}/message/{message_id}").json()
        found: str | None = record["channelMessageId"]
        return found

    wamids = [until(functools.partial(wamid, i), "wamid") for i in ids]
    # read arrives first (Meta skips delivered for a message read at once), then a late
    # delivered, then read again
    for status in ("read", "delivered", "read", "sent"):
        post_webhook(ws.base, channel["id"], status_of(wamids[0], status, wa_id="60123450002"))
    # failed after delivered; nothing after failed
    for status in ("delivered", "failed", "read"):
        post_webhook(
            ws.base,
            channel["id"],
            status_of(
                wamids[1],
                status,
                wa_id="60123450002",
                errors=[
                    {
                        "code": 131050,
                        "title": "User stopped marketing messages",
                        "message": "stopped",
                    }
                ]
                if status == "failed"
                else None,
            ),
        )
    assert _wait_history(ws, contact, ids[0], "read") == ["pending", "sent", "read"]
    assert _wait_history(ws, contact, ids[1], "failed") == [
        "pending",
        "sent",
        "delivered",
        "failed",
    ]
    time.sleep(0.3)  # the later reports were applied by now (one worker, in order): no change
    assert _history(ws, contact, ids[0]) == ["pending", "sent", "read"]
    record = ws.api.get(f"/contact/id:{contact}/message/{ids[1]}").json()
    assert [s["value"] for s in record["status"]] == ["pending", "sent", "delivered", "failed"]
    assert "131050" in record["status"][-1]["message"]


def test_a_forged_or_missing_signature_is_401_and_stores_nothing(
    ws: Workspace, meta: FakeMeta, db_rows: Rows
) -> None:
    channel = _channel(ws, meta)
    payload = text_from("60123450003", "forged", "wamid.FORGED")
    for secret in (None, "not-the-app-secret-0000", ""):
        r = post_webhook(ws.base, channel["id"], payload, secret=secret)
        assert r.status_code == 401, r.text
        assert "X-Hub-Signature-256" in r.json()["message"]
    body = json.dumps(payload).encode()
    tampered = httpx.post(
        f"{ws.base}/hooks/whatsapp/{channel['id']}",
        content=body.replace(b"forged", b"FORGED"),
        headers={
            "X-Hub-Signature-256": "sha256="
            + __import__("hmac").new(APP_SECRET.encode(), body, "sha256").hexdigest()
        },
    )
    assert tampered.status_code == 401
    # a channel of another driver, or an unknown one, is refused alike
    assert post_webhook(ws.base, ws.channel_id, payload).status_code == 401
    assert post_webhook(ws.base, 2**40, payload).status_code == 401
    assert db_rows("SELECT COUNT(*) FROM provider_inbox WHERE channel_id = ?", channel["id"]) == [
        (0,)
    ]
    assert ws.api.get("/contact/phone:+60123450003").status_code == 404


def test_the_24_hour_window_allows_only_templates_outside_it(ws: Workspace, meta: FakeMeta) -> None:
    channel = _channel(ws, meta)
    contact = ws.contact("Wendy", phone="+60123450004")
    r = _send(ws, contact, channel["id"], {"type": "text", "text": "hello?"})
    assert r.status_code == 400
    assert "24 hours" in r.json()["message"]
    assert "whatsapp_template" in r.json()["message"]
    assert (
        ws.control.post(
            f"/control/workspaces/{ws.wid}/channels/{channel['id']}/templates",
            json={"name": "order_update", "languageCode": "en_US"},
        ).status_code
        == 200
    )
    template = {
        "type": "whatsapp_template",
        "template": {
            "name": "order_update",
            "languageCode": "en_US",
            "components": [
                {
                    "type": "header",
                    "format": "image",
                    "parameters": [
                        {"type": "image", "image": {"link": "https://example.com/a.png"}}
                    ],
                },
                {
                    "type": "body",
                    "text": "Hi {{1}}",
                    "parameters": [{"type": "text", "text": "Wendy"}],
                },
                {"type": "footer", "text": "Thanks"},
                {
                    "type": "buttons",
                    "buttons": [
                        {
                            "type": "url",
                            "text": "Track",
                            "url": "https://example.com/{{1}}",
                            "parameters": [{"type": "text", "text": "A1"}],
                        },
                        {"type": "quick_reply", "text": "Stop"},
                        {"type": "url", "text": "Static", "url": "https://example.com/"},
                    ],
                },
            ],
        },
    }
    r = _send(ws, contact, channel["id"], template)
    assert r.status_code == 200, r.text
    (sent,) = meta.wait_sent(1)
    assert sent["type"] == "template"
    assert sent["template"] == {
        "name": "order_update",
        "language": {"code": "en_US", "policy": "deterministic"},
        "components": [
            {
                "type": "header",
                "parameters": [{"type": "image", "image": {"link": "https://example.com/a.png"}}],
            },
            {"type": "body", "parameters": [{"type": "text", "text": "Wendy"}]},
            {
                "type": "button",
                "sub_type": "url",
                "index": "0",
                "parameters": [{"type": "text", "text": "A1"}],
            },
            {
                "type": "button",
                "sub_type": "quick_reply",
                "index": "1",
                "parameters": [{"type": "payload", "payload": "Stop"}],
            },
        ],
    }
    # once the customer writes, free-form messages go
    post_webhook(
        ws.base, channel["id"], text_from("60123450004", "Where is my order?", "wamid.IN4")
    )
    until(lambda: len(_messages(ws, contact)) == 2, "the customer's message")
    assert (
        _send(ws, contact, channel["id"], {"type": "text", "text": "On its way"}).status_code == 200
    )
    # the sandbox's WhatsApp channel is not held to the window
    other = ws.contact("Sam", phone="+60123450005")
    assert _send(ws, other, ws.channel_id, {"type": "text", "text": "hi"}).status_code == 200


def test_rate_limits_and_outages_are_retried_and_delivered_once(
    ws: Workspace, meta: FakeMeta
) -> None:
    channel = _channel(ws, meta)
    contact = _writes_in(ws, channel, "+60123450006", "wamid.IN6")
    meta.script = [
        graph_error(130429, "Rate limit hit", status=429),
        graph_error(131000, "Something went wrong", status=500),
    ]
    r = _send(ws, contact, channel["id"], {"type": "text", "text": "eventually"})
    message_id = r.json()["messageId"]
    assert _wait_history(ws, contact, message_id, "sent") == ["pending", "sent"]
    time.sleep(0.3)
    assert len(meta.sent) == 3
    assert len({json.dumps(m, sort_keys=True) for m in meta.sent}) == 1


@pytest.mark.parametrize(
    ("error", "words"),
    [
        (graph_error(131047, "Re-engagement message", details="more than 24 hours"), "24-hour"),
        (graph_error(131026, "Message undeliverable"), "undeliverable"),
        (graph_error(190, "Error validating access token", status=401), "credentials"),
    ],
)
def test_meta_errors_fail_the_message_with_the_reason(
    ws: Workspace, meta: FakeMeta, db_rows: Rows, error: tuple[int, dict[str, Any]], words: str
) -> None:
    channel = _channel(ws, meta)
    contact = _writes_in(ws, channel, "+60123450007", "wamid.IN7")
    meta.script = [error]
    r = _send(ws, contact, channel["id"], {"type": "text", "text": "x"})
    message_id = r.json()["messageId"]
    _wait_history(ws, contact, message_id, "failed")
    record = ws.api.get(f"/contact/id:{contact}/message/{message_id}").json()
    reason = record["status"][-1]["message"]
    assert words in reason
    assert str(error[1]["error"]["code"]) in reason
    (state,) = db_rows("SELECT state FROM channels WHERE id = ?", channel["id"])
    assert ("error" in json.loads(state[0])) == (words == "credentials")


def test_quick_replies_become_buttons_or_a_list(ws: Workspace, meta: FakeMeta) -> None:
    channel = _channel(ws, meta)
    contact = _writes_in(ws, channel, "+60123450008", "wamid.IN8")
    three = {"type": "quick_reply", "title": "Pick one", "replies": ["Yes", "No", "Maybe"]}
    five = {"type": "quick_reply", "title": "Pick a size", "replies": ["XS", "S", "M", "L", "XL"]}
    assert _send(ws, contact, channel["id"], three).status_code == 200
    assert _send(ws, contact, channel["id"], five).status_code == 200
    buttons, rows = meta.wait_sent(2)
    assert buttons["interactive"]["type"] == "button"
    assert [b["reply"]["title"] for b in buttons["interactive"]["action"]["buttons"]] == [
        "Yes",
        "No",
        "Maybe",
    ]
    assert rows["interactive"]["type"] == "list"
    assert [r["title"] for r in rows["interactive"]["action"]["sections"][0]["rows"]] == five[
        "replies"
    ]
    too_many = {"type": "quick_reply", "title": "?", "replies": [str(i) for i in range(11)]}
    r = _send(ws, contact, channel["id"], too_many)
    assert r.status_code == 400
    assert "replies" in r.json()["message"]
    long = {"type": "quick_reply", "title": "?", "replies": ["a" * 21]}
    r = _send(ws, contact, channel["id"], long)
    assert r.status_code == 400
    assert "replies[0]" in r.json()["message"]
    # the customer's answer comes back as text
    answer = envelope(
        contacts=[{"profile": {"name": "Ada"}, "wa_id": "60123450008"}],
        messages=[
            {
                "from": "60123450008",
                "id": "wamid.ANSWER",
                "timestamp": str(int(time.time())),
                "type": "interactive",
                "interactive": {
                    "type": "button_reply",
                    "button_reply": {"id": "Maybe", "title": "Maybe"},
                },
            }
        ],
    )
    post_webhook(ws.base, channel["id"], answer)
    found = until(
        lambda: [m for m in _messages(ws, contact) if m["channelMessageId"] == "wamid.ANSWER"],
        "the answer",
    )
    assert found[0]["message"] == {"type": "text", "text": "Maybe"}


def test_media_is_kept_by_openrespond_and_an_expired_link_fails_the_message_only(
    ws: Workspace, meta: FakeMeta
) -> None:
    channel = _channel(ws, meta)
    png = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
    meta.media["MEDIA1"] = (png, "image/png")
    meta.media["MEDIA2"] = (b"%PDF-1.4 old", "application/pdf")
    meta.expired.add("MEDIA2")
    now = str(int(time.time()))
    payload = envelope(
        contacts=[{"profile": {"name": "Pia"}, "wa_id": "60123450009"}],
        messages=[
            {
                "from": "60123450009",
                "id": "wamid.IMG",
                "timestamp": now,
                "type": "image",
                "image": {
                    "id": "MEDIA1",
                    "mime_type": "image/png",
                    "sha256": "x",
                    "caption": "my receipt",
                },
            },
            {
                "from": "60123450009",
                "id": "wamid.DOC",
                "timestamp": now,
                "type": "document",
                "document": {
                    "id": "MEDIA2",
                    "mime_type": "application/pdf",
                    "filename": "invoice.pdf",
                },
            },
        ],
    )
    assert post_webhook(ws.base, channel["id"], payload).status_code == 200
    contact = _contact_by_phone(ws, "+60123450009")["id"]
    items = until(lambda: (m := _messages(ws, contact)) and len(m) == 3 and m, "three messages")
    by_id = {m["channelMessageId"]: m for m in items}
    image = by_id["wamid.IMG"]["message"]["attachment"]
    assert image["type"] == "image"
    served = httpx.get(ws.base + urlsplit(image["url"]).path)
    assert served.status_code == 200
    assert served.content == png
    assert by_id["wamid.IMG:caption"]["message"] == {"type": "text", "text": "my receipt"}
    doc = by_id["wamid.DOC"]
    assert doc["message"]["attachment"]["type"] == "file"
    assert doc["status"][-1]["value"] == "failed"
    assert "404" in doc["status"][-1]["message"]


def test_a_contact_without_a_phone_number_is_keyed_by_its_user_id(
    ws: Workspace, meta: FakeMeta, db_rows: Rows
) -> None:
    channel = _channel(ws, meta)
    payload = envelope(
        contacts=[
            {"profile": {"name": "Uma", "username": "@uma"}, "user_id": "US.13491208655302741918"}
        ],
        messages=[
            {
                "from_user_id": "US.13491208655302741918",
                "id": "wamid.BSUID",
                "timestamp": str(int(time.time())),
                "type": "text",
                "text": {"body": "no number here"},
            }
        ],
    )
    assert post_webhook(ws.base, channel["id"], payload).status_code == 200
    rows = until(
        lambda: db_rows(
            "SELECT contact_id, address FROM contact_channels WHERE channel_id = ?", channel["id"]
        ),
        "the contact's link",
    )
    ((contact, address),) = rows
    assert address == "US.13491208655302741918"
    shown = ws.api.get(f"/contact/id:{contact}").json()
    assert shown["firstName"] == "Uma"
    assert shown["phone"] is None
    until(lambda: _messages(ws, contact), "the message")
    assert _send(ws, contact, channel["id"], {"type": "text", "text": "hi Uma"}).status_code == 200
    (sent,) = meta.wait_sent(1)
    assert sent["recipient"] == "US.13491208655302741918"
    assert "to" not in sent
    # the same user, once Meta gives the number too, is the same contact
    post_webhook(
        ws.base,
        channel["id"],
        envelope(
            contacts=[
                {
                    "profile": {"name": "Uma"},
                    "wa_id": "60123450010",
                    "user_id": "US.13491208655302741918",
                }
            ],
            messages=[
                {
                    "from": "60123450010",
                    "from_user_id": "US.13491208655302741918",
                    "id": "wamid.BSUID2",
                    "timestamp": str(int(time.time())),
                    "type": "text",
                    "text": {"body": "again"},
                }
            ],
        ),
    )
    until(lambda: len(_messages(ws, contact)) == 3, "the second message on the same contact")


def test_a_redelivered_webhook_is_applied_once(
    ws: Workspace, meta: FakeMeta, db_rows: Rows
) -> None:
    channel = _channel(ws, meta)
    payload = text_from("60123450011", "twice", "wamid.TWICE")
    for _ in range(3):
        assert post_webhook(ws.base, channel["id"], payload).status_code == 200
    contact = _contact_by_phone(ws, "+60123450011")["id"]
    until(
        lambda: (
            db_rows("SELECT COUNT(*) FROM provider_inbox WHERE channel_id = ?", channel["id"])
            == [(0,)]
        ),
        "all three applied",
    )
    assert len(_messages(ws, contact)) == 1


def test_settings_are_checked_and_secrets_never_shown(
    ws: Workspace, meta: FakeMeta, db_rows: Rows
) -> None:
    channel = _channel(ws, meta)
    (settings,) = db_rows("SELECT settings FROM channels WHERE id = ?", channel["id"])
    stored = json.loads(settings[0])
    for secret in ("accessToken", "appSecret", "verifyToken"):
        assert stored[secret].startswith("v1:")
    listed = ws.control.get(f"/control/workspaces/{ws.wid}/channels").text
    for value in channel_settings(meta).values():
        if "secret" in value or "token" in value.lower():
            assert value not in listed
            assert value not in settings[0]
    bad: list[tuple[dict[str, Any], str]] = [
        ({"phoneNumberId": "abc"}, "phoneNumberId"),
        ({"graphBaseUrl": "ftp://graph"}, "graphBaseUrl"),
        ({"graphVersion": "25"}, "graphVersion"),
        ({"appSecret": None}, "appSecret"),
    ]
    for change, word in bad:
        body = {**channel_settings(meta), **change}
        if change.get("appSecret", "") is None:
            del body["appSecret"]
        r = ws.control.post(
            f"/control/workspaces/{ws.wid}/channels",
            json={
                "name": "x",
                "source": "whatsapp_cloud",
                "driver": "whatsapp_cloud",
                "settings": body,
            },
        )
        assert r.status_code == 400, (change, r.text)
        assert word in r.json()["message"]
    r = ws.control.post(
        f"/control/workspaces/{ws.wid}/channels",
        json={
            "name": "x",
            "source": "telegram",
            "driver": "whatsapp_cloud",
            "settings": channel_settings(meta),
        },
    )
    assert r.status_code == 400
    assert "source" in r.json()["message"]


def test_a_sandbox_channel_emulates_the_window_when_asked(ws: Workspace) -> None:
    r = ws.control.post(
        f"/control/workspaces/{ws.wid}/channels",
        json={"name": "Strict", "source": "whatsapp", "settings": {"customerServiceWindow": True}},
    )
    assert r.status_code == 200, r.text
    strict = r.json()["id"]
    contact = ws.contact("Vic", phone="+60123450012")
    refused = _send(ws, contact, strict, {"type": "text", "text": "hi"})
    assert refused.status_code == 400
    assert "24 hours" in refused.json()["message"]
    r = ws.control.post(
        f"/control/workspaces/{ws.wid}/sandbox/incoming",
        json={
            "channelId": strict,
            "address": "+60123450012",
            "message": {"type": "text", "text": "hey"},
        },
    )
    assert r.status_code == 200, r.text
    assert _send(ws, contact, strict, {"type": "text", "text": "hi"}).status_code == 200
    bad = ws.control.post(
        f"/control/workspaces/{ws.wid}/channels",
        json={"name": "x", "source": "whatsapp", "settings": {"customerServiceWindow": "yes"}},
    )
    assert bad.status_code == 400
    assert "customerServiceWindow" in bad.json()["message"]


def test_templates_are_synchronised_from_the_graph_api(ws: Workspace, meta: FakeMeta) -> None:
    body = {"type": "BODY", "text": "Your order {{1}} is on its way"}
    meta.templates = [
        {
            "id": str(9000 + i),
            "name": f"update_{i:03d}",
            "language": "en_US",
            "status": "APPROVED",
            "category": "UTILITY",
            "components": [body],
        }
        for i in range(150)  # two pages of the Graph API's
    ]
    meta.templates[1].update(status="REJECTED", rejected_reason="INVALID_FORMAT")
    # a new channel's templates are read at once (then every hour)
    channel = _channel(ws, meta)
    mtm = f"/space/channel/{channel['id']}/mtm"
    until(
        lambda: len(ws.api.get(mtm, params={"limit": 100}).json()["items"]) == 100,
        "the templates",
    )
    sync = f"/control/workspaces/{ws.wid}/channels/{channel['id']}/templates/sync"
    r = ws.control.post(sync)
    assert r.status_code == 200, r.text
    assert r.json() == {"added": 0, "changed": 0, "removed": 0}
    items = ws.api.get(mtm, params={"limit": 2}).json()["items"]
    assert [(t["name"], t["templateId"], t["status"], t["statusDetail"]) for t in items] == [
        ("update_000", "9000", "approved", ""),
        ("update_001", "9001", "rejected", "INVALID_FORMAT"),
    ]
    assert json.loads(items[0]["components"]) == [{"type": "body", "text": body["text"]}]
    # again: one gone, one approved since
    del meta.templates[0]
    meta.templates[0].update(status="APPROVED", rejected_reason="NONE")
    assert ws.control.post(sync).json() == {"added": 0, "changed": 1, "removed": 1}
    contact = _writes_in(ws, channel, "+60123450013", "wamid.IN13")
    send = {
        "type": "whatsapp_template",
        "template": {"name": "update_001", "languageCode": "en_US"},
    }
    assert _send(ws, contact, channel["id"], send).status_code == 200
    gone = {
        "type": "whatsapp_template",
        "template": {"name": "update_000", "languageCode": "en_US"},
    }
    r = _send(ws, contact, channel["id"], gone)
    assert r.status_code == 400
    assert "update_000" in r.json()["message"]
    # a channel of another driver, another workspace's channel, a Graph API refusing the token
    assert (
        ws.control.post(
            f"/control/workspaces/{ws.wid}/channels/{ws.channel_id}/templates/sync"
        ).status_code
        == 409
    )
    r = ws.control.put(
        f"/control/workspaces/{ws.wid}/channels/{channel['id']}",
        json={"settings": {**channel_settings(meta), "accessToken": "EAAG-wrong-token-000"}},
    )
    assert r.status_code == 200, r.text
    r = ws.control.post(sync)
    assert r.status_code == 502
    assert "access token" in r.json()["message"]


def test_what_providers_send_is_stored_as_it_came(ws: Workspace, meta: FakeMeta) -> None:
    """Texts longer than a send may be, a Flow's answer, a NUL, a hostile signature header:
    stored (or refused) without a 500 and without blocking the rest."""
    channel = _channel(ws, meta)
    now = str(int(time.time()))
    long_text = "x" * 5000
    payload = envelope(
        contacts=[{"profile": {"name": "Lin"}, "wa_id": "60123450020"}],
        messages=[
            {
                "from": "60123450020",
                "id": "wamid.LONG",
                "timestamp": now,
                "type": "text",
                "text": {"body": long_text},
            },
            {
                "from": "60123450020",
                "id": "wamid.FLOW",
                "timestamp": now,
                "type": "interactive",
                "interactive": {
                    "type": "nfm_reply",
                    "nfm_reply": {"name": "flow", "response_json": '{"size": "M"}'},
                },
            },
            {
                "from": "60123450020",
                "id": "wamid.NUL",
                "timestamp": now,
                "type": "text",
                "text": {"body": "a\u0000b"},
            },
            {
                "from": "60123450020",
                "id": "wamid.BLANK",
                "timestamp": now,
                "type": "text",
                "text": {"body": "  "},
            },
        ],
    )
    assert post_webhook(ws.base, channel["id"], payload).status_code == 200
    contact = _contact_by_phone(ws, "+60123450020")["id"]
    items = until(lambda: (m := _messages(ws, contact)) and len(m) == 4 and m, "four messages")
    by_id = {m["channelMessageId"]: m["message"]["text"] for m in items}
    assert by_id["wamid.LONG"] == long_text
    assert '"size": "M"' in by_id["wamid.FLOW"]
    assert by_id["wamid.NUL"] == "a\ufffdb"
    assert by_id["wamid.BLANK"].strip()
    r = httpx.post(
        f"{ws.base}/hooks/whatsapp/{channel['id']}",
        content=b"{}",
        headers=[
            (b"X-Hub-Signature-256", "sha256=\u00e9\u00e9".encode()),
            (b"Content-Type", b"application/json"),
        ],
    )
    assert r.status_code == 401


def test_secrets_do_not_follow_the_graph_api_url_to_another_host(
    ws: Workspace, meta: FakeMeta
) -> None:
    channel = _channel(ws, meta)
    url = f"/control/workspaces/{ws.wid}/channels/{channel['id']}"
    elsewhere = {"phoneNumberId": "106540352242922", "graphBaseUrl": "https://157.240.0.1"}
    r = ws.control.put(url, json={"settings": elsewhere})
    assert r.status_code == 400
    assert "accessToken" in r.json()["message"]
    same_host = {**elsewhere, "graphBaseUrl": meta.url + "/"}
    assert ws.control.put(url, json={"settings": same_host}).status_code == 200
    again = {
        **elsewhere,
        "accessToken": "EAAG-new-token-000",
        "appSecret": "new-app-secret-000",
        "verifyToken": "new-verify-000",
    }
    assert ws.control.put(url, json={"settings": again}).status_code == 200


def test_a_user_known_by_phone_writing_by_user_id_alone_is_the_same_contact(
    ws: Workspace, meta: FakeMeta
) -> None:
    channel = _channel(ws, meta)
    contact = _writes_in(ws, channel, "+60123450021", "wamid.KNOWN")
    bsuid = "US.60123450021" + "0001"
    post_webhook(
        ws.base,
        channel["id"],
        envelope(
            contacts=[{"profile": {"name": "Ada"}, "user_id": bsuid}],
            messages=[
                {
                    "from_user_id": bsuid,
                    "id": "wamid.ONLYID",
                    "timestamp": str(int(time.time())),
                    "type": "text",
                    "text": {"body": "it's me"},
                }
            ],
        ),
    )
    until(lambda: len(_messages(ws, contact)) == 2, "the message on the same contact")


def test_a_signed_body_that_is_not_json_is_400(
    ws: Workspace, meta: FakeMeta, db_rows: Rows
) -> None:
    channel = _channel(ws, meta)
    body = b"not json at all"
    r = httpx.post(
        f"{ws.base}/hooks/whatsapp/{channel['id']}",
        content=body,
        headers={"X-Hub-Signature-256": sign(body), "Content-Type": "application/json"},
    )
    assert r.status_code == 400
    assert r.json() == {"code": 400, "message": "the body is not JSON"}
    assert db_rows("SELECT COUNT(*) FROM provider_inbox WHERE channel_id = ?", channel["id"]) == [
        (0,)
    ]
    assert httpx.get(f"{ws.base}/hooks/whatsapp/not-a-number").status_code == 404
