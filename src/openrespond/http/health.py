"""``GET /healthz`` (the process answers) and ``GET /readyz`` (it can do its work: the database
answers, its schema is current, the workers run). No token, no rate limit, nothing in the
answer beyond the names and states of the checks.

``GET /metrics`` serves the Prometheus text (see ``openrespond.metrics``), behind
``OPENRESPOND_METRICS_TOKEN`` as a bearer token when one is configured."""

from __future__ import annotations

import asyncio
import hmac
from typing import Any

import msgspec
from litestar import Request, get
from litestar.openapi.datastructures import ResponseSpec
from litestar.response import Response

from openrespond import metrics as prom
from openrespond.channels import delivery_queue
from openrespond.db.migrations import available
from openrespond.errors import Unauthorized
from openrespond.http.auth import bearer_token
from openrespond.http.routing import ErrorBody
from openrespond.webhooks import repository as webhooks

__all__ = ["ROUTES", "Health", "Readiness"]

Req = Request[Any, Any, Any]
_TIMEOUT_SECONDS = 2.0


class Health(msgspec.Struct):
    status: str


class Readiness(msgspec.Struct):
    """``status`` is ``ready`` or ``not ready``; ``checks`` maps each check to ``ok``, ``off``
    (the workers, when this process runs none) or what is wrong."""

    code: int
    status: str
    checks: dict[str, str]
    message: str | None = None


# The queues whose depth and oldest age /metrics reports, read from the database.
QUEUES: list[prom.Queue] = [
    (
        "delivery",
        "Outgoing messages waiting for delivery (due, leased or backing off)",
        delivery_queue.queue_stats,
    ),
    ("webhook", "Webhook deliveries pending (due, in flight or backing off)", webhooks.queue_stats),
]


@get(
    "/healthz",
    tags=["Operations"],
    summary="The process is alive",
    security=[],
    sync_to_thread=False,
)
def healthz() -> Health:
    return Health(status="ok")


@get(
    "/readyz",
    tags=["Operations"],
    operation_id="readyz",
    summary="Ready for traffic: database reachable, migrations current, workers running",
    security=[],
    responses={503: ResponseSpec(Readiness, description="Not ready: the failing checks")},
)
async def readyz(request: Req) -> Response[Readiness]:
    state = request.app.state
    checks = {
        "database": await _database(state),
        "migrations": await _migrations(state),
        "workers": _workers(state),
    }
    failing = [f"{name}: {value}" for name, value in checks.items() if value not in ("ok", "off")]
    if failing:
        body = Readiness(503, "not ready", checks, "not ready: " + "; ".join(failing))
        return Response(body, status_code=503)
    return Response(Readiness(200, "ready", checks), status_code=200)


async def _database(state: Any) -> str:
    try:
        await asyncio.wait_for(state.db.reader().fetch_val("SELECT 1"), _TIMEOUT_SECONDS)
    except Exception:  # the reason may name hosts: kept for the logs, not the answer
        return "unreachable"
    return "ok"


async def _migrations(state: Any) -> str:
    try:
        rows = await asyncio.wait_for(
            state.db.reader().fetch_all("SELECT version FROM schema_migrations"), _TIMEOUT_SECONDS
        )
    except Exception:
        return "unknown (database unreachable)"
    missing = {m.version for m in available(state.db.dialect)} - {r[0] for r in rows}
    return "ok" if not missing else f"{len(missing)} migration(s) pending"


def _workers(state: Any) -> str:
    if not state.settings.worker:
        return "off"
    workers = getattr(state, "workers", None)
    task = getattr(workers, "task", None)
    return "ok" if task is not None and not task.done() else "not running"


@get(
    "/metrics",
    tags=["Operations"],
    operation_id="metrics",
    summary="Prometheus metrics (text exposition format)",
    description="Requests, latencies, messages, webhook deliveries, rate-limit rejections and"
    " the queues. When OPENRESPOND_METRICS_TOKEN is set, it is required as a bearer token.",
    security=[],
    media_type=prom.CONTENT_TYPE,
    responses={
        401: ResponseSpec(
            ErrorBody,
            description="OPENRESPOND_METRICS_TOKEN is set and was not given as the bearer token",
            generate_examples=False,
        )
    },
)
async def metrics(request: Req) -> Response[bytes]:
    expected = request.app.state.settings.metrics_token
    if expected is not None:
        given = bearer_token(request.headers.get("authorization"))
        if given is None or not hmac.compare_digest(given.encode(), expected.encode()):
            raise Unauthorized(
                "metrics need the token configured in OPENRESPOND_METRICS_TOKEN, as"
                " Authorization: Bearer <token>",
                headers={"WWW-Authenticate": 'Bearer realm="metrics"'},
            )
    body = await prom.render(request.app.state.db, QUEUES)
    return Response(body, media_type=prom.CONTENT_TYPE)


ROUTES = [healthz, readyz, metrics]
