"""Providers' channels in one run (SQLite, one process): WhatsApp webhooks in, and sends out
through each provider's driver.

    .venv/bin/python benchmarks/providers.py [--rate 1000] [--seconds 10] [--messages 5000]

1. **Inbound.** ``openrespond serve --demo`` (one process, its workers in it, rate limiting
   off) with a ``whatsapp_cloud`` channel. A paced client posts signed webhooks as Meta
   does, one text message each (a new ``wamid``, senders among 1,000 numbers), open-loop at
   ``--rate`` per second for ``--seconds`` over 64 keep-alive connections: each answer's
   latency is timed from when its request was due. Then the wait until every message is
   applied (``provider_inbox`` empty, the messages stored): messages applied per second over
   the whole run. The bare ASGI app (``reference.py``) gets the same paced load in the same
   run, for the floor of the client and the machine.
2. **Outbound.** For each provider driver (``whatsapp_cloud``, ``telegram``, ``twilio``) and,
   for comparison, ``custom_channel``: ``--messages`` texts queued in one transaction on a
   channel whose provider is a bare ASGI app answering the provider's success shape
   (``provider_fakes.py``, ``bridge.py``); throughput = messages / time until the queue is
   empty, every message ``sent`` with the provider's id.

Results are printed and written to benchmarks/results/providers.json.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import hmac
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
from run import STORE, free_port, wait  # benchmarks/run.py, beside this file

HERE = Path(__file__).resolve().parent
TOKEN = "providers-bench-demo-token-0123"
APP_SECRET = "bench-app-secret-0123456789"
PHONE_ID = "106540352242922"


def webhook(n: int) -> bytes:
    """Meta's webhook POST carrying one text message (sender among 1,000)."""
    wa_id = f"6012{n % 1000:07d}"
    value = {
        "messaging_product": "whatsapp",
        "metadata": {"display_phone_number": "15550783881", "phone_number_id": PHONE_ID},
        "contacts": [{"profile": {"name": f"Sender {n % 1000}"}, "wa_id": wa_id}],
        "messages": [
            {
                "from": wa_id,
                "id": f"wamid.IN{n:09d}",
                "timestamp": str(int(time.time())),
                "type": "text",
                "text": {"body": f"message {n}"},
            }
        ],
    }
    entry = {"id": "1", "changes": [{"field": "messages", "value": value}]}
    return json.dumps({"object": "whatsapp_business_account", "entry": [entry]}).encode()


