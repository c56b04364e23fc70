"""The twilio driver against a fake Messages API on loopback, and X-Twilio-Signature checked
against twilio-python's own RequestValidator."""

from __future__ import annotations

import functools
import hashlib
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from twilio.request_validator import RequestValidator

from openrespond.app import create_app
from openrespond.channels import twilio
from tests.backend import query
from tests.channels.fake_twilio import (
    ACCOUNT,
    AUTH_TOKEN,
    NUMBER,
    FakeTwilio,
    error,
    fake_twilio,
    inbound_sms,
    signed_post,
    status_callback,
)
from tests.conftest import Rows, ServerThread, Workspace, make_settings, new_workspace
from tests.waiting import until


@pytest.fixture
def tw() -> Iterator[FakeTwilio]:
    with fake_twilio() as fake:
        yield fake


def _channel(
    ws: Workspace, tw: FakeTwilio, source: str = "twilio", **settings: Any
) -> dict[str, Any]:
    r = ws.control.post(
        f"/control/workspaces/{ws.wid}/channels",
        json={
            "name": "Twilio",
            "source": source,
            "driver": "twilio",
            "settings": {
                "accountSid": ACCOUNT,
                "authToken": AUTH_TOKEN,
                "from": NUMBER,
                "apiBaseUrl": tw.url,
                **settings,
            },
        },
    )
    assert r.status_code == 200, r.text
    channel: dict[str, Any] = r.json()
    return channel


def _hook(ws: Workspace, channel: dict[str, Any]) -> str:
    url = f"{ws.base}/hooks/twilio/{channel['id']}"
    assert channel["webhookUrl"] == url
    return url


def _contact(ws: Workspace, phone: str) -> int:
    def found() -> int | None:
        r = ws.api.get(f"/contact/phone:{phone}")
        return r.json()["id"] if r.status_code == 200 else None

    contact: int = until(found, f"contact {phone}")
    return contact


def _record(ws: Workspace, contact: int, message_id: int) -> dict[str, Any]:
    record: dict[str, Any] = ws.api.get(f"/contact/id:{contact}/message/{message_id}").json()
    return record


def _history(ws: Workspace, contact: int, message_id: int, last: str) -> list[str]:
    def reached() -> list[str] | None:
        values = [s["value"] for s in _record(ws, contact, message_id)["status"]]
        return values if values[-1] == last else None

    history: list[str] = until(reached, f"message {message_id} reaching {last}")
    return history


def test_sms_round_trip_with_status_callbacks(ws: Workspace, tw: FakeTwilio) -> None:
    channel = _channel(ws, tw)
    hook = _hook(ws, channel)
    r = signed_post(hook, inbound_sms("SM" + "a" * 32, "+60123456001", "Is my order ready?"))
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("text/xml")
    assert "<Response/>" in r.text
    contact = _contact(ws, "+60123456001")
    (incoming,) = until(
        lambda: ws.api.get(f"/contact/id:{contact}/message/list").json()["items"], "message"
    )
    assert incoming["message"] == {"type": "text", "text": "Is my order ready?"}
    assert incoming["channelMessageId"] == "SM" + "a" * 32
    r = ws.api.post(
        f"/contact/id:{contact}/message",
        json={"channelId": channel["id"], "message": {"type": "text", "text": "Yes, come by"}},
    )
    message_id = r.json()["messageId"]
    (form,) = tw.wait_sent(1)
    assert form == {"To": "+60123456001", "From": NUMBER, "Body": "Yes, come by"}
    _history(ws, contact, message_id, "sent")
    sid = _record(ws, contact, message_id)["channelMessageId"]
    assert sid.startswith("SM")
    for status in ("sent", "delivered", "sent", "delivered"):  # late and repeated ones too
        assert signed_post(hook, status_callback(sid, status)).status_code == 200
    assert _history(ws, contact, message_id, "delivered") == ["pending", "sent", "delivered"]
    # an undelivered report after delivery cannot be (failed follows only what is short of read,
    # and Twilio reports undelivered only instead of delivered); failed on a second message:
    second = ws.api.post(
        f"/contact/id:{contact}/message",
        json={
            "channelId": channel["id"],
            "message": {
                "type": "attachment",
                "attachment": {"type": "image", "url": "https://example.com/a.png"},
            },
        },
    ).json()["messageId"]
    forms = tw.wait_sent(2)
    assert forms[1]["MediaUrl"] == "https://example.com/a.png"
    _history(ws, contact, second, "sent")
    sid2 = _record(ws, contact, second)["channelMessageId"]
    signed_post(
        hook,
        status_callback(
            sid2, "undelivered", code="30003", message="Unreachable destination handset"
        ),
    )
    assert _history(ws, contact, second, "failed") == ["pending", "sent", "failed"]
    reason = _record(ws, contact, second)["status"][-1]["message"]
    assert "30003" in reason
    assert "Unreachable" in reason


