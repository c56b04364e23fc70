"""Two server processes on one database: a session made by one works on the other and ends
on both at sign-out; a change made through one reaches a live stream on the other."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.server_process import ServerProcess
from tests.web.conftest import ADMIN, App, start_app
from tests.web.test_forms import signed_in


@pytest.fixture(scope="module")
def pair(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[App, ServerProcess]]:
    tmp: Path = tmp_path_factory.mktemp("pair")
    first = start_app(tmp, OPENRESPOND_WORKER="0")
    second = ServerProcess(
        tmp / "web.db", env={"OPENRESPOND_ADMIN_TOKEN": ADMIN, "OPENRESPOND_WORKER": "0"}
    ).start()
    try:
        yield first, second
    finally:
        second.stop()
        first.proc.stop()


def test_a_session_works_on_every_process_and_ends_on_all(
    pair: tuple[App, ServerProcess],
) -> None:
    first, second = pair
    client, csrf = signed_in(first)
    try:
        other = httpx.Client(base_url=second.url, cookies=client.cookies)
        assert other.get("/app/1/").status_code == 200
        r = other.post("/app/sign-out", data={"_csrf": csrf})
        assert r.status_code == 303
        gone = client.get("/app/1/")
        assert gone.status_code == 303
        assert gone.headers["location"].startswith("/app/sign-in")
        other.close()
    finally:
        client.close()


def test_a_change_through_one_process_reaches_a_stream_on_the_other(
    pair: tuple[App, ServerProcess],
) -> None:
    first, second = pair
    client, _ = signed_in(first)
    heard: list[dict[str, list[object]]] = []
    connected = threading.Event()

    def listen() -> None:
        with (
            httpx.Client(base_url=first.url, cookies=client.cookies, timeout=10) as c,
            c.stream("GET", "/app/1/live") as r,
        ):
            connected.set()
            event = None
            for line in r.iter_lines():
                if line.startswith("event:"):
                    event = line[6:].strip()
                elif line.startswith("data:") and event == "change":
                    heard.append(json.loads(line[5:]))
                    return

    thread = threading.Thread(target=listen, daemon=True)
    thread.start()
    assert connected.wait(10)
    time.sleep(0.3)  # the stream is subscribed once its first line is out
    sent = time.monotonic()
    with httpx.Client(base_url=second.url, headers={"Authorization": f"Bearer {ADMIN}"}) as b:
        r = b.post(
            "/control/workspaces/1/sandbox/incoming",
            json={
                "channelId": 123,
                "address": "+60111111111",
                "message": {"type": "text", "text": "through the other process"},
            },
        )
        assert r.status_code == 200, r.text
        contact = r.json()["contactId"]
    thread.join(5)
    assert heard, "no event reached the stream"
    assert contact in heard[0]["contacts"]
    assert time.monotonic() - sent < 1.5
    client.close()
