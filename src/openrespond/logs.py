"""Where the server's log lines go: stderr, as readable text or one JSON object per line
(``OPENRESPOND_LOG_FORMAT=json``), with the fields a line carries (request id, route…)."""

from __future__ import annotations

import logging
import sys
import time
from typing import Any

import msgspec

__all__ = ["JsonFormatter", "TextFormatter", "configure"]

_STANDARD = set(vars(logging.makeLogRecord({}))) | {"message", "asctime"}


def _second(created: float, fmt: str, cache: list[Any]) -> str:
    """``created`` to the second in ``fmt`` (UTC), computed once per second."""
    second = int(created)
    if cache[0] != second:
        cache[0], cache[1] = second, time.strftime(fmt, time.gmtime(second))
    return str(cache[1])


class JsonFormatter(logging.Formatter):
    """``{"ts", "level", "logger", "message", ...fields}`` on one line."""

    def __init__(self) -> None:
        super().__init__()
        self._ts: list[Any] = [None, ""]

    def format(self, record: logging.LogRecord) -> str:
        line = {
            "ts": f"{_second(record.created, '%Y-%m-%dT%H:%M:%S', self._ts)}"
            f".{int(record.msecs):03d}Z",
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        for key, value in record.__dict__.items():
            if key not in _STANDARD:
                line[key] = value
        if record.exc_info:
            line["error"] = self.formatException(record.exc_info)
        return _encode(line).decode()


def _encode(line: dict[str, Any]) -> bytes:
    try:
        return msgspec.json.encode(line)
    except TypeError:  # a field msgspec cannot encode: as text
        return msgspec.json.encode({k: _plain(v) for k, v in line.items()})


def _plain(value: Any) -> Any:
    return value if isinstance(value, str | int | float | bool | None) else str(value)


class TextFormatter(logging.Formatter):
    """``2026-12-01 10:38:33.123 INFO logger: message [request id]`` (UTC)."""

    def __init__(self) -> None:
        super().__init__()
        self._ts: list[Any] = [None, ""]

    def format(self, record: logging.LogRecord) -> str:
        stamp = f"{_second(record.created, '%Y-%m-%d %H:%M:%S', self._ts)}.{int(record.msecs):03d}"
        base = f"{stamp} {record.levelname} {record.name}: {record.getMessage()}"
        if record.exc_info:
            base += "\n" + self.formatException(record.exc_info)
        rid = getattr(record, "request_id", None)
        return f"{base} [{rid}]" if rid else base


def configure(fmt: str = "text", level: int | str = logging.INFO) -> None:
    """Send ``openrespond`` loggers to stderr in ``fmt`` (``text`` or ``json``) from ``level``
    up (a number, or ``debug``, ``info``, ``warning``, ``error``), once."""
    if isinstance(level, str):
        level = logging.getLevelNamesMapping()[level.upper()]
    # No line shows the caller's file, thread or process: skip finding them for each record
    # (the logging HOWTO's "Optimization"). Only server and worker processes call this.
    logging._srcfile = None
    logging.logThreads = False
    logging.logProcesses = False
    logging.logMultiprocessing = False
    root = logging.getLogger("openrespond")
    for handler in list(root.handlers):
        if getattr(handler, "_openrespond", False):
            root.removeHandler(handler)
    handler = logging.StreamHandler(sys.stderr)
    handler._openrespond = True  # type: ignore[attr-defined]
    handler.setFormatter(JsonFormatter() if fmt == "json" else TextFormatter())
    root.addHandler(handler)
    root.setLevel(level)
    root.propagate = False