def test_whatsapp_through_twilio_keeps_the_window_and_sends_content_templates(
    ws: Workspace, tw: FakeTwilio
) -> None:
    channel = _channel(ws, tw, source="twilio_whatsapp", **{"from": f"whatsapp:{NUMBER}"})
    contact = ws.contact("Wan", phone="+60123456002")
    refused = ws.api.post(
        f"/contact/id:{contact}/message",
        json={"channelId": channel["id"], "message": {"type": "text", "text": "hello"}},
    )
    assert refused.status_code == 400
    assert "24 hours" in refused.json()["message"]
    content_sid = "HX" + "b" * 32
    r = ws.control.post(
        f"/control/workspaces/{ws.wid}/channels/{channel['id']}/templates",
        json={"name": "appointment_reminder", "languageCode": "en", "providerId": content_sid},
    )
    assert r.status_code == 200, r.text
    template = {
        "type": "whatsapp_template",
        "template": {
            "name": "appointment_reminder",
            "languageCode": "en",
            "components": [
                {
                    "type": "body",
                    "parameters": [
                        {"type": "text", "text": "Wan"},
                        {"type": "text", "text": "3pm"},
                    ],
                }
            ],
        },
    }
    r = ws.api.post(
        f"/contact/id:{contact}/message", json={"channelId": channel["id"], "message": template}
    )
    assert r.status_code == 200, r.text
    (form,) = tw.wait_sent(1)
    assert form["To"] == "whatsapp:+60123456002"
    assert form["From"] == f"whatsapp:{NUMBER}"
    assert form["ContentSid"] == content_sid
    assert json.loads(form["ContentVariables"]) == {"1": "Wan", "2": "3pm"}
    assert "Body" not in form
    # the customer answers (a quick-reply button): the window opens, read receipts apply
    hook = _hook(ws, channel)
    r = signed_post(
        hook,
        inbound_sms(
            "SM" + "c" * 32,
            "+60123456002",
            "Confirm",
            whatsapp=True,
            ButtonText="Confirm",
            ButtonPayload="yes",
        ),
    )
    assert r.status_code == 200
    until(
        lambda: len(ws.api.get(f"/contact/id:{contact}/message/list").json()["items"]) == 2,
        "answer",
    )
    r = ws.api.post(
        f"/contact/id:{contact}/message",
        json={"channelId": channel["id"], "message": {"type": "text", "text": "See you"}},
    )
    assert r.status_code == 200, r.text
    _history(ws, contact, r.json()["messageId"], "sent")
    sid = _record(ws, contact, r.json()["messageId"])["channelMessageId"]
    signed_post(hook, status_callback(sid, "read"))
    signed_post(hook, status_callback(sid, "delivered"))
    assert _history(ws, contact, r.json()["messageId"], "read") == ["pending", "sent", "read"]


def test_forged_signatures_store_nothing(ws: Workspace, tw: FakeTwilio, db_rows: Rows) -> None:
    channel = _channel(ws, tw)
    hook = _hook(ws, channel)
    params = inbound_sms("SM" + "d" * 32, "+60123456003", "forged")
    for r in (
        signed_post(hook, params, token="not-the-auth-token-000000"),
        signed_post(hook, params, signed_url=hook + "?x=1"),
        httpx.post(hook, data=dict(params)),
        signed_post(f"{ws.base}/hooks/twilio/{ws.channel_id}", params),
    ):
        assert r.status_code == 401, r.text
        assert "X-Twilio-Signature" in r.json()["message"]
    assert db_rows("SELECT COUNT(*) FROM provider_inbox WHERE channel_id = ?", channel["id"]) == [
        (0,)
    ]
    assert ws.api.get("/contact/phone:+60123456003").status_code == 404


