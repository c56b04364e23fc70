"""A scriptable webhook receiver on loopback: records every request, answers as told."""

from __future__ import annotations

import asyncio
import json
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import httpx

from openrespond.asgi import Disconnected, lifespan, read_body
from tests.conftest import ServerThread


@dataclass
class Received:
    headers: dict[str, str]
    body: bytes
    at: float
    path: str = "/"

    @property
    def event(self) -> dict[str, Any]:
        data: dict[str, Any] = json.loads(self.body)
        return data


@dataclass
class Receiver:
    """Answers each request with the next scripted answer (status, headers, delay seconds),
    then with ``default`` once the script is used up."""

    url: str = ""
    requests: list[Received] = field(default_factory=list)
    script: list[tuple[int, dict[str, str], float]] = field(default_factory=list)
    default: int = 200
    body: bytes = b'{"ok":true}'
    # Builds the answer's body from the request instead of ``body`` (e.g. a bridge's mId).
    reply: Callable[[Received], bytes] | None = None
    lock: threading.Lock = field(default_factory=threading.Lock)

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            await lifespan(receive, send)
            return
        try:
            body = await read_body(receive, limit=64 * 1024 * 1024) or b""
        except Disconnected:
            return  # the sender went away mid-body (it was killed): nothing was received
        headers = {k.decode().lower(): v.decode() for k, v in scope["headers"]}
        received = Received(headers, body, time.time(), scope["path"])
        with self.lock:
            self.requests.append(received)
            status, extra, delay = self.script.pop(0) if self.script else (self.default, {}, 0.0)
        answer = self.reply(received) if self.reply is not None else self.body
        if delay:
            await asyncio.sleep(delay)
        await send(
            {
                "type": "http.response.start",
                "status": status,
                "headers": [(k.encode(), v.encode()) for k, v in extra.items()],
            }
        )
        await send({"type": "http.response.body", "body": answer})

    def events(self, event_type: str | None = None) -> list[dict[str, Any]]:
        with self.lock:
            found = [r.event for r in self.requests]
        return [e for e in found if event_type is None or e["event_type"] == event_type]

    def wait_for(
        self, count: int, event_type: str | None = None, timeout: float = 10
    ) -> list[dict[str, Any]]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            found = self.events(event_type)
            if len(found) >= count:
                return found
            time.sleep(0.02)
        raise AssertionError(
            f"expected {count} {event_type or 'event'}(s), got {len(self.events(event_type))}:"
            f" {[e['event_type'] for e in self.events()]}"
        )


@contextmanager
def receiving(**kwargs: Any) -> Iterator[Receiver]:
    receiver = Receiver(**kwargs)
    with ServerThread(receiver) as url:
        receiver.url = url + "/hook"
        yield receiver


def subscribe(control: httpx.Client, wid: int, url: str, **body: Any) -> dict[str, Any]:
    """A webhook subscription of workspace ``wid`` posting to ``url``, made through the
    control API."""
    r = control.post(f"/control/workspaces/{wid}/webhooks", json={"url": url, **body})
    assert r.status_code == 200, r.text
    hook: dict[str, Any] = r.json()
    return hook


def bridge_channel(control: httpx.Client, wid: int, bridge: Receiver) -> int:
    """A custom channel of workspace ``wid`` whose bridge is ``bridge``; its id."""
    r = control.post(
        f"/control/workspaces/{wid}/channels",
        json={
            "name": "Bridge",
            "source": "custom_channel",
            "driver": "custom_channel",
            "settings": {"apiBaseUrl": bridge.url.removesuffix("/hook")},
        },
    )
    assert r.status_code == 200, r.text
    channel: int = r.json()["id"]
    return channel
