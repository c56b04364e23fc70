"""Run ``openrespond serve`` as a real child process (for crash and end-to-end tests)."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

from tests.backend import database_url

__all__ = ["ServerProcess", "free_port", "read_all"]


def read_all(sock: socket.socket, timeout: float = 10) -> bytes:
    """Everything the server sends on ``sock`` until it closes the connection."""
    sock.settimeout(timeout)
    data = b""
    with contextlib.suppress(ConnectionResetError):
        while chunk := sock.recv(65536):
            data += chunk
    return data


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


class ServerProcess:
    """``openrespond serve`` on a free loopback port with the given database and environment."""

    def __init__(self, db_path: Path, *args: str, env: dict[str, str] | None = None) -> None:
        self.db_path = db_path
        self.port = free_port()
        self.args = args
        self.log = db_path.with_suffix(f".{self.port}.log")
        self.env = {
            **os.environ,
            "OPENRESPOND_DATABASE_URL": database_url(db_path),
            "OPENRESPOND_PORT": str(self.port),
            "OPENRESPOND_HOST": "127.0.0.1",
            "OPENRESPOND_RATE_LIMIT_PER_SECOND": "0",
            **(env or {}),
        }
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> ServerProcess:
        with open(self.log, "ab") as log:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "openrespond", "serve", *self.args],
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(
                    f"server exited with {self.proc.returncode}: {self.log.read_text()}"
                )
            try:
                httpx.get(f"{self.url}/openapi.json", timeout=1)
                return self
            except httpx.TransportError:
                time.sleep(0.05)
        raise RuntimeError(f"server did not start: {self.log.read_text()}")

    def output(self) -> str:
        return self.log.read_text()

    def kill(self) -> None:
        """SIGKILL: no shutdown code runs."""
        assert self.proc is not None
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(10)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.kill()

    def __enter__(self) -> ServerProcess:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
