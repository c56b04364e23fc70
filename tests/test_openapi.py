"""The OpenAPI document: complete, with the error shape, and fuzzed by Schemathesis."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.server_process import ServerProcess
from tests.test_isolation import app_routes

HERE = Path(__file__).parent
TOKEN = "schemathesis-demo-token-0123"
ADMIN = "schemathesis-admin-token-0123"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    db = tmp_path_factory.mktemp("openapi") / "st.db"
    env = {"OPENRESPOND_DEMO_TOKEN": TOKEN, "OPENRESPOND_ADMIN_TOKEN": ADMIN}
    with ServerProcess(db, "--demo", env=env) as proc:
        yield proc.url


def test_document_describes_every_route_with_the_error_shape(server: str) -> None:
    doc = httpx.get(f"{server}/openapi.json").json()
    assert doc["openapi"].startswith("3.1")
    documented = {(method.upper(), path) for path, item in doc["paths"].items() for method in item}
    for method, template in app_routes():
        path = template.replace(":str}", "}").replace(":int}", "}")
        assert (method, path) in documented, (method, path)
    error = doc["components"]["schemas"]["ErrorBody"]
    assert set(error["required"]) == {"code", "message"}
    for path, item in doc["paths"].items():
        for method, op in item.items():
            if path in ("/healthz", "/readyz"):
                # no token, no rate limit, no input: their only other answer is readyz's 503
                assert op["security"] == []
                assert set(op["responses"]) <= {"200", "503"}
                assert "200" in op["responses"]
                continue
            if path == "/metrics":
                # its own optional token (OPENRESPOND_METRICS_TOKEN), no input
                assert op["security"] == []
                assert set(op["responses"]) == {"200", "401"}
                ref = op["responses"]["401"]["content"]["application/json"]["schema"]["$ref"]
                assert ref.endswith("/ErrorBody")
                continue
            for status in ("400", "401", "404", "429"):
                ref = op["responses"][status]["content"]["application/json"]["schema"]["$ref"]
                assert ref.endswith("/ErrorBody"), (method, path, status)
            assert "200" in op["responses"]


def test_interactive_docs_are_served(server: str) -> None:
    r = httpx.get(f"{server}/docs")
    assert r.status_code == 200
    assert "swagger" in r.text.lower()
    assert "<title>openrespond</title>" in r.text
    assert "/v2/contact/list" in r.text


def test_the_docs_page_loads_nothing_from_elsewhere(server: str) -> None:
    """Offline and air-gapped installs show the docs: every script, style sheet and icon the
    page names is served by this server (from the swagger-ui-py package)."""
    import re

    page = httpx.get(f"{server}/docs").text
    assets = re.findall(r'(?:src|href)=["\']([^"\']+)["\']', page)
    assert len(assets) >= 4, assets
    for url in assets:
        assert url.startswith("/docs/assets/"), url
        r = httpx.get(f"{server}{url}")
        assert r.status_code == 200, url
        assert len(r.content) > 100, url
        assert "max-age" in r.headers["cache-control"]
    bundle = httpx.get(f"{server}/docs/assets/swagger-ui-bundle.js")
    assert bundle.headers["content-type"].startswith(("text/javascript", "application/javascript"))
    assert "SwaggerUIBundle" in bundle.text
    # only the page's own files; anything else is the usual JSON 404
    for name in ("swagger-initializer.js", "..%2F__init__.py", "nothing.js"):
        r = httpx.get(f"{server}/docs/assets/{name}")
        assert r.status_code == 404, r.text
        assert r.json()["code"] == 404, r.text


def _demo_workspace(server: str) -> int:
    found = httpx.get(
        f"{server}/control/workspaces", headers={"Authorization": f"Bearer {ADMIN}"}
    ).json()["items"]
    return int(next(w["id"] for w in found if w["demo"]))


# Thousands of generated requests: about two minutes each on SQLite, longer on PostgreSQL.
@pytest.mark.timeout(900)
@pytest.mark.parametrize(
    ("prefix", "token"), [("^/v2", TOKEN), ("^/control", ADMIN)], ids=["v2", "control"]
)
def test_schemathesis_finds_nothing(server: str, prefix: str, token: str) -> None:
    """Every default check and phase of Schemathesis, against the app's own document."""
    env = {
        **os.environ,
        "SCHEMATHESIS_HOOKS": "tests.schemathesis.hooks",
        "PYTHONPATH": str(HERE.parent),
        # The hooks look up contacts to pick a channel that can reach them.
        "OPENRESPOND_SCHEMATHESIS_URL": server,
        "OPENRESPOND_SCHEMATHESIS_TOKEN": TOKEN,
        # the /control run keeps this workspace and its token (the /v2 run's access)
        "OPENRESPOND_SCHEMATHESIS_KEEP_WID": str(_demo_workspace(server)),
    }
    seed = os.environ.get("OPENRESPOND_SCHEMATHESIS_SEED", "20261125")
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "schemathesis.cli",
            "--config-file",
            str(HERE / "schemathesis" / "schemathesis.toml"),
            "run",
            f"{server}/openapi.json",
            "--header",
            f"Authorization: Bearer {token}",
            "--include-path-regex",
            prefix,
            "--max-examples",
            os.environ.get("OPENRESPOND_SCHEMATHESIS_EXAMPLES", "25"),
            "--workers",
            "1",
            "--seed",
            seed,
            "--no-color",
            # Identifiers come from a format strategy checked against three patterns; some
            # draws are discarded. That is generation efficiency, not a finding.
            "--suppress-health-check",
            "filter_too_much",
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
        cwd=HERE.parent,
    )
    # The whole report, for reading when the tail below is not enough.
    report = Path(os.environ.get("TMPDIR", "/tmp")) / f"openrespond-schemathesis-{prefix[2:]}.txt"
    report.write_text(result.stdout)
    tail = f"(whole report: {report})\n" + result.stdout[-6000:]
    assert result.returncode == 0, tail
    assert " passed" in tail, tail
    assert "failure" not in tail.split("SUMMARY")[-1].lower(), tail
    # every phase ran, the stateful one (the document's links) included
    summary = tail.split("SUMMARY")[-1]
    for phase in ("Coverage", "Fuzzing", "Stateful"):
        assert f"✅ {phase}" in summary, summary
    # and the run's own access survived it
    me = httpx.get(f"{server}/v2/space/user", headers={"Authorization": f"Bearer {TOKEN}"})
    assert me.status_code == 200, me.text
