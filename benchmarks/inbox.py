"""The inbox's speed, in one run beside a bare reference (SQLite, one server process).

    .venv/bin/python benchmarks/inbox.py [--contacts 100000] [--open 10000] [--clients 200]

Loads ``--contacts`` contacts, ``--open`` of them with an open conversation and a message,
and one conversation of 200 messages and comments. Then, against ``openrespond serve``:

1. **render**: the inbox list and the 200-message conversation, fetched one after another;
   the server's own time per page from its access log (p50/p95), the page's size, and a bare
   ASGI app (benchmarks/reference.py) fetched the same way as the client-side floor;
2. **live**: ``--clients`` browsers' event streams open on the workspace while a writer adds
   200 comments/s to random open conversations; every 0.25 s a marker comment goes to one
   contact, and each stream's delay from the marker's request to the event naming that
   contact is recorded (p50/p99);
3. **throughput**: wrk posting comments as fast as the server takes them for ``--seconds``,
   with no stream open, then with the streams open, three times in turn (the median ratio is
   the cost of the streams).

Results are printed and written to benchmarks/results/inbox.json.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
from run import free_port, wait  # benchmarks/run.py, beside this file

HERE = Path(__file__).resolve().parent
ADMIN = "inbox-bench-admin-token-0123"


async def load(path: str, contacts: int, open_count: int) -> tuple[int, int]:
    """The demo workspace with ``contacts`` contacts, ``open_count`` open conversations each
    with one incoming message, and one contact with 200 messages and 20 comments; (first
    contact id, the long conversation's contact id)."""
    from openrespond.db.migrations import migrate
    from openrespond.db.sqlite import SQLiteDatabase
    from openrespond.demo import DEMO_CHANNEL_ID, ensure_demo
    from openrespond.settings import Settings
    from openrespond.space.workspaces import load_secret

    settings = Settings(database_url=f"sqlite:///{path}")
    db = SQLiteDatabase(path)
    await db.connect()
    await migrate(db)
    ws, _ = await ensure_demo(db, settings, await load_secret(db, settings))
    now = int(time.time())
    async with db.transaction() as tx:
        await tx.execute_many(
            "INSERT INTO contacts (workspace_id, first_name, last_name, email, phone,"
            " created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
            [
                (ws, f"Bench{i}", "Contact", f"bench{i}@example.com", f"+6010{i:07d}", now, now)
                for i in range(contacts)
            ],
        )
        first = int(await tx.fetch_val("SELECT min(id) FROM contacts WHERE email LIKE 'bench%'"))
        ids = list(range(first, first + open_count))
        await tx.execute_many(
            "INSERT INTO contact_channels (workspace_id, contact_id, channel_id, address,"
            " created_at) VALUES (?, ?, ?, ?, ?)",
            [(ws, c, DEMO_CHANNEL_ID, f"+6010{c - first:07d}", now) for c in ids],
        )
        await tx.execute_many(
            "INSERT INTO conversations (workspace_id, contact_id, opened_at, opened_by_source,"
            " incoming_count) VALUES (?, ?, ?, 'contact', 1)",
            [(ws, c, now) for c in ids],
        )
        text = json.dumps({"type": "text", "text": "Hello, where is my order? " * 3})
        await tx.execute_many(
            "INSERT INTO messages (workspace_id, contact_id, channel_id, traffic, type, content,"
            " created_at, updated_at) VALUES (?, ?, ?, 'incoming', 'text', ?, ?, ?)",
            [(ws, c, DEMO_CHANNEL_ID, text, now - (first + open_count - c), now) for c in ids],
        )
        await tx.execute(
            "UPDATE contacts SET status = 'open',"
            " last_message_id = (SELECT max(id) FROM messages m WHERE m.contact_id = contacts.id),"
            " last_incoming_id = (SELECT max(id) FROM messages m WHERE m.contact_id = contacts.id)"
            " WHERE workspace_id = ? AND id BETWEEN ? AND ?",
            ws,
            first,
            first + open_count - 1,
        )
        long = first
        delivered = json.dumps(
            [{"value": "sent", "timestamp": now}, {"value": "delivered", "timestamp": now}]
        )
        await tx.execute_many(
            "INSERT INTO messages (workspace_id, contact_id, channel_id, traffic, type, content,"
            " statuses, status, created_at, updated_at) VALUES (?, ?, ?, ?, 'text', ?, ?, ?, ?, ?)",
            [
                (
                    ws,
                    long,
                    DEMO_CHANNEL_ID,
                    "incoming" if i % 2 else "outgoing",
                    json.dumps(
                        {"type": "text", "text": f"Message {i}: see https://example.com/{i}"}
                    ),
                    "[]" if i % 2 else delivered,
                    None if i % 2 else "delivered",
                    now - 200 + i,
                    now,
                )
                for i in range(199)
            ],
        )
        await tx.execute_many(
            "INSERT INTO comments (workspace_id, contact_id, text, created_at) VALUES (?, ?, ?, ?)",
            [(ws, long, f"Note {i}", now - 200 + i * 10) for i in range(20)],
        )
        await tx.execute(
            "UPDATE contacts SET last_message_id = (SELECT max(id) FROM messages m"
            " WHERE m.contact_id = contacts.id) WHERE id = ?",
            long,
        )
    await db.close()
    return first, long


def sign_in(base: str) -> httpx.Client:
    """A client signed in as the demo owner (a sign-in link from the control API)."""
    admin = httpx.Client(base_url=base, headers={"Authorization": f"Bearer {ADMIN}"})
    users = admin.get("/control/workspaces/1/users").json()["items"]
    owner = next(u["id"] for u in users if u["email"] == "owner@example.com")
    url = admin.post(
        f"/control/workspaces/1/users/{owner}/links", json={"purpose": "signin"}
    ).json()["url"]
    client = httpx.Client(base_url=base, timeout=30)
    form = client.get(url)
    csrf = re.search(r'name="_csrf" value="([^"]+)"', form.text)
    assert csrf
    assert client.post(url, data={"_csrf": csrf.group(1)}).status_code == 303
    return client


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(p / 100 * len(ordered)))]


