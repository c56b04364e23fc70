"""``GET /v2/contact/id:N`` through the ASGI app in this process: no network, no HTTP server,
so the cost of the application's own path can be counted exactly.

    .venv/bin/python benchmarks/inprocess_get.py DB_FILE N          # µs per GET (noisy)
    PYTHONHASHSEED=0 valgrind --tool=callgrind --callgrind-out-file=/dev/null \\
        .venv/bin/python benchmarks/inprocess_get.py DB_FILE N      # instructions (exact)

With ``REQUEST_LINES=1`` in the environment, request lines are on (written to stderr, as a
server writes them); otherwise the log level is ``warning``. The request log is on either way.

Run the second for two values of N (say 100 and 600) and divide the difference of the
"Collected" totals by the difference of N: instructions per GET, with start-up cancelled
out. The count is repeatable for the same code and inputs whatever else the machine does;
``PYTHONHASHSEED=0`` keeps dictionary layouts, and so the count, the same from run to run.
To compare two versions, run both the same way (``PYTHONPATH=<worktree>/src``).
"""

from __future__ import annotations

import asyncio
import os
import statistics
import sys
import time
from collections.abc import MutableMapping
from typing import Any

TOKEN = "bench-token-0123456789"


async def main(path: str, n: int) -> None:
    from openrespond.app import create_app
    from openrespond.demo import ensure_demo
    from openrespond.settings import Settings
    from openrespond.space.workspaces import load_secret

    settings = Settings(
        database_url=f"sqlite:///{path}",
        admin_token="a" * 20,
        rate_limit_per_second=0,
        demo_token=TOKEN,
        log_level="info" if os.environ.get("REQUEST_LINES") == "1" else "warning",
    )
    if settings.log_level == "info":
        from openrespond import logs

        logs.configure("text", "info")
    app = create_app(settings)
    inbox: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
    await inbox.put({"type": "lifespan.startup"})
    started_up = asyncio.Event()

    async def life_receive() -> dict[str, Any]:
        return await inbox.get()

    async def life_send(message: MutableMapping[str, Any]) -> None:
        if message["type"].startswith("lifespan.startup"):
            started_up.set()

    life = asyncio.create_task(
        app({"type": "lifespan", "asgi": {"version": "3.0"}}, life_receive, life_send)  # type: ignore[arg-type]
    )
    await started_up.wait()
    db = app.state.db
    await ensure_demo(db, settings, await load_secret(db, settings))
    headers = [(b"host", b"127.0.0.1:8000"), (b"authorization", f"Bearer {TOKEN}".encode())]

    async def get(contact_id: int) -> int:
        path = f"/v2/contact/id:{contact_id}"
        scope = {
            "type": "http",
            "asgi": {"version": "3.0"},
            "http_version": "1.1",
            "method": "GET",
            "scheme": "http",
            "path": path,
            "raw_path": path.encode(),
            "query_string": b"",
            "root_path": "",
            "headers": headers,
            "client": ("127.0.0.1", 5000),
            "server": ("127.0.0.1", 8000),
            "state": {},
        }
        status = 0

        async def receive() -> dict[str, Any]:
            return {"type": "http.request", "body": b"", "more_body": False}

        async def send(message: MutableMapping[str, Any]) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]

        await app(scope, receive, send)  # type: ignore[arg-type]
        return status

    assert await get(12345) == 200
    for _ in range(int(os.environ.get("WARM", "50"))):
        await get(12345)
    times = []
    for _ in range(int(os.environ.get("REPS", "1"))):
        started = time.perf_counter()
        for _ in range(n):
            await get(12345)
        times.append((time.perf_counter() - started) / n * 1e6)
    print(f"{statistics.median(times):.1f} µs per GET over {n}")
    await inbox.put({"type": "lifespan.shutdown"})
    await life


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], int(sys.argv[2])))
