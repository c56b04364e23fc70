"""Sending, reading and listing messages, against a real server with its delivery worker."""

from __future__ import annotations

import time
from typing import Any

import pytest

from tests.conftest import Rows, Workspace
from tests.contacts.test_routes import error

TEXT = {"type": "text", "text": "Hello"}


def send(ws: Workspace, ident: str, message: dict[str, Any], channel: Any = "default") -> Any:
    body: dict[str, Any] = {"message": message}
    if channel == "default":
        body["channelId"] = ws.channel_id
    elif channel is not None:
        body["channelId"] = channel
    return ws.api.post(f"/contact/{ident}/message", json=body)


def delivered(ws: Workspace, ident: str, message_id: int) -> dict[str, Any]:
    """The message once the worker has delivered it (waits up to 5 s)."""
    deadline = time.monotonic() + 5
    while True:
        record: dict[str, Any] = ws.api.get(f"/contact/{ident}/message/{message_id}").json()
        if [s["value"] for s in record["status"]][-1:] == ["delivered"]:
            return record
        assert time.monotonic() < deadline, record
        time.sleep(0.02)


@pytest.fixture
def ada(ws: Workspace) -> int:
    return ws.contact("Ada", email="ada@example.com", phone="+60123456789")


def email_channel(ws: Workspace) -> int:
    r = ws.control.post(
        f"/control/workspaces/{ws.wid}/channels", json={"name": "Mail", "source": "other_email"}
    )
    assert r.status_code == 200, r.text
    channel_id: int = r.json()["id"]
    return channel_id


