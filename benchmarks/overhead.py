"""What the per-request bookkeeping costs: a request's metrics and its log line, in µs.

Each piece is timed the way the server runs it and the way it ran before (prometheus-client's
label lookup on every request; the logging module's defaults with ``%(asctime)s`` and
``json.dumps``), in one process, one after the other, so the two figures compare on one
machine. Lines are written to /dev/null through a real stream handler.

    .venv/bin/python benchmarks/overhead.py [--count N]
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import time
import timeit
from collections.abc import Callable
from typing import TextIO

from openrespond import logs, metrics

ROUTE = "/v2/contact/{identifier}"
FIELDS = {
    "request_id": "0123456789abcdef0123456789abcdef",
    "method": "GET",
    "route": ROUTE,
    "status": 200,
    "duration_ms": 0.53,
    "workspace": 1,
}


def micros(fn: Callable[[], object], count: int) -> float:
    """The best of three runs of ``count`` calls, per call."""
    return min(timeit.repeat(fn, number=count, repeat=3)) / count * 1e6


class _OldJson(logging.Formatter):
    """The JSON formatter as it was: ``json.dumps`` and ``strftime`` on every record."""

    def format(self, record: logging.LogRecord) -> str:
        skip = set(vars(logging.makeLogRecord({}))) | {"message", "asctime"}
        line = {
            "ts": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created))
            + f".{int(record.msecs):03d}Z",
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        line.update({k: v for k, v in vars(record).items() if k not in skip})
        return json.dumps(line, default=str, ensure_ascii=False)


def log_line(formatter: logging.Formatter, sink: TextIO, *, lean: bool) -> Callable[[], None]:
    log = logging.getLogger("bench.access")
    log.handlers = []
    handler = logging.StreamHandler(sink)
    handler.setFormatter(formatter)
    log.addHandler(handler)
    log.setLevel(logging.INFO)
    log.propagate = False
    logging._srcfile = None if lean else logging.__file__
    logging.logThreads = logging.logProcesses = logging.logMultiprocessing = not lean

    def line() -> None:
        log.info("%s %s %s %.1f ms", "GET", ROUTE, 200, 0.53, extra=FIELDS)

    return line


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=50_000)
    args = parser.parse_args()
    n = args.count

    def labelled() -> None:
        metrics.HTTP_REQUESTS.labels(ROUTE, "GET", "200").inc()
        metrics.HTTP_DURATION.labels(ROUTE, "GET").observe(0.0005)

    rows = [
        ("metrics, label lookup each request", micros(labelled, n)),
        (
            "metrics, kept children (server)",
            micros(lambda: metrics.observe_request(ROUTE, "GET", 200, 0.0005), n),
        ),
    ]
    with open("/dev/null", "w") as sink:
        old_text = logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s")
        for name, formatter, lean in (
            ("text line, logging defaults (before)", old_text, False),
            ("text line, server (now)", logs.TextFormatter(), True),
            ("JSON line, logging defaults (before)", _OldJson(), False),
            ("JSON line, server (now)", logs.JsonFormatter(), True),
        ):
            rows.append((name, micros(log_line(formatter, sink, lean=lean), n // 5)))
        for fmt in ("text", "json"):
            lines = logs.AccessLines(sink, fmt)

            def direct(lines: logs.AccessLines = lines) -> None:
                lines.add("GET", ROUTE, 200, 0.53, "0123456789abcdef0123456789abcdef", 1)

            # Outside an event loop each line is written at once; the server's lines are
            # written in batches (one write per 50 ms), so this is an upper bound.
            rows.append((f"{fmt} request line, server's direct path", micros(direct, n // 5)))
    width = max(len(name) for name, _ in rows)
    for name, us in rows:
        print(f"{name:<{width}}  {us:6.1f} µs", file=sys.stdout)


if __name__ == "__main__":
    main()
