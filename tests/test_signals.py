"""wait_any: woken by the first event set (a Flag or a plain asyncio.Event) or by its
timeout, and leaving nothing behind."""

from __future__ import annotations

import asyncio
import time

import pytest

from openrespond.signals import Flag, wait_any


def _tasks() -> int:
    return len(asyncio.all_tasks())


@pytest.mark.parametrize("kind", [Flag, asyncio.Event])
def test_woken_by_the_event_set(kind: type[asyncio.Event]) -> None:
    async def main() -> float:
        quiet, woken = kind(), kind()
        loop = asyncio.get_running_loop()
        loop.call_later(0.05, woken.set)
        started = time.monotonic()
        await wait_any(30, quiet, woken)
        return time.monotonic() - started

    assert asyncio.run(main()) < 5


def test_a_set_flag_returns_at_once_and_the_timeout_ends_the_wait() -> None:
    async def main() -> tuple[float, float]:
        flag = Flag()
        flag.set()
        started = time.monotonic()
        await wait_any(30, Flag(), flag)
        at_once = time.monotonic() - started
        started = time.monotonic()
        await wait_any(0.05, Flag(), asyncio.Event())
        return at_once, time.monotonic() - started

    at_once, timed_out = asyncio.run(main())
    assert at_once < 1
    assert 0.04 <= timed_out < 5


def test_nothing_is_left_behind() -> None:
    async def main() -> None:
        flag, plain = Flag(), asyncio.Event()
        before = _tasks()
        for _ in range(100):
            await wait_any(0.001, flag, plain)
        await asyncio.sleep(0)  # cancelled helper tasks finish
        assert _tasks() == before
        assert flag._watchers == []
        # A waiter cancelled mid-wait unhooks itself too.
        waiter = asyncio.create_task(wait_any(30, flag, plain))
        await asyncio.sleep(0.01)
        assert len(flag._watchers) == 1
        waiter.cancel()
        with pytest.raises(asyncio.CancelledError):
            await waiter
        assert flag._watchers == []
        # Setting the flag later wakes nobody stale, and a new wait sees it set.
        flag.set()
        await wait_any(30, flag)

    asyncio.run(main())
