"""Sandbox actions: incoming messages, reported statuses, what channels sent, resets."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from openrespond.app import create_app
from tests.conftest import Rows, ServerThread, Workspace, make_settings, new_workspace
from tests.contacts.test_routes import error
from tests.messages.test_routes import delivered, email_channel

TEXT = {"type": "text", "text": "hi"}


def incoming(ws: Workspace, **body: Any) -> httpx.Response:
    body.setdefault("channelId", ws.channel_id)
    body.setdefault("message", TEXT)
    return ws.control.post(f"/control/workspaces/{ws.wid}/sandbox/incoming", json=body)


class TestIncoming:
    def test_custom_channels_too_but_not_other_drivers(self, ws: Workspace) -> None:
        """A custom channel's customer side is its bridge, which this plays; an SMTP
        channel's is a real mail provider's."""
        w = f"/control/workspaces/{ws.wid}/channels"
        custom = ws.control.post(
            w,
            json={
                "name": "Bridge",
                "source": "custom_channel",
                "driver": "custom_channel",
                "settings": {"apiBaseUrl": "https://bridge.example.com/x", "token": "t" * 32},
            },
        ).json()
        r = incoming(ws, channelId=custom["id"], address="+60123450099")
        assert r.status_code == 200, r.text
        got = ws.api.get(f"/contact/id:{r.json()['contactId']}/message/{r.json()['messageId']}")
        assert got.json()["channelId"] == custom["id"]
        smtp = ws.control.post(
            w,
            json={
                "name": "Mail",
                "source": "other_email",
                "driver": "smtp",
                "settings": {"host": "smtp.example.com", "from": "a@example.com"},
            },
        ).json()
        r = incoming(ws, channelId=smtp["id"], address="someone@example.com")
        assert r.status_code == 400
        assert "not a sandbox or custom channel" in r.json()["message"]

    def test_unknown_sender_becomes_a_linked_contact_with_an_open_conversation(
        self, ws: Workspace
    ) -> None:
        r = incoming(ws, address="+60 12-345 6789", contact={"firstName": "Nia", "language": "en"})
        assert r.status_code == 200, r.text
        cid, mid = r.json()["contactId"], r.json()["messageId"]
        c = ws.api.get("/contact/phone:+60123456789").json()
        assert (c["id"], c["firstName"], c["language"], c["status"]) == (cid, "Nia", "en", "open")
        record = ws.api.get(f"/contact/id:{cid}/message/{mid}").json()
        assert record["traffic"] == "incoming"
        assert record["message"] == TEXT
        assert record["status"] == []
        assert record["sender"] is None
        [link] = ws.api.get(f"/contact/id:{cid}/channels").json()["items"]
        assert link["address"] == "+60123456789"
        assert link["lastIncomingMessageTime"] == link["lastMessageTime"]

    def test_known_contact_is_found_by_phone_or_email(self, ws: Workspace) -> None:
        ada = ws.contact("Ada", email="ada@example.com", phone="+60123456789")
        assert incoming(ws, address="+60123456789").json()["contactId"] == ada
        mail = email_channel(ws)
        r = incoming(
            ws,
            channelId=mail,
            address="ADA@example.com",
            message={"type": "email", "text": "Hello", "subject": "Q"},
        )
        assert r.json()["contactId"] == ada
        # the second message on the same link reuses it
        assert incoming(ws, address="+60123456789").json()["contactId"] == ada
        assert len(ws.api.get(f"/contact/id:{ada}/message/list").json()["items"]) == 3

    def test_any_type_the_channel_carries(self, ws: Workspace) -> None:
        for message in (
            {"type": "attachment", "attachment": {"type": "audio", "url": "https://x.io/a.ogg"}},
            {"type": "quick_reply", "title": "Yes", "replies": ["Yes"]},
            {"type": "custom_payload", "payload": {"location": [3.1, 101.6]}},
        ):
            r = incoming(ws, address="+60111222333", message=message)
            assert r.status_code == 200, r.text

    def test_platform_channels_take_the_platform_id(self, ws: Workspace) -> None:
        tg = ws.control.post(
            f"/control/workspaces/{ws.wid}/channels", json={"name": "TG", "source": "telegram"}
        ).json()["id"]
        r = incoming(ws, channelId=tg, address="tg-user-77")
        cid = r.json()["contactId"]
        assert ws.api.get(f"/contact/id:{cid}").json()["firstName"] == "tg-user-77"
        # once linked, the business can reply there
        reply = ws.api.post(f"/contact/id:{cid}/message", json={"message": TEXT})
        assert reply.status_code == 200
        assert (
            ws.api.get(f"/contact/id:{cid}/message/{reply.json()['messageId']}").json()["channelId"]
            == tg
        )

    @pytest.mark.parametrize(
        ("body", "status", "words"),
        [
            ({"address": "not a phone"}, 400, ["address"]),
            ({"address": ""}, 400, ["address"]),
            ({"address": "+60111222333", "channelId": 987654321}, 404, ["channel"]),
            (
                {"address": "+60111222333", "message": {"type": "email", "text": "x"}},
                400,
                ["message.type"],
            ),
            (
                {
                    "address": "+60111222333",
                    "message": {
                        "type": "whatsapp_template",
                        "template": {"name": "hello_world", "languageCode": "en"},
                    },
                },
                400,
                ["template"],
            ),
            ({"address": "+60111222333", "message": {"type": "text", "text": ""}}, 400, ["text"]),
            ({"address": "+60111222333", "contact": {"email": "bad"}}, 400, ["email"]),
            ({"address": "+60111222333", "message": None}, 400, ["message"]),
        ],
    )
    def test_refusals_store_nothing(
        self, ws: Workspace, body: dict[str, Any], status: int, words: list[str]
    ) -> None:
        error(incoming(ws, **body), status, *words)
        assert ws.api.get("/contact/list").json()["items"] == []


@pytest.fixture(scope="module")
def paused(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A server whose delivery worker is off: sent messages stay pending."""
    db: Path = tmp_path_factory.mktemp("paused") / "paused.db"
    with ServerThread(create_app(make_settings(db, worker=False))) as url:
        yield url


