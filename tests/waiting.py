"""Waiting in tests for what no event announces: rows another connection or process writes."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable


async def eventually(check: Callable[[], object], *, within: float, every: float = 0.01) -> bool:
    """Whether ``check()`` turned true within ``within`` seconds, looking every ``every``."""
    deadline = time.monotonic() + within
    while True:
        if check():
            return True
        if time.monotonic() >= deadline:
            return False
        await asyncio.sleep(every)
