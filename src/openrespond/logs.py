"""Where the server's log lines go: stderr, as readable text or one JSON object per line
(``OPENRESPOND_LOG_FORMAT=json``), with the fields a line carries (request id, route…)."""

from __future__ import annotations

import asyncio
import atexit
import logging
import os
import sys
import threading
import time
from typing import IO, Any

import msgspec

__all__ = ["AccessLines", "JsonFormatter", "TextFormatter", "access_lines", "configure"]

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


class AccessLines:
    """The request lines of a configured process, written without a ``LogRecord`` each.

    A line is formatted in place, exactly as the formatter of its format would write it, and
    kept; the kept lines are written together at most ``DELAY`` seconds later (at once when
    ``BATCH`` are waiting, before any other record of the process, and at exit), in writes
    of at most ``PIPE_BUF`` bytes each ending at a line's end, so that the lines of several
    processes sharing one pipe never interleave. A ``kill -9`` loses at most the last
    ``DELAY`` seconds of request lines (the request log in the database is not affected).
    """

    DELAY = 0.05
    BATCH = 512
    PIPE_BUF = 4096

    def __init__(self, stream: IO[str], fmt: str) -> None:
        self._stream = stream
        self._json = fmt == "json"
        self._pending: list[str] = []
        self._scheduled = False
        self._lock = threading.Lock()
        self._ts: list[Any] = [None, ""]
        try:
            self._fd: int | None = stream.fileno()
        except (AttributeError, OSError, ValueError):
            self._fd = None

    def add(
        self,
        method: str,
        route: str,
        status: int,
        duration_ms: float,
        request_id: str,
        workspace: int | None,
    ) -> None:
        """One request's line (``openrespond.access`` at ``info``)."""
        created = time.time()
        ms = int((created - int(created)) * 1000)
        message = f"{method} {route} {status} {duration_ms:.1f} ms"
        if self._json:
            line = _encode(
                {
                    "ts": f"{_second(created, '%Y-%m-%dT%H:%M:%S', self._ts)}.{ms:03d}Z",
                    "level": "info",
                    "logger": "openrespond.access",
                    "message": message,
                    "request_id": request_id,
                    "method": method,
                    "route": route,
                    "status": status,
                    "duration_ms": round(duration_ms, 2),
                    "workspace": workspace,
                }
            ).decode()
        else:
            stamp = _second(created, "%Y-%m-%d %H:%M:%S", self._ts)
            line = f"{stamp}.{ms:03d} INFO openrespond.access: {message} [{request_id}]"
        with self._lock:
            self._pending.append(line + "\n")
            waiting = len(self._pending)
            if self._scheduled and waiting < self.BATCH:
                return
            self._scheduled = True
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            loop = None
        if loop is None or waiting >= self.BATCH:
            self.flush()
        else:
            loop.call_later(self.DELAY, self.flush)

    def flush(self) -> None:
        """Write the kept lines now."""
        with self._lock:
            lines, self._pending, self._scheduled = self._pending, [], False
        if not lines:
            return
        try:
            if self._fd is None:
                self._stream.write("".join(lines))
                self._stream.flush()
                return
            self._stream.flush()  # whatever the stream holds goes first
            for chunk in _chunks(lines, self.PIPE_BUF):
                os.write(self._fd, chunk)
        except (OSError, ValueError):
            pass  # stderr closed or gone: as logging's own handler, drop the lines


def _chunks(lines: list[str], limit: int) -> list[bytes]:
    """``lines`` encoded and joined into pieces of at most ``limit`` bytes (a longer line is
    a piece of its own)."""
    pieces: list[bytes] = []
    current: list[bytes] = []
    size = 0
    for line in lines:
        data = line.encode("utf-8", "replace")
        if current and size + len(data) > limit:
            pieces.append(b"".join(current))
            current, size = [], 0
        current.append(data)
        size += len(data)
    if current:
        pieces.append(b"".join(current))
    return pieces


_access: AccessLines | None = None


def access_lines() -> AccessLines | None:
    """This process's request-line writer: set by ``configure`` when request lines are on
    (level ``info`` or lower), else None (lines then go through ``logging``, as in tests)."""
    return _access


class _Handler(logging.StreamHandler):  # type: ignore[type-arg]
    """stderr, after any request lines still kept (so lines stay in order)."""

    def emit(self, record: logging.LogRecord) -> None:
        if _access is not None:
            _access.flush()
        super().emit(record)


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
    global _access
    if _access is not None:
        _access.flush()
    handler = _Handler(sys.stderr)
    handler._openrespond = True  # type: ignore[attr-defined]
    handler.setFormatter(JsonFormatter() if fmt == "json" else TextFormatter())
    root.addHandler(handler)
    root.setLevel(level)
    root.propagate = False
    access = logging.getLogger("openrespond.access")
    on = access.isEnabledFor(logging.INFO) and not access.handlers and access.propagate
    _access = AccessLines(sys.stderr, fmt) if on else None
    if _access is not None:
        atexit.register(_access.flush)
