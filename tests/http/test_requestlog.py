"""X-Request-Id and the one log line per request."""

from __future__ import annotations

import asyncio
import json
import logging
import time
from pathlib import Path
from typing import Any

import pytest

from openrespond.app import create_app
from openrespond.http.requestlog import GONE_KEY, RequestLogMiddleware, request_id
from openrespond.logs import JsonFormatter
from tests.conftest import ServerThread, Workspace, make_settings, new_workspace


def test_every_answer_carries_a_request_id(ws: Workspace) -> None:
    r = ws.api.get("/space/user")
    assert len(r.headers["x-request-id"]) == 32
    assert ws.api.get("/space/user").headers["x-request-id"] != r.headers["x-request-id"]
    assert ws.api.get("/contact/id:999999999").headers["x-request-id"]  # errors too


@pytest.mark.parametrize(
    ("given", "kept"),
    [
        ("trace-42:abc.DEF_9", True),
        ("x" * 128, True),
        ("x" * 129, False),
        ("bad\tid", False),
        ("évil", False),
        ("", False),
    ],
)
def test_a_callers_request_id_is_kept_only_when_safe(ws: Workspace, given: str, kept: bool) -> None:
    # bytes, so that a non-ASCII id reaches the server as sent
    headers: dict[bytes, bytes] = {b"X-Request-Id": given.encode("utf-8")} if given else {}
    got = ws.api.get("/space/user", headers=headers).headers["x-request-id"]
    assert (got == given) is kept
    if not kept:
        assert len(got) == 32


def test_one_line_per_request_without_secrets(
    ws: Workspace, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.INFO, logger="openrespond.access"):
        r = ws.api.put(
            "/contact/email:secret-person@example.com",
            json={"firstName": "Hidden Name"},
            headers={"X-Request-Id": "req-123"},
        )
    lines = [rec for rec in caplog.records if getattr(rec, "request_id", None) == "req-123"]
    assert len(lines) == 1
    rec = lines[0]
    assert (rec.method, rec.route, rec.status, rec.workspace) == (  # type: ignore[attr-defined]
        "PUT",
        "/v2/contact/{identifier}",
        r.status_code,
        ws.wid,
    )
    text = JsonFormatter().format(rec)
    data = json.loads(text)
    assert data["request_id"] == "req-123"
    assert data["duration_ms"] >= 0
    for secret in (ws.token, "secret-person", "Hidden Name"):
        assert secret not in text


def test_paths_no_route_serves_are_logged_without_the_path(
    ws: Workspace, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.INFO, logger="openrespond.access"):
        r = ws.api.get("/no-such/hidden@example.com", headers={"X-Request-Id": "req-404"})
    assert r.status_code == 404
    assert r.headers["x-request-id"] == "req-404"
    [rec] = [rec for rec in caplog.records if getattr(rec, "request_id", None) == "req-404"]
    assert (rec.route, rec.status) == ("(unmatched)", 404)  # type: ignore[attr-defined]
    assert "hidden@example.com" not in JsonFormatter().format(rec)


def test_delivery_and_webhook_attempts_are_logged_with_their_ids(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    from tests.webhooks.receiver import receiving, subscribe

    settings = make_settings(tmp_path / "attempts.db", retry_base_ms=50)
    with (
        receiving(script=[(500, {}, 0.0)]) as rx,
        caplog.at_level(logging.DEBUG, logger="openrespond"),
        ServerThread(create_app(settings)) as url,
        new_workspace(url) as w,
    ):
        subscribe(w.control, w.wid, rx.url, events=["contact.created"])
        ada = w.contact("Ada", phone="+60123450009")
        sent = w.api.post(
            f"/contact/id:{ada}/message",
            json={"channelId": w.channel_id, "message": {"type": "text", "text": "private words"}},
        )
        message_id = sent.json()["messageId"]
        rx.wait_for(2)  # the first post failed, the retry went through
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            hooks = [rec for rec in caplog.records if getattr(rec, "event_id", None)]
            if len(hooks) >= 2 and any(getattr(rec, "message_id", None) for rec in caplog.records):
                break
            time.sleep(0.02)
    event_id = rx.events()[0]["event_id"]
    attempts = [
        (rec.attempt, rec.status_code, rec.levelname)  # type: ignore[attr-defined]
        for rec in caplog.records
        if getattr(rec, "event_id", None) == event_id
    ]
    assert attempts == [(1, 500, "WARNING"), (2, 200, "DEBUG")]
    [delivery] = [rec for rec in caplog.records if getattr(rec, "message_id", None) == message_id]
    assert (delivery.attempt, delivery.driver) == (1, "sandbox")  # type: ignore[attr-defined]
    everything = "\n".join(JsonFormatter().format(rec) for rec in caplog.records)
    assert "private words" not in everything
    assert w.token not in everything


def _call(app: Any, scope_extra: dict[str, Any] | None = None) -> list[dict[str, Any]]:
    """Run ``RequestLogMiddleware(app)`` on one GET; the messages it sent."""
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    scope = {"type": "http", "method": "GET", "path": "/x", "headers": [], **(scope_extra or {})}
    asyncio.run(RequestLogMiddleware(app)(scope, receive, send))
    return sent


def test_an_application_failing_before_its_answer_gets_a_json_500(
    caplog: pytest.LogCaptureFixture,
) -> None:
    async def failing(scope: Any, receive: Any, send: Any) -> None:
        raise RuntimeError("boom")

    async def silent(scope: Any, receive: Any, send: Any) -> None:
        return None

    for app in (failing, silent):
        with caplog.at_level(logging.ERROR, logger="openrespond.http"):
            start, body = _call(app)
        assert start["status"] == 500
        headers = dict(start["headers"])
        assert headers[b"content-type"] == b"application/json"
        assert len(headers[b"x-request-id"]) == 32
        assert json.loads(body["body"]) == {"code": 500, "message": "internal error"}
    assert "unhandled error before the response started" in caplog.text
    assert "returned without a response" in caplog.text


def test_no_answer_is_made_up_for_a_client_that_left_or_half_an_answer() -> None:
    async def silent(scope: Any, receive: Any, send: Any) -> None:
        return None

    assert _call(silent, {GONE_KEY: True}) == []

    async def half(scope: Any, receive: Any, send: Any) -> None:
        await send({"type": "http.response.start", "status": 200, "headers": []})
        raise RuntimeError("after the start")

    with pytest.raises(RuntimeError, match="after the start"):
        _call(half)


def test_new_request_ids_are_distinct_and_hex() -> None:
    ids = {request_id(None) for _ in range(2000)}  # several refills of the pool
    assert len(ids) == 2000
    assert all(len(i) == 32 and int(i, 16) >= 0 for i in ids)
