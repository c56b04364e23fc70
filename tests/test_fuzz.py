"""Arbitrary JSON thrown at every route that writes: never a 5xx, always the error shape.

Bodies are drawn by Hypothesis from every JSON shape (deep, huge and tiny numbers, odd
text), with keys taken mostly from the names the OpenAPI document uses, so that they get
past the first check and into the rules behind it. Path parameters are real ids of the test
workspace, ids of nothing, and identifiers of every kind.

``OPENRESPOND_FUZZ_EXAMPLES`` (default 25 a route) and ``OPENRESPOND_FUZZ_SEED`` set the
size and the seed of a run.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, seed, settings
from hypothesis import strategies as st

from openrespond.app import create_app
from tests.conftest import ADMIN_TOKEN, Workspace, make_settings, new_workspace
from tests.server_process import ServerProcess

EXAMPLES = int(os.environ.get("OPENRESPOND_FUZZ_EXAMPLES", "25"))
SEED = int(os.environ.get("OPENRESPOND_FUZZ_SEED", "20261201"))


def _write_routes() -> list[tuple[str, str]]:
    app = create_app(make_settings(Path("/nonexistent/fuzz.db")))
    routes = []
    for route in app.routes:
        if route.path.startswith("/app"):
            continue  # the browser app takes forms, not JSON: tests/web covers its inputs
        for method in sorted(route.methods - {"GET", "HEAD", "OPTIONS"}):
            routes.append((method, route.path))
    return sorted(routes)


def _vocabulary() -> tuple[list[str], list[str]]:
    """Property names and enumerated values of the app's OpenAPI document."""
    app = create_app(make_settings(Path("/nonexistent/fuzz.db")))
    doc = app.openapi_schema.to_schema()
    names: set[str] = set()
    values: set[str] = set()

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            props = node.get("properties")
            if isinstance(props, dict):
                names.update(props)
            for key in ("enum", "const"):
                found = node.get(key)
                if isinstance(found, list):
                    values.update(v for v in found if isinstance(v, str))
                elif isinstance(found, str):
                    values.add(found)
            for child in node.values():
                walk(child)
        elif isinstance(node, list):
            for child in node:
                walk(child)

    walk(doc)
    return sorted(names), sorted(values)


ROUTES = _write_routes()
NAMES, ENUMS = _vocabulary()
ODD_TEXT = [
    "",
    " ",
    "id:1",
    "id:99999999999999999999",
    "email:ada@example.com",
    "phone:+60123456789",
    "+1 (555) 0100 ext 5",
    "ada@example.com",
    "http://a..com/",
    "http://[::127.0.0.1]/x",
    "https://example.com/hook",
    "1815-12-10",
    "2024-01-01T00:00:00Z",
    "{{@user.99999999999999999999}}",
    "@[nobody@example.com]",
    "null",
    "a" * 300,
    "\u00e9\u4e2d\U0001f600",
    "\\u0000",
    "Customer",
]
NUMBERS = [0, 1, -1, 2**31, 2**53, 2**63, -(2**63) - 1, 10**30, 1e308, -1e308, 1.5, 1e-300]

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.sampled_from(NUMBERS),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=20),
    st.sampled_from(ODD_TEXT),
    st.sampled_from(ENUMS),
)
keys = st.one_of(st.sampled_from(NAMES), st.sampled_from(NAMES), st.text(max_size=8))
json_values = st.recursive(
    scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4),
        st.dictionaries(keys, inner, max_size=6),
    ),
    max_leaves=25,
)
bodies = st.one_of(st.dictionaries(keys, json_values, max_size=8), json_values)


@pytest.fixture(scope="module")
def target(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """A server process of its own (Hypothesis watches this process's use of ``random``),
    and a workspace with one of everything, its ids for the path parameters."""
    db = tmp_path_factory.mktemp("fuzz") / "fuzz.db"
    with (
        ServerProcess(db, env={"OPENRESPOND_ADMIN_TOKEN": ADMIN_TOKEN}) as server,
        new_workspace(server.url, "fuzz") as ws,
    ):
        ids = _seed(ws)
        yield {"ws": ws, "ids": ids}


def _seed(ws: Workspace) -> dict[str, list[int]]:
    w = f"/control/workspaces/{ws.wid}"
    contact = ws.contact("Fuzz", email="fuzz@example.com", phone="+60123450001")
    other = ws.contact("Other", email="other@example.com")
    message = ws.api.post(
        f"/contact/id:{contact}/message",
        json={"channelId": ws.channel_id, "message": {"type": "text", "text": "hi"}},
    ).json()["messageId"]
    field = ws.api.post("/space/custom_field", json={"name": "Score", "dataType": "number"})
    template = ws.control.post(
        f"{w}/channels/{ws.channel_id}/templates", json={"name": "fuzz", "languageCode": "en"}
    ).json()["id"]
    hook = ws.control.post(f"{w}/webhooks", json={"url": "https://example.com/hook"}).json()["id"]
    return {
        "contact": [contact, other],
        "messageId": [message],
        "fieldId": [field.json()["id"]],
        "channelId": [ws.channel_id],
        "templateId": [template],
        "webhookId": [hook],
        "userId": list(ws.users.values()),
    }


_PARAM = re.compile(r"\{(\w+):(\w+)\}")


def _path(template: str, draw: Any, ws: Workspace, ids: dict[str, list[int]], method: str) -> str:
    def fill(m: re.Match[str]) -> str:
        name = m[1]
        if name == "identifier":
            contact = draw(st.sampled_from(ids["contact"]))
            return str(
                draw(
                    st.sampled_from(
                        [
                            f"id:{contact}",
                            "id:999999999",
                            "email:fuzz@example.com",
                            "email:nobody@example.com",
                            "phone:+60123450001",
                            "phone:12",
                            "id:abc",
                            "email:",
                        ]
                    )
                )
            )
        if name == "wid":
            # never the workspace itself where that would delete it
            if method == "DELETE" and template.endswith("{wid:int}"):
                return "999999999"
            return str(ws.wid)
        if name == "tokenId":
            return "999999999"  # the fuzzing token stays valid
        if name in ("name", "category"):
            return str(draw(st.sampled_from(["vip", "Resolved", "New Lead", "nothing", "%20"])))
        known = ids.get(name, [])
        return str(draw(st.sampled_from([*known, 1, 999999999])))

    return _PARAM.sub(fill, template)


def _client_for(path: str, ws: Workspace) -> httpx.Client:
    return ws.api if path.startswith("/v2/") else ws.control


@pytest.mark.parametrize(("method", "template"), ROUTES, ids=[f"{m} {p}" for m, p in ROUTES])
def test_no_write_route_answers_5xx_to_any_json(
    target: dict[str, Any], method: str, template: str
) -> None:
    ws: Workspace = target["ws"]
    ids: dict[str, list[int]] = target["ids"]

    @seed(SEED)
    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        database=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )
    @given(data=st.data(), body=bodies)
    def check(data: st.DataObject, body: Any) -> None:
        path = _path(template, data.draw, ws, ids, method)
        client = _client_for(path, ws)
        url = path.removeprefix("/v2") if path.startswith("/v2/") else path
        content = json.dumps(body)
        r = client.request(
            method, url, content=content, headers={"Content-Type": "application/json"}
        )
        assert r.status_code < 500, (method, path, content[:500], r.status_code, r.text)
        answer = r.json()
        if r.status_code >= 400:
            assert answer["code"] == r.status_code, r.text
            assert isinstance(answer["message"], str), r.text

    check()