class TestStatus:
    def test_delivered_then_read(self, ws: Workspace) -> None:
        ada = ws.contact("Ada", phone="+60123456789")
        mid = ws.api.post(
            f"/contact/id:{ada}/message", json={"channelId": ws.channel_id, "message": TEXT}
        ).json()["messageId"]
        delivered(ws, f"id:{ada}", mid)
        W = f"/control/workspaces/{ws.wid}"
        r = ws.control.post(f"{W}/sandbox/messages/{mid}/status", json={"status": "read"})
        assert [s["value"] for s in r.json()["status"]] == ["pending", "sent", "delivered", "read"]
        # Statuses move one way: nothing goes back, a read message cannot fail, nothing
        # follows failed; a refusal changes nothing.
        for status in ("delivered", "sent", "read", "failed"):
            r = ws.control.post(f"{W}/sandbox/messages/{mid}/status", json={"status": status})
            assert r.status_code == 409, (status, r.text)
        assert len(ws.api.get(f"/contact/id:{ada}/message/{mid}").json()["status"]) == 4
        mid = ws.api.post(
            f"/contact/id:{ada}/message", json={"channelId": ws.channel_id, "message": TEXT}
        ).json()["messageId"]
        delivered(ws, f"id:{ada}", mid)
        r = ws.control.post(
            f"{W}/sandbox/messages/{mid}/status", json={"status": "failed", "reason": "blocked"}
        )
        assert r.json()["status"][-1]["message"] == "blocked"
        assert (
            ws.api.get(f"/contact/id:{ada}/message/{mid}").json()["status"][-1]
            == r.json()["status"][-1]
        )
        r = ws.control.post(f"{W}/sandbox/messages/{mid}/status", json={"status": "read"})
        assert r.status_code == 409
        assert "failed" in r.json()["message"]

    def test_refusals(self, ws: Workspace) -> None:
        W = f"/control/workspaces/{ws.wid}"
        got = incoming(ws, address="+60123456789").json()
        error(
            ws.control.post(
                f"{W}/sandbox/messages/{got['messageId']}/status", json={"status": "read"}
            ),
            400,
            "incoming",
        )
        error(
            ws.control.post(f"{W}/sandbox/messages/999999999/status", json={"status": "read"}),
            404,
            "message",
        )
        error(
            ws.control.post(
                f"{W}/sandbox/messages/{got['messageId']}/status", json={"status": "pending"}
            ),
            400,
            "status",
        )
        ada = got["contactId"]
        mid = ws.api.post(f"/contact/id:{ada}/message", json={"message": TEXT}).json()["messageId"]
        delivered(ws, f"id:{ada}", mid)
        error(
            ws.control.post(
                f"{W}/sandbox/messages/{mid}/status", json={"status": "read", "reason": "x"}
            ),
            400,
            "reason",
        )

    def test_failing_a_pending_message_cancels_its_delivery(self, paused: str) -> None:
        with new_workspace(paused) as ws:
            ada = ws.contact("Ada", phone="+60123456789")
            W = f"/control/workspaces/{ws.wid}"
            first, second = (
                ws.api.post(
                    f"/contact/id:{ada}/message", json={"channelId": ws.channel_id, "message": TEXT}
                ).json()["messageId"]
                for _ in range(2)
            )
            error(
                ws.control.post(
                    f"{W}/sandbox/messages/{first}/status", json={"status": "delivered"}
                ),
                409,
                "waiting",
            )
            r = ws.control.post(
                f"{W}/sandbox/messages/{first}/status",
                json={"status": "failed", "reason": "number not on WhatsApp"},
            )
            assert [s["value"] for s in r.json()["status"]] == ["pending", "failed"]
            sent = ws.control.get(f"{W}/sandbox/channels/{ws.channel_id}/sent").json()["items"]
            assert sent == []
            record = ws.api.get(f"/contact/id:{ada}/message/{second}").json()
            assert [s["value"] for s in record["status"]] == ["pending"]


