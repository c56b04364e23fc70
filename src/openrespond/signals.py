"""Notifications: "there is new work", sent after a commit to whoever waits for it.

A worker in the same process connects its ``wake`` for the database it works on; a commit
reaches the listeners of its own database only (a process may hold several, as tests do). On PostgreSQL a transaction that
announces a signal also sends a NOTIFY of the signal's name, delivered at commit, and every
process running workers listens for it, so workers in other processes wake at once too. On
SQLite, workers in other processes find the work at their next poll; either way a signal is a
shortcut, never the only way work is found.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Any

__all__ = [
    "Flag",
    "Signal",
    "channels",
    "deliveries",
    "events",
    "imports",
    "inbound",
    "live",
    "wait_any",
]

log = logging.getLogger("openrespond.signals")


class Signal:
    """Callbacks run by ``send``, each for one source (a ``Database``); a failing callback
    does not stop the others."""

    __slots__ = ("_listeners", "name")

    def __init__(self, name: str) -> None:
        self.name = name
        self._listeners: list[tuple[Any, Callable[[], None]]] = []

    def connect(self, source: Any, listener: Callable[[], None]) -> None:
        """Run ``listener`` whenever ``source`` sends this signal."""
        self._listeners.append((source, listener))

    def disconnect(self, source: Any, listener: Callable[[], None]) -> None:
        if (source, listener) in self._listeners:
            self._listeners.remove((source, listener))

    def send(self, source: Any) -> None:
        for of, listener in tuple(self._listeners):
            if of is not source:
                continue
            try:
                listener()
            except Exception:  # a listener's fault must not fail the commit that sent it
                log.exception("signal listener failed")


deliveries = Signal("openrespond_deliveries")
"""Outgoing messages were queued."""

events = Signal("openrespond_webhooks")
"""Webhook deliveries were queued."""

imports = Signal("openrespond_imports")
"""A contact import was queued."""

inbound = Signal("openrespond_inbound")
"""A provider posted incoming messages or status reports."""

channels = Signal("openrespond_channels")
"""A provider's channel was created or changed (its webhook may need registering)."""

live = Signal("openrespond_live")
"""Something the open inboxes show changed (``live_changes`` has new rows)."""


class Flag(asyncio.Event):
    """An ``asyncio.Event`` that ``wait_any`` waits on through a callback: an idle worker's
    poll then costs one future and one timer, not a task per event (made, cancelled and
    stepped by the loop each time; about a tenth of a busy server's time, at a poll every
    10 ms by three workers)."""

    def __init__(self) -> None:
        super().__init__()
        self._watchers: list[Callable[[], None]] = []

    def set(self) -> None:
        super().set()
        for watcher in tuple(self._watchers):
            watcher()


async def wait_any(seconds: float, *waited: asyncio.Event) -> None:
    """Until one of ``waited`` is set, or ``seconds`` have passed."""
    if any(e.is_set() for e in waited):
        return
    loop = asyncio.get_running_loop()
    done: asyncio.Future[None] = loop.create_future()

    def wake(*_: object) -> None:
        if not done.done():
            done.set_result(None)

    timer = loop.call_later(seconds, wake)
    tasks = []
    for e in waited:
        if isinstance(e, Flag):
            e._watchers.append(wake)
        else:  # a plain event: a task waits on it
            task = asyncio.ensure_future(e.wait())
            task.add_done_callback(wake)
            tasks.append(task)
    try:
        await done
    finally:
        timer.cancel()
        for e in waited:
            if isinstance(e, Flag):
                e._watchers.remove(wake)
        for task in tasks:
            task.cancel()
