"""Small pieces of bare ASGI shared by the server's middleware and the bare receivers
(``webhooks listen``, test and benchmark peers)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

__all__ = ["Disconnected", "Receive", "Scope", "Send", "body_seconds", "lifespan", "read_body"]

Scope = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[MutableMapping[str, Any]]]
Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]


# The slowest upload a request body's deadline allows for, beyond its timeout: bytes a second.
MIN_BODY_RATE = 64 * 1024


def body_seconds(timeout: float, headers: Any) -> float:
    """How long a request body may take to arrive: ``timeout``, plus a second for every 64 KiB
    its ``content-length`` (in ASGI ``headers``) announces, so that a large body on a slow
    link still arrives and a stalled one does not."""
    for name, value in headers or ():
        if name == b"content-length" and value.isdigit():
            return timeout + int(value) / MIN_BODY_RATE
    return timeout


async def lifespan(receive: Receive, send: Send) -> None:
    """Answer an ASGI server's lifespan messages (nothing to set up or tear down)."""
    while True:
        kind = (await receive())["type"]
        if kind == "lifespan.startup":
            await send({"type": "lifespan.startup.complete"})
        elif kind == "lifespan.shutdown":
            await send({"type": "lifespan.shutdown.complete"})
            return


class Disconnected(Exception):
    """The client went away before its request body was complete."""


async def read_body(receive: Receive, *, limit: int) -> bytes | None:
    """The whole request body, or None once it grows past ``limit`` bytes; ``Disconnected``
    when the client leaves before the end (a part is never taken for the whole)."""
    body = b""
    more = True
    while more:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise Disconnected
        body += message.get("body", b"")
        more = message.get("more_body", False)
        if len(body) > limit:
            return None
    return body
