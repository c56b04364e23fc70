"""Load 100k contacts, then measure openrespond against a bare ASGI reference, in one run.

    make bench            (or: .venv/bin/python benchmarks/run.py [--contacts N] [--seconds S])
    .venv/bin/python benchmarks/run.py --database postgresql [--postgres-url URL]

With ``--database postgresql`` the server runs on a schema of its own in the PostgreSQL of
``--postgres-url`` (default ``postgresql://postgres@127.0.0.1:5432/test``), dropped at the end.

openrespond runs under its own ``serve`` (one process); the bare reference app runs twice, under
uvicorn and under granian (one worker each, on loopback), and wrk drives all three with the
same connection count. Each scenario is reported as requests/s and as a fraction of each
reference, and of the faster of the two. Results are printed and written to
benchmarks/results/latest-<database>.json.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, cast

import httpx

if TYPE_CHECKING:
    from openrespond.db import Database

HERE = Path(__file__).resolve().parent
TOKEN = "benchmark-demo-token-0123456789"


class Store:
    """The benchmark's database: a SQLite file or a PostgreSQL schema of its own."""

    def __init__(self, url: str) -> None:
        self.url = url

    def database(self) -> Database:
        from openrespond.db import open_database
        from openrespond.settings import Settings

        return open_database(Settings(database_url=self.url))

    def rows(self, sql: str, *args: object) -> list[tuple]:  # type: ignore[type-arg]
        async def go() -> list[tuple]:  # type: ignore[type-arg]
            db = self.database()
            await db.connect()
            try:
                # sqlite3.Row and asyncpg.Record both iterate over their values; the Row
                # protocol only promises indexing.
                rows = await db.reader().fetch_all(sql, *args)
                return [tuple(cast("Iterable[object]", r)) for r in rows]
            finally:
                await db.close()

        return asyncio.run(go())

    def drop(self) -> None:
        if not self.url.startswith("postgresql"):
            return
        import asyncpg

        from openrespond.db.postgres import split_url

        dsn, schema = split_url(self.url)

        async def go() -> None:
            conn = await asyncpg.connect(dsn)
            try:
                await conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
            finally:
                await conn.close()

        asyncio.run(go())


STORE = Store("")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait(url: str) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            httpx.get(url, timeout=1)
            return
        except httpx.TransportError:
            time.sleep(0.1)
    raise RuntimeError(f"{url} did not come up")


async def load(count: int) -> tuple[int, int]:
    """Create the demo workspace and ``count`` contacts; return the id range."""
    from openrespond.db.migrations import migrate
    from openrespond.demo import ensure_demo
    from openrespond.settings import Settings
    from openrespond.space.workspaces import load_secret

    settings = Settings(database_url=STORE.url, demo_token=TOKEN)
    db = STORE.database()
    await db.connect()
    await migrate(db)
    wid, _ = await ensure_demo(db, settings, await load_secret(db, settings))
    now = int(time.time())
    async with db.transaction() as tx:
        rows = [
            (
                wid,
                f"Bench{i}",
                "Contact",
                f"bench{i}@example.com",
                f"+6010{i:07d}",
                now,
                now,
            )
            for i in range(count)
        ]
        await tx.execute_many(
            "INSERT INTO contacts (workspace_id, first_name, last_name, email, phone,"
            " created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
            rows,
        )
        bounds = await tx.fetch_one(
            "SELECT MIN(id), MAX(id) FROM contacts WHERE email LIKE 'bench%'"
        )
    assert bounds is not None
    first, last = bounds[0], bounds[1]
    await db.close()
    assert last - first + 1 == count, "bench contacts are not numbered in one run"
    return int(first), int(last)


def _drained(seconds: float = 120) -> None:
    """Wait until the server's worker has delivered everything queued."""
    deadline = time.monotonic() + seconds
    while STORE.rows("SELECT COUNT(*) FROM delivery_jobs")[0][0]:
        if time.monotonic() > deadline:
            raise RuntimeError("delivery queue did not drain")
        time.sleep(0.1)