def test_inbound_media_is_fetched_with_credentials_and_kept(ws: Workspace, tw: FakeTwilio) -> None:
    channel = _channel(ws, tw)
    png = b"\x89PNG\r\n\x1a\n" + b"\x01" * 40
    tw.media["ME" + "e" * 32] = (png, "image/png")
    base = f"{tw.url}/2010-04-01/Accounts/{ACCOUNT}/Messages/MM{'f' * 32}/Media"
    params = [
        (k, v) for k, v in inbound_sms("MM" + "f" * 32, "+60123456004", "") if k != "NumMedia"
    ] + [
        ("NumMedia", "2"),
        ("MediaUrl0", f"{base}/ME{'e' * 32}"),
        ("MediaContentType0", "image/png"),
        ("MediaUrl1", f"{base}/ME{'9' * 32}"),  # gone
        ("MediaContentType1", "application/pdf"),
    ]
    assert signed_post(_hook(ws, channel), params).status_code == 200
    contact = _contact(ws, "+60123456004")
    items = until(
        lambda: (
            (m := ws.api.get(f"/contact/id:{contact}/message/list").json()["items"])
            and len(m) == 2
            and m
        ),
        "two media messages",
    )
    by_id = {m["channelMessageId"]: m for m in items}
    image = by_id["MM" + "f" * 32]["message"]["attachment"]
    assert httpx.get(ws.base + urlsplit(image["url"]).path).content == png
    gone = by_id[f"MM{'f' * 32}:1"]
    assert gone["status"][-1]["value"] == "failed"
    assert "404" in gone["status"][-1]["message"]


def test_rate_limits_are_retried_and_refused_credentials_noted(
    ws: Workspace, tw: FakeTwilio, db_rows: Rows
) -> None:
    channel = _channel(ws, tw)
    contact = ws.contact("Ray", phone="+60123456005")
    tw.script = [error(429, 20429, "Too Many Requests"), error(503, 20503, "Service unavailable")]
    r = ws.api.post(
        f"/contact/id:{contact}/message",
        json={"channelId": channel["id"], "message": {"type": "text", "text": "once"}},
    )
    assert _history(ws, contact, r.json()["messageId"], "sent") == ["pending", "sent"]
    assert [f["Body"] for f in tw.wait_sent(3)] == ["once", "once", "once"]
    tw.script = [error(401, 20003, "Authenticate")]
    r = ws.api.post(
        f"/contact/id:{contact}/message",
        json={"channelId": channel["id"], "message": {"type": "text", "text": "refused"}},
    )
    _history(ws, contact, r.json()["messageId"], "failed")
    (state,) = db_rows("SELECT state FROM channels WHERE id = ?", channel["id"])
    assert "20003" in json.loads(state[0])["error"]
    # the next success clears the kept error (and the ones after it find nothing to clear)
    for text in ("accepted again", "and again"):
        r = ws.api.post(
            f"/contact/id:{contact}/message",
            json={"channelId": channel["id"], "message": {"type": "text", "text": text}},
        )
        _history(ws, contact, r.json()["messageId"], "sent")
    (state,) = db_rows("SELECT state FROM channels WHERE id = ?", channel["id"])
    assert "error" not in json.loads(state[0])


def test_settings_are_checked(ws: Workspace, tw: FakeTwilio, db_rows: Rows) -> None:
    channel = _channel(ws, tw)
    (stored,) = db_rows("SELECT settings FROM channels WHERE id = ?", channel["id"])
    assert AUTH_TOKEN not in stored[0]
    assert json.loads(stored[0])["authToken"].startswith("v1:")
    for bad, word in (
        ({"accountSid": "AC123"}, "accountSid"),
        ({"from": "not a number"}, "from"),
        ({"from": None}, "from"),
        ({"messagingServiceSid": "MG" + "1" * 32}, "from"),
        ({"apiKeySid": "SK" + "1" * 32}, "apiKeySecret"),
        ({"authToken": None}, "authToken"),
    ):
        body = {
            "accountSid": ACCOUNT,
            "authToken": AUTH_TOKEN,
            "from": NUMBER,
            "apiBaseUrl": tw.url,
            **bad,
        }
        body = {k: v for k, v in body.items() if v is not None}
        r = ws.control.post(
            f"/control/workspaces/{ws.wid}/channels",
            json={"name": "x", "source": "twilio", "driver": "twilio", "settings": body},
        )
        assert r.status_code == 400, (bad, r.text)
        assert word in r.json()["message"]


def _exists(ws: Workspace, phone: str) -> bool:
    return ws.api.get(f"/contact/phone:{phone}").status_code == 200