class TestSentAndReset:
    def test_sent_pages_and_refuses_unknown_channels(self, ws: Workspace) -> None:
        ada = ws.contact("Ada", phone="+60123456789")
        ids = [
            ws.api.post(
                f"/contact/id:{ada}/message",
                json={"channelId": ws.channel_id, "message": {"type": "text", "text": str(i)}},
            ).json()["messageId"]
            for i in range(3)
        ]
        for mid in ids:
            delivered(ws, f"id:{ada}", mid)
        W = f"/control/workspaces/{ws.wid}"
        page = ws.control.get(f"{W}/sandbox/channels/{ws.channel_id}/sent?limit=2").json()
        assert [s["messageId"] for s in page["items"]] == ids[:2]
        assert page["items"][0]["message"] == {"type": "text", "text": "0"}
        rest = ws.control.get(page["pagination"]["next"]).json()
        assert [s["messageId"] for s in rest["items"]] == ids[2:]
        error(ws.control.get(f"{W}/sandbox/channels/987654321/sent"), 404, "channel")
        error(ws.control.get(f"{W}/sandbox/channels/{ws.channel_id}/sent?limit=0"), 400, "limit")

    def test_reset_to_empty_and_to_demo(self, ws: Workspace, db_rows: Rows) -> None:
        ada = ws.contact("Ada", phone="+60123456789")
        ws.api.post(f"/contact/id:{ada}/tag", json=["vip"])
        ws.api.post(
            f"/contact/id:{ada}/message", json={"channelId": ws.channel_id, "message": TEXT}
        )
        W = f"/control/workspaces/{ws.wid}"
        r = ws.control.post(f"{W}/sandbox/reset", json={"to": "empty"})
        assert r.json() == {"code": 200, "message": "Workspace reset to empty"}
        assert ws.api.get("/contact/list").json()["items"] == []
        assert ws.api.get("/space/tag").json()["items"] == []
        assert db_rows("SELECT COUNT(*) FROM messages WHERE workspace_id = ?", ws.wid) == [(0,)]
        assert len(ws.api.get("/space/user").json()["items"]) == 2  # configuration stays
        r = ws.control.post(f"{W}/sandbox/reset", json={"to": "demo"})
        assert r.status_code == 200
        names = {c["firstName"] for c in ws.api.get("/contact/list").json()["items"]}
        assert names == {"Priya", "Sam"}
        channels = {c["name"] for c in ws.api.get("/space/channel").json()["items"]}
        assert {"Sandbox WhatsApp", "Sandbox Email"} <= channels
        notes = [n["category"] for n in ws.api.get("/space/closing_notes").json()["items"]]
        assert {"Resolved", "Follow-up needed", "Spam"} <= set(notes)
        # the token still works, and a body is optional (empty)
        assert ws.control.post(f"{W}/sandbox/reset").json()["message"] == "Workspace reset to empty"
        error(ws.control.post(f"{W}/sandbox/reset", json={"to": "everything"}), 400, "to")
