"""The telegram driver against a fake Bot API on loopback: long polling, webhooks, sends."""

from __future__ import annotations

import functools
import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest

from openrespond.app import create_app
from tests.backend import query
from tests.channels.fake_telegram import (
    TOKEN,
    FakeTelegram,
    failure,
    fake_telegram,
    message_update,
    post_update,
)
from tests.conftest import Rows, ServerThread, Workspace, make_settings, new_workspace
from tests.server_process import free_port
from tests.waiting import until


@pytest.fixture
def bot(ws: Workspace) -> Iterator[FakeTelegram]:
    with fake_telegram() as fake:
        yield fake
        # the shared server stops polling this bot before it goes away
        for channel in ws.control.get(f"/control/workspaces/{ws.wid}/channels").json()["items"]:
            if channel["driver"] == "telegram":
                ws.control.delete(f"/control/workspaces/{ws.wid}/channels/{channel['id']}")


def _channel(ws: Workspace, bot: FakeTelegram, **settings: Any) -> dict[str, Any]:
    r = ws.control.post(
        f"/control/workspaces/{ws.wid}/channels",
        json={
            "name": "Bot",
            "source": "telegram",
            "driver": "telegram",
            "settings": {"botToken": TOKEN, "apiBaseUrl": bot.url, **settings},
        },
    )
    assert r.status_code == 200, r.text
    channel: dict[str, Any] = r.json()
    return channel


def _contact_on(db_rows: Rows, channel_id: int, chat_id: int) -> int:
    rows = until(
        lambda: db_rows(
            "SELECT contact_id FROM contact_channels WHERE channel_id = ? AND address = ?",
            channel_id,
            str(chat_id),
        ),
        f"a contact for chat {chat_id}",
    )
    contact: int = rows[0][0]
    return contact


def _messages(ws: Workspace, contact: int) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = ws.api.get(f"/contact/id:{contact}/message/list").json()["items"]
    return items


def test_long_polling_round_trip(ws: Workspace, bot: FakeTelegram, db_rows: Rows) -> None:
    channel = _channel(ws, bot)
    bot.queue(message_update(7001, "Hi there", 11))
    contact = _contact_on(db_rows, channel["id"], 7001)
    shown = ws.api.get(f"/contact/id:{contact}").json()
    assert (shown["firstName"], shown["lastName"], shown["phone"]) == ("Tara", "Ng", None)
    (incoming,) = until(lambda: _messages(ws, contact), "the message")
    assert incoming["message"] == {"type": "text", "text": "Hi there"}
    assert incoming["channelMessageId"] == "7001:11"
    # the offset moved past the update: it is not fetched again
    until(lambda: not bot.updates, "the update confirmed")
    r = ws.api.post(
        f"/contact/id:{contact}/message",
        json={"channelId": channel["id"], "message": {"type": "text", "text": "Hello Tara"}},
    )
    assert r.status_code == 200, r.text
    ((method, params),) = bot.sent(1)
    assert (method, params) == ("sendMessage", {"chat_id": 7001, "text": "Hello Tara"})
    record = until(
        lambda: (
            (m := ws.api.get(f"/contact/id:{contact}/message/{r.json()['messageId']}").json())
            and m["status"][-1]["value"] == "sent"
            and m
        ),
        "sent",
    )
    assert [s["value"] for s in record["status"]] == ["pending", "sent"]
    assert record["channelMessageId"].startswith("7001:")
    # quick replies become a one-time reply keyboard; pictures go by link
    ws.api.post(
        f"/contact/id:{contact}/message",
        json={
            "channelId": channel["id"],
            "message": {"type": "quick_reply", "title": "Size?", "replies": ["S", "M"]},
        },
    )
    ws.api.post(
        f"/contact/id:{contact}/message",
        json={
            "channelId": channel["id"],
            "message": {
                "type": "attachment",
                "attachment": {"type": "image", "url": "https://example.com/p.png"},
            },
        },
    )
    sends = bot.sent(3)
    assert sends[1] == (
        "sendMessage",
        {
            "chat_id": 7001,
            "text": "Size?",
            "reply_markup": {
                "keyboard": [[{"text": "S"}], [{"text": "M"}]],
                "one_time_keyboard": True,
                "resize_keyboard": True,
            },
        },
    )
    assert sends[2] == ("sendPhoto", {"chat_id": 7001, "photo": "https://example.com/p.png"})


