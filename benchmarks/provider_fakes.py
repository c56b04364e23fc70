"""The providers' send endpoints for the benchmark, as bare as ``bridge.py``: each POST is
answered with the provider's success shape and a fresh id (Meta's ``wamid``, Telegram's
``message_id``, Twilio's ``sid``)."""

from __future__ import annotations

import itertools
import json
from typing import Any

from openrespond.asgi import lifespan, read_body

_ids = itertools.count(1)


def _answer(path: str, n: int) -> tuple[int, bytes]:
    body: dict[str, Any]
    if path.endswith("/messages"):  # Graph API: /{version}/{phone-number-id}/messages
        body = {"messaging_product": "whatsapp", "messages": [{"id": f"wamid.BENCH{n}"}]}
        return 200, json.dumps(body).encode()
    if "/bot" in path:  # Bot API: /bot<token>/sendMessage
        body = {"ok": True, "result": {"message_id": n, "chat": {"id": 1}, "date": 0}}
        return 200, json.dumps(body).encode()
    if path.endswith("/Messages.json"):  # Twilio: /2010-04-01/Accounts/{sid}/Messages.json
        return 201, json.dumps({"sid": f"SM{n:032x}", "status": "queued"}).encode()
    return 404, b"{}"


async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    if scope["type"] == "lifespan":
        await lifespan(receive, send)
        return
    await read_body(receive, limit=1 << 20)
    status, body = _answer(scope["path"], next(_ids))
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
