"""How uvicorn serves openrespond: every answer the HTTP server gives on its own is JSON,
slow or stalled clients are cut off, and a process takes a bounded number of connections.

uvicorn answers some requests before the application sees them (a request line or header it
cannot parse, an unknown method, a URL it cannot take) with plain text, has no deadline for
a request's head or body, and no cap on connections. This protocol class (uvicorn's
httptools protocol, which ``uvicorn[standard]`` makes its default) changes that:

- parse errors, oversized URLs (414) and heads (431) are answered ``{"code", "message"}``;
- a request whose head does not arrive within ``header_timeout`` of the connection opening
  (or of the previous response), or whose body does not arrive within ``body_timeout`` of
  its head (plus a second for every 64 KiB it announces), gets a 408 and the connection is
  closed (an idle connection is closed quietly);
- past ``max_connections`` open connections, a new one gets a 503 and is closed;
- an application that fails before starting its answer yields a JSON 500 (openrespond's own
  application does this in its outermost layer, ``http.requestlog``: ``OwnAppProtocol``
  serves it without another wrapper per request).

What stays outside: a response that has already started cannot be replaced (the connection
is closed instead, as uvicorn does), and websocket upgrades are not served (``ws="none"``).
Written against uvicorn 0.3x-0.5x internals; ``tests/http/test_server.py`` holds them to it.
"""

from __future__ import annotations

import asyncio
import logging
import sys
import weakref
from dataclasses import dataclass
from http import HTTPStatus
from typing import Any

import httptools
import msgspec
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from openrespond.asgi import body_seconds
from openrespond.settings import Settings

__all__ = ["GuardedProtocol", "Limits", "OwnAppProtocol", "configure", "uvicorn_options"]

log = logging.getLogger("openrespond.http")

# A request line longer than this is a 414, a head (request line and headers) longer than
# this a 431: far above what any client of the API sends.
MAX_URL = 8192
MAX_HEAD = 16384


@dataclass(frozen=True, slots=True)
class Limits:
    """What one server process tolerates of its clients."""

    header_timeout: float = 10.0
    body_timeout: float = 5.0
    max_connections: int = 1000

    @classmethod
    def from_settings(cls, settings: Settings) -> Limits:
        return cls(
            header_timeout=settings.header_timeout_seconds,
            body_timeout=settings.body_timeout_seconds,
            max_connections=settings.max_connections,
        )


_limits = Limits()


def configure(limits: Limits) -> None:
    """The limits of the connections this process accepts from now on (each process of
    ``serve --workers N`` configures itself from its environment)."""
    global _limits
    _limits = limits


def error_bytes(status: int, message: str, default_headers: list[tuple[bytes, bytes]]) -> bytes:
    """A whole HTTP/1.1 error response with the API's JSON error body; the connection closes."""
    body = msgspec.json.encode({"code": status, "message": message})
    head = [b"HTTP/1.1 %d %s\r\n" % (status, HTTPStatus(status).phrase.encode())]
    head += [b"%s: %s\r\n" % (name, value) for name, value in default_headers]
    head.append(
        b"content-type: application/json\r\ncontent-length: %d\r\nconnection: close\r\n\r\n"
        % len(body)
    )
    return b"".join(head) + body


