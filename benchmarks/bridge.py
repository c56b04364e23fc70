"""A custom-channel bridge for the benchmark: answers every POST with a fresh ``{"mId"}``."""

from __future__ import annotations

import itertools
from typing import Any

from openrespond.asgi import lifespan, read_body

_ids = itertools.count(1)


async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    if scope["type"] == "lifespan":
        await lifespan(receive, send)
        return
    await read_body(receive, limit=1 << 20)
    body = b'{"mId":"bench-%d"}' % next(_ids)
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": 200, "headers": headers})
    await send({"type": "http.response.body", "body": body})
