"""The two log formats: one line per record, UTC times, fields in JSON, errors kept."""

from __future__ import annotations

import asyncio
import json
import logging
import os
import re
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from openrespond.logs import AccessLines, JsonFormatter, TextFormatter


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


def _access_record(fmt_extra: dict[str, object], created: float) -> logging.LogRecord:
    record = logging.makeLogRecord(
        {
            "name": "openrespond.access",
            "levelno": 20,
            "levelname": "INFO",
            "msg": "%s %s %s %.1f ms",
            "args": ("GET", "/v2/contact/{identifier}", 200, 0.4321),
            "created": created,
            "msecs": int((created - int(created)) * 1000) + 0.0,
        }
    )
    record.__dict__.update(fmt_extra)
    return record


@pytest.mark.parametrize("fmt", ["text", "json"])
def test_access_lines_read_as_the_formatters_write_them(
    fmt: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    created = 1796121845.25
    monkeypatch.setattr(time, "time", lambda: created)
    out = tmp_path / "stderr"
    with out.open("w") as stream:
        lines = AccessLines(stream, fmt)
        lines.add("GET", "/v2/contact/{identifier}", 200, 0.4321, "r-9", 7)
        lines.flush()  # outside an event loop it was written at once; flushing again adds none
    extra = {
        "request_id": "r-9",
        "method": "GET",
        "route": "/v2/contact/{identifier}",
        "status": 200,
        "duration_ms": 0.43,
        "workspace": 7,
    }
    formatter = JsonFormatter() if fmt == "json" else TextFormatter()
    assert out.read_text() == formatter.format(_access_record(extra, created)) + "\n"


def test_access_lines_are_batched_in_whole_lines_under_the_pipe_limit() -> None:
    read_fd, write_fd = os.pipe()
    with os.fdopen(write_fd, "w") as stream:
        lines = AccessLines(stream, "text")

        async def many() -> None:
            for i in range(300):
                lines.add("GET", "/v2/contact/{identifier}", 200, 1.0, f"id-{i:04d}" * 4, None)
            await asyncio.sleep(AccessLines.DELAY * 3)  # the timer writes them

        asyncio.run(many())
        chunks = []
        os.set_blocking(read_fd, False)
        while True:
            try:
                chunk = os.read(read_fd, 65536)
            except BlockingIOError:
                break
            chunks.append(chunk)
    os.close(read_fd)
    data = b"".join(chunks).decode()
    got = data.splitlines()
    assert len(got) == 300
    assert [line.split("[")[1] for line in got] == [f"{f'id-{i:04d}' * 4}]" for i in range(300)]
    assert data.endswith("\n")


@pytest.fixture
def configured(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """``logs.configure`` may run in this test; the logging state is put back after it."""
    from openrespond import logs

    root = logging.getLogger("openrespond")
    for name in ("_srcfile", "logThreads", "logProcesses", "logMultiprocessing"):
        monkeypatch.setattr(logging, name, getattr(logging, name))
    monkeypatch.setattr(logs, "_access", None)
    previous = (root.handlers[:], root.level, root.propagate)
    yield
    root.handlers[:], root.level, root.propagate = previous


def test_other_records_come_after_the_kept_access_lines(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, configured: None
) -> None:
    from openrespond import logs

    out = tmp_path / "stderr"
    with out.open("w") as stream:
        monkeypatch.setattr(sys, "stderr", stream)
        logs.configure("text", "info")
        writer = logs.access_lines()
        assert writer is not None
        writer._pending.append("first\n")  # as if added inside an event loop
        writer._scheduled = True
        logging.getLogger("openrespond.test").warning("second")
    text = out.read_text().splitlines()
    assert text[0] == "first"
    assert text[1].endswith("WARNING openrespond.test: second")


def test_request_lines_off_below_info(configured: None) -> None:
    from openrespond import logs

    logs.configure("text", "warning")
    assert logs.access_lines() is None
    logs.configure("json", "info")
    assert logs.access_lines() is not None
