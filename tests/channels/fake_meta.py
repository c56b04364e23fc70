"""Meta's WhatsApp Cloud API played on loopback, from its public documentation: the send
endpoint (``POST /{version}/{phone-number-id}/messages``, bearer token, the Graph error
envelope), media lookups and downloads, ``message_templates``, and webhooks signed as Meta
signs them (``X-Hub-Signature-256``: HMAC-SHA256 of the raw body with the app secret)."""

from __future__ import annotations

import hashlib
import hmac
import itertools
import json
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs

import httpx

from openrespond.asgi import lifespan, read_body
from tests.conftest import ServerThread

VERSION = "v25.0"
PHONE_ID = "106540352242922"
WABA_ID = "102290129340398"
TOKEN = "EAAG-fake-access-token-0123456789"
APP_SECRET = "fake-app-secret-0123456789"
VERIFY_TOKEN = "fake-verify-token-0123"


def graph_error(
    code: int, message: str, *, status: int = 400, details: str = ""
) -> tuple[int, dict[str, Any]]:
    """An answer in the Graph API's error envelope."""
    error: dict[str, Any] = {
        "message": message,
        "type": "OAuthException",
        "code": code,
        "fbtrace_id": "AbCdEfGhIjK",
    }
    if details:
        error["error_data"] = {"messaging_product": "whatsapp", "details": details}
    return status, {"error": error}


