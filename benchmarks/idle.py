"""What an idle server costs: the CPU of `openrespond serve --demo` (SQLite, its in-process
workers polling) while nothing is asked of it, as a share of one core.

    .venv/bin/python benchmarks/idle.py [--seconds 10] [--repeat 3]
    PYTHONPATH=/tmp/before/src .venv/bin/python benchmarks/idle.py    # another checkout

Extra ``OPENRESPOND_*`` variables in the environment reach the server (for instance
``OPENRESPOND_WORKER_POLL_MS=250`` to compare poll intervals).
"""

from __future__ import annotations

import argparse
import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

TICKS = os.sysconf("SC_CLK_TCK")


def _cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS  # utime + stime


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def measure(seconds: float) -> float:
    """Share of a core the idle server used over ``seconds`` (after a 2 s settle)."""
    work = Path(tempfile.mkdtemp(prefix="openrespond-idle-"))
    port = _free_port()
    env = {
        **os.environ,
        "OPENRESPOND_DATABASE_URL": f"sqlite:///{work / 'idle.db'}",
        "OPENRESPOND_PORT": str(port),
    }
    server = subprocess.Popen(
        [sys.executable, "-m", "openrespond", "serve", "--demo"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                httpx.get(f"http://127.0.0.1:{port}/openapi.json", timeout=1)
                break
            except httpx.TransportError:
                if time.monotonic() > deadline:
                    raise RuntimeError("the server did not start") from None
                time.sleep(0.1)
        time.sleep(2)
        before, t0 = _cpu_seconds(server.pid), time.monotonic()
        time.sleep(seconds)
        return (_cpu_seconds(server.pid) - before) / (time.monotonic() - t0)
    finally:
        server.terminate()
        server.wait(15)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    shares = [measure(args.seconds) for _ in range(args.repeat)]
    print("idle server CPU, share of one core: " + ", ".join(f"{s:.1%}" for s in shares))


if __name__ == "__main__":
    main()
