"""What the sync and async clients share (httpx's design): configuration, how a call becomes
a request, when to retry and for how long, and how an answer becomes a value or an error."""

from __future__ import annotations

import email.utils
import os
import random
import time
import uuid
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

import httpx
import msgspec

from openrespond.client.errors import RateLimit, ResponseDecodeError, error_for

__all__ = ["DEFAULT_BASE_URL", "BaseClient", "Call"]

T = TypeVar("T")

DEFAULT_BASE_URL = "https://api.respond.io/v2"
_RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
_WRITES = frozenset({"POST", "PUT", "PATCH", "DELETE"})


@dataclass(frozen=True, slots=True)
class Call(Generic[T]):
    """One API operation: method, path under the base URL, query, JSON body, and the type
    its answer decodes to. ``url`` (absolute) replaces the path when following a page link."""

    method: str
    path: str
    answer: type[T]
    params: dict[str, Any] = field(default_factory=dict)
    json: Any = msgspec.UNSET
    url: str | None = None


class BaseClient:
    """Configuration and the pure parts of calling the API.

    ``base_url`` defaults to ``$RESPONDIO_BASE_URL`` or respond.io's
    ``https://api.respond.io/v2``; point it at an openrespond server's ``http://host:port/v2``.
    ``token`` defaults to ``$RESPONDIO_API_TOKEN``. Failed calls are retried up to
    ``max_retries`` times: a 429 after its ``Retry-After``, a 5xx or a connection error after
    an exponential backoff with full jitter. Writes carry an ``Idempotency-Key`` (the same on
    every retry), so a retried write is applied once by servers that honour it.
    """

    def __init__(
        self,
        *,
        base_url: str | None = None,
        token: str | None = None,
        timeout: float = 30.0,
        max_retries: int = 3,
        backoff: float = 0.5,
        max_backoff: float = 30.0,
        headers: dict[str, str] | None = None,
    ) -> None:
        self.base_url = (
            base_url or os.environ.get("RESPONDIO_BASE_URL") or DEFAULT_BASE_URL
        ).rstrip("/")
        token = token if token is not None else os.environ.get("RESPONDIO_API_TOKEN")
        if not token:
            raise ValueError("an API token is needed: token=... or $RESPONDIO_API_TOKEN")
        if max_retries < 0:
            raise ValueError("max_retries must be 0 or more")
        self.timeout = timeout
        self.max_retries = max_retries
        self.backoff = backoff
        self.max_backoff = max_backoff
        self._headers = {
            "Authorization": f"Bearer {token}",
            "Accept": "application/json",
            "User-Agent": "openrespond-client",
            **(headers or {}),
        }

    def _request(self, call: Call[Any], idempotency_key: str | None) -> httpx.Request:
        headers = dict(self._headers)
        content = None
        if call.json is not msgspec.UNSET:
            headers["Content-Type"] = "application/json"
            content = msgspec.json.encode(call.json)
        if idempotency_key is not None:
            headers["Idempotency-Key"] = idempotency_key
        url = call.url or f"{self.base_url}{call.path}"
        # A page link (``url``) carries its own query; httpx would replace it with ``params``.
        params = {k: v for k, v in call.params.items() if v is not None} or None
        return httpx.Request(call.method, url, params=params, headers=headers, content=content)

    @staticmethod
    def _idempotency_key(call: Call[Any]) -> str | None:
        return f"openrespond-{uuid.uuid4()}" if call.method in _WRITES else None

    def _delay(self, attempt: int, response: httpx.Response | None) -> float | None:
        """Seconds to wait before retry ``attempt`` (1-based), or None: do not retry."""
        if attempt > self.max_retries:
            return None
        if response is not None:
            if response.status_code not in _RETRY_STATUSES:
                return None
            after = _retry_after(response.headers.get("retry-after"))
            if after is not None:
                return min(after, self.max_backoff)
        ceiling = min(self.max_backoff, self.backoff * 2 ** (attempt - 1))
        return random.uniform(0, ceiling)

    @staticmethod
    def _answer(call: Call[T], response: httpx.Response) -> T:
        """The decoded answer, or the error the response stands for."""
        limits = _rate_limit(response)
        if response.status_code >= 400:
            try:
                body = msgspec.json.decode(response.content)
            except msgspec.DecodeError:
                body = None
            message = body.get("message") if isinstance(body, dict) else None
            code = body.get("code") if isinstance(body, dict) else None
            text = message if isinstance(message, str) else (response.text[:200] or "error")
            raise error_for(response.status_code)(
                response.status_code, text, code=code, rate_limit=limits, body=body
            )
        try:
            return msgspec.json.decode(response.content, type=call.answer)
        except (msgspec.DecodeError, msgspec.ValidationError) as exc:
            raise ResponseDecodeError(
                response.status_code,
                f"the answer to {call.method} {call.path or call.url} is not what the API"
                f" returns: {exc}",
                rate_limit=limits,
                body=response.content[:1000],
            ) from None


def _retry_after(value: str | None) -> float | None:
    """``Retry-After`` as seconds (a number or an HTTP date)."""
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


def _rate_limit(response: httpx.Response) -> RateLimit:
    def num(name: str) -> int | None:
        raw = response.headers.get(name)
        return int(raw) if raw is not None and raw.isdigit() else None

    return RateLimit(
        num("x-ratelimit-limit"),
        num("x-ratelimit-remaining"),
        _retry_after(response.headers.get("retry-after")),
    )
