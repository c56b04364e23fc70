"""``serve --server granian``: what it keeps of the uvicorn server's guarantees, and what it
answers itself (docs/deployment.md lists it)."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from tests.backend import query
from tests.server_process import ServerProcess, read_all

TOKEN = "granian-demo-token-0123456789"
AUTH = f"Authorization: Bearer {TOKEN}\r\n".encode()


def _server(tmp_path: Path, *args: str, **env: str) -> ServerProcess:
    return ServerProcess(
        tmp_path / "granian.db",
        "--demo",
        "--server",
        "granian",
        *args,
        env={"OPENRESPOND_DEMO_TOKEN": TOKEN, **env},
    )


def _status(raw: bytes) -> int:
    return int(raw.split(b" ", 2)[1])


def _children(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            with contextlib.suppress(OSError):
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
                if int(fields[1]) == pid:
                    found.append(int(entry.name))
    return found


def test_the_api_answers_with_request_ids_on_kept_alive_connections(tmp_path: Path) -> None:
    with _server(tmp_path) as server:
        with httpx.Client(base_url=server.url, headers={"Authorization": f"Bearer {TOKEN}"}) as c:
            ids = set()
            for _ in range(3):
                r = c.get("/v2/contact/id:12345")
                assert r.status_code in (200, 404), r.text
                ids.add(r.headers["x-request-id"])
            assert len(ids) == 3
            bad = c.post("/v2/contact", content=b'{"firstName": 1', headers={"X-Request-Id": "k-1"})
            assert bad.status_code == 400
            assert bad.headers["x-request-id"] == "k-1"
            assert set(bad.json()) == {"code", "message"}
        # two requests written at once on one connection: two answers on it
        with socket.create_connection(("127.0.0.1", server.port)) as sock:
            request = b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n"
            sock.sendall(request + request[:-2] + b"Connection: close\r\n\r\n")
            raw = read_all(sock)
        assert raw.count(b"HTTP/1.1 200") == 2, raw


def test_what_granian_answers_itself(tmp_path: Path) -> None:
    """Requests it cannot parse never reach the application: an empty 400 (431 for a head
    over 16 KiB), and the server keeps serving."""
    with _server(tmp_path) as server:
        for request, status in (
            (b"HELLO\r\n\r\n", 400),
            (b"GET /healthz HTTP/1.1\r\nHost: x\r\nBad Header: y\r\n\r\n", 400),
            (b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 20_000 + b"\r\n\r\n", 431),
        ):
            with socket.create_connection(("127.0.0.1", server.port)) as sock:
                sock.sendall(request)
                raw = read_all(sock)
            assert _status(raw) == status, raw
            assert raw.endswith(b"\r\n\r\n"), raw  # no body
        assert httpx.get(f"{server.url}/healthz").status_code == 200


def test_stalled_heads_are_closed_and_stalled_bodies_get_a_json_408(tmp_path: Path) -> None:
    with _server(
        tmp_path,
        OPENRESPOND_HEADER_TIMEOUT_SECONDS="0.5",
        OPENRESPOND_BODY_TIMEOUT_SECONDS="0.5",
    ) as server:
        with socket.create_connection(("127.0.0.1", server.port)) as sock:
            sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")
            started = time.monotonic()
            assert read_all(sock, timeout=10) == b""  # closed, unanswered
            assert time.monotonic() - started < 5
        with socket.create_connection(("127.0.0.1", server.port)) as sock:
            sock.sendall(
                b"POST /v2/contact HTTP/1.1\r\nHost: x\r\n" + AUTH + b"Content-Type: "
                b'application/json\r\nContent-Length: 100\r\n\r\n{"firstName":'
            )
            started = time.monotonic()
            raw = read_all(sock, timeout=10)
            assert time.monotonic() - started < 5
        head, _, body = raw.partition(b"\r\n\r\n")
        assert _status(raw) == 408, raw
        assert json.loads(body) == {
            "code": 408,
            "message": "the request body was not received in time",
        }
        assert b"x-request-id" in head.lower()
        # nothing was written, and the server answers the next request
        r = httpx.post(
            f"{server.url}/v2/contact",
            json={"firstName": "After"},
            headers={"Authorization": f"Bearer {TOKEN}"},
        )
        assert r.status_code == 200, r.text


def test_sigterm_lets_a_request_in_flight_finish(tmp_path: Path) -> None:
    server = _server(tmp_path, OPENRESPOND_SHUTDOWN_GRACE_SECONDS="10").start()
    try:
        body = json.dumps({"firstName": "Late", "email": "late@example.com"}).encode()
        with socket.create_connection(("127.0.0.1", server.port)) as sock:
            sock.sendall(
                b"POST /v2/contact HTTP/1.1\r\nHost: x\r\n" + AUTH + b"Content-Type: "
                b"application/json\r\nContent-Length: %d\r\n\r\n" % len(body) + body[:10]
            )
            time.sleep(0.3)  # the request has begun in the application
            assert server.proc is not None
            server.proc.send_signal(signal.SIGTERM)
            time.sleep(0.3)
            sock.sendall(body[10:])
            raw = read_all(sock)
        assert _status(raw) == 200, raw
        server.proc.wait(20)
    finally:
        if server.proc is not None and server.proc.poll() is None:
            server.kill()
    rows = query(
        tmp_path / "granian.db",
        "SELECT first_name FROM contacts WHERE email = ?",
        "late@example.com",
    )
    assert rows == [("Late",)]


def test_kill_9_of_the_supervisor_takes_its_workers_with_it(tmp_path: Path) -> None:
    server = _server(tmp_path).start()
    assert server.proc is not None
    workers = _children(server.proc.pid)
    assert workers, "granian serves from a process of its own"
    server.kill()
    deadline = time.monotonic() + 10
    while any(Path(f"/proc/{pid}").exists() for pid in workers):
        assert time.monotonic() < deadline, "a worker outlived its supervisor"
        time.sleep(0.05)
    with pytest.raises(httpx.TransportError):
        httpx.get(f"{server.url}/healthz", timeout=1)


def test_an_unknown_server_is_refused(tmp_path: Path) -> None:
    env = {
        **os.environ,
        "OPENRESPOND_DATABASE_URL": f"sqlite:///{tmp_path / 'x.db'}",
        "OPENRESPOND_SERVER": "gunicorn",
    }
    out = subprocess.run(
        [sys.executable, "-m", "openrespond", "serve", "--demo"],
        env=env,
        capture_output=True,
        text=True,
    )
    assert out.returncode != 0
    assert "OPENRESPOND_SERVER must be uvicorn or granian" in out.stdout + out.stderr
