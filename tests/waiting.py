"""Waiting in tests for what no event announces: rows another connection or process writes."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any


async def eventually(check: Callable[[], object], *, within: float, every: float = 0.01) -> bool:
    """Whether ``check()`` turned true within ``within`` seconds, looking every ``every``."""
    deadline = time.monotonic() + within
    while True:
        if check():
            return True
        if time.monotonic() >= deadline:
            return False
        await asyncio.sleep(every)


def until(check: Callable[[], Any], what: str, *, timeout: float = 10) -> Any:
    """``check()``'s first truthy result, looking every 20 ms (a thread-blocking wait, for
    tests that drive a server from outside); fails naming ``what`` after ``timeout``."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = check()
        if found:
            return found
        time.sleep(0.02)
    raise AssertionError(f"never happened within {timeout:g} s: {what}")