def test_behind_a_trusted_proxy_the_signed_url_is_the_public_one(tmp_path: Path) -> None:
    """X-Forwarded-Proto/-Host are believed from OPENRESPOND_TRUSTED_PROXIES only."""
    public = "https://chat.example.com"
    for trusted, expected in (("127.0.0.0/8", 200), ("", 401)):
        app = create_app(
            make_settings(tmp_path / f"proxy{bool(trusted)}.db", trusted_proxies=trusted)
        )
        with fake_twilio() as tw, ServerThread(app) as base, new_workspace(base) as ws:
            channel = _channel(ws, tw)
            path = f"/hooks/twilio/{channel['id']}"
            r = signed_post(
                base + path,
                inbound_sms("SM" + "1" * 32, "+60123456006", "via proxy"),
                signed_url=public + path,
                headers={"X-Forwarded-Proto": "https", "X-Forwarded-Host": "chat.example.com"},
            )
            assert r.status_code == expected, r.text
            if expected == 200:
                until(functools.partial(_exists, ws, "+60123456006"), "the message applied")
            else:
                db = tmp_path / f"proxy{bool(trusted)}.db"
                assert query(db, "SELECT COUNT(*) FROM provider_inbox") == [(0,)]


_text = st.text(st.characters(codec="utf-8", exclude_categories=["Cs"]), max_size=20)


@settings(max_examples=200, deadline=None)
@given(
    params=st.lists(
        st.tuples(
            st.text("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghij0123456789", min_size=1, max_size=12),
            _text,
        ),
        max_size=8,
    ),
    port=st.sampled_from(["", ":443", ":8443"]),
    query=st.sampled_from(["", "?a=1", "?a=1&b=%20x"]),
)
def test_signatures_agree_with_twilio_python(
    params: list[tuple[str, str]], port: str, query: str
) -> None:
    """Our signature is twilio-python's, for any form, and our check accepts what its
    validator accepts: the URL with or without its port."""
    url = f"https://hooks.example.com{port}/hooks/twilio/7{query}"
    multi: dict[str, list[str]] = {}
    for k, v in params:
        multi.setdefault(k, []).append(v)

    class Multi(dict[str, list[str]]):
        def getall(self, name: str) -> list[str]:
            return self[name]

    validator = RequestValidator(AUTH_TOKEN)
    theirs = validator.compute_signature(url, Multi(multi))
    assert twilio.compute_signature(url, params, AUTH_TOKEN) == theirs
    body = "&".join(f"{httpx.QueryParams({k: v})}" for k, v in params).encode()
    content_type = "application/x-www-form-urlencoded"
    assert twilio.valid_signature(url, body, content_type, theirs, AUTH_TOKEN)
    other = url.replace(port, "") if port else url.replace("example.com", "example.com:443")
    agrees = validator.validate(other, Multi(multi), theirs)
    assert twilio.valid_signature(other, body, content_type, theirs, AUTH_TOKEN) == agrees
    assert not twilio.valid_signature(url, body, content_type, theirs, "another-token-000000")


def test_json_bodies_are_checked_by_their_hash() -> None:
    body = b'{"data": {"status": "delivered"}}'
    url = f"https://hooks.example.com/hooks/twilio/7?bodySHA256={hashlib.sha256(body).hexdigest()}"
    signature = RequestValidator(AUTH_TOKEN).compute_signature(url, {})
    assert RequestValidator(AUTH_TOKEN).validate(url, body.decode(), signature)
    assert twilio.valid_signature(url, body, "application/json", signature, AUTH_TOKEN)
    assert not twilio.valid_signature(url, body + b" ", "application/json", signature, AUTH_TOKEN)
    sha256 = RequestValidator(AUTH_TOKEN).compute_signature(url, {}, "HMAC_SHA256")
    assert twilio.valid_signature(url, body, "application/json", sha256, AUTH_TOKEN, sha256=True)


def test_a_short_code_sender_is_kept_as_it_is(ws: Workspace, tw: FakeTwilio, db_rows: Rows) -> None:
    channel = _channel(ws, tw)
    r = signed_post(_hook(ws, channel), inbound_sms("SM" + "5" * 32, "72975", "Your code is 1234"))
    assert r.status_code == 200
    rows = until(
        lambda: db_rows(
            "SELECT contact_id FROM contact_channels WHERE channel_id = ? AND address = '72975'",
            channel["id"],
        ),
        "the short code's contact",
    )
    items = ws.api.get(f"/contact/id:{rows[0][0]}/message/list").json()["items"]
    assert items[0]["message"]["text"] == "Your code is 1234"
