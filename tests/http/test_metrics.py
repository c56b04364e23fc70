"""GET /metrics: Prometheus text, the optional token, and what each metric counts.

Counters are per process and the suite runs many servers in one, so the in-process tests
compare a metric before and after what they do. The multiprocess tests start real
processes and count exactly.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from openrespond.app import create_app
from tests.backend import database_url
from tests.conftest import ServerThread, Workspace, make_settings, new_workspace
from tests.contacts.test_routes import error
from tests.messages.test_routes import delivered, send
from tests.server_process import ServerProcess
from tests.webhooks.receiver import receiving, subscribe

Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


def scrape(base: str, token: str | None = None) -> Samples:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    r = httpx.get(f"{base}/metrics", headers=headers, timeout=10)
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("text/plain; version=")
    return parse(r.text)


def parse(text: str) -> Samples:
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def value(samples: Samples, name: str, **labels: str) -> float:
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


def wait_for(check: object, seconds: float = 10) -> None:
    deadline = time.monotonic() + seconds
    while not check():  # type: ignore[operator]
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.05)


def test_requests_are_counted_by_route_template_never_by_path(ws: Workspace) -> None:
    before = scrape(ws.base)
    ws.contact("Ada", email="ada.metrics@example.com")
    for _ in range(3):
        assert ws.api.get("/contact/email:ada.metrics@example.com").status_code == 200
    assert ws.api.get("/contact/email:nobody@example.com").status_code == 404
    r = httpx.get(f"{ws.base}/metrics")
    text = r.text
    after = parse(text)
    route = "/v2/contact/{identifier}"
    ok = dict(route=route, method="GET", status="200")
    assert (
        value(after, "openrespond_http_requests_total", **ok)
        - value(before, "openrespond_http_requests_total", **ok)
        == 3
    )
    missing = dict(route=route, method="GET", status="404")
    assert value(after, "openrespond_http_requests_total", **missing) >= 1
    count = "openrespond_http_request_duration_seconds_count"
    assert (
        value(after, count, route=route, method="GET")
        - value(before, count, route=route, method="GET")
        == 4
    )
    assert "ada.metrics@example.com" not in text
    assert "nobody@example.com" not in text
    assert ws.token not in text


def test_paths_no_route_serves_are_counted_as_unmatched(server_url: str) -> None:
    before = scrape(server_url)
    for path in ("/v2/no/such/thing", "/nothing-here", "/v2/contact/id:1/nope/x"):
        assert httpx.get(f"{server_url}{path}").status_code == 404
    after = scrape(server_url)
    labels = dict(route="(unmatched)", method="GET", status="404")
    assert (
        value(after, "openrespond_http_requests_total", **labels)
        - value(before, "openrespond_http_requests_total", **labels)
        == 3
    )
    assert not any("no/such" in str(key) or "nothing-here" in str(key) for key in after)


def test_messages_are_counted_by_source_driver_and_status(ws: Workspace) -> None:
    ada = ws.contact("Ada", phone="+60123450001")
    before = scrape(ws.base)
    ids = [
        send(ws, f"id:{ada}", {"type": "text", "text": f"m{i}"}).json()["messageId"]
        for i in range(3)
    ]
    for message_id in ids:
        delivered(ws, f"id:{ada}", message_id)
    after = scrape(ws.base)
    for status in ("queued", "sent", "delivered"):
        labels = dict(source="whatsapp_cloud", driver="sandbox", status=status)
        assert (
            value(after, "openrespond_messages_total", **labels)
            - value(before, "openrespond_messages_total", **labels)
            == 3
        ), status
    # an incoming message, simulated
    r = ws.control.post(
        f"/control/workspaces/{ws.wid}/sandbox/incoming",
        json={
            "channelId": ws.channel_id,
            "address": "+60123450001",
            "message": {"type": "text", "text": "hi"},
        },
    )
    assert r.status_code == 200, r.text
    received = scrape(ws.base)
    name = "openrespond_messages_received_total"
    assert (
        value(received, name, source="whatsapp_cloud") - value(after, name, source="whatsapp_cloud")
        == 1
    )


def test_a_refused_send_counts_nothing(ws: Workspace) -> None:
    ada = ws.contact("Ada", phone="+60123450002")
    before = scrape(ws.base)
    r = send(ws, f"id:{ada}", {"type": "text", "text": ""})
    assert r.status_code == 400
    after = scrape(ws.base)
    labels = dict(source="whatsapp_cloud", driver="sandbox", status="queued")
    assert value(after, "openrespond_messages_total", **labels) == value(
        before, "openrespond_messages_total", **labels
    )


def test_queue_depth_and_oldest_age_come_from_the_database(tmp_path: Path) -> None:
    settings = make_settings(tmp_path / "queue.db", worker=False)
    with ServerThread(create_app(settings)) as url, new_workspace(url) as w:
        empty = scrape(url)
        assert value(empty, "openrespond_delivery_queue_depth") == 0
        assert value(empty, "openrespond_delivery_queue_oldest_age_seconds") == 0
        assert value(empty, "openrespond_database_up") == 1
        ada = w.contact("Ada", phone="+60123450003")
        for i in range(3):
            assert send(w, f"id:{ada}", {"type": "text", "text": f"q{i}"}).status_code == 200
        time.sleep(0.3)
        queued = scrape(url)
        assert value(queued, "openrespond_delivery_queue_depth") == 3
        assert 0.25 <= value(queued, "openrespond_delivery_queue_oldest_age_seconds") < 30
        assert value(queued, "openrespond_webhook_queue_depth") == 0


def test_webhook_deliveries_are_counted_by_outcome(tmp_path: Path) -> None:
    settings = make_settings(tmp_path / "hooks.db", retry_base_ms=50)
    # 200, then 500 (retried, then 200), then 410 (the endpoint is disabled)
    script: list[tuple[int, dict[str, str], float]] = [
        (200, {}, 0.0),
        (500, {}, 0.0),
        (200, {}, 0.0),
        (410, {}, 0.0),
    ]
    with (
        receiving(script=script) as rx,
        ServerThread(create_app(settings)) as url,
        new_workspace(url) as w,
    ):
        subscribe(w.control, w.wid, rx.url, events=["contact.created"])
        before = scrape(url)
        w.contact("One")
        wait_for(lambda: len(rx.requests) == 1)
        w.contact("Two")
        wait_for(lambda: len(rx.requests) == 3)
        w.contact("Three")
        wait_for(lambda: len(rx.requests) == 4)

        def counted() -> dict[str, float]:
            after = scrape(url)
            return {
                outcome: value(after, "openrespond_webhook_deliveries_total", outcome=outcome)
                - value(before, "openrespond_webhook_deliveries_total", outcome=outcome)
                for outcome in ("delivered", "retried", "disabled", "failed")
            }

        wait_for(lambda: counted()["disabled"] == 1)
        assert counted() == {"delivered": 2, "retried": 1, "disabled": 1, "failed": 0}
        # the disabled endpoint's delivery waits in the queue
        assert value(scrape(url), "openrespond_webhook_queue_depth") == 1


def test_rate_limit_rejections_are_counted(tmp_path: Path) -> None:
    settings = make_settings(tmp_path / "limited.db", rate_limit_per_second=1)
    with ServerThread(create_app(settings)) as url, new_workspace(url) as w:
        before = scrape(url)
        statuses = [w.api.get("/space/user").status_code for _ in range(6)]
        assert 429 in statuses
        with httpx.Client(base_url=f"{url}/v2") as anon:
            anon_statuses = [
                anon.get(
                    "/space/user", headers={"Authorization": "Bearer wrong-token-123"}
                ).status_code
                for _ in range(6)
            ]
        assert 429 in anon_statuses
        after = scrape(url)
        for kind, got in (("workspace", statuses), ("unauthenticated", anon_statuses)):
            name = "openrespond_rate_limited_total"
            assert value(after, name, kind=kind) - value(before, name, kind=kind) == got.count(429)
        # scrapes are never limited
        assert {httpx.get(f"{url}/metrics").status_code for _ in range(5)} == {200}


class TestToken:
    TOKEN = "metrics-token-0123456789"

    @pytest.fixture
    def url(self, tmp_path: Path) -> object:
        settings = make_settings(tmp_path / "guarded.db", metrics_token=self.TOKEN)
        with ServerThread(create_app(settings)) as url:
            yield url

    def test_the_right_token_is_needed(self, url: str) -> None:
        for headers in (
            {},
            {"Authorization": "Bearer wrong-token-0123456789"},
            {"Authorization": f"Basic {self.TOKEN}"},
            {"Authorization": f"Bearer {self.TOKEN}x"},
        ):
            r = httpx.get(f"{url}/metrics", headers=headers)
            error(r, 401, "OPENRESPOND_METRICS_TOKEN")
            assert r.headers["www-authenticate"].startswith("Bearer")
            assert self.TOKEN not in r.text
        assert (
            "openrespond_http_requests_total"
            in httpx.get(f"{url}/metrics", headers={"Authorization": f"Bearer {self.TOKEN}"}).text
        )

    def test_health_stays_open(self, url: str) -> None:
        assert httpx.get(f"{url}/healthz").status_code == 200
        assert httpx.get(f"{url}/readyz").status_code == 200


def test_a_short_metrics_token_is_a_configuration_error() -> None:
    from openrespond.settings import ConfigError, Settings

    with pytest.raises(ConfigError, match="OPENRESPOND_METRICS_TOKEN"):
        Settings.from_env({"OPENRESPOND_METRICS_TOKEN": "short"})
    assert Settings.from_env({"OPENRESPOND_METRICS_TOKEN": "m" * 16}).metrics_token == "m" * 16


TOKEN = "metrics-demo-token-0123456789"


@pytest.mark.slow
@pytest.mark.parametrize("http_server", ["uvicorn", "granian"])
def test_several_server_processes_report_their_sum(tmp_path: Path, http_server: str) -> None:
    """``serve --workers 3``: whichever process answers the scrape reports every process's
    requests, exactly."""
    server = ServerProcess(
        tmp_path / "multi.db",
        "--demo",
        "--server",
        http_server,
        "--workers",
        "3",
        env={"OPENRESPOND_DEMO_TOKEN": TOKEN, "OPENRESPOND_ADMIN_TOKEN": "admin-token-0123456789"},
    )
    before = set(Path(tempfile.gettempdir()).glob("openrespond-metrics-*"))
    server.start()
    try:
        # A connection each, so the requests spread over the processes.
        for _ in range(40):
            assert httpx.get(f"{server.url}/healthz").status_code == 200
        for _ in range(5):
            text = httpx.get(f"{server.url}/metrics").text
            served = value(
                parse(text),
                "openrespond_http_requests_total",
                route="/healthz",
                method="GET",
                status="200",
            )
            assert served == 40, text
    finally:
        server.stop()
    # the private directory of the processes' files is gone with them
    assert set(Path(tempfile.gettempdir()).glob("openrespond-metrics-*")) <= before


@pytest.mark.slow
def test_a_worker_process_counts_into_the_shared_directory(tmp_path: Path) -> None:
    """``serve --no-worker`` and ``openrespond worker`` with one OPENRESPOND_METRICS_DIR: the
    worker's deliveries show in the server's /metrics."""
    shared = tmp_path / "metrics"
    shared.mkdir()
    db = tmp_path / "split.db"
    env = {
        "OPENRESPOND_DEMO_TOKEN": TOKEN,
        "OPENRESPOND_METRICS_DIR": str(shared),
        "PROMETHEUS_MULTIPROC_DIR": "",
    }
    with ServerProcess(db, "--demo", "--no-worker", env=env) as server:
        worker = subprocess.Popen(
            [sys.executable, "-m", "openrespond", "worker"],
            env={**os.environ, **env, "OPENRESPOND_DATABASE_URL": database_url(db)},
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            with httpx.Client(
                base_url=f"{server.url}/v2", headers={"Authorization": f"Bearer {TOKEN}"}
            ) as api:
                for i in range(5):
                    r = api.post(
                        "/contact/id:12345/message",
                        json={"channelId": 123, "message": {"type": "text", "text": f"w{i}"}},
                    )
                    assert r.status_code == 200, r.text

            def delivered_all() -> bool:
                s = scrape(server.url)
                return all(
                    value(s, "openrespond_messages_total", source=src, driver="sandbox", status=st)
                    == 5
                    for src in ("whatsapp_cloud",)
                    for st in ("queued", "sent", "delivered")
                )

            wait_for(delivered_all, 20)
        finally:
            worker.terminate()
            assert worker.wait(20) == 0
    assert list(shared.glob("*.db"))


@pytest.mark.slow
def test_a_worker_serves_its_own_metrics_with_metrics_port(tmp_path: Path) -> None:
    """A worker on a machine without a server: ``--metrics-port`` serves its counters."""
    from tests.server_process import free_port

    db = tmp_path / "remote.db"
    with ServerProcess(
        db, "--demo", "--no-worker", env={"OPENRESPOND_DEMO_TOKEN": TOKEN}
    ) as server:
        port = free_port()
        worker = subprocess.Popen(
            [sys.executable, "-m", "openrespond", "worker", "--metrics-port", str(port)],
            env={**os.environ, "OPENRESPOND_DATABASE_URL": database_url(db)},
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            r = httpx.post(
                f"{server.url}/v2/contact/id:12345/message",
                headers={"Authorization": f"Bearer {TOKEN}"},
                json={"channelId": 123, "message": {"type": "text", "text": "remote"}},
            )
            assert r.status_code == 200, r.text

            def sent() -> bool:
                try:
                    text = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=2).text
                except httpx.TransportError:
                    return False
                labels = dict(source="whatsapp_cloud", driver="sandbox", status="sent")
                return value(parse(text), "openrespond_messages_total", **labels) == 1

            wait_for(sent, 20)
        finally:
            worker.terminate()
            assert worker.wait(20) == 0