def drain(count: int) -> dict[str, float]:
    """Queue ``count`` messages in one transaction, then time the running worker
    delivering them (from the first to the last delivery)."""
    first = STORE.rows("SELECT COALESCE(MAX(id), 0) FROM messages")[0][0]
    asyncio.run(queue_texts(123, count, "drain"))
    _drained()
    lo, hi, n = STORE.rows(
        "SELECT MIN(delivered_ms), MAX(delivered_ms), COUNT(*) FROM sandbox_deliveries"
        " WHERE message_id > ?",
        first,
    )[0]
    seconds = max((hi - lo) / 1000, 0.001)
    return {"rps": n / seconds, "p99_ms": float("nan"), "non_2xx": 0.0, "messages": float(n)}


async def paced(
    base: str,
    lo: int,
    hi: int,
    *,
    rate: int,
    seconds: int,
    method: str = "POST",
    path: str = "/v2/contact/id:{id}/message",
    body: bytes = b'{"channelId":123,"message":{"type":"text","text":"paced"}}',
) -> dict[str, float]:
    """Open-loop requests at a fixed rate: request i is due at i/rate s whatever the answers,
    and 64 keep-alive connections (a minimal HTTP/1.1 client, light enough not to be the
    limit) take the due requests in turn. ``path`` names a random contact as ``{id}``."""
    import random
    from urllib.parse import urlsplit

    url = urlsplit(base)
    queue: asyncio.Queue[str | None] = asyncio.Queue()
    statuses: list[int] = []

    async def connection() -> None:
        reader, writer = await asyncio.open_connection(url.hostname, url.port)
        while (target := await queue.get()) is not None:
            writer.write(
                f"{method} {target} HTTP/1.1\r\nHost: {url.netloc}\r\n"
                f"Authorization: Bearer {TOKEN}\r\nContent-Type: application/json\r\n"
                f"Content-Length: {len(body)}\r\n\r\n".encode()
                + body
            )
            head = await reader.readuntil(b"\r\n\r\n")
            length = re.search(rb"(?i)content-length: *(\d+)", head)
            await reader.readexactly(int(length.group(1)) if length else 0)
            statuses.append(int(head[9:12]))
        writer.close()

    workers = [asyncio.create_task(connection()) for _ in range(64)]
    loop = asyncio.get_running_loop()
    t0 = loop.time()
    for i in range(rate * seconds):
        await asyncio.sleep(max(0.0, t0 + i / rate - loop.time()))
        queue.put_nowait(path.format(id=random.randint(lo, hi)))
    for _ in workers:
        queue.put_nowait(None)
    await asyncio.gather(*workers)
    elapsed = loop.time() - t0
    ok = statuses.count(200)
    return {"rps": ok / elapsed, "p99_ms": float("nan"), "non_2xx": float(len(statuses) - ok)}


async def queue_events(count: int) -> None:
    """``count`` contact.updated events for the workspace's subscriptions, in one transaction."""
    from openrespond.contacts import events
    from openrespond.db import Scope

    db = STORE.database()
    await db.connect()
    try:
        contacts = [
            r[0]
            for r in await db.reader().fetch_all("SELECT id FROM contacts ORDER BY id LIMIT 1000")
        ]
        async with db.transaction() as tx:
            for i in range(count):
                await events.emit(
                    Scope(tx, 1), "contact.updated", contact_id=contacts[i % len(contacts)]
                )
    finally:
        await db.close()


async def queue_texts(channel_id: int, count: int, text: str) -> None:
    """``count`` texts on a channel of the demo workspace, to contacts with phone numbers,
    in one transaction."""
    from openrespond.db import Scope
    from openrespond.identifiers import Identifier
    from openrespond.messages import service
    from openrespond.messages.schemas import TextMessage

    db = STORE.database()
    await db.connect()
    try:
        contacts = [
            r[0]
            for r in await db.reader().fetch_all(
                "SELECT id FROM contacts WHERE phone IS NOT NULL ORDER BY id LIMIT 1000"
            )
        ]
        async with db.transaction() as tx:
            for i in range(count):
                await service.send(
                    Scope(tx, 1),
                    Identifier("id", contacts[i % len(contacts)]),
                    channel_id=channel_id,
                    message=TextMessage(text=text),
                )
    finally:
        await db.close()


def _hooks_drained(seconds: float = 180) -> None:
    deadline = time.monotonic() + seconds
    while STORE.rows("SELECT COUNT(*) FROM webhook_deliveries WHERE status = 'pending'")[0][0]:
        if time.monotonic() > deadline:
            raise RuntimeError("webhook deliveries did not drain")
        time.sleep(0.1)


