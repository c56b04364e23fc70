"""``openrespond webhooks``: manage subscriptions offline, and the reference receiver
(`webhooks listen`, a real process) getting events posted by `worker --once`."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from openrespond.webhooks.signing import sign_headers
from tests.backend import database_url
from tests.server_process import free_port
from tests.test_cli import run

KEY = "whsec_MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3"


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    return {
        "OPENRESPOND_DATABASE_URL": database_url(tmp_path / "hooks.db"),
        "OPENRESPOND_ALLOW_PRIVATE_NETWORKS": "127.0.0.0/8",
    }


def _listen(port: int, *extra: str) -> subprocess.Popen[str]:
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "openrespond",
            "webhooks",
            "listen",
            "--port",
            str(port),
            "--secret",
            KEY,
            *extra,
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "COLUMNS": "200"},
    )
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        try:
            httpx.get(f"http://127.0.0.1:{port}/", timeout=0.5)
            return proc
        except httpx.TransportError:
            time.sleep(0.05)
    proc.kill()
    raise RuntimeError(proc.stderr.read() if proc.stderr else "listen did not start")


def test_subscriptions_from_the_command_line(env: dict[str, str]) -> None:
    run(env, "demo")
    out = run(
        env,
        "webhooks",
        "add",
        "-w",
        "1",
        "https://example.com/in",
        "-e",
        "contact.created",
        "--description",
        "crm sync",
    )
    assert "signing key (shown once" in out
    assert "whsec_" in out
    (hook,) = json.loads(run(env, "webhooks", "list", "-w", "1", "--json"))
    assert hook["events"] == ["contact.created"]
    assert "signingKey" not in hook
    rotated = json.loads(run(env, "webhooks", "rotate", "-w", "1", str(hook["id"]), "--json"))
    assert rotated["signingKey"].startswith("whsec_")
    (off,) = json.loads(
        run(env, "webhooks", "update", "-w", "1", str(hook["id"]), "--disable", "--json")
    )
    assert off["enabled"] is False
    assert "removed webhook" in run(env, "webhooks", "remove", "-w", "1", str(hook["id"]))
    from typer.testing import CliRunner

    from openrespond.cli import app

    bad = CliRunner().invoke(app, ["webhooks", "add", "-w", "1", "http://10.0.0.1/x"], env=env)
    assert bad.exit_code != 0
    assert "private" in bad.output
    bad = CliRunner().invoke(
        app, ["webhooks", "add", "-w", "1", "https://e.com/x", "-e", "nope"], env=env
    )
    assert bad.exit_code == 2


def test_listen_verifies_and_prints_what_the_worker_posts(env: dict[str, str]) -> None:
    port = free_port()
    listener = _listen(port, "--json")
    try:
        run(env, "demo")
        run(env, "webhooks", "add", "-w", "1", f"http://127.0.0.1:{port}/", "--signing-key", KEY)
        run(
            env,
            "sandbox",
            "incoming",
            "-w",
            "1",
            "--channel",
            "123",
            "--from",
            "+60123000222",
            "--first-name",
            "Nia",
            "Hello",
        )
        assert "posted 3 webhook delivery(ies)" in run(env, "worker", "--once")
        (hook,) = json.loads(run(env, "webhooks", "list", "-w", "1", "--json"))
        log = json.loads(run(env, "webhooks", "deliveries", "-w", "1", str(hook["id"]), "--json"))
        assert {d["eventType"] for d in log} == {
            "contact.created",
            "conversation.opened",
            "message.received",
        }
        assert {d["status"] for d in log} == {"delivered"}
        detail = json.loads(
            run(env, "webhooks", "delivery", "-w", "1", str(hook["id"]), str(log[0]["id"]))
        )
        assert detail["attemptLog"][0]["statusCode"] == 200
        assert "queued again" in run(
            env, "webhooks", "replay", "-w", "1", str(hook["id"]), str(log[0]["id"])
        )
        assert "posted 1 webhook" in run(env, "worker", "--once")
        # a forged post is refused
        body = b'{"event_id":"evt_forged","event_type":"contact.created","contact":null}'
        forged = httpx.post(
            f"http://127.0.0.1:{port}/",
            content=body,
            headers=sign_headers("whsec_b3RoZXIta2V5LW90aGVyLWtleQ==", "evt_forged", body),
        )
        assert forged.status_code == 401
        assert forged.json()["code"] == 401
        assert httpx.post(f"http://127.0.0.1:{port}/", content=body).status_code == 401
    finally:
        listener.terminate()
        out, err = listener.communicate(timeout=10)
    lines = [json.loads(line) for line in out.splitlines()]
    assert len(lines) == 4
    assert "evt_forged" not in out
    assert [e["event_id"] for e in lines].count(log[0]["eventId"]) == 2
    assert lines[-1]["event_id"] == log[0]["eventId"]  # the replay, same event
    assert "rejected" in err
