"""`openrespond.client` against a real openrespond server on loopback, sync and async."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

import openrespond.client as client_pkg
from openrespond.app import create_app
from openrespond.client import (
    APIConnectionError,
    AsyncClient,
    BadRequestError,
    Client,
    ConflictError,
    InvalidRequestError,
    NotFoundError,
    RateLimitError,
    ResponseDecodeError,
    ServerError,
    SignatureError,
    by_email,
    by_id,
    by_phone,
    verify_webhook,
)
from openrespond.webhooks.signing import sign_headers
from tests.conftest import ServerThread, Workspace, make_settings, new_workspace
from tests.webhooks.receiver import receiving

ROOT = Path(__file__).resolve().parents[2]


def api(ws: Workspace, **options: Any) -> Client:
    return Client(base_url=f"{ws.base}/v2", token=ws.token, **options)


def _scenario(c: Any, w: Any, collect: Any, ws: Workspace) -> None:
    """Every operation once; ``w`` waits for an answer and ``collect`` gathers an iterator,
    so one scenario runs on both clients."""
    created = w(
        c.create_contact(
            by_email("ada@example.com"),
            first_name="Ada",
            last_name="Lovelace",
            phone="+60 12-345 6789",
        )
    )
    ada = by_id(created.contact_id)
    contact = w(c.get_contact(ada))
    assert (contact.email, contact.phone) == ("ada@example.com", "+60123456789")
    assert w(c.get_contact(by_phone("+60123456789"))).id == created.contact_id
    assert w(c.update_contact(ada, language="en")).contact_id == created.contact_id
    assert w(
        c.create_or_update_contact(by_email("ada@example.com"), first_name="Ada", last_name="L")
    ).contact_id
    assert w(c.get_contact(ada)).last_name == "L"
    with pytest.raises(ConflictError) as dup:
        w(c.create_contact(first_name="Again", email="ada@example.com"))
    assert dup.value.status == 409
    assert dup.value.contact_id == created.contact_id
    assert w(c.add_tags(ada, ["vip", "lead"])).contact_id == created.contact_id
    assert w(c.remove_tags(ada, ["lead"])).contact_id == created.contact_id
    assert w(c.get_contact(ada)).tags == ["vip"]
    assert w(c.set_lifecycle(ada, "Customer")).message
    assert w(c.get_contact(ada)).lifecycle == "Customer"
    field = w(c.create_custom_field("Score", "number"))
    assert w(c.get_custom_field(field.id)).data_type == "number"
    assert "Score" in [f.name for f in w(c.list_custom_fields()).items]
    w(c.update_contact(ada, custom_fields={"Score": 7}))
    assert [(v.name, v.value) for v in w(c.get_contact(ada)).custom_fields] == [("Score", 7)]
    sent = w(c.send_message(ada, "Hello, Ada", channel_id=ws.channel_id))
    record = w(c.get_message(ada, sent.message_id))
    assert record.message["text"] == "Hello, Ada"
    assert record.status[0].value == "pending"
    assert [m.message_id for m in w(c.list_messages(ada)).items] == [sent.message_id]
    assert [m.message_id for m in collect(c.iter_messages(ada, page_size=1))] == [sent.message_id]
    assert [ch.id for ch in w(c.list_contact_channels(ada)).items] == [ws.channel_id]
    assert w(c.set_conversation_status(ada, "open")).contact_id == created.contact_id
    assert w(c.assign(ada, "agent@example.com")).contact_id == created.contact_id
    assert w(c.get_contact(ada)).assignee is not None
    assert w(c.add_comment(ada, "Called her")).text == "Called her"
    assert w(c.set_conversation_status(ada, "close", category="Resolved")).contact_id
    tag = w(c.create_tag("gold", color_code="#FFD700"))
    assert tag.color_code == "#FFD700"
    assert w(c.update_tag("gold", description="Top")).description == "Top"
    assert "gold" in [t.name for t in w(c.list_tags()).items]
    assert w(c.delete_tag("gold")).message
    users = w(c.list_users()).items
    assert w(c.get_user(users[0].id)).email == users[0].email
    assert ws.channel_id in [ch.id for ch in w(c.list_channels()).items]
    assert "Resolved" in [n.category for n in w(c.list_closing_notes()).items]
    assert [t.name for t in w(c.list_templates(ws.channel_id)).items] == ["hello_world"]
    other = w(c.create_contact(first_name="Grace", email="grace@example.com")).contact_id
    assert w(c.merge_contacts(created.contact_id, other)).contact_id == created.contact_id
    with pytest.raises(NotFoundError):
        w(c.get_contact(by_id(other)))
    assert w(c.delete_contact(ada)).contact_id == created.contact_id
    with pytest.raises(NotFoundError) as gone:
        w(c.get_contact(ada))
    assert gone.value.code == 404
    assert "not found" in gone.value.message


def test_every_operation_sync(ws: Workspace) -> None:
    with api(ws) as c:
        _scenario(c, lambda x: x, list, ws)


def test_every_operation_async(ws: Workspace) -> None:
    """The same scenario, each call awaited on one event loop."""
    loop = asyncio.new_event_loop()
    try:
        c = AsyncClient(base_url=f"{ws.base}/v2", token=ws.token)

        async def gather(it: Any) -> list[Any]:
            return [x async for x in it]

        _scenario(c, loop.run_until_complete, lambda it: loop.run_until_complete(gather(it)), ws)
        loop.run_until_complete(c.aclose())
    finally:
        loop.close()


def test_pages_are_followed_to_the_end(ws: Workspace) -> None:
    with api(ws) as c:
        ids = [c.create_contact(first_name=f"P{i}").contact_id for i in range(7)]
        assert [x.id for x in c.iter_contacts(page_size=3)] == ids
        assert [x.id for x in c.iter_contacts(search="P3")] == [ids[3]]
        first = c.list_contacts(limit=3)
        assert len(first.items) == 3
        assert first.pagination.next is not None


@pytest.mark.parametrize(
    ("call", "word"),
    [
        (lambda c: c.get_contact("email:not-an-email"), "email"),
        (lambda c: c.get_contact("phone:12345"), "E.164"),
        (lambda c: c.get_contact("name:ada"), "identifier"),
        (lambda c: c.get_contact(0), "positive"),
        (lambda c: c.create_contact(last_name="No first name"), "firstName"),
        (lambda c: c.create_contact("id:5", first_name="A"), "email: or phone:"),
        (lambda c: c.send_message(by_id(1), {"type": "fax"}), "type"),
        (lambda c: c.send_message(by_id(1), "  "), "text"),
        (lambda c: c.add_tags(by_id(1), []), "1-10"),
        (lambda c: c.add_tags(by_id(1), "vip"), "1-10"),
        (lambda c: c.merge_contacts(3, 3), "itself"),
        (lambda c: c.list_contacts(limit=500), "limit"),
        (lambda c: c.set_conversation_status(by_id(1), "snoozed"), "status"),
        (lambda c: c.update_contact(by_id(1), nickname="x"), "nickname"),
    ],
)
def test_bad_input_fails_before_any_request(call: Any, word: str) -> None:
    sent: list[httpx.Request] = []

    def handler(r: httpx.Request) -> httpx.Response:
        sent.append(r)
        return httpx.Response(500)

    transport = httpx.MockTransport(handler)
    with (
        Client(
            base_url="http://unused.invalid/v2",
            token="t",
            http_client=httpx.Client(transport=transport),
        ) as c,
        pytest.raises(InvalidRequestError, match=word),
    ):
        call(c)
    assert sent == []


def test_a_server_error_names_the_field(ws: Workspace) -> None:
    with api(ws) as c, pytest.raises(BadRequestError) as caught:
        c.create_contact(first_name="X", language="klingon")
    assert caught.value.status == 400
    assert "language" in caught.value.message


@pytest.fixture
def limited(tmp_path: Path) -> Iterator[Workspace]:
    settings = make_settings(tmp_path / "limited.db", rate_limit_per_second=2)
    with ServerThread(create_app(settings)) as url, new_workspace(url) as w:
        yield w


def test_429_is_retried_after_retry_after_and_writes_apply_once(limited: Workspace) -> None:
    with api(limited, max_retries=5) as c:
        cid = c.create_contact(first_name="Limited").contact_id
        started = time.monotonic()
        for i in range(8):  # a burst of 4, then 2/s: the client waits instead of failing
            c.add_tags(by_id(cid), [f"t{i}"])
        assert time.monotonic() - started >= 1
        assert sorted(c.get_contact(by_id(cid)).tags) == sorted(f"t{i}" for i in range(8))
    with api(limited, max_retries=0) as c:
        statuses = []
        refused: list[RateLimitError] = []
        for _ in range(10):
            try:
                c.list_users()
                statuses.append(200)
            except RateLimitError as exc:
                statuses.append(exc.status)
                refused.append(exc)
        assert 429 in statuses
        for refusal in refused:
            assert refusal.rate_limit.retry_after is not None
            assert refusal.rate_limit.retry_after >= 1
            assert refusal.rate_limit.remaining == 0
            assert refusal.rate_limit.limit == 4


def test_5xx_and_connection_errors_are_retried_with_the_same_idempotency_key() -> None:
    script: list[tuple[int, dict[str, str], float]] = [(503, {}, 0.0), (502, {}, 0.0)]
    with receiving(script=script, body=b'{"contactId": 5}') as rx:
        base = rx.url.rsplit("/", 1)[0]
        with Client(base_url=base, token="t", backoff=0.01) as c:
            assert c.add_tags(by_id(5), ["x"]).contact_id == 5
        keys = {r.headers.get("idempotency-key") for r in rx.requests}
        assert len(rx.requests) == 3
        assert len(keys) == 1
        assert None not in keys
    with receiving(default=500, body=b'{"code":500,"message":"boom"}') as rx:
        base = rx.url.rsplit("/", 1)[0]
        with (
            Client(base_url=base, token="t", backoff=0.01, max_retries=2) as c,
            pytest.raises(ServerError, match="boom"),
        ):
            c.get_contact(by_id(1))
        assert len(rx.requests) == 3
    down = Client(base_url="http://127.0.0.1:9/v2", token="t", backoff=0.01, max_retries=1)
    with down as c, pytest.raises(APIConnectionError):
        c.get_contact(by_id(1))


@pytest.mark.parametrize(
    "body", [b"<html>oops</html>", b'{"id": 1, "firstName": "Ada"', b'{"items": 5}']
)
def test_a_garbled_answer_raises_a_typed_error(body: bytes) -> None:
    with receiving(body=body) as rx:
        base = rx.url.rsplit("/", 1)[0]
        with Client(base_url=base, token="t") as c, pytest.raises(ResponseDecodeError):
            c.get_contact(by_id(1)) if not body.startswith(b'{"items"') else c.list_users()


def test_webhook_signatures_verify_both_ways() -> None:
    key = "whsec_" + "c2VjcmV0LWtleS1mb3ItdGVzdHM="
    body = b'{"event_type":"contact.updated"}'
    headers = httpx.Headers(sign_headers(key, "evt_1", body))
    assert verify_webhook(key, headers, body) == "standard"
    only_respondio = httpx.Headers({"X-Webhook-Signature": headers["X-Webhook-Signature"]})
    assert verify_webhook(key, only_respondio, body) == "respondio"
    with pytest.raises(SignatureError):
        verify_webhook(key, headers, body + b" ")


def test_the_public_surface_is_locked() -> None:
    assert client_pkg.__all__ == sorted(client_pkg.__all__)
    assert set(client_pkg.__all__) == {
        name
        for name in dir(client_pkg)
        if (not name.startswith("_") and name[0].isupper())
        or name in ("by_email", "by_id", "by_phone", "identifier", "verify_webhook")
    } - {"annotations"}


def test_the_async_client_is_generated_from_the_sync_one() -> None:
    result = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "gen_async_client.py"), "--check"],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr
