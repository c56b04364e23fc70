"""X-Request-Id and the one log line per request."""

from __future__ import annotations

import json
import logging

import pytest

from openrespond.logs import JsonFormatter
from tests.conftest import Workspace


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
    headers = {"X-Request-Id": given.encode("utf-8")} if given else {}
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
    assert data["request_id"] == "req-123" and data["duration_ms"] >= 0
    for secret in (ws.token, "secret-person", "Hidden Name"):
        assert secret not in text
