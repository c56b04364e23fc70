"""Token-bucket rate limits, per workspace and per operation, in this process."""

from __future__ import annotations

import math
import time
from collections.abc import Hashable
from dataclasses import dataclass

__all__ = ["Decision", "RateLimiter"]

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
