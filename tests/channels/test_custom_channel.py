"""The custom_channel driver against a real bridge on loopback, and the incoming webhook."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.backend import database_url, query
from tests.conftest import Rows, Workspace
from tests.webhooks.receiver import Received, Receiver, receiving


def _mid(req: Received) -> bytes:
    return json.dumps({"mId": f"bridge-{json.loads(req.body)['message']['text']}"}).encode()


@pytest.fixture
def bridge() -> Iterator[Receiver]:
    with receiving(reply=_mid) as rx:
        yield rx


def _channel(ws: Workspace, bridge_url: str, **settings: Any) -> dict[str, Any]:
    r = ws.control.post(
        f"/control/workspaces/{ws.wid}/channels",
        json={
            "name": "My bridge",
            "source": "custom_channel",
            "driver": "custom_channel",
            "settings": {"apiBaseUrl": bridge_url.removesuffix("/hook"), **settings},
        },
    )
    assert r.status_code == 200, r.text
    channel: dict[str, Any] = r.json()
    return channel


def _message(ws: Workspace, contact: int, message_id: int) -> dict[str, Any]:
    r = ws.api.get(f"/contact/id:{contact}/message/{message_id}")
    assert r.status_code == 200, r.text
    record: dict[str, Any] = r.json()
    return record


def _wait_status(ws: Workspace, contact: int, message_id: int, value: str) -> dict[str, Any]:
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        record = _message(ws, contact, message_id)
        if any(s["value"] == value for s in record["status"]):
            return record
        time.sleep(0.02)
    raise AssertionError(f"message {message_id} never got {value}: {record['status']}")


def _hook(ws: Workspace, token: str | None, body: Any) -> httpx.Response:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return httpx.post(f"{ws.base}/custom/channel/webhook/", json=body, headers=headers, timeout=10)


def test_creation_shows_the_token_once_and_stores_it_sealed(
    ws: Workspace, bridge: Receiver, db_rows: Rows
) -> None:
    channel = _channel(ws, bridge.url)
    token = channel["token"]
    assert channel["driver"] == "custom_channel"
    assert len(token) >= 32
    assert channel["webhookUrl"] == f"{ws.base}/custom/channel/webhook/"
    (settings,) = db_rows("SELECT settings FROM channels WHERE id = ?", channel["id"])
    assert token not in settings[0]
    assert json.loads(settings[0])["token"].startswith("v1:")
    listed = ws.control.get(f"/control/workspaces/{ws.wid}/channels").text
    assert token not in listed
    assert token not in ws.api.get("/space/channel").text
    # renaming keeps the token; a given token is used as it is
    r = ws.control.put(
        f"/control/workspaces/{ws.wid}/channels/{channel['id']}",
        json={"settings": {"apiBaseUrl": "https://bridge.example.com"}},
    )
    assert r.status_code == 200, r.text
    assert (
        json.loads(db_rows("SELECT settings FROM channels WHERE id = ?", channel["id"])[0][0])[
            "token"
        ]
        == json.loads(settings[0])["token"]
    )
    mine = _channel(ws, bridge.url, token="my-own-bridge-token-0123456789")
    assert "token" not in mine


@pytest.mark.parametrize(
    ("body", "word"),
    [
        ({"source": "custom_channel", "driver": "custom_channel", "settings": {}}, "apiBaseUrl"),
        (
            {
                "source": "custom_channel",
                "driver": "custom_channel",
                "settings": {"apiBaseUrl": "bridge"},
            },
            "apiBaseUrl",
        ),
        (
            {
                "source": "whatsapp_cloud",
                "driver": "custom_channel",
                "settings": {"apiBaseUrl": "https://b.io"},
            },
            "source",
        ),
        (
            {
                "source": "custom_channel",
                "driver": "custom_channel",
                "settings": {"apiBaseUrl": "https://b.io", "token": "short"},
            },
            "token",
        ),
        (
            {
                "source": "custom_channel",
                "driver": "custom_channel",
                "settings": {"apiBaseUrl": "https://b.io", "idType": "email"},
            },
            "idType",
        ),
        ({"source": "custom_channel", "driver": "pigeon"}, "driver"),
        # where a bridge or SMTP server points is checked when the channel is made, by the
        # webhooks' rules (the suite's server allows only 127.0.0.0/8 beyond the public)
        *[
            (
                {
                    "source": "custom_channel",
                    "driver": "custom_channel",
                    "settings": {"apiBaseUrl": url, "token": "t" * 20},
                },
                word,
            )
            for url, word in (
                ("http://10.1.2.3/bridge", "private"),
                ("http://169.254.169.254/latest", "private"),
                ("http://[64:ff9b::a01:203]/bridge", "private"),  # NAT64 of 10.1.2.3
                ("http://[2002:a01:203::]/bridge", "private"),  # 6to4 of 10.1.2.3
                ("http://[::10.1.2.3]/bridge", "private"),  # IPv4-compatible
                ("http://a..com/", "host name"),
                (f"http://{'a' * 64}.com/", "host name"),
            )
        ],
        *[
            (
                {
                    "source": "other_email",
                    "driver": "smtp",
                    "settings": {"host": host, "from": "shop@example.com"},
                },
                word,
            )
            for host, word in (
                ("10.0.0.5", "private"),
                ("a..example.com", "host name"),
                ("bad host", "host name"),
            )
        ],
    ],
)
def test_bad_channel_settings_are_refused(
    ws: Workspace, db_rows: Rows, body: dict[str, Any], word: str
) -> None:
    before = db_rows("SELECT COUNT(*) FROM channels WHERE workspace_id = ?", ws.wid)
    r = ws.control.post(f"/control/workspaces/{ws.wid}/channels", json={"name": "x", **body})
    assert r.status_code == 400, r.text
    assert word in r.json()["message"], r.text
    assert db_rows("SELECT COUNT(*) FROM channels WHERE workspace_id = ?", ws.wid) == before


def test_a_message_goes_to_the_bridge_and_takes_its_mid(ws: Workspace, bridge: Receiver) -> None:
    channel = _channel(ws, bridge.url)
    contact = ws.contact("Ada", phone="+60123456789")
    r = ws.api.post(
        f"/contact/id:{contact}/message",
        json={"channelId": channel["id"], "message": {"type": "text", "text": "hello"}},
    )
    assert r.status_code == 200, r.text
    message_id = r.json()["messageId"]
    record = _wait_status(ws, contact, message_id, "sent")
    assert record["channelMessageId"] == "bridge-hello"
    (req,) = bridge.requests
    assert req.path == "/message"
    assert req.headers["authorization"] == f"Bearer {channel['token']}"
    assert json.loads(req.body) == {
        "channelId": str(channel["id"]),
        "contactId": "+60123456789",
        "message": {"type": "text", "text": "hello"},
    }
    # the bridge reports delivery and reading by mId; repeats change nothing
    for value in ("delivered", "read", "read"):
        r = _hook(
            ws,
            channel["token"],
            {
                "channelId": str(channel["id"]),
                "contactId": "+60123456789",
                "events": [
                    {
                        "type": "message_status",
                        "mId": "bridge-hello",
                        "timestamp": int(time.time() * 1000),
                        "status": value,
                    }
                ],
            },
        )
        assert r.status_code == 200, r.text
    assert [s["value"] for s in _message(ws, contact, message_id)["status"]] == [
        "pending",
        "sent",
        "delivered",
        "read",
    ]


def test_a_4xx_fails_the_message_with_the_bridges_reason(ws: Workspace) -> None:
    with receiving(
        script=[(422, {}, 0)], body=b'{"error":{"message":"number is not on WhatsApp"}}'
    ) as bridge:
        channel = _channel(ws, bridge.url)
        contact = ws.contact("Bo", phone="+60123456780")
        r = ws.api.post(
            f"/contact/id:{contact}/message",
            json={"channelId": channel["id"], "message": {"type": "text", "text": "x"}},
        )
        record = _wait_status(ws, contact, r.json()["messageId"], "failed")
        assert record["status"][-1]["message"] == "number is not on WhatsApp"
        assert len(bridge.requests) == 1


def test_5xx_and_garbage_are_retried_until_the_bridge_answers(ws: Workspace) -> None:
    answers = iter([b"oops", b"<html>", json.dumps({"mId": "m-77"}).encode()])
    with receiving(script=[(503, {}, 0), (200, {}, 0)], reply=lambda _req: next(answers)) as bridge:
        channel = _channel(ws, bridge.url)
        contact = ws.contact("Cy", phone="+60123456781")
        r = ws.api.post(
            f"/contact/id:{contact}/message",
            json={"channelId": channel["id"], "message": {"type": "text", "text": "x"}},
        )
        record = _wait_status(ws, contact, r.json()["messageId"], "sent")
        assert record["channelMessageId"] == "m-77"
        assert len(bridge.requests) == 3


def test_incoming_events_create_the_contact_once_per_mid(
    ws: Workspace, bridge: Receiver, db_rows: Rows
) -> None:
    channel = _channel(ws, bridge.url)
    body = {
        "channelId": str(channel["id"]),
        "contactId": "+60199999999",
        "contact": {"firstName": "Nia", "lastName": "Tan", "email": "nia@example.com"},
        "events": [
            {
                "type": "message",
                "mId": "in-1",
                "timestamp": 1_700_000_000_000,
                "message": {"type": "text", "text": "hi"},
            },
            {
                "type": "message_echo",
                "mId": "echo-1",
                "timestamp": 1_700_000_001_000,
                "message": {"type": "text", "text": "sent from the phone"},
            },
        ],
    }
    r = _hook(ws, channel["token"], body)
    assert r.status_code == 200, r.text
    assert [e["result"] for e in r.json()["results"]] == ["stored", "stored"]
    contact = ws.api.get("/contact/phone:+60199999999").json()
    assert contact["firstName"] == "Nia"
    assert contact["email"] == "nia@example.com"
    assert contact["status"] == "open"
    items = ws.api.get(f"/contact/id:{contact['id']}/message/list").json()["items"]
    assert [(m["traffic"], m["channelMessageId"]) for m in items] == [
        ("outgoing", "echo-1"),
        ("incoming", "in-1"),
    ]
    assert items[0]["sender"]["source"] == "echo"
    assert items[0]["status"][-1]["value"] == "sent"
    again = _hook(ws, channel["token"], body)
    assert [e["result"] for e in again.json()["results"]] == ["duplicate", "duplicate"]
    assert db_rows("SELECT COUNT(*) FROM messages WHERE channel_id = ?", channel["id"]) == [(2,)]
    assert db_rows(
        "SELECT COUNT(*) FROM contacts WHERE workspace_id = ? AND phone = ?", ws.wid, "+60199999999"
    ) == [(1,)]


def test_a_status_before_the_mid_is_known_is_applied_when_it_is(
    ws: Workspace, db_rows: Rows
) -> None:
    with receiving(reply=_mid, script=[(200, {}, 0.5)]) as slow_bridge:
        channel = _channel(ws, slow_bridge.url)
        contact = ws.contact("Di", phone="+60123456782")
        r = ws.api.post(
            f"/contact/id:{contact}/message",
            json={"channelId": channel["id"], "message": {"type": "text", "text": "early"}},
        )
        message_id = r.json()["messageId"]
        deadline = time.monotonic() + 5
        while not slow_bridge.requests and time.monotonic() < deadline:
            time.sleep(0.01)
        # the bridge reports delivery before its answer to the send has arrived
        status = _hook(
            ws,
            channel["token"],
            {
                "channelId": channel["id"],
                "events": [
                    {
                        "type": "message_status",
                        "mId": "bridge-early",
                        "timestamp": int(time.time() * 1000),
                        "status": "delivered",
                    }
                ],
            },
        )
        assert status.json()["results"][0]["result"] == "waiting"
        record = _wait_status(ws, contact, message_id, "delivered")
        assert [s["value"] for s in record["status"]] == ["pending", "sent", "delivered"]
        assert db_rows(
            "SELECT COUNT(*) FROM early_statuses WHERE channel_id = ?", channel["id"]
        ) == [(0,)]


@pytest.mark.parametrize(
    ("token", "body", "status"),
    [
        ("wrong-token-0123456789abcdef", None, 401),
        (None, None, 401),
        ("TOKEN", {"channelId": "999999999", "contactId": "+6011", "events": []}, 400),
        (
            "TOKEN",
            {
                "channelId": "999999999",
                "contactId": "+60111111111",
                "events": [
                    {
                        "type": "message",
                        "mId": "x",
                        "timestamp": 1,
                        "message": {"type": "text", "text": "x"},
                    }
                ],
            },
            401,  # a channel's token for another channel id: as if the token were wrong
        ),
        (
            "TOKEN",
            {
                "channelId": "abc",
                "contactId": "+60111111111",
                "events": [
                    {
                        "type": "message",
                        "mId": "x",
                        "timestamp": 1,
                        "message": {"type": "text", "text": "x"},
                    }
                ],
            },
            400,
        ),
        (
            "TOKEN",
            {
                "channelId": "CHANNEL",
                "contactId": "+60111111111",
                "events": [{"type": "telepathy", "mId": "x"}],
            },
            400,
        ),
        (
            "TOKEN",
            {
                "channelId": "CHANNEL",
                "contactId": "+60111111111",
                "events": [
                    {"type": "message", "timestamp": 1, "message": {"type": "text", "text": "x"}}
                ],
            },
            400,
        ),
        (
            "TOKEN",
            {
                "channelId": "CHANNEL",
                "events": [
                    {
                        "type": "message",
                        "mId": "nobody",
                        "timestamp": 1,
                        "message": {"type": "text", "text": "x"},
                    }
                ],
            },
            400,
        ),
        (
            "TOKEN",
            {
                "channelId": "CHANNEL",
                "contactId": "not-a-phone",
                "events": [
                    {
                        "type": "message",
                        "mId": "bad-phone",
                        "timestamp": 1,
                        "message": {"type": "text", "text": "x"},
                    }
                ],
            },
            400,
        ),
        # a valid event followed by a malformed one: nothing of the request is stored
        (
            "TOKEN",
            {
                "channelId": "CHANNEL",
                "contactId": "+60111111111",
                "events": [
                    {
                        "type": "message",
                        "mId": "ok-1",
                        "timestamp": 1,
                        "message": {"type": "text", "text": "x"},
                    },
                    {
                        "type": "message",
                        "mId": "bad",
                        "timestamp": 1,
                        "message": {"type": "text", "text": ""},
                    },
                ],
            },
            400,
        ),
    ],
)
def test_bad_incoming_requests_store_nothing(
    ws: Workspace, bridge: Receiver, db_rows: Rows, token: str | None, body: Any, status: int
) -> None:
    channel = _channel(ws, bridge.url)
    if token == "TOKEN":
        token = channel["token"]
    if body is None:
        body = {
            "channelId": str(channel["id"]),
            "contactId": "+60111111111",
            "events": [
                {
                    "type": "message",
                    "mId": "x",
                    "timestamp": 1,
                    "message": {"type": "text", "text": "x"},
                }
            ],
        }
    body = json.loads(json.dumps(body).replace('"CHANNEL"', json.dumps(str(channel["id"]))))
    r = _hook(ws, token, body)
    assert r.status_code == status, r.text
    assert r.json()["code"] == status
    assert r.json()["message"]
    assert db_rows("SELECT COUNT(*) FROM messages WHERE channel_id = ?", channel["id"]) == [(0,)]


def test_unknown_channels_and_wrong_tokens_get_the_same_answer(
    ws: Workspace, bridge: Receiver
) -> None:
    """Channel ids cannot be enumerated: the token is checked first, and an unknown channel
    is answered exactly as a wrong token for a real one."""
    channel = _channel(ws, bridge.url)
    events = [
        {"type": "message", "mId": "e", "timestamp": 1, "message": {"type": "text", "text": "x"}}
    ]
    answers = [
        _hook(ws, token, {"channelId": str(cid), "contactId": "+60111111119", "events": events})
        for token, cid in (
            ("wrong-token-0123456789abcdef", channel["id"]),
            ("wrong-token-0123456789abcdef", 987654321),
            (channel["token"], 987654321),
        )
    ]
    assert {(r.status_code, r.text) for r in answers} == {(401, answers[0].text)}, [
        r.text for r in answers
    ]
    assert str(channel["id"]) not in answers[0].text


def test_another_workspaces_token_cannot_post_to_a_channel(
    ws: Workspace, other: Workspace, bridge: Receiver, db_rows: Rows
) -> None:
    mine = _channel(ws, bridge.url)
    theirs = _channel(other, bridge.url)
    body = {
        "channelId": str(mine["id"]),
        "contactId": "+60111111112",
        "events": [
            {
                "type": "message",
                "mId": "x",
                "timestamp": 1,
                "message": {"type": "text", "text": "x"},
            }
        ],
    }
    assert _hook(ws, theirs["token"], body).status_code == 401
    assert _hook(ws, ws.token, body).status_code == 401  # a workspace API token is not it
    assert db_rows("SELECT COUNT(*) FROM messages WHERE channel_id = ?", mine["id"]) == [(0,)]


def test_channels_with_drivers_from_the_command_line(tmp_path: Any) -> None:
    from tests.test_cli import run

    env = {"OPENRESPOND_DATABASE_URL": database_url(tmp_path / "cli.db")}
    run(env, "demo")
    out = run(
        env,
        "channel",
        "add",
        "-w",
        "1",
        "Bridge",
        "--source",
        "custom_channel",
        "--driver",
        "custom_channel",
        "--settings",
        '{"apiBaseUrl": "https://bridge.example.com"}',
    )
    assert "channel token (shown once" in out
    token = out.split("bearer token): ")[1].split()[0]
    assert len(token) >= 32
    (channel,) = [
        c
        for c in json.loads(run(env, "channel", "list", "-w", "1", "--json"))
        if c["name"] == "Bridge"
    ]
    run(
        env,
        "channel",
        "update",
        "-w",
        "1",
        str(channel["id"]),
        "--settings",
        '{"apiBaseUrl": "https://b2.example.com"}',
    )
    [(settings,)] = query(
        tmp_path / "cli.db", "SELECT settings FROM channels WHERE id = ?", channel["id"]
    )
    stored = json.loads(settings)
    assert stored["apiBaseUrl"] == "https://b2.example.com"
    assert token not in settings
    assert stored["token"].startswith("v1:")


def test_a_bridge_that_is_down_is_retried_and_the_api_stays_responsive(
    ws: Workspace, db_rows: Rows
) -> None:
    from tests.server_process import free_port

    port = free_port()  # nothing listens here
    channel = _channel(ws, f"http://127.0.0.1:{port}/hook")
    contact = ws.contact("Ed", phone="+60123456783")
    r = ws.api.post(
        f"/contact/id:{contact}/message",
        json={"channelId": channel["id"], "message": {"type": "text", "text": "x"}},
    )
    message_id = r.json()["messageId"]
    deadline = time.monotonic() + 10
    rows: list[Any] = []
    while time.monotonic() < deadline:
        rows = db_rows(
            "SELECT attempts, last_error FROM delivery_jobs WHERE message_id = ?", message_id
        )
        if rows and rows[0][0] >= 2:
            break
        time.sleep(0.05)
    assert rows
    assert rows[0][0] >= 2
    assert "bridge unreachable" in rows[0][1]
    t0 = time.monotonic()
    assert ws.api.get(f"/contact/id:{contact}").status_code == 200
    assert time.monotonic() - t0 < 1
    assert _message(ws, contact, message_id)["status"][-1]["value"] == "pending"
    # the bridge comes up: the message goes out
    from tests.conftest import ServerThread

    up = Receiver(reply=_mid)
    with ServerThread(up, port=port):
        _wait_status(ws, contact, message_id, "sent")
    assert len(up.requests) == 1


def test_a_channel_cannot_be_changed_to_point_at_a_forbidden_address(
    ws: Workspace, bridge: Receiver, db_rows: Rows
) -> None:
    channel = _channel(ws, bridge.url)
    before = db_rows("SELECT settings FROM channels WHERE id = ?", channel["id"])
    for url in ("http://10.9.8.7/bridge", "http://[64:ff9b::a09:807]/x", "http://a..com/"):
        r = ws.control.put(
            f"/control/workspaces/{ws.wid}/channels/{channel['id']}",
            json={"settings": {"apiBaseUrl": url}},
        )
        assert r.status_code == 400, r.text
        assert "settings.apiBaseUrl" in r.json()["message"], r.text
    assert db_rows("SELECT settings FROM channels WHERE id = ?", channel["id"]) == before


def test_a_refused_bridge_address_fails_the_message_at_once(bridge: Receiver) -> None:
    """Where the bridge's name leads to an address the rules refuse (the name changed after
    the channel was checked), the message fails at once: no retries for a day."""
    import asyncio

    from openrespond.channels.custom import CustomChannelDriver
    from openrespond.channels.drivers import Job
    from openrespond.net import parse_networks
    from openrespond.sealing import Sealer

    sealer = Sealer("s" * 32)
    job = Job(
        job_id=1,
        attempts=1,
        queued_ms=0,
        message_id=1,
        workspace_id=1,
        contact_id=1,
        channel_id=1,
        type="text",
        content='{"type":"text","text":"hi"}',
        driver="custom_channel",
        source="custom_channel",
        settings={
            "apiBaseUrl": bridge.url.removesuffix("/hook"),
            "token": sealer.seal("t" * 20, purpose="channel secret"),
        },
        address="+60111111111",
    )

    async def send() -> Any:
        driver = CustomChannelDriver(sealer, parse_networks(""))
        try:
            return await driver.send(job)
        finally:
            await driver.close()

    outcome = asyncio.run(send())
    assert outcome.statuses == ("failed",), outcome
    assert not outcome.retry, outcome
    assert "refused" in (outcome.error or "")
    assert bridge.requests == []


def test_a_slow_bridge_with_a_backlog_does_not_delay_another_channel(tmp_path: Any) -> None:
    """A bridge that never answers in time has 100 messages waiting; messages on another
    channel still go out at once: the slow one holds only its channel's slots, nothing waits
    for its answers, and claims go round the channels."""
    from openrespond.app import create_app
    from tests.conftest import ServerThread, make_settings, new_workspace

    settings = make_settings(
        tmp_path / "fair.db", webhook_timeout_seconds=1, delivery_deadline_seconds=30
    )
    with (
        receiving(reply=_mid, script=[(200, {}, 5.0)] * 1000) as slow_bridge,
        receiving(reply=_mid) as quick_bridge,
        ServerThread(create_app(settings)) as url,
        new_workspace(url) as ws,
    ):
        slow = _channel(ws, slow_bridge.url)
        quick = _channel(ws, quick_bridge.url)
        contact = ws.contact("Ada", phone="+60123456789")
        for i in range(100):
            r = ws.api.post(
                f"/contact/id:{contact}/message",
                json={"channelId": slow["id"], "message": {"type": "text", "text": f"s{i}"}},
            )
            assert r.status_code == 200, r.text
        time.sleep(0.3)  # the slow bridge's posts are in flight
        latencies = []
        for i in range(10):
            t0 = time.monotonic()
            r = ws.api.post(
                f"/contact/id:{contact}/message",
                json={"channelId": quick["id"], "message": {"type": "text", "text": f"q{i}"}},
            )
            assert r.status_code == 200, r.text
            _wait_status(ws, contact, r.json()["messageId"], "sent")
            latencies.append(time.monotonic() - t0)
        assert max(latencies) < 1.0, latencies
        # the slow bridge never had more than its channel's share of posts in flight
        starts = sorted(req.at for req in slow_bridge.requests)
        assert len(starts) >= 8
        for i, t in enumerate(starts):
            assert sum(1 for u in starts[i:] if u - t < 0.9) <= 8, starts


def test_a_bridge_name_no_resolver_takes_fails_the_message_in_one_clear_line(
    ws: Workspace, bridge: Receiver, db_rows: Rows, caplog: pytest.LogCaptureFixture
) -> None:
    """A channel stored before names were checked (here, written straight into the
    database) whose bridge host has an empty label: the message fails at once with the
    reason, and no traceback is logged."""
    channel = _channel(ws, bridge.url)
    settings = json.loads(
        db_rows("SELECT settings FROM channels WHERE id = ?", channel["id"])[0][0]
    )
    settings["apiBaseUrl"] = "http://bridge..example.com"
    db_rows("UPDATE channels SET settings = ? WHERE id = ?", json.dumps(settings), channel["id"])
    contact = ws.contact("Ada", phone="+60123456788")
    with caplog.at_level("DEBUG", logger="openrespond"):
        r = ws.api.post(
            f"/contact/id:{contact}/message",
            json={"channelId": channel["id"], "message": {"type": "text", "text": "hi"}},
        )
        record = _wait_status(ws, contact, r.json()["messageId"], "failed")
    reason = record["status"][-1]["message"]
    assert "not a valid host name" in reason, reason
    assert [s["value"] for s in record["status"]] == ["pending", "failed"]
    assert not [rec for rec in caplog.records if rec.exc_info], [
        rec.getMessage() for rec in caplog.records if rec.exc_info
    ]
