"""Token-bucket rate limits, per workspace and per operation.

Three stores for the buckets, one rule: ``rate`` tokens a second, at most ``burst`` saved up.
``RateLimiter`` keeps them in this process (one server process, or SQLite); with several
processes the buckets must be shared, in Redis (``OPENRESPOND_REDIS_URL``: one script call per
request) or else in PostgreSQL (an unlogged table updated by one function call per request).
Shared stores use their server's clock, so the processes' clocks need not agree. If the
shared store cannot be reached, requests are let through (and a warning logged): an outage of
the limiter does not become an outage of the API.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Hashable
from dataclasses import dataclass
from typing import Any, Protocol

__all__ = [
    "Decision",
    "Limiter",
    "PostgresLimiter",
    "RateLimiter",
    "RedisLimiter",
    "decide",
]

log = logging.getLogger("openrespond.ratelimit")

_MAX_BUCKETS = 100_000


@dataclass(frozen=True, slots=True)
class Decision:
    """The outcome of one request against its bucket, with the headers that describe it."""

    allowed: bool
    limit: int
    remaining: int
    retry_after: int
    reset: int

    def headers(self, window: int) -> list[tuple[bytes, bytes]]:
        """``X-RateLimit-*`` (respond.io), ``RateLimit``/``RateLimit-Policy`` (IETF draft)."""
        h = [
            (b"x-ratelimit-limit", str(self.limit).encode()),
            (b"x-ratelimit-remaining", str(self.remaining).encode()),
            (b"ratelimit-policy", f'"burst";q={self.limit};w={window}'.encode()),
            (b"ratelimit", f'"burst";r={self.remaining};t={self.reset}'.encode()),
        ]
        if not self.allowed:
            h.append((b"retry-after", str(self.retry_after).encode()))
        return h


def decide(allowed: bool, tokens: float, rate: float, burst: int) -> Decision:
    """The decision and its headers from a bucket's state after the request."""
    if allowed:
        return Decision(True, burst, int(tokens), 0, math.ceil((burst - tokens) / rate))
    wait = math.ceil((1.0 - tokens) / rate)
    return Decision(False, burst, 0, max(1, wait), math.ceil(burst / rate))


class Limiter(Protocol):
    """What the API middleware needs from a rate limiter."""

    rate: float
    burst: int
    window: int

    @property
    def enabled(self) -> bool: ...

    async def take(self, key: str) -> Decision:
        """Take one token from ``key``'s bucket if there is one."""
        ...

    def bind(self, namespace: str) -> None:
        """Keep this deployment's buckets apart from others sharing the store."""
        ...

    async def close(self) -> None: ...


class RateLimiter:
    """``rate`` requests a second, bursts up to ``burst``; ``rate == 0`` switches it off."""

    def __init__(self, rate: float, burst: int) -> None:
        self.rate = rate
        self.burst = burst
        self.window = max(1, math.ceil(burst / rate)) if rate > 0 else 0
        self._buckets: dict[Hashable, list[float]] = {}

    @property
    def enabled(self) -> bool:
        return self.rate > 0

    async def take(self, key: str) -> Decision:
        return self.hit(key)

    def bind(self, namespace: str) -> None:
        return None

    async def close(self) -> None:
        self._buckets.clear()

    def hit(self, key: Hashable, now: float | None = None) -> Decision:
        """Take one token from ``key``'s bucket if there is one."""
        now = time.monotonic() if now is None else now
        bucket = self._buckets.get(key)
        if bucket is None:
            if len(self._buckets) >= _MAX_BUCKETS:
                self._evict(now)
            bucket = self._buckets[key] = [float(self.burst), now]
        tokens = min(float(self.burst), bucket[0] + (now - bucket[1]) * self.rate)
        bucket[1] = now
        if tokens >= 1.0:
            tokens -= 1.0
            bucket[0] = tokens
            reset = math.ceil((self.burst - tokens) / self.rate)
            return Decision(True, self.burst, int(tokens), 0, reset)
        bucket[0] = tokens
        wait = math.ceil((1.0 - tokens) / self.rate)
        return Decision(False, self.burst, 0, max(1, wait), math.ceil(self.burst / self.rate))

    def _evict(self, now: float) -> None:
        """Forget buckets that have refilled: they hold no state worth keeping."""
        full = [
            k
            for k, (tokens, last) in self._buckets.items()
            if tokens + (now - last) * self.rate >= self.burst
        ]
        for k in full:
            del self._buckets[k]
        if len(self._buckets) >= _MAX_BUCKETS:
            self._buckets.clear()