class _Reject(Exception):
    """Raised in a parser callback to refuse the request (httptools hands it back as the
    context of its own error)."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


_GUARDED: weakref.WeakKeyDictionary[Any, Any] = weakref.WeakKeyDictionary()


def _guarded(app: Any) -> Any:
    """``json_guard(app)``, made once per application (not per connection)."""
    try:
        found = _GUARDED.get(app)
        if found is None:
            found = _GUARDED[app] = json_guard(app)
    except TypeError:  # an application that cannot be weakly referenced
        return json_guard(app)
    return found


def json_guard(app: Any) -> Any:
    """The application, answering a JSON 500 instead of uvicorn's text one when it fails (or
    returns) before starting a response."""

    async def guarded(scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await app(scope, receive, send)
            return
        started = gone = False

        async def receive_() -> Any:
            nonlocal gone
            message = await receive()
            gone = gone or message["type"] == "http.disconnect"
            return message

        async def send_(message: Any) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await app(scope, receive_, send_)
        except Exception:
            if started:
                raise  # uvicorn closes the connection
            log.exception("unhandled error before the response started")
        else:
            if started or gone:
                return
            log.error("the application returned without a response")
        body = b'{"code":500,"message":"internal error"}'
        await send(
            {
                "type": "http.response.start",
                "status": 500,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"content-length", b"%d" % len(body)),
                    (b"connection", b"close"),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})

    return guarded


class GuardedProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol (its default parser) with deadlines, a connection cap
    and JSON for its own answers."""

    _phase: str | None = None  # "head" or "body": which deadline runs
    _timer: asyncio.TimerHandle | None = None
    _due = 0.0  # the loop time the running deadline ends
    _refused = False  # over the connection cap: answered and closing
    _began = False  # a request head has started arriving
    _head_bytes = 0  # bytes received while a head is incomplete
    _field_bytes = 0  # bytes of the header fields parsed so far

    # Wrap the application in ``json_guard``; openrespond's needs no wrapper (OwnAppProtocol).
    wrap_app = True

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.limits = _limits
        if self.wrap_app:
            self.app = _guarded(self.app)
        # uvicorn's --limit-concurrency answers in text: the connection cap replaces it.
        self.limit_concurrency = None

    def connection_made(self, transport: Any) -> None:
        super().connection_made(transport)
        if len(self.connections) > self.limits.max_connections:
            self._refused = True
            self.connections.discard(self)
            self._reject(503, "too many connections; retry shortly")
            return
        self._set_phase("head")
        self._arm()

    def connection_lost(self, exc: Exception | None) -> None:
        self._set_phase(None)
        super().connection_lost(exc)

    def _set_phase(self, phase: str | None) -> None:
        """Start (or end) a deadline. Its timer is armed by ``_arm`` once the data at hand
        is parsed: a request that arrives whole in one read (most do) passes through its
        head and body phases without a timer made and cancelled for each."""
        if phase == self._phase:
            return  # a deadline that runs is kept, not restarted
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        self._phase = phase
        if phase is not None:
            delay = (
                self.limits.header_timeout
                if phase == "head"
                else body_seconds(self.limits.body_timeout, self.headers)
            )
            self._due = self.loop.time() + delay

    def _arm(self) -> None:
        if self._phase is not None and self._timer is None and not self.transport.is_closing():
            self._timer = self.loop.call_at(self._due, self._on_timeout)

    def _on_timeout(self) -> None:
        self._timer = None
        if self.transport.is_closing():
            return
        idle = self._phase == "head" and not self._began
        answered = self._phase == "body" and self.cycle is not None and self.cycle.response_complete
        if idle or answered:
            self.transport.close()  # nothing to answer: as a keep-alive timeout does
        elif self._phase == "head":
            self._reject(408, "the request head was not received in time")
        else:
            self._reject(408, "the request body was not received in time")

    def _reject(self, status: int, message: str) -> None:
        self._set_phase(None)
        cycle = self.cycle
        if cycle is not None and not cycle.response_complete:
            if cycle.response_started:
                self.transport.close()  # an answer is half sent: it cannot be replaced
                return
            cycle.disconnected = True  # the application reads a disconnect; its sends drop
            cycle.message_event.set()
        if not self.transport.is_closing():
            self.transport.write(error_bytes(status, message, self.server_state.default_headers))
            self.transport.close()

    def send_400_response(self, msg: str) -> None:
        """uvicorn calls this inside its ``except`` for a request it cannot parse."""
        status, message = self._parse_error(sys.exc_info()[1])
        self._reject(status, message)

    def _parse_error(self, exc: BaseException | None) -> tuple[int, str]:
        context = getattr(exc, "__context__", None)
        if isinstance(context, _Reject):
            return context.status, context.message
        if isinstance(exc, httptools.HttpParserInvalidMethodError):
            return 400, "invalid HTTP method"
        if isinstance(exc, httptools.HttpParserInvalidURLError):
            return 400, "invalid request target: the URL must be ASCII, without spaces"
        return 400, "invalid HTTP request"

    def data_received(self, data: bytes) -> None:
        if self._refused:
            return
        super().data_received(data)
        if self._phase == "head" and not self.transport.is_closing():
            self._head_bytes += len(data)
            if self._head_bytes > MAX_HEAD:
                self._reject(431, f"the request head is over {MAX_HEAD} bytes")
                return
        self._arm()

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._began, self._head_bytes, self._field_bytes = True, 0, 0
        self._set_phase("head")

    def on_url(self, url: bytes) -> None:
        super().on_url(url)
        if len(self.url) > MAX_URL:
            raise _Reject(414, f"the URL is over {MAX_URL} bytes")

    def on_header(self, name: bytes, value: bytes) -> None:
        super().on_header(name, value)
        self._field_bytes += len(name) + len(value) + 4
        if self._field_bytes > MAX_HEAD:
            raise _Reject(431, f"the request head is over {MAX_HEAD} bytes")

    def on_headers_complete(self) -> None:
        super().on_headers_complete()
        self._began = False
        upgrading = self.parser.should_upgrade() and self._should_upgrade()
        self._set_phase(None if upgrading else "body")

    def on_message_complete(self) -> None:
        super().on_message_complete()
        self._set_phase(None)


class OwnAppProtocol(GuardedProtocol):
    """``GuardedProtocol`` for openrespond's application, which answers its own failures in
    JSON (``http.requestlog.RequestLogMiddleware``)."""

    wrap_app = False


def uvicorn_options(settings: Settings) -> dict[str, Any]:
    """uvicorn options that serve openrespond's application as described above (and set this
    process's limits)."""
    configure(Limits.from_settings(settings))
    return {"http": OwnAppProtocol, "ws": "none"}