def test_a_bot_that_may_not_write_fails_and_429_waits_retry_after(
    ws: Workspace, bot: FakeTelegram, db_rows: Rows
) -> None:
    channel = _channel(ws, bot)
    bot.queue(message_update(7002, "hey", 12))
    contact = _contact_on(db_rows, channel["id"], 7002)
    bot.script = [
        failure(403, "Forbidden: bot can't initiate conversation with a user"),
        failure(429, "Too Many Requests: retry after 1", retry_after=1),
    ]
    first = ws.api.post(
        f"/contact/id:{contact}/message",
        json={"channelId": channel["id"], "message": {"type": "text", "text": "one"}},
    ).json()["messageId"]
    failed = until(
        lambda: (
            (m := ws.api.get(f"/contact/id:{contact}/message/{first}").json())
            and m["status"][-1]["value"] == "failed"
            and m
        ),
        "failed",
    )
    assert "can't initiate conversation" in failed["status"][-1]["message"]
    started = time.monotonic()
    second = ws.api.post(
        f"/contact/id:{contact}/message",
        json={"channelId": channel["id"], "message": {"type": "text", "text": "two"}},
    ).json()["messageId"]
    until(
        lambda: (
            ws.api.get(f"/contact/id:{contact}/message/{second}").json()["status"][-1]["value"]
            == "sent"
        ),
        "sent after the wait",
    )
    assert time.monotonic() - started >= 0.9
    texts = [p.get("text") for m, p in bot.calls if m == "sendMessage"]
    assert texts == ["one", "two", "two"]


def test_photos_are_downloaded_into_openrespond(
    ws: Workspace, bot: FakeTelegram, db_rows: Rows
) -> None:
    channel = _channel(ws, bot)
    jpeg = b"\xff\xd8\xff\xe0" + b"\x00" * 100
    bot.files["PHOTO-BIG"] = ("photos/file_1.jpg", jpeg)
    bot.queue(
        message_update(
            7003,
            None,
            13,
            photo=[
                {
                    "file_id": "PHOTO-SMALL",
                    "file_unique_id": "a",
                    "width": 90,
                    "height": 90,
                    "file_size": 10,
                },
                {
                    "file_id": "PHOTO-BIG",
                    "file_unique_id": "b",
                    "width": 800,
                    "height": 800,
                    "file_size": 104,
                },
            ],
            caption="my receipt",
        )
    )
    contact = _contact_on(db_rows, channel["id"], 7003)
    items = until(lambda: (m := _messages(ws, contact)) and len(m) == 2 and m, "photo and caption")
    by_id = {m["channelMessageId"]: m for m in items}
    photo = by_id["7003:13"]["message"]["attachment"]
    assert photo["type"] == "image"
    served = httpx.get(ws.base + urlsplit(photo["url"]).path)
    assert served.content == jpeg
    assert by_id["7003:13:caption"]["message"]["text"] == "my receipt"
    assert TOKEN not in json.dumps(items)


def test_settings_are_checked_and_secrets_sealed(
    ws: Workspace, bot: FakeTelegram, db_rows: Rows
) -> None:
    channel = _channel(ws, bot)
    (stored,) = db_rows("SELECT settings FROM channels WHERE id = ?", channel["id"])
    settings = json.loads(stored[0])
    assert settings["botToken"].startswith("v1:")
    assert settings["webhookSecret"].startswith("v1:")  # generated
    assert TOKEN not in ws.control.get(f"/control/workspaces/{ws.wid}/channels").text
    for bad, word in (
        ({"botToken": "not-a-token"}, "botToken"),
        ({"mode": "sometimes"}, "mode"),
        ({"apiBaseUrl": "telegram"}, "apiBaseUrl"),
        ({"webhookSecret": "has spaces in it!!"}, "webhookSecret"),
    ):
        r = ws.control.post(
            f"/control/workspaces/{ws.wid}/channels",
            json={
                "name": "x",
                "source": "telegram",
                "driver": "telegram",
                "settings": {"botToken": TOKEN, "apiBaseUrl": bot.url, **bad},
            },
        )
        assert r.status_code == 400, (bad, r.text)
        assert word in r.json()["message"]


