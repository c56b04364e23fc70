"""A request body cut off by the client leaving is never taken for a whole one."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from openrespond.asgi import Disconnected, read_body


def _messages(*messages: dict[str, Any]) -> Any:
    queue = list(messages)

    async def receive() -> dict[str, Any]:
        return queue.pop(0)

    return receive


def test_whole_bodies_are_read_and_cut_ones_refused() -> None:
    whole = _messages(
        {"type": "http.request", "body": b'{"a":', "more_body": True},
        {"type": "http.request", "body": b"1}", "more_body": False},
    )
    assert asyncio.run(read_body(whole, limit=100)) == b'{"a":1}'
    cut = _messages(
        {"type": "http.request", "body": b'{"a":', "more_body": True},
        {"type": "http.disconnect"},
    )
    with pytest.raises(Disconnected):
        asyncio.run(read_body(cut, limit=100))
    big = _messages({"type": "http.request", "body": b"x" * 101, "more_body": False})
    assert asyncio.run(read_body(big, limit=100)) is None