def server_times(log: Path, template: str, since: int) -> list[float]:
    """The server's own durations (ms) of ``template`` requests, from its access log."""
    lines = log.read_text().splitlines()[since:]
    pattern = re.compile(rf"GET {re.escape(template)} 200 ([\d.]+) ms")
    return [float(m.group(1)) for line in lines if (m := pattern.search(line))]


def render(
    base: str, client: httpx.Client, log: Path, long: int, ref: str, n: int
) -> dict[str, float]:
    out: dict[str, float] = {}
    for name, path, template in (
        ("list", "/app/1/", "/app/{wid}"),
        ("conversation", f"/app/1/c/{long}", "/app/{wid}/c/{cid}"),
    ):
        since = len(log.read_text().splitlines())
        sizes, client_ms = [], []
        for _ in range(n):
            started = time.perf_counter()
            r = client.get(path)
            client_ms.append((time.perf_counter() - started) * 1000)
            assert r.status_code == 200, r.text[:200]
            sizes.append(len(r.content))
        time.sleep(0.5)  # the access log lines are written after the responses
        server = server_times(log, template, since)
        out[f"{name}_server_p50_ms"] = pct(server, 50)
        out[f"{name}_server_p95_ms"] = pct(server, 95)
        out[f"{name}_client_p95_ms"] = pct(client_ms, 95)
        out[f"{name}_kb"] = max(sizes) / 1024
    with httpx.Client(base_url=ref) as bare:
        floor = []
        for _ in range(n):
            started = time.perf_counter()
            bare.get("/")
            floor.append((time.perf_counter() - started) * 1000)
    out["reference_client_p95_ms"] = pct(floor, 95)
    return out


async def live(
    base: str, cookies: httpx.Cookies, first: int, open_count: int, clients: int, seconds: float
) -> dict[str, float]:
    marker = first + open_count - 1
    delays: list[float] = []
    sent: dict[int, float] = {}
    ready = 0
    all_ready = asyncio.Event()
    stop = asyncio.Event()

    async def stream() -> None:
        nonlocal ready
        async with (
            httpx.AsyncClient(base_url=base, cookies=cookies, timeout=None) as c,
            c.stream("GET", "/app/1/live") as r,
        ):
            ready += 1
            if ready == clients:
                all_ready.set()
            event = None
            async for line in r.aiter_lines():
                if stop.is_set():
                    return
                if line.startswith("event:"):
                    event = line[6:].strip()
                elif line.startswith("data:") and event == "change":
                    data = json.loads(line[5:])
                    if marker in data["contacts"] and sent:
                        # from the request of the latest marker to this stream hearing of it
                        delays.append((time.perf_counter() - sent[max(sent)]) * 1000)

    admin = httpx.AsyncClient(base_url=base, headers={"Authorization": f"Bearer {ADMIN}"})
    tasks = [asyncio.create_task(stream()) for _ in range(clients)]
    await all_ready.wait()
    # The writer: 200 comments/s on random open conversations, a marker every 0.25 s.
    started = time.perf_counter()
    count = 0
    writes = 0
    while time.perf_counter() - started < seconds:
        due = started + writes / 200
        await asyncio.sleep(max(0.0, due - time.perf_counter()))
        if writes % 50 == 0:
            count += 1
            sent[count] = time.perf_counter()
            contact = marker
        else:
            contact = random.randrange(first, first + open_count - 1)
        r = await admin.post(
            f"/v2/contact/id:{contact}/comment",
            json={"text": f"w{writes}"},
            headers={"Authorization": f"Bearer {TOKEN}"},
        )
        assert r.status_code == 200, r.text
        writes += 1
    rate = writes / (time.perf_counter() - started)
    await asyncio.sleep(2)
    stop.set()
    for t in tasks:
        t.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    await admin.aclose()
    return {
        "live_clients": clients,
        "writes_per_s": rate,
        "markers": count,
        "delays_seen": len(delays),
        "live_p50_ms": pct(delays, 50),
        "live_p99_ms": pct(delays, 99),
    }


