"""What the HTTP server answers on its own, and how it treats slow and stalled clients, seen
from raw sockets against ``openrespond serve``."""

from __future__ import annotations

import json
import socket
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.server_process import ServerProcess, read_all

pytestmark = pytest.mark.slow

TOKEN = "server-demo-token-0123456789"
HEADER_TIMEOUT = 1.0
BODY_TIMEOUT = 1.0
CAP = 600
# a write whose body stops after one byte of the hundred announced
STALLED = (
    b"POST /v2/contact HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
    b"Authorization: Bearer " + TOKEN.encode() + b"\r\nContent-Length: 100\r\n\r\n{"
)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    db = tmp_path_factory.mktemp("server") / "server.db"
    env = {
        "OPENRESPOND_DEMO_TOKEN": TOKEN,
        "OPENRESPOND_HEADER_TIMEOUT_SECONDS": str(HEADER_TIMEOUT),
        "OPENRESPOND_BODY_TIMEOUT_SECONDS": str(BODY_TIMEOUT),
        "OPENRESPOND_MAX_CONNECTIONS": str(CAP),
    }
    with ServerProcess(db, "--demo", env=env) as proc:
        yield proc


def _connect(server: ServerProcess) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", server.port), timeout=10)
    return sock


def _answer(raw: bytes) -> tuple[int, dict[str, str], dict[str, object]]:
    head, _, body = raw.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1])
    headers = {k.lower(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:])}
    return status, headers, json.loads(body)


def _raw(server: ServerProcess, request: bytes) -> tuple[int, dict[str, str], dict[str, object]]:
    with _connect(server) as sock:
        sock.sendall(request)
        return _answer(read_all(sock))


