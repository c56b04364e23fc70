"""What every feature shares and none owns: the clock, retry backoff, and the small answers
every surface gives (a status message, page links)."""

from __future__ import annotations

import random
import time

import msgspec

__all__ = ["Pagination", "StatusMessage", "backoff_ms", "now", "now_ms"]


def now() -> int:
    """Unix time in whole seconds, as respond.io gives timestamps."""
    return int(time.time())


def now_ms() -> int:
    """Unix time in milliseconds."""
    return int(time.time() * 1000)


def backoff_ms(attempts: int, *, base_ms: int = 1000, cap_ms: int = 600_000) -> int:
    """Exponential backoff with full jitter for the given attempt number (1-based)."""
    return random.randint(base_ms // 2, min(cap_ms, base_ms * 2 ** min(attempts - 1, 20)))


class StatusMessage(msgspec.Struct):
    """``{code, message}``: the answer of an operation that returns nothing else."""

    code: int
    message: str


class Pagination(msgspec.Struct):
    """Absolute links to the neighbouring pages, or null at either end."""

    next: str | None
    previous: str | None