class TestSend:
    def test_text_is_accepted_pending_then_delivered_by_the_sandbox(
        self, ws: Workspace, ada: int
    ) -> None:
        r = send(ws, f"id:{ada}", TEXT)
        assert r.status_code == 200
        assert set(r.json()) == {"messageId"}
        record = delivered(ws, f"id:{ada}", r.json()["messageId"])
        assert [s["value"] for s in record["status"]] == ["pending", "sent", "delivered"]
        assert record["message"] == TEXT
        assert record["traffic"] == "outgoing"
        assert record["contactId"] == ada
        assert record["channelId"] == ws.channel_id
        assert record["channelMessageId"] == f"sandbox-{record['messageId']}"
        assert record["sender"] == {"source": "api"}
        assert isinstance(record["timestamp"], int)
        # each step in seconds as respond.io gives it, and in milliseconds, in order
        steps = record["status"]
        assert all(step["timestamp"] == step["timestampMs"] // 1000 for step in steps), steps
        times = [step["timestampMs"] for step in steps]
        assert times == sorted(times), steps
        assert abs(times[0] / 1000 - time.time()) < 60, steps
        sent = ws.control.get(
            f"/control/workspaces/{ws.wid}/sandbox/channels/{ws.channel_id}/sent"
        ).json()["items"]
        assert [(s["messageId"], s["address"]) for s in sent] == [
            (record["messageId"], "+60123456789")
        ]

    @pytest.mark.parametrize(
        "message",
        [
            {"type": "text", "text": "Deal", "messageTag": "POST_PURCHASE_UPDATE"},
            {"type": "attachment", "attachment": {"type": "image", "url": "https://x.io/a.png"}},
            {"type": "custom_payload", "payload": {"any": ["json", 1]}},
            {"type": "quick_reply", "title": "Pick", "replies": ["Yes", "No"]},
            {
                "type": "whatsapp_template",
                "template": {"name": "hello_world", "languageCode": "en"},
            },
        ],
    )
    def test_every_type_the_whatsapp_channel_carries(
        self, ws: Workspace, ada: int, message: dict[str, Any]
    ) -> None:
        r = send(ws, f"id:{ada}", message)
        assert r.status_code == 200, r.text
        record = delivered(ws, f"id:{ada}", r.json()["messageId"])
        assert record["message"] == message

    def test_email_on_an_email_channel_takes_text_or_message(self, ws: Workspace, ada: int) -> None:
        mail = email_channel(ws)
        full = {
            "type": "email",
            "text": "Body",
            "subject": "Hi",
            "cc": ["cc@example.com"],
            "bcc": ["bcc@example.com"],
            "attachments": [{"type": "file", "url": "https://x.io/a.pdf", "fileName": "a.pdf"}],
        }
        first = send(ws, f"id:{ada}", full, mail).json()["messageId"]
        assert delivered(ws, f"id:{ada}", first)["message"] == full
        n8n = send(ws, f"id:{ada}", {"type": "email", "message": "From n8n"}, mail)
        record = delivered(ws, f"id:{ada}", n8n.json()["messageId"])
        assert record["message"]["text"] == "From n8n"
        reply = {"type": "email", "text": "Re", "replyToMessageId": first}
        assert send(ws, f"id:{ada}", reply, mail).status_code == 200
        links = ws.api.get(f"/contact/id:{ada}/channels").json()["items"]
        assert {c["id"]: c["address"] for c in links}[mail] == "ada@example.com"

    def test_without_channel_id_the_last_interacted_channel_is_used(
        self, ws: Workspace, ada: int
    ) -> None:
        error(send(ws, f"id:{ada}", TEXT, None), 400, "channelId", "no channel")
        mail = email_channel(ws)
        send(ws, f"id:{ada}", TEXT, ws.channel_id)
        time.sleep(1.1)  # link times are in seconds
        send(ws, f"id:{ada}", {"type": "email", "text": "x"}, mail)
        r = send(ws, f"id:{ada}", {"type": "text", "text": "which?"}, None)
        assert r.status_code == 200
        record = ws.api.get(f"/contact/id:{ada}/message/{r.json()['messageId']}").json()
        assert record["channelId"] == mail
        # null is the same as absent
        r = ws.api.post(f"/contact/id:{ada}/message", json={"channelId": None, "message": TEXT})
        assert r.status_code == 200

    def test_first_send_links_the_contact_and_times_the_link(self, ws: Workspace, ada: int) -> None:
        assert ws.api.get(f"/contact/id:{ada}/channel").json()["items"] == []
        send(ws, "email:ada@example.com", TEXT)
        [link] = ws.api.get(f"/contact/id:{ada}/channel").json()["items"]
        assert link["id"] == ws.channel_id
        assert link["address"] == "+60123456789"
        assert isinstance(link["lastMessageTime"], int)
        assert link["lastIncomingMessageTime"] is None

    def test_phone_identifier_reaches_the_same_contact(self, ws: Workspace, ada: int) -> None:
        r = send(ws, "phone:+60123456789", TEXT)
        assert r.status_code == 200
        assert ws.api.get(f"/contact/id:{ada}/message/list").json()["items"][0]["contactId"] == ada


class TestSendRefusals:
    """Each is a 4xx naming what is wrong, and nothing is stored."""

    def nothing_stored(self, ws: Workspace, contact: int) -> None:
        assert ws.api.get(f"/contact/id:{contact}/message/list").json()["items"] == []
        assert ws.api.get(f"/contact/id:{contact}/channel").json()["items"] == []

    def test_unknown_contact_and_channel(self, ws: Workspace, ada: int) -> None:
        error(send(ws, "id:999999999", TEXT), 404, "contact")
        error(send(ws, "email:nobody@example.com", TEXT), 404, "contact")
        error(send(ws, f"id:{ada}", TEXT, 987654321), 404, "channel 987654321")
        self.nothing_stored(ws, ada)

    def test_contact_without_the_address_the_channel_needs(self, ws: Workspace) -> None:
        no_phone = ws.contact("Mail Only", email="mailonly@example.com")
        error(send(ws, f"id:{no_phone}", TEXT), 400, "channelId", "phone")
        no_email = ws.contact("Phone Only", phone="+60199999999")
        error(
            send(ws, f"id:{no_email}", {"type": "email", "text": "x"}, email_channel(ws)),
            400,
            "email",
        )
        r = ws.control.post(
            f"/control/workspaces/{ws.wid}/channels", json={"name": "TG", "source": "telegram"}
        )
        error(send(ws, f"id:{no_phone}", TEXT, r.json()["id"]), 400, "not linked", "telegram")
        self.nothing_stored(ws, no_phone)
        self.nothing_stored(ws, no_email)

    @pytest.mark.parametrize(
        ("message", "words"),
        [
            ({"type": "email", "text": "x"}, ["message.type", "email"]),
            (
                {"type": "facebook_template", "template": {"name": "a", "languageCode": "en"}},
                ["message.type"],
            ),
            ({"type": "card"}, ["message.type"]),
            ({"type": "text"}, ["text"]),
            ({"type": "text", "text": ""}, ["text"]),
            ({"type": "text", "text": "   "}, ["text"]),
            ({"type": "text", "text": "x" * 4097}, ["4097", "4096"]),
            ({"type": "text", "text": "x" * 100_001}, ["text"]),
            ({"type": "text", "text": "x", "messageTag": "SPAM"}, ["messageTag"]),
            ({"type": "attachment", "attachment": {"type": "image", "url": "ftp://x/a"}}, ["url"]),
            (
                {"type": "attachment", "attachment": {"type": "sticker", "url": "https://x.io"}},
                ["type"],
            ),
            ({"type": "quick_reply", "title": "t", "replies": []}, ["replies"]),
            ({"type": "quick_reply", "title": "t", "replies": ["r"] * 14}, ["replies"]),
            ({"type": "custom_payload", "payload": "not an object"}, ["payload"]),
            ({"type": "custom_payload", "payload": {"x": "y" * 70_000}}, ["payload"]),
            (
                {"type": "whatsapp_template", "template": {"name": "nope", "languageCode": "en"}},
                ["template", "nope"],
            ),
            (
                {
                    "type": "whatsapp_template",
                    "template": {"name": "hello_world", "languageCode": "fr"},
                },
                ["template", "fr"],
            ),
            ({"type": "whatsapp_template", "template": {"languageCode": "en"}}, ["name"]),
            ("just a string", ["message"]),
        ],
    )
    def test_invalid_messages(
        self, ws: Workspace, ada: int, message: Any, words: list[str]
    ) -> None:
        error(send(ws, f"id:{ada}", message), 400, *words)
        self.nothing_stored(ws, ada)

    @pytest.mark.parametrize(
        ("message", "words"),
        [
            ({"type": "email"}, ["body"]),
            ({"type": "email", "text": "x", "cc": ["not-an-email"]}, ["cc"]),
            ({"type": "email", "text": "x", "bcc": ["a@example.com"] * 51}, ["bcc"]),
            ({"type": "email", "text": "x", "subject": "s" * 999}, ["subject"]),
            ({"type": "email", "text": "x", "replyToMessageId": 999999999}, ["replyToMessageId"]),
            ({"type": "quick_reply", "title": "t", "replies": ["r"]}, ["message.type"]),
        ],
    )
    def test_invalid_email_messages(
        self, ws: Workspace, ada: int, message: Any, words: list[str]
    ) -> None:
        error(send(ws, f"id:{ada}", message, email_channel(ws)), 400, *words)
        self.nothing_stored(ws, ada)

    @pytest.mark.parametrize(
        "body",
        [{}, {"channelId": "abc", "message": TEXT}, {"channelId": 0, "message": TEXT}, [TEXT]],
    )
    def test_malformed_bodies(self, ws: Workspace, ada: int, body: Any) -> None:
        r = ws.api.post(f"/contact/id:{ada}/message", json=body)
        assert r.status_code == 400
        assert r.json()["code"] == 400
        self.nothing_stored(ws, ada)

    def test_bad_identifier(self, ws: Workspace) -> None:
        error(send(ws, "fax:123", TEXT), 400, "identifier")


class TestRead:
    def test_list_is_newest_first_and_pages_both_ways(self, ws: Workspace, ada: int) -> None:
        ids = [
            send(ws, f"id:{ada}", {"type": "text", "text": f"m{i}"}).json()["messageId"]
            for i in range(5)
        ]
        page = ws.api.get(f"/contact/id:{ada}/message/list?limit=2").json()
        assert [m["messageId"] for m in page["items"]] == ids[::-1][:2]
        nxt = ws.api.get(page["pagination"]["next"].split("/v2", 1)[1]).json()
        assert [m["messageId"] for m in nxt["items"]] == ids[::-1][2:4]
        back = ws.api.get(nxt["pagination"]["previous"].split("/v2", 1)[1]).json()
        assert [m["messageId"] for m in back["items"]] == ids[::-1][:2]
        assert back["pagination"]["previous"] is None

    def test_list_can_keep_to_one_channel(self, ws: Workspace, ada: int) -> None:
        mail = email_channel(ws)
        on_whatsapp = send(ws, f"id:{ada}", TEXT).json()["messageId"]
        on_mail = send(ws, f"id:{ada}", {"type": "email", "text": "x"}, mail).json()["messageId"]

        def ids(query: str) -> list[int]:
            items = ws.api.get(f"/contact/id:{ada}/message/list{query}").json()["items"]
            return [m["messageId"] for m in items]

        assert ids("") == [on_mail, on_whatsapp]
        assert ids(f"?channelId={mail}") == [on_mail]
        assert ids("?channelId=987654321") == []
        error(ws.api.get(f"/contact/id:{ada}/message/list?channelId=0"), 400, "channelId")

    def test_get_checks_the_message_belongs_to_the_contact(self, ws: Workspace, ada: int) -> None:
        bob = ws.contact("Bob", phone="+60198765432")
        mine = send(ws, f"id:{ada}", TEXT).json()["messageId"]
        error(ws.api.get(f"/contact/id:{bob}/message/{mine}"), 404, "message")
        error(ws.api.get(f"/contact/id:{ada}/message/999999999"), 404, "message")
        r = ws.api.get(f"/contact/id:{ada}/message/0")
        assert r.status_code in (400, 404)
        assert r.json()["code"] == r.status_code
        error(ws.api.get(f"/contact/id:{ada}/message/list?limit=101"), 400, "limit")
        error(ws.api.get("/contact/id:999999999/message/list"), 404, "contact")


def test_steps_stored_in_seconds_only_show_milliseconds_too(ws: Workspace, db_rows: Rows) -> None:
    """History kept before milliseconds were (seconds only) reads with timestampMs too."""
    ada = ws.contact("Ada", phone="+60123456789")
    message_id = send(ws, f"id:{ada}", TEXT).json()["messageId"]
    delivered(ws, f"id:{ada}", message_id)
    db_rows(
        "UPDATE messages SET statuses = ? WHERE id = ?",
        '[{"value":"pending","timestamp":1700000000},{"value":"sent","timestamp":1700000001}]',
        message_id,
    )
    record = ws.api.get(f"/contact/id:{ada}/message/{message_id}").json()
    assert record["status"] == [
        {"value": "pending", "timestamp": 1700000000, "timestampMs": 1700000000000},
        {"value": "sent", "timestamp": 1700000001, "timestampMs": 1700000001000},
    ]


def test_merge_moves_messages_and_keeps_the_history(ws: Workspace) -> None:
    primary = ws.contact("P", phone="+60111000001")
    secondary = ws.contact("S", phone="+60111000002")
    m1 = send(ws, f"id:{primary}", TEXT).json()["messageId"]
    m2 = send(ws, f"id:{secondary}", TEXT).json()["messageId"]
    ws.api.post(f"/contact/id:{secondary}/comment", json={"text": "note"})
    ws.api.post(f"/contact/id:{secondary}/conversation/status", json={"status": "open"})
    r = ws.api.post("/contact/merge", json={"contactIds": [primary, secondary]})
    assert r.status_code == 200, r.text
    items = ws.api.get(f"/contact/id:{primary}/message/list").json()["items"]
    assert {m["messageId"] for m in items} == {m1, m2}
    assert all(m["contactId"] == primary for m in items)
    assert ws.api.get(f"/contact/id:{primary}").json()["status"] == "open"


def test_an_empty_attachment_file_name_is_no_name(ws: Workspace) -> None:
    """respond.io's n8n node sends ``fileName: ""`` when none is given."""
    cid = ws.contact("Ann", phone="+60123457001", email="ann@example.com")
    r = ws.api.post(
        f"/contact/id:{cid}/message",
        json={
            "channelId": ws.channel_id,
            "message": {
                "type": "attachment",
                "attachment": {"type": "file", "url": "https://example.com/a.pdf", "fileName": ""},
            },
        },
    )
    assert r.status_code == 200, r.text
    record = ws.api.get(f"/contact/id:{cid}/message/{r.json()['messageId']}").json()
    assert record["message"]["attachment"] == {"type": "file", "url": "https://example.com/a.pdf"}