class _Shared:
    """Common parts of the limiters whose buckets live in another server."""

    def __init__(self, rate: float, burst: int) -> None:
        self.rate = rate
        self.burst = burst
        self.window = max(1, math.ceil(burst / rate)) if rate > 0 else 0
        self._warned = 0.0

    @property
    def enabled(self) -> bool:
        return self.rate > 0

    def bind(self, namespace: str) -> None:
        return None

    def _open(self, exc: BaseException) -> Decision:
        """Let the request through when the store is unreachable (warning once a minute)."""
        now = time.monotonic()
        if now - self._warned > 60:
            self._warned = now
            log.warning("rate-limit store unreachable, requests are not limited: %s", exc)
        return Decision(True, self.burst, self.burst - 1, 0, 0)


# Refill by the time since the last request (Redis server time, in microseconds), take a
# token if there is one, and expire the bucket once it would be full again anyway.
_REDIS_TAKE = """
local rate = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local b = redis.call('HMGET', KEYS[1], 'tokens', 'at')
local tokens = tonumber(b[1]) or burst
local at = tonumber(b[2]) or now
tokens = math.min(burst, tokens + math.max(now - at, 0) * rate / 1000000)
local allowed = 0
if tokens >= 1 then
  tokens = tokens - 1
  allowed = 1
end
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'at', tostring(now))
redis.call('PEXPIRE', KEYS[1], math.ceil(burst / rate * 1000) + 1000)
return {allowed, tostring(tokens)}
"""


class RedisLimiter(_Shared):
    """Buckets in Redis, shared by every process that points at it."""

    def __init__(
        self, rate: float, burst: int, url: str, *, prefix: str = "openrespond:rl:"
    ) -> None:
        super().__init__(rate, burst)
        import redis.asyncio as redis

        self._redis: Any = redis.from_url(url, socket_timeout=1, socket_connect_timeout=1)
        self._script = self._redis.register_script(_REDIS_TAKE)
        self._prefix = prefix

    def bind(self, namespace: str) -> None:
        self._prefix = f"openrespond:rl:{namespace}:"

    async def take(self, key: str) -> Decision:
        try:
            allowed, tokens = await self._script(
                keys=[self._prefix + key], args=[self.rate, self.burst]
            )
        except Exception as exc:  # the store, not the request, failed
            return self._open(exc)
        return decide(bool(allowed), float(tokens), self.rate, self.burst)

    async def close(self) -> None:
        await self._redis.aclose()


class PostgresLimiter(_Shared):
    """Buckets in PostgreSQL's ``rate_buckets`` (unlogged: a crash forgets them, as a
    restart of a single process would)."""

    def __init__(self, rate: float, burst: int, db: Any) -> None:
        super().__init__(rate, burst)
        self._db = db

    async def take(self, key: str) -> Decision:
        try:
            row = await self._db.reader().fetch_one(
                "SELECT allowed, tokens FROM rate_take(?, ?, ?)",
                key,
                float(self.rate),
                float(self.burst),
            )
        except Exception as exc:
            return self._open(exc)
        assert row is not None
        return decide(bool(row[0]), float(row[1]), self.rate, self.burst)

    async def close(self) -> None:
        return None
