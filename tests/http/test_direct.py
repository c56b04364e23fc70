"""Direct routes answer exactly as the Litestar routes they stand for, and skip none of the
API middleware's checks."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from openrespond.app import create_app
from openrespond.http.direct import DirectRoutes
from tests.conftest import ServerThread, Workspace, make_settings, new_workspace
from tests.waiting import until


class Pair:
    """One database served twice: with the direct layer (counting what it takes), and by
    Litestar alone (the layer taken out)."""

    def __init__(self, direct: str, plain: str, taken: list[str]) -> None:
        self.direct = direct
        self.plain = plain
        self.taken = taken


def _direct_layer(app: Any) -> DirectRoutes:
    layer = app.asgi_handler.app
    assert isinstance(layer, DirectRoutes)
    return layer


@pytest.fixture(scope="module")
def pair(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Pair]:
    db = tmp_path_factory.mktemp("direct") / "direct.db"
    with_direct = create_app(make_settings(db))
    layer = _direct_layer(with_direct)
    taken: list[str] = []
    api = layer.api

    async def counted(scope: Any, receive: Any, send: Any) -> None:
        taken.append(scope["path"])
        await api(scope, receive, send)

    layer.api = counted  # type: ignore[assignment]
    with ServerThread(with_direct) as direct:
        plain_app = create_app(make_settings(db))
        plain_app.asgi_handler.app = _direct_layer(plain_app).app  # type: ignore[attr-defined]
        with ServerThread(plain_app) as plain:
            yield Pair(direct, plain, taken)


@pytest.fixture
def two(pair: Pair) -> Iterator[tuple[Workspace, Workspace]]:
    with new_workspace(pair.direct) as w, new_workspace(pair.direct, "other") as o:
        yield w, o


def _answer(base: str, path: str, token: str | None) -> tuple[int, bytes, str | None]:
    headers = {"Authorization": f"Bearer {token}"} if token is not None else {}
    r = httpx.get(f"{base}{path}", headers=headers, timeout=30)
    return r.status_code, r.content, r.headers.get("content-type")


def test_answers_equal_litestars(pair: Pair, two: tuple[Workspace, Workspace]) -> None:
    ws, other = two
    cid = ws.contact("Ada", email="ada@example.com", phone="+60123456789")
    theirs = other.contact("Eve", email="eve@example.com")
    cases: list[tuple[str, str | None, bool]] = [
        # path, token, taken by the direct layer
        (f"/v2/contact/id:{cid}", ws.token, True),
        ("/v2/contact/email:ada@example.com", ws.token, True),
        ("/v2/contact/EMAIL:Ada@Example.com", ws.token, True),
        ("/v2/contact/phone:+60123456789", ws.token, True),
        ("/v2/contact/email%3Aada%40example.com", ws.token, True),
        (f"/v2/contact/id:{cid}?unknown=1", ws.token, True),
        (f"/v2/contact/id:{theirs}", ws.token, False),  # another workspace's: 404
        ("/v2/contact/email:eve@example.com", ws.token, False),
        ("/v2/contact/id:999999999", ws.token, False),
        ("/v2/contact/id:abc", ws.token, False),  # 400 from the identifier's parser
        ("/v2/contact/id:0", ws.token, False),
        ("/v2/contact/fax:123", ws.token, False),
        ("/v2/contact/email: ", ws.token, False),
        (f"/v2/contact/id:{cid}?limit=abc", ws.token, False),  # 400 before the route
        (f"/v2/contact/id:{cid}", None, False),  # 401
        (f"/v2/contact/id:{cid}", "not-a-token", False),
        (f"/v2/contact/id:{cid}", other.token, False),
    ]
    for path, token, ok in cases:
        before = len(pair.taken)
        got = _answer(pair.direct, path, token)
        assert len(pair.taken) == before + 1, path  # all of these go the direct way
        want = _answer(pair.plain, path, token)
        assert got == want, path
        assert (got[0] == 200) is ok, (path, got)
        assert got[2] == "application/json"


@pytest.mark.parametrize(
    "path",
    [
        "/v2/contact/nocolon",  # the parameter's pattern: Litestar answers the 400
        "/v2/contact/email:",
        "/v2/contact/" + "email:" + "a" * 300,  # over its length
        "/v2/contact/id:1/",
        "/v2/contact/list",  # another route
        "/v2/contact/id:1/channels",
        "/v2/contacts/id:1",
    ],
)
def test_what_the_parameter_refuses_goes_to_litestar(
    pair: Pair, two: tuple[Workspace, Workspace], path: str
) -> None:
    ws, _ = two
    before = len(pair.taken)
    got = _answer(pair.direct, path, ws.token)
    assert len(pair.taken) == before
    assert got == _answer(pair.plain, path, ws.token)
    assert got[2] == "application/json"


def test_other_methods_go_to_litestar(pair: Pair, two: tuple[Workspace, Workspace]) -> None:
    ws, _ = two
    cid = ws.contact("Ada")
    before = len(pair.taken)
    headers = {"Authorization": f"Bearer {ws.token}"}
    for method in ("HEAD", "OPTIONS", "PATCH"):
        got = httpx.request(method, f"{pair.direct}/v2/contact/id:{cid}", headers=headers)
        want = httpx.request(method, f"{pair.plain}/v2/contact/id:{cid}", headers=headers)
        assert (got.status_code, got.content) == (want.status_code, want.content), method
    assert len(pair.taken) == before


def test_rate_limit_and_request_log_apply(tmp_path: Path) -> None:
    app = create_app(make_settings(tmp_path / "rl.db", rate_limit_per_second=2))
    with ServerThread(app) as base, new_workspace(base) as ws:
        cid = ws.contact("Ada")
        answers = [ws.api.get(f"/contact/id:{cid}") for _ in range(6)]
        statuses = [r.status_code for r in answers]
        assert 200 in statuses, statuses
        assert 429 in statuses, statuses
        ok = next(r for r in answers if r.status_code == 200)
        assert ok.headers["x-ratelimit-limit"]
        assert ok.headers["x-request-id"]
        limited = next(r for r in answers if r.status_code == 429)
        assert limited.json()["code"] == 429
        assert "retry-after" in limited.headers
        # The workspace's request log has all six under the route's template.
        route = "/v2/contact/{identifier}"

        def logged() -> list[dict[str, Any]] | None:
            r = ws.control.get(
                f"/control/workspaces/{ws.wid}/requests", params={"route": route, "limit": 100}
            )
            assert r.status_code == 200, r.text
            items: list[dict[str, Any]] = r.json()["items"]
            return items if len(items) >= 6 else None

        items = until(logged, "six requests in the request log")
        assert sorted(i["status"] for i in items) == sorted(statuses)


def test_direct_routes_are_documented_routes() -> None:
    app = create_app(make_settings(Path("/nonexistent/unused.db")))
    for route in _direct_layer(app).routes.values():
        assert "GET" in app.state.allowed_methods[route.template]
        assert route.template in app.openapi_schema.paths  # type: ignore[operator]