def hook_stats(since_ms: int) -> dict[str, float]:
    """Throughput (first to last 200) and commit-to-200 times of deliveries queued since
    ``since_ms``. The 200 is taken as recorded by the worker, an upper bound."""
    rows = STORE.rows(
        "SELECT queued_ms, delivered_ms, status FROM webhook_deliveries WHERE queued_ms >= ?",
        since_ms,
    )
    done = [(q, d) for q, d, s in rows if s == "delivered"]
    waits = sorted(d - q for q, d in done)
    span = max(max(d for _, d in done) - min(d for _, d in done), 1) / 1000 if done else 1
    return {
        "events": float(len(rows)),
        "delivered": float(len(done)),
        "rps": len(done) / span,
        "p50_ms": float(waits[len(waits) // 2]) if waits else float("nan"),
        "p99_ms": float(waits[min(len(waits) - 1, int(len(waits) * 0.99))])
        if waits
        else float("nan"),
        "non_2xx": float(len(rows) - len(done)),
    }


def latency(since_ms: int) -> dict[str, float]:
    """Accept-to-delivered times of the messages queued since ``since_ms``."""
    waits = sorted(
        r[0]
        for r in STORE.rows(
            "SELECT delivered_ms - queued_ms FROM sandbox_deliveries WHERE queued_ms >= ?",
            since_ms,
        )
    )
    if not waits:
        return {"delivered": 0.0}
    return {
        "delivered": float(len(waits)),
        "delivery_p50_ms": float(waits[len(waits) // 2]),
        "delivery_p99_ms": float(waits[min(len(waits) - 1, int(len(waits) * 0.99))]),
    }


def lua(body: str) -> str:
    path = Path(tempfile.mkstemp(suffix=".lua")[1])
    path.write_text(body)
    return str(path)


def wrk(url: str, script: str | None, *, seconds: int, connections: int) -> dict[str, float]:
    cmd = ["wrk", "-t2", f"-c{connections}", f"-d{seconds}s", "--latency"]
    if script:
        cmd += ["-s", script]
    out = subprocess.run([*cmd, url], capture_output=True, text=True, check=True).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    p99 = re.search(r"99%\s+([\d.]+)(us|ms|s)", out)
    scale = {"us": 0.001, "ms": 1.0, "s": 1000.0}
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    return {
        "rps": rps,
        "p99_ms": float(p99.group(1)) * scale[p99.group(2)] if p99 else float("nan"),
        "non_2xx": float(errors.group(1)) if errors else 0.0,
    }


def interleaved(
    refs: dict[str, str], base: str, script: str, args: argparse.Namespace
) -> dict[str, float]:
    """The scenario and the references in alternating slices; each fraction is the median of
    the slices' ratios. The machine's speed drifts (it is virtualised), so each slice of the
    scenario is compared with the references measured just before it. ``fraction`` is
    against the faster reference of each slice."""
    slices = 3
    kw = {"seconds": max(1, args.seconds // 2), "connections": args.connections}
    runs: list[tuple[dict[str, float], dict[str, float]]] = []
    for _ in range(slices):
        ref = {name: wrk(url, None, **kw)["rps"] for name, url in refs.items()}
        ref["fastest"] = max(ref.values())
        runs.append((wrk(base, script, **kw), ref))
    result = {
        "rps": statistics.median(r["rps"] for r, _ in runs),
        "p99_ms": statistics.median(r["p99_ms"] for r, _ in runs),
        "p99_ms_max": max(r["p99_ms"] for r, _ in runs),
        "non_2xx": sum(r["non_2xx"] for r, _ in runs),
    }
    for name in [*refs, "fastest"]:
        ratios = [r["rps"] / f[name] for r, f in runs]
        suffix = "" if name == "fastest" else f"_{name}"
        result[f"reference_rps{suffix}"] = statistics.median(f[name] for _, f in runs)
        result[f"fraction{suffix}"] = statistics.median(ratios)
        result[f"fraction{suffix}_min"] = min(ratios)
        result[f"fraction{suffix}_max"] = max(ratios)
    return result


def references(port_uvicorn: int, port_granian: int) -> list[subprocess.Popen[bytes]]:
    """The bare reference app under uvicorn and under granian, one worker each."""
    py = sys.executable
    uvicorn = f"{py} -m uvicorn --log-level warning --no-access-log --port {port_uvicorn}"
    granian = (
        f"{py} -m granian --interface asgi --no-ws --log-level warning --workers 1"
        f" --port {port_granian} --working-dir"
    )
    return [
        subprocess.Popen([*uvicorn.split(), "--app-dir", str(HERE), "reference:app"]),
        subprocess.Popen([*granian.split(), str(HERE), "reference:app"]),
    ]


SCENARIOS = ["get_by_id", "get_by_email", "list_100", "send_message", "create"]
# Fractions of the faster bare reference (issue targets: SQLite, and PostgreSQL for GET and
# create).
TARGETS = {
    "sqlite": {
        "get_by_id": 0.30,
        "get_by_email": 0.30,
        "list_100": 0.12,
        "create": 0.10,
        "send_message": 0.08,
    },
    "postgresql": {"get_by_id": 0.20, "get_by_email": 0.20, "create": 0.07},
}


class _Done(Exception):
    """--only: the request scenarios are done."""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--contacts", type=int, default=100_000)
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--backlog", type=int, default=20_000, help="messages for the drain test")
    parser.add_argument("--paced-rate", type=int, default=1000, help="sends/s for the latency test")
    parser.add_argument("--hook-backlog", type=int, default=10_000, help="events for the drain")
    parser.add_argument("--hook-rate", type=int, default=500, help="events/s for the latency test")
    parser.add_argument(
        "--bridge-backlog", type=int, default=10_000, help="custom-channel messages"
    )
    parser.add_argument("--database", choices=["sqlite", "postgresql"], default="sqlite")
    parser.add_argument("--postgres-url", default="postgresql://postgres@127.0.0.1:5432/test")
    parser.add_argument(
        "--only",
        nargs="+",
        choices=SCENARIOS,
        help="run only these request scenarios (no delivery, webhooks or bridge)",
    )
    parser.add_argument("--label", help="results file name: <label>-<database>.json")
    parser.add_argument(
        "--server", choices=["uvicorn", "granian"], default="uvicorn", help="openrespond's server"
    )
    args = parser.parse_args()
    if not shutil.which("wrk"):
        sys.exit("wrk is needed: apt-get install wrk")
    work = Path(tempfile.mkdtemp(prefix="openrespond-bench-"))
    STORE.url = (
        f"{args.postgres_url}?schema=bench_{os.getpid()}"
        if args.database == "postgresql"
        else f"sqlite:///{work / 'bench.db'}"
    )
    t0 = time.monotonic()
    lo, hi = asyncio.run(load(args.contacts))
    print(f"loaded {args.contacts} contacts in {time.monotonic() - t0:.1f}s (ids {lo}-{hi})")

    ref_port, granian_port, app_port = free_port(), free_port(), free_port()
    uvicorn = [sys.executable, "-m", "uvicorn", "--log-level", "warning", "--no-access-log"]
    refs = references(ref_port, granian_port)
    env = {
        **os.environ,
        "OPENRESPOND_DATABASE_URL": STORE.url,
        "OPENRESPOND_DEMO_TOKEN": TOKEN,
        "OPENRESPOND_RATE_LIMIT_PER_SECOND": "0",
        "OPENRESPOND_PORT": str(app_port),
        "OPENRESPOND_ALLOW_PRIVATE_NETWORKS": "127.0.0.0/8",
        "OPENRESPOND_SERVER": args.server,
    }

    # The server's log lines (one per request, as by default) go to a file, as a deployment's
    # would go to its journal, not to this terminal.
    server_log = (work / "server.log").open("ab")

    def start(*args: str) -> subprocess.Popen[bytes]:
        return subprocess.Popen(
            [sys.executable, "-m", "openrespond", *args],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=server_log,
        )

    app = start("serve", "--demo")
    worker: subprocess.Popen[bytes] | None = None
    bridge: subprocess.Popen[bytes] | None = None
    try:
        ref_urls = {
            "uvicorn": f"http://127.0.0.1:{ref_port}/",
            "granian": f"http://127.0.0.1:{granian_port}/",
        }
        for url in ref_urls.values():
            wait(url)
        wait(f"http://127.0.0.1:{app_port}/openapi.json")
        auth = f'wrk.headers["Authorization"] = "Bearer {TOKEN}"\nwrk.headers["Content-Type"] = "application/json"\n'
        scripts = {
            "get_by_id": lua(
                auth
                + f'request = function() return wrk.format("GET", "/v2/contact/id:" .. math.random({lo}, {hi})) end\n'
            ),
            "get_by_email": lua(
                auth
                + f'request = function() return wrk.format("GET", "/v2/contact/email:bench" .. math.random(0, {args.contacts - 1}) .. "@example.com") end\n'
            ),
            "list_100": lua(
                auth
                + f'request = function() return wrk.format("POST", "/v2/contact/list?limit=100&cursorId=" .. math.random({lo}, {hi - 200}), nil, "{{}}") end\n'
            ),
            "send_message": lua(
                auth
                + 'local body = \'{"channelId":123,"message":{"type":"text","text":"bench"}}\'\n'
                + f'request = function() return wrk.format("POST", "/v2/contact/id:" .. math.random({lo}, {hi}) .. "/message", nil, body) end\n'
            ),
            "create": lua(
                auth
                + "local counter = 0\n"
                + "setup = function(thread) counter = counter + 1; thread:set('tid', counter) end\n"
                + "init = function() n = 0; run = tostring(os.time()) end\n"
                + "request = function() n = n + 1\n"
                + ' return wrk.format("POST", "/v2/contact", nil, \'{"firstName":"New","email":"new\' .. run .. "-" .. tid .. "-" .. n .. \'@example.com"}\') end\n'
            ),
        }
        base = f"http://127.0.0.1:{app_port}"
        results: dict[str, dict[str, float]] = {}
        kw = {"seconds": args.seconds, "connections": args.connections}
        ref_url = ref_urls["uvicorn"]
        for name, url in ref_urls.items():
            results[f"reference_{name}"] = wrk(url, None, **kw)
        for name, script in scripts.items():
            if not args.only or name in args.only:
                results[name] = interleaved(ref_urls, base, script, args)
        if args.only:
            raise _Done
        # Delivery, first by the worker inside the API process, then by a worker process of
        # its own beside an API process started with --no-worker.
        for mode in ("in_process", "own_process"):
            if mode == "own_process":
                app.terminate()
                app.wait(10)
                app = start("serve", "--demo", "--no-worker")
                worker = start("worker")
                wait(f"http://127.0.0.1:{app_port}/openapi.json")
            _drained()
            results[f"drain_{mode}"] = drain(args.backlog)
            start_ms = int(time.time() * 1000)
            results[f"paced_{mode}"] = asyncio.run(
                paced(base, lo, hi, rate=args.paced_rate, seconds=args.seconds)
            )
            _drained()
            results[f"paced_{mode}"].update(latency(start_ms))
        # Webhooks, posted by the worker process to a receiver answering 200 at once (the
        # reference app): a backlog drained, then contact updates at a fixed rate.
        with httpx.Client(base_url=base, headers={"Authorization": f"Bearer {TOKEN}"}) as api:
            r = api.post(
                "/control/workspaces/1/webhooks",
                json={"url": f"{ref_url}hook", "events": ["contact.updated"]},
            )
            r.raise_for_status()
        start_ms = int(time.time() * 1000)
        asyncio.run(queue_events(args.hook_backlog))
        _hooks_drained()
        results["hooks_drain"] = hook_stats(start_ms)
        start_ms = int(time.time() * 1000)
        results["hooks_paced"] = asyncio.run(
            paced(
                base,
                lo,
                hi,
                rate=args.hook_rate,
                seconds=args.seconds,
                method="PUT",
                path="/v2/contact/id:{id}",
                body=b'{"lastName":"Updated"}',
            )
        )
        _hooks_drained()
        results["hooks_paced"].update({f"hook_{k}": v for k, v in hook_stats(start_ms).items()})
        # Custom channel: messages posted by the worker process to a local bridge.
        bridge_port = free_port()
        bridge = subprocess.Popen(
            [*uvicorn, "--app-dir", str(HERE), "--port", str(bridge_port), "bridge:app"]
        )
        wait(f"http://127.0.0.1:{bridge_port}/")
        with httpx.Client(base_url=base, headers={"Authorization": f"Bearer {TOKEN}"}) as api:
            r = api.post(
                "/control/workspaces/1/channels",
                json={
                    "name": "Bench bridge",
                    "source": "custom_channel",
                    "driver": "custom_channel",
                    "settings": {"apiBaseUrl": f"http://127.0.0.1:{bridge_port}"},
                },
            )
            r.raise_for_status()
            bridge_channel = r.json()["id"]
        asyncio.run(queue_texts(bridge_channel, args.bridge_backlog, "bridge"))
        t0 = time.monotonic()
        _drained()
        elapsed = time.monotonic() - t0
        sent = STORE.rows(
            "SELECT COUNT(*) FROM messages WHERE channel_id = ? AND status = 'sent'",
            bridge_channel,
        )[0][0]
        results["bridge_drain"] = {
            "messages": float(args.bridge_backlog),
            "sent": float(sent),
            "rps": sent / elapsed,
            "p99_ms": float("nan"),
            "non_2xx": float(args.bridge_backlog - sent),
        }
    except _Done:
        pass
    finally:
        for proc in (*refs, app, worker, bridge):
            if proc is not None:
                proc.terminate()
                proc.wait(10)
    targets = TARGETS[args.database]
    print(
        f"\n{'scenario':<14}{'req/s':>8}{'p99 ms':>8}{'non-2xx':>8}"
        f"{'uvicorn':>9}{'granian':>9}{'fastest':>9}{'range (fastest)':>17}{'target':>8}"
    )
    for name, result in results.items():
        if not name.startswith(tuple(SCENARIOS)):
            continue
        target = targets.get(name)
        print(
            f"{name:<14}{result['rps']:>8.0f}{result['p99_ms']:>8.2f}{result['non_2xx']:>8.0f}"
            f"{result['fraction_uvicorn']:>9.3f}{result['fraction_granian']:>9.3f}"
            f"{result['fraction']:>9.3f}"
            f"{result['fraction_min']:>10.3f}-{result['fraction_max']:.3f}"
            f"{(f'{target:.2f}' if target else '-'):>8}"
        )
    for name in ref_urls:
        ref = results[f"reference_{name}"]
        print(f"bare {name}: {ref['rps']:.0f} req/s, p99 {ref['p99_ms']:.2f} ms")
    if args.only:
        _save(args, results)
        return
    for mode, label in (("in_process", "in-process worker"), ("own_process", "worker process")):
        drain_r, paced_r = results[f"drain_{mode}"], results[f"paced_{mode}"]
        print(
            f"\n{label}: {drain_r['messages']:.0f} queued messages delivered at"
            f" {drain_r['rps']:.0f} messages/s (target >= 1000)"
        )
        print(
            f"{label} at ~{args.paced_rate}/s sends ({paced_r['rps']:.0f} accepted/s):"
            f" accept-to-delivered p50 {paced_r.get('delivery_p50_ms', float('nan')):.0f} ms,"
            f" p99 {paced_r.get('delivery_p99_ms', float('nan')):.0f} ms (target < 200 ms)"
        )
    drain_h, paced_h = results["hooks_drain"], results["hooks_paced"]
    print(
        f"\nwebhooks: {drain_h['delivered']:.0f} of {drain_h['events']:.0f} queued events posted at"
        f" {drain_h['rps']:.0f} events/s by the worker process (target >= 500)"
    )
    print(
        f"webhooks at ~{args.hook_rate}/s contact updates ({paced_h['rps']:.0f} accepted/s):"
        f" commit-to-200 p50 {paced_h['hook_p50_ms']:.0f} ms, p99 {paced_h['hook_p99_ms']:.0f} ms"
        f" (target < 250 ms), {paced_h['hook_delivered']:.0f}/{paced_h['hook_events']:.0f} delivered"
    )
    bridge_r = results["bridge_drain"]
    print(
        f"custom channel: {bridge_r['sent']:.0f} of {bridge_r['messages']:.0f} messages posted to a"
        f" local bridge at {bridge_r['rps']:.0f} messages/s by the worker process (target >= 500)"
    )
    _save(args, results)
    shutil.rmtree(work, ignore_errors=True)
    STORE.drop()


def _save(args: argparse.Namespace, results: dict[str, dict[str, float]]) -> None:
    out = HERE / "results"
    out.mkdir(exist_ok=True)
    (out / f"{args.label or 'latest'}-{args.database}.json").write_text(
        json.dumps(
            {
                "database": args.database,
                "contacts": args.contacts,
                "seconds": args.seconds,
                "connections": args.connections,
                "results": results,
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
