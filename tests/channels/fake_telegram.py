"""Telegram's Bot API played on loopback, from its public documentation: methods at
``/bot<token>/<method>`` (JSON bodies), answers ``{"ok": true, "result": ...}`` or ``{"ok":
false, "error_code", "description", "parameters"?}``, ``getFile`` and downloads at
``/file/bot<token>/<path>``, ``setWebhook``/``deleteWebhook``, and ``getUpdates`` long polling
(which Telegram refuses while a webhook is set)."""

from __future__ import annotations

import asyncio
import itertools
import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import httpx

from openrespond.asgi import lifespan, read_body
from tests.conftest import ServerThread

TOKEN = "123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw"


def failure(code: int, description: str, **parameters: Any) -> tuple[int, dict[str, Any]]:
    body: dict[str, Any] = {"ok": False, "error_code": code, "description": description}
    if parameters:
        body["parameters"] = parameters
    return code, body


@dataclass
class FakeTelegram:
    url: str = ""
    calls: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    script: list[tuple[int, dict[str, Any]]] = field(default_factory=list)
    updates: list[dict[str, Any]] = field(default_factory=list)
    files: dict[str, tuple[str, bytes]] = field(default_factory=dict)
    webhook: dict[str, Any] = field(default_factory=dict)
    closing: bool = False
    lock: threading.Lock = field(default_factory=threading.Lock)
    _ids: Iterator[int] = field(default_factory=lambda: itertools.count(100))
    _update_ids: Iterator[int] = field(default_factory=lambda: itertools.count(500_000))

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            await lifespan(receive, send)
            return
        body = await read_body(receive, limit=64 * 1024 * 1024) or b""
        status, answer, content_type = await self.answer(scope["method"], scope["path"], body)
        await send(
            {
                "type": "http.response.start",
                "status": status,
                "headers": [(b"content-type", content_type.encode())],
            }
        )
        await send({"type": "http.response.body", "body": answer})

    async def answer(self, method: str, path: str, body: bytes) -> tuple[int, bytes, str]:
        parts = path.strip("/").split("/")
        if parts[0] == "file" and len(parts) >= 3:
            if parts[1] != f"bot{TOKEN}":
                return 404, b"Not Found", "text/plain"
            for file_path, data in self.files.values():
                if "/".join(parts[2:]) == file_path:
                    return 200, data, "application/octet-stream"
            return 404, b"Not Found", "text/plain"
        if len(parts) != 2 or parts[0] != f"bot{TOKEN}":
            status, error = failure(401, "Unauthorized")
            return status, json.dumps(error).encode(), "application/json"
        name = parts[1]
        params: dict[str, Any] = json.loads(body) if body else {}
        with self.lock:
            self.calls.append((name, params))
        if name == "getUpdates":
            return await self._get_updates(params)
        with self.lock:
            scripted = self.script.pop(0) if self.script and name.startswith("send") else None
        if scripted is not None:
            return scripted[0], json.dumps(scripted[1]).encode(), "application/json"
        result = self._method(name, params)
        if isinstance(result, tuple):
            return result[0], json.dumps(result[1]).encode(), "application/json"
        return 200, json.dumps({"ok": True, "result": result}).encode(), "application/json"

    def _method(self, name: str, params: dict[str, Any]) -> Any:
        if name == "setWebhook":
            url = str(params.get("url", ""))
            if not url.startswith("https://"):
                return failure(
                    400, "Bad Request: bad webhook: An HTTPS URL must be provided for webhook"
                )
            self.webhook = params
            return True
        if name == "deleteWebhook":
            self.webhook = {}
            return True
        if name == "getFile":
            found = self.files.get(str(params.get("file_id")))
            if found is None:
                return failure(400, "Bad Request: invalid file_id")
            return {
                "file_id": params["file_id"],
                "file_unique_id": "u1",
                "file_size": len(found[1]),
                "file_path": found[0],
            }
        if name.startswith("send"):
            if "chat_id" not in params:
                return failure(400, "Bad Request: chat_id is empty")
            return {
                "message_id": next(self._ids),
                "date": int(time.time()),
                "chat": {"id": params["chat_id"], "type": "private"},
                **({"text": params["text"]} if "text" in params else {}),
            }
        return failure(404, "Not Found: method not found")

    async def _get_updates(self, params: dict[str, Any]) -> tuple[int, bytes, str]:
        if self.webhook:
            status, error = failure(
                409,
                "Conflict: can't use getUpdates method while webhook is active; use deleteWebhook to delete the webhook first",
            )
            return status, json.dumps(error).encode(), "application/json"
        offset = int(params.get("offset") or 0)
        deadline = time.monotonic() + float(params.get("timeout") or 0)
        while True:
            with self.lock:
                # sending an offset confirms (forgets) every update before it
                self.updates = [u for u in self.updates if u["update_id"] >= offset]
                ready = list(self.updates)
            if ready or time.monotonic() >= deadline or self.closing:
                return 200, json.dumps({"ok": True, "result": ready}).encode(), "application/json"
            await asyncio.sleep(0.02)

    def queue(self, update: dict[str, Any]) -> dict[str, Any]:
        """An update waiting for getUpdates (it gets the next update_id)."""
        with self.lock:
            update = {"update_id": next(self._update_ids), **update}
            self.updates.append(update)
        return update

    def sent(self, count: int, timeout: float = 10) -> list[tuple[str, dict[str, Any]]]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self.lock:
                found = [c for c in self.calls if c[0].startswith("send")]
            if len(found) >= count:
                return found
            time.sleep(0.01)
        raise AssertionError(f"expected {count} sends, got {self.calls}")


def message_update(chat_id: int, text: str | None, message_id: int, **extra: Any) -> dict[str, Any]:
    """An Update with a private message from user ``chat_id``."""
    message: dict[str, Any] = {
        "message_id": message_id,
        "date": int(time.time()),
        "chat": {"id": chat_id, "type": "private", "first_name": "Tara"},
        "from": {
            "id": chat_id,
            "is_bot": False,
            "first_name": "Tara",
            "last_name": "Ng",
            "language_code": "en",
        },
        **extra,
    }
    if text is not None:
        message["text"] = text
    return {"message": message}


def post_update(url: str, update: dict[str, Any], secret: str | None) -> httpx.Response:
    headers = {"Content-Type": "application/json"}
    if secret is not None:
        headers["X-Telegram-Bot-Api-Secret-Token"] = secret
    return httpx.post(url, content=json.dumps(update).encode(), headers=headers)


@contextmanager
def fake_telegram() -> Iterator[FakeTelegram]:
    fake = FakeTelegram()
    with ServerThread(fake) as url:
        fake.url = url
        try:
            yield fake
        finally:
            fake.closing = True  # long polls in flight end now
