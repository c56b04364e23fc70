"""Twilio's Messages API played on loopback, from its public documentation: ``POST
/2010-04-01/Accounts/{AccountSid}/Messages.json`` (a form, HTTP Basic auth), the Message
resource it answers, the error shape ``{code, message, more_info, status}``, and media at
``.../Media/{sid}`` behind Basic auth that redirects to storage. Webhooks to openrespond are
signed with the ``twilio`` package's own ``RequestValidator``."""

from __future__ import annotations

import base64
import itertools
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, urlencode

import httpx
from twilio.request_validator import RequestValidator

from openrespond.asgi import lifespan, read_body
from tests.conftest import ServerThread

ACCOUNT = "AC" + "0123456789abcdef" * 2
AUTH_TOKEN = "fake-twilio-auth-token-0123456789"
NUMBER = "+15005550006"


def error(status: int, code: int, message: str) -> tuple[int, dict[str, Any]]:
    return status, {
        "code": code,
        "message": message,
        "more_info": f"https://www.twilio.com/docs/errors/{code}",
        "status": status,
    }


@dataclass
class FakeTwilio:
    url: str = ""
    sent: list[list[tuple[str, str]]] = field(default_factory=list)
    script: list[tuple[int, dict[str, Any]]] = field(default_factory=list)
    media: dict[str, tuple[bytes, str]] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)
    _ids: Iterator[int] = field(default_factory=lambda: itertools.count(1))

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            await lifespan(receive, send)
            return
        body = await read_body(receive, limit=64 * 1024 * 1024) or b""
        headers = {k.decode().lower(): v.decode() for k, v in scope["headers"]}
        status, answer, extra = self.answer(scope["method"], scope["path"], headers, body)
        await send(
            {
                "type": "http.response.start",
                "status": status,
                "headers": [(k.encode(), v.encode()) for k, v in extra.items()],
            }
        )
        await send({"type": "http.response.body", "body": answer})

    def answer(
        self, method: str, path: str, headers: dict[str, str], body: bytes
    ) -> tuple[int, bytes, dict[str, str]]:
        json_type = {"content-type": "application/json"}
        if path.startswith("/storage/"):
            # pre-signed storage on another host in reality (httpx drops the credentials on
            # a redirect to another origin); here on the same one, so they are not checked
            found = self.media.get(path.rsplit("/", 1)[-1])
            if found is None:
                return 404, b"NoSuchKey", {}
            return 200, found[0], {"content-type": found[1]}
        expected = "Basic " + base64.b64encode(f"{ACCOUNT}:{AUTH_TOKEN}".encode()).decode()
        if headers.get("authorization") != expected:
            status, err = error(401, 20003, "Authenticate")
            return status, _json(err), json_type
        prefix = f"/2010-04-01/Accounts/{ACCOUNT}"
        if method == "GET" and path.startswith(prefix + "/Messages/") and "/Media/" in path:
            media_sid = path.rsplit("/", 1)[-1]
            if media_sid not in self.media:
                status, err = error(404, 20404, "The requested resource was not found")
                return status, _json(err), json_type
            return 307, b"", {"location": f"{self.url}/storage/{media_sid}"}
        if method == "POST" and path == prefix + "/Messages.json":
            form = parse_qsl(body.decode(), keep_blank_values=True)
            with self.lock:
                self.sent.append(form)
                scripted = self.script.pop(0) if self.script else None
            if scripted is not None:
                return scripted[0], _json(scripted[1]), json_type
            fields = dict(form)
            if "To" not in fields:
                status, err = error(400, 21604, "A 'To' phone number is required.")
                return status, _json(err), json_type
            if not ({"Body", "MediaUrl", "ContentSid"} & set(fields)):
                status, err = error(400, 21602, "Message body is required.")
                return status, _json(err), json_type
            sid = f"SM{next(self._ids):032x}"
            resource = {
                "sid": sid,
                "account_sid": ACCOUNT,
                "from": fields.get("From"),
                "to": fields["To"],
                "body": fields.get("Body", ""),
                "status": "queued",
                "direction": "outbound-api",
                "num_media": str(sum(1 for k, _ in form if k == "MediaUrl")),
                "error_code": None,
                "error_message": None,
                "date_created": time.strftime("%a, %d %b %Y %H:%M:%S +0000", time.gmtime()),
                "uri": f"{prefix}/Messages/{sid}.json",
            }
            return 201, _json(resource), json_type
        status, err = error(404, 20404, "The requested resource was not found")
        return status, _json(err), json_type

    def wait_sent(self, count: int, timeout: float = 10) -> list[dict[str, str]]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self.lock:
                if len(self.sent) >= count:
                    return [dict(f) for f in self.sent]
            time.sleep(0.01)
        raise AssertionError(f"expected {count} sends, got {self.sent}")


def _json(data: Any) -> bytes:
    import json

    return json.dumps(data).encode()


def signed_post(
    url: str,
    params: list[tuple[str, str]],
    *,
    token: str = AUTH_TOKEN,
    signed_url: str | None = None,
    headers: dict[str, str] | None = None,
) -> httpx.Response:
    """POST a form to openrespond as Twilio does, signed by twilio-python's own
    RequestValidator over ``signed_url`` (the URL Twilio requested; ``url`` by default)."""
    validator = RequestValidator(token)
    multi: dict[str, Any] = {}
    for k, v in params:
        multi.setdefault(k, []).append(v)

    class Multi(dict[str, Any]):
        def getall(self, name: str) -> list[str]:
            values: list[str] = self[name]
            return values

    signature = validator.compute_signature(signed_url or url, Multi(multi))
    return httpx.post(
        url,
        content=urlencode(params).encode(),
        headers={
            "Content-Type": "application/x-www-form-urlencoded",
            "X-Twilio-Signature": signature,
            **(headers or {}),
        },
    )


def inbound_sms(
    sid: str, sender: str, body: str, *, whatsapp: bool = False, **extra: str
) -> list[tuple[str, str]]:
    prefix = "whatsapp:" if whatsapp else ""
    params = [
        ("ToCountry", "US"),
        ("SmsMessageSid", sid),
        ("NumMedia", "0"),
        ("SmsSid", sid),
        ("SmsStatus", "received"),
        ("Body", body),
        ("To", prefix + NUMBER),
        ("NumSegments", "1"),
        ("MessageSid", sid),
        ("AccountSid", ACCOUNT),
        ("From", prefix + sender),
        ("ApiVersion", "2010-04-01"),
    ]
    if whatsapp:
        params += [("ProfileName", "Wan Ali"), ("WaId", sender.removeprefix("+"))]
    params += list(extra.items())
    return params


def status_callback(
    sid: str, status: str, *, code: str | None = None, message: str | None = None
) -> list[tuple[str, str]]:
    params = [
        ("SmsSid", sid),
        ("SmsStatus", status),
        ("MessageStatus", status),
        ("To", "+60123456001"),
        ("MessageSid", sid),
        ("AccountSid", ACCOUNT),
        ("From", NUMBER),
        ("ApiVersion", "2010-04-01"),
    ]
    if code:
        params.append(("ErrorCode", code))
    if message:
        params.append(("ErrorMessage", message))
    return params


@contextmanager
def fake_twilio() -> Iterator[FakeTwilio]:
    fake = FakeTwilio()
    with ServerThread(fake) as url:
        fake.url = url
        yield fake
