"""Notifications: "there is new work", sent after a commit to whoever waits for it.

A worker in the same process connects its ``wake``. On PostgreSQL a transaction that
announces a signal also sends a NOTIFY of the signal's name, delivered at commit, and every
process running workers listens for it, so workers in other processes wake at once too. On
SQLite, workers in other processes find the work at their next poll; either way a signal is a
shortcut, never the only way work is found.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

__all__ = ["Signal", "deliveries", "events"]

log = logging.getLogger("openrespond.signals")


class Signal:
    """A set of callbacks run by ``send``; a failing callback does not stop the others."""

    __slots__ = ("_listeners", "name")

    def __init__(self, name: str) -> None:
        self.name = name
        self._listeners: list[Callable[[], None]] = []

    def connect(self, listener: Callable[[], None]) -> None:
        self._listeners.append(listener)

    def disconnect(self, listener: Callable[[], None]) -> None:
        if listener in self._listeners:
            self._listeners.remove(listener)

    def send(self) -> None:
        for listener in tuple(self._listeners):
            try:
                listener()
            except Exception:  # a listener's fault must not fail the commit that sent it
                log.exception("signal listener failed")


deliveries = Signal("openrespond_deliveries")
"""Outgoing messages were queued."""

events = Signal("openrespond_webhooks")
"""Webhook deliveries were queued."""
