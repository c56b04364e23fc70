"""Prometheus metrics: what the server and its workers count, and the ``/metrics`` text.

Counters and histograms live in this process (prometheus-client's default registry) or, when
several processes serve one deployment, in files of a directory they share
(``OPENRESPOND_METRICS_DIR``; ``serve --workers N`` makes a private one), summed at scrape
time by prometheus-client's multiprocess collector. The queue gauges are read from the
database at scrape time, so every process answers the same for them.

Labels are bounded: route templates (never paths, which hold emails and phones), methods,
status codes, channel sources, driver names and outcomes; never ids or message text.
"""

from __future__ import annotations

import os
import time
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

__all__ = [
    "CONTENT_TYPE",
    "HTTP_DURATION",
    "HTTP_REQUESTS",
    "MESSAGES",
    "MESSAGES_RECEIVED",
    "RATE_LIMITED",
    "WEBHOOK_DELIVERIES",
    "count_on_commit",
    "multiprocess_dir",
    "observe_request",
    "render",
    "serve_http",
]

_DIR_ENV = "OPENRESPOND_METRICS_DIR"
_PROM_ENV = "PROMETHEUS_MULTIPROC_DIR"

# prometheus-client picks its storage when imported: the shared directory, if any, must be
# known first.
if os.environ.get(_DIR_ENV) and not os.environ.get(_PROM_ENV):
    os.environ[_PROM_ENV] = os.environ[_DIR_ENV]

from prometheus_client import (  # noqa: E402
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Histogram,
    disable_created_metrics,
    generate_latest,
    multiprocess,
    start_http_server,
    values,
)
from prometheus_client.core import GaugeMetricFamily  # noqa: E402

if os.environ.get(_PROM_ENV) and values.ValueClass is values.MutexValue:
    # Imported before the directory was set: switch to the files for every metric made now.
    values.ValueClass = values.get_value_class()  # type: ignore[no-untyped-call]

disable_created_metrics()  # type: ignore[no-untyped-call]
# The web framework adds the charset itself.
CONTENT_TYPE = CONTENT_TYPE_LATEST.replace("; charset=utf-8", "")

HTTP_REQUESTS = Counter(
    "openrespond_http_requests",
    "HTTP requests answered, by route template, method and status.",
    ["route", "method", "status"],
)
HTTP_DURATION = Histogram(
    "openrespond_http_request_duration_seconds",
    "Time from a request's arrival to the end of its answer, by route template and method.",
    ["route", "method"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)
MESSAGES = Counter(
    "openrespond_messages",
    "Outgoing messages by channel source, driver and status: queued when the API accepts"
    " one, then sent, delivered or failed as delivery records it, retried for each attempt"
    " that will be tried again.",
    ["source", "driver", "status"],
)
MESSAGES_RECEIVED = Counter(
    "openrespond_messages_received",
    "Incoming messages stored, by channel source.",
    ["source"],
)
WEBHOOK_DELIVERIES = Counter(
    "openrespond_webhook_deliveries",
    "Webhook delivery attempts by outcome: delivered, retried, failed (given up) or"
    " disabled (the endpoint answered 410).",
    ["outcome"],
)
RATE_LIMITED = Counter(
    "openrespond_rate_limited",
    "Requests answered 429 by the rate limiter.",
    ["kind"],
)


_HTTP_CHILDREN: dict[tuple[str, str, int], tuple[Any, Any]] = {}


def observe_request(route: str, method: str, status: int, seconds: float) -> None:
    """Count one answered request and its duration. The labelled children are kept per
    (route, method, status), all bounded, so the hot path skips prometheus-client's lookup."""
    key = (route, method, status)
    children = _HTTP_CHILDREN.get(key)
    if children is None:
        children = _HTTP_CHILDREN[key] = (
            HTTP_REQUESTS.labels(route, method, str(status)),
            HTTP_DURATION.labels(route, method),
        )
    children[0].inc()
    children[1].observe(seconds)


def multiprocess_dir() -> str | None:
    """The shared directory this process writes its metrics to, if any."""
    return os.environ.get(_PROM_ENV) or None


def count_on_commit(tx: Any, child: Any, n: int = 1) -> None:
    """Add ``n`` to ``child`` (a labelled counter) once ``tx`` commits; each call counts."""
    tx.on_commit(lambda: child.inc(n))


# A queue's name, what it holds, and how to read (depth, oldest queued ms) from a connection.
Queue = tuple[str, str, Callable[[Any], Awaitable[tuple[int, int | None]]]]


async def _queue_gauges(db: Any, queues: Sequence[Queue]) -> list[GaugeMetricFamily]:
    """Depth and oldest age of each queue, as the database has them."""
    now_ms = time.time() * 1000
    reader = db.reader()
    out = []
    for name, what, stats in queues:
        depth_now, oldest = await stats(reader)
        depth = GaugeMetricFamily(f"openrespond_{name}_queue_depth", what + ".")
        depth.add_metric([], float(depth_now))
        age = GaugeMetricFamily(
            f"openrespond_{name}_queue_oldest_age_seconds",
            f"Age of the oldest entry of the {name} queue (0 when it is empty).",
        )
        age.add_metric([], max(0.0, (now_ms - oldest) / 1000) if oldest is not None else 0.0)
        out += [depth, age]
    return out


class _Fixed:
    """A collector that yields metrics computed beforehand (the database's, read async)."""

    def __init__(self, families: list[Any]) -> None:
        self.families = families

    def collect(self) -> list[Any]:
        return self.families


def _registry() -> Any:
    """This process's metrics, or every process's from the shared directory."""
    if multiprocess_dir():
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
        return registry
    return REGISTRY


def serve_http(port: int, host: str = "127.0.0.1") -> None:
    """Serve the counters on ``http://host:port/metrics`` from a background thread (a worker
    process, which has no HTTP server of its own; the queue gauges come from ``serve``)."""
    start_http_server(port, addr=host, registry=_registry())


async def render(db: Any, queues: Sequence[Queue] = ()) -> bytes:
    """The Prometheus text of every metric: this process's (or every process's, from the
    shared directory) and the database's ``queues`` gauges."""
    counted = generate_latest(_registry())
    try:
        gauges = await _queue_gauges(db, queues)
    except Exception:  # an unreachable database must not hide the counters
        gauges = []
    up = GaugeMetricFamily(
        "openrespond_database_up", "Whether the database answered this scrape's queries."
    )
    up.add_metric([], 1.0 if gauges else 0.0)
    scrape = CollectorRegistry(auto_describe=False)
    scrape.register(_Fixed([*gauges, up]))
    return counted + generate_latest(scrape)