def wrk_comments(base: str, first: int, open_count: int, seconds: int) -> float:
    script = Path(tempfile.mkstemp(suffix=".lua")[1])
    script.write_text(
        "math.randomseed(1)\n"
        "request = function()\n"
        f"  local id = math.random({first}, {first + open_count - 2})\n"
        '  return wrk.format("POST", "/v2/contact/id:" .. id .. "/comment",'
        f' {{["Content-Type"]="application/json", ["Authorization"]="Bearer {TOKEN}"}},'
        ' \'{"text":"load"}\')\n'
        "end\n"
    )
    out = subprocess.run(
        ["wrk", "-t2", "-c16", f"-d{seconds}s", "-s", str(script), base],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    m = re.search(r"Requests/sec:\s+([\d.]+)", out)
    assert m, out
    return float(m.group(1))


TOKEN = "inbox-bench-demo-token-0123"


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--contacts", type=int, default=100_000)
    parser.add_argument("--open", type=int, default=10_000)
    parser.add_argument("--clients", type=int, default=200)
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--seconds", type=int, default=10)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        path = f"{tmp}/inbox.db"
        first, long = asyncio.run(load(path, args.contacts, args.open))
        port, ref_port = free_port(), free_port()
        log = Path(tmp) / "server.log"
        env = {
            "OPENRESPOND_DATABASE_URL": f"sqlite:///{path}",
            "OPENRESPOND_PORT": str(port),
            "OPENRESPOND_ADMIN_TOKEN": ADMIN,
            "OPENRESPOND_DEMO_TOKEN": TOKEN,
            "OPENRESPOND_RATE_LIMIT_PER_SECOND": "0",
            "PATH": "/usr/bin:/bin",
        }
        with open(log, "w") as out:
            server = subprocess.Popen(
                [sys.executable, "-m", "openrespond", "serve", "--demo"],
                env=env,
                stdout=out,
                stderr=subprocess.STDOUT,
            )
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
                "--app-dir",
                str(HERE),
            ],
        )
        try:
            base, ref_url = f"http://127.0.0.1:{port}", f"http://127.0.0.1:{ref_port}"
            wait(f"{base}/openapi.json")
            wait(ref_url)
            client = sign_in(base)
            results: dict[str, float] = {
                "contacts": args.contacts,
                "open_conversations": args.open,
            }
            results.update(render(base, client, log, long, ref_url, args.requests))
            results.update(
                asyncio.run(
                    live(base, client.cookies, first, args.open, args.clients, args.seconds)
                )
            )

            async def with_streams() -> float:
                stop = asyncio.Event()

                async def idle() -> None:
                    async with (
                        httpx.AsyncClient(base_url=base, cookies=client.cookies, timeout=None) as c,
                        c.stream("GET", "/app/1/live") as r,
                    ):
                        async for _ in r.aiter_lines():
                            if stop.is_set():
                                return

                tasks = [asyncio.create_task(idle()) for _ in range(args.clients)]
                await asyncio.sleep(1)
                rate = await asyncio.to_thread(wrk_comments, base, first, args.open, args.seconds)
                stop.set()
                for t in tasks:
                    t.cancel()
                await asyncio.gather(*tasks, return_exceptions=True)
                return rate

            # The machine's speed drifts: without and with the streams in alternating slices,
            # each ratio against the slice just before it; the median of three.
            ratios = []
            for i in range(3):
                alone = wrk_comments(base, first, args.open, args.seconds)
                beside = asyncio.run(with_streams())
                results[f"writes_per_s_no_streams_{i + 1}"] = alone
                results[f"writes_per_s_with_streams_{i + 1}"] = beside
                ratios.append(beside / alone)
            results["streams_throughput_ratio"] = statistics.median(ratios)
        finally:
            server.terminate()
            ref.terminate()
            server.wait(30)
            ref.wait(10)
    (HERE / "results").mkdir(exist_ok=True)
    (HERE / "results" / "inbox.json").write_text(json.dumps(results, indent=2) + "\n")
    for key, value in results.items():
        print(f"{key:32} {value:,.2f}" if isinstance(value, float) else f"{key:32} {value}")


if __name__ == "__main__":
    main()