async def paced(url: str, bodies: list[bytes], *, rate: int) -> dict[str, float]:
    """POST each body, the i-th due at i/rate s whatever the answers, over 64 keep-alive
    connections; latencies from each request's due time to its answer."""
    parts = urlsplit(url)
    queue: asyncio.Queue[tuple[float, bytes] | None] = asyncio.Queue()
    latencies: list[float] = []
    statuses: list[int] = []
    loop = asyncio.get_running_loop()

    async def connection() -> None:
        reader, writer = await asyncio.open_connection(parts.hostname, parts.port)
        while (item := await queue.get()) is not None:
            due, body = item
            signature = "sha256=" + hmac.new(APP_SECRET.encode(), body, hashlib.sha256).hexdigest()
            writer.write(
                f"POST {parts.path} HTTP/1.1\r\nHost: {parts.netloc}\r\n"
                f"Content-Type: application/json\r\nX-Hub-Signature-256: {signature}\r\n"
                f"Content-Length: {len(body)}\r\n\r\n".encode()
                + body
            )
            head = await reader.readuntil(b"\r\n\r\n")
            length = re.search(rb"(?i)content-length: *(\d+)", head)
            await reader.readexactly(int(length.group(1)) if length else 0)
            latencies.append((loop.time() - due) * 1000)
            statuses.append(int(head[9:12]))
        writer.close()

    workers = [asyncio.create_task(connection()) for _ in range(64)]
    t0 = loop.time()
    for i, body in enumerate(bodies):
        due = t0 + i / rate
        await asyncio.sleep(max(0.0, due - loop.time()))
        queue.put_nowait((due, body))
    for _ in workers:
        queue.put_nowait(None)
    await asyncio.gather(*workers)
    elapsed = loop.time() - t0
    latencies.sort()
    return {
        "offered_per_s": rate,
        "answered_per_s": len(statuses) / elapsed,
        "non_2xx": float(sum(1 for s in statuses if s != 200)),
        "p50_ms": latencies[len(latencies) // 2],
        "p99_ms": latencies[int(len(latencies) * 0.99)],
        "max_ms": latencies[-1],
    }


def inbound(base: str, ref_url: str, channel: int, args: argparse.Namespace) -> dict[str, Any]:
    count = args.rate * args.seconds
    bodies = [webhook(n) for n in range(count)]
    before = STORE.rows("SELECT COUNT(*) FROM messages WHERE channel_id = ?", channel)[0][0]
    t0 = time.monotonic()
    result = asyncio.run(paced(f"{base}/hooks/whatsapp/{channel}", bodies, rate=args.rate))
    posted = time.monotonic()
    deadline = posted + 300
    while True:
        left = STORE.rows("SELECT COUNT(*) FROM provider_inbox")[0][0]
        stored = STORE.rows("SELECT COUNT(*) FROM messages WHERE channel_id = ?", channel)[0][0]
        if not left and stored - before >= count:
            break
        if time.monotonic() > deadline:
            raise RuntimeError(f"inbound did not drain: {left} waiting, {stored - before} stored")
        time.sleep(0.05)
    done = time.monotonic()
    result.update(
        messages=float(count),
        applied_per_s=count / (done - t0),
        applied_lag_s=done - posted,
    )
    reference = asyncio.run(paced(ref_url, bodies, rate=args.rate))
    return {"openrespond": result, "reference": reference}


async def _queue(channel_id: int, count: int, address: str) -> None:
    """Link 1,000 contacts to the channel (as if each had written within the day) and queue
    ``count`` texts to them in one transaction."""
    from openrespond import common
    from openrespond.db import Scope
    from openrespond.identifiers import Identifier
    from openrespond.messages import service
    from openrespond.messages.schemas import TextMessage

    db = STORE.database()
    await db.connect()
    try:
        phones = {
            r[0]: r[1]
            for r in await db.reader().fetch_all(
                "SELECT id, phone FROM contacts WHERE phone IS NOT NULL ORDER BY id LIMIT 1000"
            )
        }
        contacts = list(phones)
        now = common.now()
        async with db.transaction() as tx:
            for contact in contacts:
                await tx.execute(
                    "INSERT INTO contact_channels (workspace_id, contact_id, channel_id, address,"
                    " last_incoming_message_time, created_at) VALUES (1, ?, ?, ?, ?, ?)"
                    " ON CONFLICT (contact_id, channel_id) DO NOTHING",
                    contact,
                    channel_id,
                    phones[contact] if address == "phone" else str(100_000 + contact),
                    now,
                    now,
                )
            for i in range(count):
                await service.send(
                    Scope(tx, 1),
                    Identifier("id", contacts[i % len(contacts)]),
                    channel_id=channel_id,
                    message=TextMessage(text="bench"),
                )
    finally:
        await db.close()


def outbound(channel_id: int, count: int, address: str) -> dict[str, float]:
    first = STORE.rows("SELECT COALESCE(MAX(id), 0) FROM messages")[0][0]
    asyncio.run(_queue(channel_id, count, address))
    t0 = time.monotonic()
    deadline = t0 + 300
    while STORE.rows("SELECT COUNT(*) FROM delivery_jobs")[0][0]:
        if time.monotonic() > deadline:
            raise RuntimeError("delivery queue did not drain")
        time.sleep(0.05)
    seconds = time.monotonic() - t0
    sent = STORE.rows(
        "SELECT COUNT(*) FROM messages WHERE id > ? AND channel_id = ? AND status = 'sent'"
        " AND channel_message_id IS NOT NULL",
        first,
        channel_id,
    )[0][0]
    return {"messages": float(count), "sent": float(sent), "per_s": count / seconds}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rate", type=int, default=1000, help="webhooks/s offered")
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--messages", type=int, default=5000, help="texts per outbound driver")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="openrespond-providers-"))
    STORE.url = f"sqlite:///{work / 'bench.db'}"
    ports = {name: free_port() for name in ("app", "ref", "fakes", "bridge")}
    uvicorn = [sys.executable, "-m", "uvicorn", "--log-level", "warning", "--no-access-log"]
    env = {
        **os.environ,
        "OPENRESPOND_DATABASE_URL": STORE.url,
        "OPENRESPOND_DEMO_TOKEN": TOKEN,
        "OPENRESPOND_RATE_LIMIT_PER_SECOND": "0",
        "OPENRESPOND_PORT": str(ports["app"]),
        "OPENRESPOND_ALLOW_PRIVATE_NETWORKS": "127.0.0.0/8",
        "OPENRESPOND_TEMPLATE_SYNC_SECONDS": "0",
    }
    procs = [
        subprocess.Popen(
            [*uvicorn, "--app-dir", str(HERE), "--port", str(ports[name]), f"{module}:app"]
        )
        for name, module in (
            ("ref", "reference"),
            ("fakes", "provider_fakes"),
            ("bridge", "bridge"),
        )
    ]
    procs.append(
        subprocess.Popen(
            [sys.executable, "-m", "openrespond", "serve", "--demo"],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
    )
    base = f"http://127.0.0.1:{ports['app']}"
    fakes = f"http://127.0.0.1:{ports['fakes']}"
    try:
        for name in ("ref", "fakes", "bridge"):
            wait(f"http://127.0.0.1:{ports[name]}/")
        wait(f"{base}/openapi.json")
        channels: dict[str, int] = {}
        settings = {
            "whatsapp_cloud": (
                "whatsapp_cloud",
                {
                    "phoneNumberId": PHONE_ID,
                    "accessToken": "EAAG-bench-token-0000",
                    "appSecret": APP_SECRET,
                    "verifyToken": "bench-verify-token",
                    "graphBaseUrl": fakes,
                },
            ),
            "telegram": (
                "telegram",
                {
                    "botToken": "123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw",
                    "apiBaseUrl": fakes,
                    "mode": "webhook",
                },
            ),
            "twilio": (
                "twilio",
                {
                    "accountSid": "AC" + "0" * 32,
                    "authToken": "bench-twilio-auth-token",
                    "from": "+15005550006",
                    "apiBaseUrl": fakes,
                },
            ),
            "custom_channel": (
                "custom_channel",
                {
                    "apiBaseUrl": f"http://127.0.0.1:{ports['bridge']}",
                    "token": "bench-bridge-token-0123",
                },
            ),
        }
        with httpx.Client(base_url=base, headers={"Authorization": f"Bearer {TOKEN}"}) as api:
            for driver, (source, values) in settings.items():
                r = api.post(
                    "/control/workspaces/1/channels",
                    json={"name": driver, "source": source, "driver": driver, "settings": values},
                )
                r.raise_for_status()
                channels[driver] = r.json()["id"]
        results: dict[str, Any] = {
            "inbound_whatsapp": inbound(
                base, f"http://127.0.0.1:{ports['ref']}/", channels["whatsapp_cloud"], args
            )
        }
        for driver in ("whatsapp_cloud", "telegram", "twilio", "custom_channel"):
            address = "chat" if driver == "telegram" else "phone"
            results[f"outbound_{driver}"] = outbound(channels[driver], args.messages, address)
    finally:
        for proc in procs:
            proc.terminate()
        for proc in procs:
            proc.wait(30)
    inb = results["inbound_whatsapp"]
    print(
        f"inbound WhatsApp at {args.rate}/s for {args.seconds} s: answered"
        f" {inb['openrespond']['answered_per_s']:.0f}/s, p50 {inb['openrespond']['p50_ms']:.1f} ms,"
        f" p99 {inb['openrespond']['p99_ms']:.1f} ms (bare reference p99"
        f" {inb['reference']['p99_ms']:.1f} ms), applied {inb['openrespond']['applied_per_s']:.0f}/s,"
        f" last applied {inb['openrespond']['applied_lag_s']:.2f} s after the last post"
    )
    for driver in ("whatsapp_cloud", "telegram", "twilio", "custom_channel"):
        out = results[f"outbound_{driver}"]
        print(
            f"outbound {driver}: {out['per_s']:.0f} messages/s ({out['sent']:.0f} of {out['messages']:.0f} sent)"
        )
    (HERE / "results").mkdir(exist_ok=True)
    (HERE / "results" / "providers.json").write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
