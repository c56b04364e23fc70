"""A minimal webhook receiver (a bare ASGI app): verifies each request's signature and hands
verified events to a callback. It answers 200 to verified events, 401 to the rest."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from typing import Any

from openrespond.asgi import Disconnected, Receive, Scope, Send, lifespan, read_body
from openrespond.webhooks.signing import SignatureError, verify

__all__ = ["receiver"]

MAX_BODY = 4 * 1024 * 1024


class _Headers(dict[str, str]):
    """Header lookups ignoring case, as :func:`verify` expects."""

    def get(self, key: str, default: Any = None) -> Any:
        return super().get(key.lower(), default)


def receiver(
    secret: str,
    on_event: Callable[[str, bytes, dict[str, Any]], None],
    on_reject: Callable[[str], None] = lambda reason: None,
) -> Callable[[Scope, Receive, Send], Awaitable[None]]:
    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await lifespan(receive, send)
            return
        if scope["type"] != "http":
            return
        try:
            body = await read_body(receive, limit=MAX_BODY)
        except Disconnected:
            return
        if body is None:
            await _answer(send, 413, "body too large")
            return
        if scope["method"] != "POST":
            await _answer(send, 405, "POST only")
            return
        headers = _Headers(
            (k.decode("latin-1").lower(), v.decode("latin-1")) for k, v in scope["headers"]
        )
        try:
            scheme = verify(secret, headers, body)
            event = json.loads(body)
            if not isinstance(event, dict):
                raise ValueError("not a JSON object")
        except SignatureError as exc:
            on_reject(str(exc))
            await _answer(send, 401, str(exc))
            return
        except ValueError as exc:
            on_reject(f"body is not a JSON object: {exc}")
            await _answer(send, 400, "body is not a JSON object")
            return
        on_event(scheme, body, event)
        await _answer(send, 200, "ok")

    return app


async def _answer(send: Send, status: int, message: str) -> None:
    body = json.dumps({"code": status, "message": message}).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})