def test_a_webhook_is_registered_with_its_secret_and_checked(tmp_path: Path) -> None:
    """With a public HTTPS address the bot gets a webhook (set by openrespond, with a
    secret); updates without that secret are refused; a new public address is registered
    again."""
    port = free_port()
    db = tmp_path / "hooks.db"
    app = create_app(make_settings(db, public_url=f"https://127.0.0.1:{port}"))
    with fake_telegram() as bot, ServerThread(app, port=port) as base, new_workspace(base) as ws:
        channel = _channel(ws, bot)
        hook = until(lambda: bot.webhook, "setWebhook")
        assert hook["url"] == f"https://127.0.0.1:{port}/hooks/telegram/{channel['id']}"
        secret = hook["secret_token"]
        assert len(secret) >= 32
        assert hook["allowed_updates"] == ["message", "my_chat_member"]
        url = f"{base}/hooks/telegram/{channel['id']}"
        update = {"update_id": 1, **message_update(7004, "via webhook", 14)}
        for wrong in (None, "x" * 43, secret[:-1]):
            r = post_update(url, update, wrong)
            assert r.status_code == 401, r.text
        assert query(db, "SELECT COUNT(*) FROM provider_inbox") == [(0,)]
        assert post_update(url, update, secret).status_code == 200
        assert post_update(url, update, secret).status_code == 200  # Telegram retries
        rows = until(
            lambda: query(db, "SELECT contact_id FROM contact_channels WHERE address = '7004'"),
            "the contact",
        )
        until(lambda: query(db, "SELECT COUNT(*) FROM provider_inbox") == [(0,)], "applied")
        assert len(_messages(ws, rows[0][0])) == 1
        assert not [c for c in bot.calls if c[0] == "getUpdates"]
        # the server comes back under another public address: registered again
        bot.webhook = {}
        port2 = free_port()
        app2 = create_app(make_settings(db, public_url=f"https://127.0.0.1:{port2}"))
        with ServerThread(app2, port=port2):
            hook = until(lambda: bot.webhook, "setWebhook again")
            assert hook["url"] == f"https://127.0.0.1:{port2}/hooks/telegram/{channel['id']}"
            assert hook["secret_token"] == secret


def _failed(ws: Workspace, contact: int, message_id: int) -> dict[str, Any] | None:
    record: dict[str, Any] = ws.api.get(f"/contact/id:{contact}/message/{message_id}").json()
    return record if record["status"][-1]["value"] == "failed" else None


def test_a_custom_payload_names_a_send_method_only(
    ws: Workspace, bot: FakeTelegram, db_rows: Rows
) -> None:
    """The method is part of the Bot API URL: nothing but a send method gets through."""
    channel = _channel(ws, bot)
    bot.queue(
        message_update(
            7005,
            "hi",
            15,
            **{
                "from": {"id": 7005, "is_bot": False, "first_name": "Ana", "language_code": "pt-br"}
            },
        )
    )
    contact = _contact_on(db_rows, channel["id"], 7005)
    assert ws.api.get(f"/contact/id:{contact}").json()["language"] == "pt"
    for method in ("sendMessage/../setWebhook", "setWebhook", "send", "sendMessage?x=1"):
        r = ws.api.post(
            f"/contact/id:{contact}/message",
            json={
                "channelId": channel["id"],
                "message": {
                    "type": "custom_payload",
                    "payload": {"method": method, "url": "https://evil.example"},
                },
            },
        )
        record = until(
            functools.partial(_failed, ws, contact, r.json()["messageId"]), f"{method} refused"
        )
        assert "send method" in record["status"][-1]["message"]
    r = ws.api.post(
        f"/contact/id:{contact}/message",
        json={
            "channelId": channel["id"],
            "message": {
                "type": "custom_payload",
                "payload": {"method": "sendLocation", "latitude": 3.1, "longitude": 101.6},
            },
        },
    )
    ((method, params),) = bot.sent(1)
    assert method == "sendLocation"
    assert params == {"latitude": 3.1, "longitude": 101.6, "chat_id": 7005}
    assert not [c for c in bot.calls if c[0] == "setWebhook"]


def test_a_user_sharing_their_number_gives_the_contact_its_phone(
    ws: Workspace, bot: FakeTelegram, db_rows: Rows
) -> None:
    channel = _channel(ws, bot)
    bot.queue(message_update(7006, "hello", 16))
    contact = _contact_on(db_rows, channel["id"], 7006)
    assert ws.api.get(f"/contact/id:{contact}").json()["phone"] is None
    # someone else's card changes nothing; their own (the contact button) is kept
    other = {"phone_number": "60123458888", "first_name": "Someone", "user_id": 999}
    bot.queue(message_update(7006, None, 17, contact=other))
    own = {"phone_number": "60123457777", "first_name": "Tara", "user_id": 7006}
    bot.queue(message_update(7006, None, 18, contact=own))
    until(lambda: len(_messages(ws, contact)) == 3, "the two cards")
    shown = until(
        lambda: (c := ws.api.get(f"/contact/id:{contact}").json())["phone"] and c, "the phone"
    )
    assert shown["phone"] == "+60123457777"