@dataclass
class FakeMeta:
    """Records what openrespond sent; answers sends with the next scripted answer, then with
    success (a new wamid)."""

    url: str = ""
    sent: list[dict[str, Any]] = field(default_factory=list)
    script: list[tuple[int, dict[str, Any]]] = field(default_factory=list)
    media: dict[str, tuple[bytes, str]] = field(default_factory=dict)
    expired: set[str] = field(default_factory=set)
    templates: list[dict[str, Any]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    _ids: Iterator[int] = field(default_factory=lambda: itertools.count(1))

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            await lifespan(receive, send)
            return
        body = await read_body(receive, limit=64 * 1024 * 1024) or b""
        headers = {k.decode().lower(): v.decode() for k, v in scope["headers"]}
        status, answer, content_type = self.answer(
            scope["method"], scope["path"], scope.get("query_string", b"").decode(), headers, body
        )
        await send(
            {
                "type": "http.response.start",
                "status": status,
                "headers": [(b"content-type", content_type.encode())],
            }
        )
        await send({"type": "http.response.body", "body": answer})

    def answer(
        self, method: str, path: str, query: str, headers: dict[str, str], body: bytes
    ) -> tuple[int, bytes, str]:
        if headers.get("authorization") != f"Bearer {TOKEN}":
            status, error = graph_error(190, "Error validating access token", status=401)
            return status, json.dumps(error).encode(), "application/json"
        parts = path.strip("/").split("/")
        if method == "GET" and parts[0] == "files" and len(parts) == 2:
            if parts[1] in self.expired or parts[1] not in self.media:
                return 404, b"Not Found", "text/plain"
            data, mime = self.media[parts[1]]
            return 200, data, mime
        if parts[0] != VERSION:
            return 404, b"{}", "application/json"
        if method == "POST" and parts[1:] == [PHONE_ID, "messages"]:
            return self._send(json.loads(body))
        if method == "GET" and parts[1:] == [WABA_ID, "message_templates"]:
            return self._templates(parse_qs(query))
        if method == "GET" and len(parts) == 2:
            media_id = parts[1]
            if media_id not in self.media:
                status, error = graph_error(100, "(#100) Invalid parameter")
                return status, json.dumps(error).encode(), "application/json"
            data, mime = self.media[media_id]
            info = {
                "messaging_product": "whatsapp",
                "url": f"{self.url}/files/{media_id}",
                "mime_type": mime,
                "sha256": hashlib.sha256(data).hexdigest(),
                "file_size": len(data),
                "id": media_id,
            }
            return 200, json.dumps(info).encode(), "application/json"
        return 404, b"{}", "application/json"

    def _send(self, message: dict[str, Any]) -> tuple[int, bytes, str]:
        with self.lock:
            self.sent.append(message)
            scripted = self.script.pop(0) if self.script else None
        if scripted is not None:
            return scripted[0], json.dumps(scripted[1]).encode(), "application/json"
        if message.get("messaging_product") != "whatsapp" or "type" not in message:
            status, error = graph_error(131008, "Required parameter is missing")
            return status, json.dumps(error).encode(), "application/json"
        who = message.get("to") or message.get("recipient")
        contact = {"input": who, "wa_id" if "to" in message else "user_id": who}
        answer = {
            "messaging_product": "whatsapp",
            "contacts": [contact],
            "messages": [{"id": f"wamid.FAKE{next(self._ids):06d}"}],
        }
        return 200, json.dumps(answer).encode(), "application/json"

    def _templates(self, query: dict[str, list[str]]) -> tuple[int, bytes, str]:
        limit = int(query.get("limit", ["25"])[0])
        start = int(query.get("after", ["0"])[0])
        page = self.templates[start : start + limit]
        answer: dict[str, Any] = {"data": page, "paging": {}}
        if start + limit < len(self.templates):
            after = str(start + limit)
            answer["paging"] = {
                "cursors": {"before": str(start), "after": after},
                "next": f"{self.url}/{VERSION}/{WABA_ID}/message_templates?limit={limit}&after={after}",
            }
        return 200, json.dumps(answer).encode(), "application/json"

    def wait_sent(self, count: int, timeout: float = 10) -> list[dict[str, Any]]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self.lock:
                if len(self.sent) >= count:
                    return list(self.sent)
            time.sleep(0.01)
        raise AssertionError(f"expected {count} sends, got {len(self.sent)}: {self.sent}")


def sign(body: bytes, secret: str = APP_SECRET) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def post_webhook(
    base: str, channel_id: int, payload: dict[str, Any], *, secret: str | None = APP_SECRET
) -> httpx.Response:
    """POST ``payload`` to openrespond as Meta does: signed raw JSON."""
    body = json.dumps(payload).encode()
    headers = {"Content-Type": "application/json"}
    if secret is not None:
        headers["X-Hub-Signature-256"] = sign(body, secret)
    return httpx.post(f"{base}/hooks/whatsapp/{channel_id}", content=body, headers=headers)


def envelope(
    *,
    messages: Sequence[Any] = (),
    statuses: Sequence[Any] = (),
    contacts: Sequence[Any] = (),
) -> dict[str, Any]:
    """A webhook POST body as Meta sends one (one entry, one change)."""
    value: dict[str, Any] = {
        "messaging_product": "whatsapp",
        "metadata": {"display_phone_number": "15550783881", "phone_number_id": PHONE_ID},
    }
    if contacts:
        value["contacts"] = list(contacts)
    if messages:
        value["messages"] = list(messages)
    if statuses:
        value["statuses"] = list(statuses)
    return {
        "object": "whatsapp_business_account",
        "entry": [{"id": WABA_ID, "changes": [{"field": "messages", "value": value}]}],
    }


def text_from(wa_id: str, text: str, wamid: str, *, name: str = "Ada Lovelace") -> dict[str, Any]:
    """A webhook body carrying one text message from ``wa_id``."""
    return envelope(
        contacts=[{"profile": {"name": name}, "wa_id": wa_id, "user_id": f"US.{wa_id}0001"}],
        messages=[
            {
                "from": wa_id,
                "id": wamid,
                "timestamp": str(int(time.time())),
                "type": "text",
                "text": {"body": text},
            }
        ],
    )


def status_of(
    wamid: str, status: str, *, wa_id: str, errors: list[Any] | None = None
) -> dict[str, Any]:
    entry: dict[str, Any] = {
        "id": wamid,
        "status": status,
        "timestamp": str(int(time.time())),
        "recipient_id": wa_id,
        "pricing": {"billable": True, "pricing_model": "PMP", "category": "service"},
    }
    if errors:
        entry["errors"] = errors
    return envelope(statuses=[entry])


@contextmanager
def fake_meta() -> Iterator[FakeMeta]:
    fake = FakeMeta()
    with ServerThread(fake) as url:
        fake.url = url
        yield fake


def channel_settings(fake: FakeMeta) -> dict[str, Any]:
    return {
        "phoneNumberId": PHONE_ID,
        "accessToken": TOKEN,
        "appSecret": APP_SECRET,
        "verifyToken": VERIFY_TOKEN,
        "businessAccountId": WABA_ID,
        "graphBaseUrl": fake.url,
        "graphVersion": VERSION,
    }
