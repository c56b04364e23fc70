"""The two log formats: one line per record, UTC times, fields in JSON, errors kept."""

from __future__ import annotations

import json
import logging
import re
from pathlib import Path

from openrespond.logs import JsonFormatter, TextFormatter


def _record(**extra: object) -> logging.LogRecord:
    record = logging.makeLogRecord(
        {
            "name": "openrespond.access",
            "levelno": 20,
            "levelname": "INFO",
            "msg": "GET %s 200",
            "args": ("/healthz",),
            "created": 1796121845.25,
            "msecs": 250.0,
        }
    )
    record.__dict__.update(extra)
    return record


def test_json_lines_carry_the_fields() -> None:
    line = JsonFormatter().format(_record(request_id="r-1", status=200, where=Path("/x")))
    assert "\n" not in line
    data = json.loads(line)
    assert data == {
        "ts": "2026-12-01T10:44:05.250Z",
        "level": "info",
        "logger": "openrespond.access",
        "message": "GET /healthz 200",
        "request_id": "r-1",
        "status": 200,
        "where": "/x",  # what JSON cannot hold is written as text
    }


def test_text_lines_end_with_the_request_id() -> None:
    line = TextFormatter().format(_record(request_id="r-2"))
    assert line == "2026-12-01 10:44:05.250 INFO openrespond.access: GET /healthz 200 [r-2]"
    assert not TextFormatter().format(_record()).endswith("]")


def test_errors_keep_their_traceback() -> None:
    try:
        raise ValueError("boom")
    except ValueError:
        import sys

        record = _record()
        record.exc_info = sys.exc_info()
    assert "ValueError: boom" in json.loads(JsonFormatter().format(record))["error"]
    text = TextFormatter().format(record)
    assert re.search(r"Traceback .*ValueError: boom", text, re.S)
