"""Several processes on one database: ``serve --workers 4 --no-worker`` and two
``openrespond worker`` processes, hit by many concurrent requests (on the suite's backend)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.backend import database_url, query
from tests.server_process import ServerProcess

pytestmark = pytest.mark.slow

TOKEN = "concurrency-token-0123456789"


@dataclass
class Cluster:
    url: str
    db: Path
    workers: list[subprocess.Popen[bytes]]
    env: dict[str, str]

    def client(self) -> httpx.Client:
        return httpx.Client(
            base_url=f"{self.url}/v2", headers={"Authorization": f"Bearer {TOKEN}"}, timeout=60
        )


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    db = tmp_path_factory.mktemp("cluster") / "cluster.db"
    env = {
        **os.environ,
        "OPENRESPOND_DATABASE_URL": database_url(db),
        "OPENRESPOND_DEMO_TOKEN": TOKEN,
        "OPENRESPOND_LEASE_SECONDS": "2",
        "OPENRESPOND_RATE_LIMIT_PER_SECOND": "0",
    }
    with ServerProcess(db, "--demo", "--workers", "4", "--no-worker", env=env) as server:
        workers = [_worker(env) for _ in range(2)]
        try:
            yield Cluster(server.url, db, workers, env)
        finally:
            for w in workers:
                w.kill()
                w.wait(10)


def _worker(env: dict[str, str]) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "openrespond", "worker", "--batch", "5"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def _all(calls: list[Callable[[], httpx.Response]], threads: int = 50) -> list[httpx.Response]:
    with ThreadPoolExecutor(threads) as pool:
        return list(pool.map(lambda call: call(), calls))


def test_fifty_creates_of_one_email_make_one_contact_and_49_conflicts(cluster: Cluster) -> None:
    with cluster.client() as api:
        body = {"firstName": "Race", "email": "race@example.com"}
        answers = _all([lambda: api.post("/contact/email:race@example.com", json=body)] * 50)
        statuses = sorted(r.status_code for r in answers)
        assert statuses == [200] + [409] * 49, [r.text for r in answers if r.status_code >= 500]
        for r in answers:
            if r.status_code == 409:
                err = r.json()
                assert err["code"] == 409
                assert err["message"]
        found = api.get("/contact/list", params={"search": "race@example.com"}).json()["items"]
        assert [c["email"] for c in found] == ["race@example.com"]


def test_two_hundred_tag_changes_and_merges_lose_nothing(cluster: Cluster) -> None:
    """100 tags added to one contact while 50 of its old tags are removed, and 25 merges
    racing with a tag added to each merge's primary: every answer is 200 and every change
    shows, in the stored contact JSON as in the rows."""
    with cluster.client() as api:

        def new(name: str, tags: list[str]) -> int:
            r = api.post("/contact", json={"firstName": name})
            assert r.status_code == 200, r.text
            cid: int = r.json()["contactId"]
            for at in range(0, len(tags), 10):  # at most 10 tags a request
                r = api.post(f"/contact/id:{cid}/tag", json=tags[at : at + 10])
                assert r.status_code == 200, r.text
            return cid

        target = new("Target", [f"old{i}" for i in range(50)])
        pairs = [(new(f"P{i}", [f"p{i}"]), new(f"S{i}", [f"s{i}"])) for i in range(25)]
        calls: list[Callable[[], httpx.Response]] = []
        for i in range(100):
            calls.append(partial(api.post, f"/contact/id:{target}/tag", json=[f"new{i}"]))
        for i in range(50):
            calls.append(
                partial(api.request, "DELETE", f"/contact/id:{target}/tag", json=[f"old{i}"])
            )
        for i, (p, s) in enumerate(pairs):
            calls.append(partial(api.post, "/contact/merge", json={"contactIds": [p, s]}))
            calls.append(partial(api.post, f"/contact/id:{p}/tag", json=[f"m{i}"]))
        order = list(range(len(calls)))
        order = order[::2] + order[1::2]  # interleave the kinds of change
        answers = _all([calls[i] for i in order])
        assert len(answers) == 200
        bad = [(r.status_code, r.text) for r in answers if r.status_code != 200]
        assert bad == []
        shown = api.get(f"/contact/id:{target}").json()["tags"]
        assert sorted(shown) == sorted(f"new{i}" for i in range(100))
        for i, (p, s) in enumerate(pairs):
            assert sorted(api.get(f"/contact/id:{p}").json()["tags"]) == sorted(
                [f"m{i}", f"p{i}", f"s{i}"]
            )
            assert api.get(f"/contact/id:{s}").status_code == 404
        rows = query(
            cluster.db,
            "SELECT t.name FROM contact_tags ct JOIN tags t ON t.id = ct.tag_id"
            " WHERE ct.contact_id = ? ORDER BY t.name",
            target,
        )
        assert [r[0] for r in rows] == sorted(shown)


def test_a_worker_killed_mid_batch_strands_nothing(cluster: Cluster) -> None:
    """Messages sent through the four API processes are delivered once each by the two
    workers, one of which is killed while it holds leases; its jobs go to the other when the
    lease runs out, and a new worker can join."""
    with cluster.client() as api:
        sends: list[Callable[[], httpx.Response]] = [
            partial(
                api.post,
                "/contact/id:12345/message",
                json={"channelId": 123, "message": {"type": "text", "text": f"c{i}"}},
            )
            for i in range(60)
        ]
        answers = _all(sends, threads=20)
        assert all(r.status_code == 200 for r in answers), [r.text for r in answers]
        ids = sorted(r.json()["messageId"] for r in answers)
        cluster.workers[0].send_signal(signal.SIGKILL)
        cluster.workers[0].wait(10)
        cluster.workers[0] = _worker(cluster.env)
        deadline = time.monotonic() + 60
        while True:
            rows = _delivered(cluster.db, ids)
            if len(rows) == len(ids) and not query(cluster.db, "SELECT id FROM delivery_jobs"):
                break
            assert time.monotonic() < deadline, (len(rows), len(ids))
            time.sleep(0.1)
        assert sorted(rows) == ids  # each message delivered exactly once


def _delivered(db: Path, ids: list[int]) -> list[Any]:
    marks = ", ".join("?" * len(ids))
    return [
        r[0]
        for r in query(
            db, f"SELECT message_id FROM sandbox_deliveries WHERE message_id IN ({marks})", *ids
        )
    ]
