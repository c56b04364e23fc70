"""Where the server's log lines go: stderr, as readable text or one JSON object per line
(``OPENRESPOND_LOG_FORMAT=json``), with the fields a line carries (request id, route…)."""

from __future__ import annotations

import json
import logging
import sys
import time

__all__ = ["JsonFormatter", "configure"]

_STANDARD = set(vars(logging.makeLogRecord({}))) | {"message", "asctime"}


class JsonFormatter(logging.Formatter):
    """``{"ts", "level", "logger", "message", ...fields}`` on one line."""

    def format(self, record: logging.LogRecord) -> str:
        line = {
            "ts": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created))
            + f".{int(record.msecs):03d}Z",
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        line.update({k: v for k, v in vars(record).items() if k not in _STANDARD})
        if record.exc_info:
            line["error"] = self.formatException(record.exc_info)
        return json.dumps(line, default=str, ensure_ascii=False)


class _TextFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        base = super().format(record)
        rid = getattr(record, "request_id", None)
        return f"{base} [{rid}]" if rid else base


def configure(fmt: str = "text", level: int | str = logging.INFO) -> None:
    """Send ``openrespond`` loggers to stderr in ``fmt`` (``text`` or ``json``) from ``level``
    up (a number, or ``debug``, ``info``, ``warning``, ``error``), once."""
    if isinstance(level, str):
        level = logging.getLevelNamesMapping()[level.upper()]
    root = logging.getLogger("openrespond")
    for handler in list(root.handlers):
        if getattr(handler, "_openrespond", False):
            root.removeHandler(handler)
    handler = logging.StreamHandler(sys.stderr)
    handler._openrespond = True  # type: ignore[attr-defined]
    handler.setFormatter(
        JsonFormatter()
        if fmt == "json"
        else _TextFormatter("%(asctime)s %(levelname)s %(name)s: %(message)s")
    )
    root.addHandler(handler)
    root.setLevel(level)
    root.propagate = False
