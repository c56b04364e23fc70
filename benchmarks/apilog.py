"""What the workspace's API request log costs the API, in one run (SQLite, one process).

    .venv/bin/python benchmarks/apilog.py [--seconds 5] [--slices 3]

One database, one server process at a time, rate limiting off, request log lines on (as by
default). In each slice the server is started with the request log on
(``OPENRESPOND_API_LOG_DAYS=7``) and then off (``0``), and wrk drives two scenarios against
each: ``GET /v2/contact/id:N`` (recorded without bodies) and a ``POST /v2/contact`` answered
400 (recorded with both bodies, redacted: the dearest case). The ratio on/off per slice and
its median are the cost; a bare ASGI app (benchmarks/reference.py) is measured in the same
run for scale. Every server run starts from a copy of the same seeded database (in service,
retention keeps the table bounded; here the earlier runs' rows would otherwise pile up).
Results are printed and written to benchmarks/results/apilog.json.
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

import httpx
from run import free_port, wait  # benchmarks/run.py, beside this file

HERE = Path(__file__).resolve().parent
ADMIN = "apilog-bench-admin-token-0123"
TOKEN = "apilog-bench-demo-token-01234"


def wrk(url: str, seconds: int, script: str | None = None) -> tuple[float, float]:
    """Requests/s and the p99 latency in ms, 2 threads, 16 connections."""
    cmd = ["wrk", "-t2", "-c16", f"-d{seconds}s", "--latency"]
    if script is not None:
        path = Path(tempfile.mkstemp(suffix=".lua")[1])
        path.write_text(script)
        cmd += ["-s", str(path)]
    out = subprocess.run([*cmd, url], capture_output=True, text=True, check=True).stdout
    rate = re.search(r"Requests/sec:\s+([\d.]+)", out)
    p99 = re.search(r"99%\s+([\d.]+)(us|ms|s)", out)
    assert rate, out
    assert p99, out
    scale = {"us": 0.001, "ms": 1.0, "s": 1000.0}[p99.group(2)]
    return float(rate.group(1)), float(p99.group(1)) * scale


GET = f'wrk.headers["Authorization"] = "Bearer {TOKEN}"\n'
BAD_POST = (
    'wrk.method = "POST"\n'
    f'wrk.headers["Authorization"] = "Bearer {TOKEN}"\n'
    'wrk.headers["Content-Type"] = "application/json"\n'
    'wrk.body = \'{"firstName":"Load","email":"not-an-email","password":"hunter2"}\'\n'
)


def serve(path: str, port: int, log_days: int) -> subprocess.Popen[bytes]:
    env = {
        "OPENRESPOND_DATABASE_URL": f"sqlite:///{path}",
        "OPENRESPOND_PORT": str(port),
        "OPENRESPOND_ADMIN_TOKEN": ADMIN,
        "OPENRESPOND_DEMO_TOKEN": TOKEN,
        "OPENRESPOND_RATE_LIMIT_PER_SECOND": "0",
        "OPENRESPOND_WORKER": "0",
        "OPENRESPOND_API_LOG_DAYS": str(log_days),
        "PATH": "/usr/bin:/bin",
    }
    server = subprocess.Popen(
        [sys.executable, "-m", "openrespond", "serve", "--demo"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    wait(f"http://127.0.0.1:{port}/openapi.json")
    return server


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--seconds", type=int, default=5)
    parser.add_argument("--slices", type=int, default=3)
    args = parser.parse_args()
    results: dict[str, object] = {"seconds": args.seconds, "slices": args.slices}
    with tempfile.TemporaryDirectory() as tmp:
        path = f"{tmp}/apilog.db"
        ref_port = free_port()
        ref = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "uvicorn",
                "reference:app",
                "--port",
                str(ref_port),
                "--log-level",
                "warning",
                "--no-access-log",
                "--app-dir",
                str(HERE),
            ],
        )
        try:
            wait(f"http://127.0.0.1:{ref_port}")
            results["bare_rps"], results["bare_p99_ms"] = wrk(
                f"http://127.0.0.1:{ref_port}/", args.seconds
            )
        finally:
            ref.terminate()
            ref.wait()
        runs: dict[str, dict[str, list[tuple[float, float]]]] = {
            "get": {"on": [], "off": []},
            "failed_post": {"on": [], "off": []},
        }
        # A contact to read (the demo's ids depend on the demo data).
        port = free_port()
        server = serve(path, port, 0)
        try:
            created = httpx.post(
                f"http://127.0.0.1:{port}/v2/contact",
                json={"firstName": "Bench", "email": "bench@example.com"},
                headers={"Authorization": f"Bearer {TOKEN}"},
            )
            created.raise_for_status()
            contact = created.json()["contactId"]
        finally:
            server.terminate()
            server.wait()
        results["contact"] = contact
        for _ in range(args.slices):
            for mode, days in (("on", 7), ("off", 0)):
                # Each run starts from the same database (the log of earlier runs would make
                # later ones write into an ever larger table, which retention prevents).
                run_path = f"{tmp}/run.db"
                for suffix in ("", "-wal", "-shm"):
                    Path(run_path + suffix).unlink(missing_ok=True)
                    if Path(path + suffix).exists():
                        shutil.copy(path + suffix, run_path + suffix)
                port = free_port()
                server = serve(run_path, port, days)
                try:
                    base = f"http://127.0.0.1:{port}"
                    runs["get"][mode].append(
                        wrk(f"{base}/v2/contact/id:{contact}", args.seconds, GET)
                    )
                    runs["failed_post"][mode].append(
                        wrk(f"{base}/v2/contact", args.seconds, BAD_POST)
                    )
                finally:
                    server.terminate()
                    server.wait()
        for scenario, by_mode in runs.items():
            ratios = [on[0] / off[0] for on, off in zip(by_mode["on"], by_mode["off"], strict=True)]
            results[scenario] = {
                "rps_on": [round(r, 1) for r, _ in by_mode["on"]],
                "rps_off": [round(r, 1) for r, _ in by_mode["off"]],
                "p99_ms_on": [round(p, 2) for _, p in by_mode["on"]],
                "p99_ms_off": [round(p, 2) for _, p in by_mode["off"]],
                "ratios_on_off": [round(r, 3) for r in ratios],
                "median_ratio": round(statistics.median(ratios), 3),
            }
    out = HERE / "results" / "apilog.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps(results, indent=2) + "\n")
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