@pytest.mark.parametrize(
    ("request_bytes", "status", "word"),
    [
        (b"GET /v2/contact/\xff HTTP/1.1\r\nHost: x\r\n\r\n", 400, "URL"),
        (b"GET /v2/contact/list?search=\xff HTTP/1.1\r\nHost: x\r\n\r\n", 400, "URL"),
        (b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Bad: a\x01b\r\n\r\n", 400, "invalid"),
        (b"GET /" + b"a" * 100_000 + b" HTTP/1.1\r\nHost: x\r\n\r\n", 414, "URL"),
        (b"FOO / HTTP/1.1\r\nHost: x\r\n\r\n", 400, "method"),
        (b"GET / HTTP/1.1\r\nHost: x\r\nno colon here\r\n\r\n", 400, "invalid"),
        (
            b"GET / HTTP/1.1\r\nHost: x\r\n"
            + b"".join(b"X-Filler-%d: %s\r\n" % (i, b"v" * 90) for i in range(2000))
            + b"\r\n",
            431,
            "head",
        ),
        (b"GET / HTTP/1.1\r\nHost: x\r\nX-Big: " + b"v" * 200_000 + b"\r\n\r\n", 431, "head"),
        (b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03", 400, "invalid"),  # TLS to plain HTTP
    ],
    ids=[
        "non-ASCII path",
        "non-ASCII query",
        "control character in a header",
        "100 KB URL",
        "unknown method",
        "header without a colon",
        "2000 headers",
        "one 200 KB header",
        "TLS handshake",
    ],
)
def test_requests_the_server_cannot_take_get_the_json_error_shape(
    server: ServerProcess, request_bytes: bytes, status: int, word: str
) -> None:
    got, headers, body = _raw(server, request_bytes)
    assert got == status, body
    assert headers["content-type"] == "application/json"
    assert headers["connection"] == "close"
    assert body["code"] == status, body
    assert word in str(body["message"]), body


def test_the_application_answers_json_for_paths_it_does_not_know(server: ServerProcess) -> None:
    got, headers, body = _raw(server, b"GET /v2/contact/%FF HTTP/1.1\r\nHost: x\r\n\r\n")
    assert got == 401, body
    assert headers["content-type"] == "application/json", body


def test_a_stalled_body_gets_408_and_the_connection_closes(server: ServerProcess) -> None:
    with _connect(server) as sock:
        sock.sendall(
            b"POST /v2/contact HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer "
            + TOKEN.encode()
            + b"\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{"
        )
        started = time.monotonic()
        status, headers, body = _answer(read_all(sock))
        waited = time.monotonic() - started
    assert status == 408
    assert body["code"] == 408
    assert "body" in str(body["message"])
    assert headers["connection"] == "close"
    assert BODY_TIMEOUT * 0.8 < waited < BODY_TIMEOUT + 3


def test_a_body_trickled_a_byte_at_a_time_is_cut_off_at_the_same_deadline(
    server: ServerProcess,
) -> None:
    with _connect(server) as sock:
        sock.sendall(
            b"POST /v2/contact HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            b"Authorization: Bearer " + TOKEN.encode() + b"\r\nContent-Length: 100\r\n\r\n"
        )
        started = time.monotonic()
        sock.settimeout(0.2)
        received = b""
        for _ in range(30):
            try:
                sock.sendall(b" ")
                received += sock.recv(65536)
            except (TimeoutError, BrokenPipeError, ConnectionResetError):
                pass
            if received.endswith(b"}"):
                break
        waited = time.monotonic() - started
    status, _, body = _answer(received)
    assert status == 408
    assert body["code"] == 408
    assert waited < BODY_TIMEOUT + 3


def test_a_silent_connection_is_closed_and_a_slow_head_gets_408(server: ServerProcess) -> None:
    with _connect(server) as sock:
        started = time.monotonic()
        assert read_all(sock) == b""  # never said anything: closed quietly
        assert time.monotonic() - started < HEADER_TIMEOUT + 3
    with _connect(server) as sock:  # slowloris: a byte now and then, never a whole head
        sock.settimeout(0.3)
        received = b""
        for piece in b"GET /healthz HTTP/1.1\r\nHost: x\r\n":
            try:
                sock.sendall(bytes([piece]))
                received += sock.recv(65536)
            except (TimeoutError, BrokenPipeError, ConnectionResetError):
                pass
            if received:
                break
        status, _, body = _answer(received + read_all(sock))
    assert status == 408
    assert "head" in str(body["message"])


def test_the_server_keeps_answering_while_500_clients_stall_and_caps_connections(
    server: ServerProcess, tmp_path: Path
) -> None:
    stalled: list[socket.socket] = []
    try:
        for _ in range(500):
            sock = _connect(server)
            sock.sendall(STALLED)
            stalled.append(sock)
        # normal requests, each on a new connection, are answered at once meanwhile
        latencies = []
        with httpx.Client(base_url=server.url, headers={"Authorization": f"Bearer {TOKEN}"}) as api:
            for _ in range(20):
                t0 = time.monotonic()
                r = api.get("/v2/contact/id:12345", headers={"Connection": "close"})
                latencies.append(time.monotonic() - t0)
                assert r.status_code == 200, r.text
        assert max(latencies) < 0.5, latencies
        # past the cap, a new connection is told so in JSON
        extra = [_connect(server) for _ in range(CAP - 500 + 20)]
        refused = []
        for sock in extra:
            sock.settimeout(0.5)
            try:
                data = sock.recv(65536)
            except TimeoutError:
                continue
            if data:
                refused.append(_answer(data))
        assert refused, refused
        assert all(s == 503 and b["code"] == 503 for s, _, b in refused), refused
        for sock in extra:
            sock.close()
        # and the stalled ones are all answered 408 and closed once the deadline passes
        answers = [_answer(read_all(sock, timeout=BODY_TIMEOUT + 5))[0] for sock in stalled]
        assert answers == [408] * 500
    finally:
        for sock in stalled:
            sock.close()
    assert httpx.get(f"{server.url}/healthz").status_code == 200
