"""Direct routes answer exactly as the Litestar routes they stand for, and skip none of the
API middleware's checks; direct writes hand what they do not take on to Litestar."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from openrespond.app import create_app
from openrespond.contacts import service as contact_service
from openrespond.db import TransientError
from openrespond.http.context import STATE_KEY
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
    for post in _direct_layer(app).posts:
        assert "POST" in app.state.allowed_methods[post.template]
        assert post.template in app.openapi_schema.paths  # type: ignore[operator]


class Twins:
    """Two databases, each served: one with the direct layer (counting what it takes and
    what it hands on to Litestar), one by Litestar alone. The same requests in the same
    order give the same ids on both."""

    def __init__(self, direct: str, plain: str) -> None:
        self.direct = direct
        self.plain = plain
        self.taken: list[str] = []
        self.handed: list[str] = []


@pytest.fixture(scope="module")
def twins(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Twins]:
    where = tmp_path_factory.mktemp("twins")
    with_direct = create_app(make_settings(where / "direct.db"))
    layer = _direct_layer(with_direct)
    api, litestar = layer.api, layer.app
    seen = Twins("", "")

    async def counted(scope: Any, receive: Any, send: Any) -> None:
        seen.taken.append(scope["path"])
        await api(scope, receive, send)

    async def handed(scope: Any, receive: Any, send: Any) -> None:
        if STATE_KEY in scope:  # from inside the direct layer's API middleware
            seen.handed.append(scope["path"])
        await litestar(scope, receive, send)

    layer.api = counted  # type: ignore[assignment]
    layer.app = handed
    plain_app = create_app(make_settings(where / "plain.db"))
    plain_app.asgi_handler.app = _direct_layer(plain_app).app  # type: ignore[attr-defined]
    with ServerThread(with_direct) as direct, ServerThread(plain_app) as plain:
        seen.direct, seen.plain = direct, plain
        yield seen


@pytest.fixture
def pairs(twins: Twins) -> Iterator[tuple[Workspace, Workspace, Workspace, Workspace]]:
    """A workspace and another one on each server, made in the same order."""
    with (
        new_workspace(twins.direct) as w,
        new_workspace(twins.direct, "other") as o,
        new_workspace(twins.plain) as pw,
        new_workspace(twins.plain, "other") as po,
    ):
        assert (w.wid, o.wid) == (pw.wid, po.wid)
        yield w, o, pw, po


def _post(ws: Workspace, path: str, body: bytes, key: str | None = None) -> httpx.Response:
    headers = {"Content-Type": "application/json"}
    if key is not None:
        headers["Idempotency-Key"] = key
    return ws.api.post(path, content=body, headers=headers)


def _same(
    twins: Twins, pair: tuple[Workspace, Workspace], path: str, body: bytes, *, handed: bool
) -> httpx.Response:
    """POST ``body`` to both servers: equal answers (each server's own address, in page
    links, aside); ``handed`` when Litestar answered it."""
    taken, gone = len(twins.taken), len(twins.handed)
    got = _post(pair[0], path, body)
    want = _post(pair[1], path, body)
    assert len(twins.taken) == taken + 1, (path, body)
    assert len(twins.handed) == gone + handed, (path, body, got.text)
    mine = got.content.replace(twins.direct.encode(), b"BASE")
    theirs = want.content.replace(twins.plain.encode(), b"BASE")
    assert (got.status_code, mine) == (want.status_code, theirs), (path, body)
    assert got.headers["content-type"] == want.headers["content-type"] == "application/json"
    return got


CREATES: list[tuple[bytes, int, bool]] = [
    # body, status, handed to Litestar (a body that does not convert, worded there)
    (b'{"firstName":"Ada","email":"ada@example.com"}', 200, False),
    (b'{"firstName":"Ada","email":"ADA@example.com"}', 409, False),  # the service's 409
    (b'{"firstName":"Bo","phone":"+60123456780","lastName":null,"extra":1}', 200, False),
    (b'{"firstName":"Cy","email":"not-an-address"}', 400, False),  # the service's 400
    (b'{"firstName":"Di","custom_fields":[{"name":"nope","value":"x"}]}', 400, False),
    (b'{"firstName":"Ed","countryCode":"MY","phone":"0123456781"}', 200, False),
    (b'{"email":"fay@example.com"}', 400, True),  # firstName missing
    (b'{"firstName":123}', 400, True),
    (b'{"firstName":"   "}', 400, True),
    (b'{"firstName":"G","email":["g@example.com"]}', 400, True),
    (b"[]", 400, True),
    (b"null", 400, True),
    (b"", 400, True),
    (b'{"firstName":', 400, True),
    (b'{"firstName":"Hal","tags":"x"}', 200, False),  # not a field: ignored by both
]


def test_creates_answer_as_litestar(
    twins: Twins, pairs: tuple[Workspace, Workspace, Workspace, Workspace]
) -> None:
    w, _, pw, _ = pairs
    for body, status, handed in CREATES:
        got = _same(twins, (w, pw), "/contact", body, handed=handed)
        assert got.status_code == status, (body, got.text)
    # The contacts the direct way made are the ones Litestar made.
    for ws in (w, pw):
        page = ws.api.post("/contact/list?limit=100", json={}).json()["items"]
        assert sorted(c["firstName"] for c in page) == ["Ada", "Bo", "Ed", "Hal"]


def test_sends_answer_as_litestar(
    twins: Twins, pairs: tuple[Workspace, Workspace, Workspace, Workspace]
) -> None:
    w, o, pw, po = pairs
    ada = w.contact("Ada", email="ada@example.com", phone="+60123456789")
    assert pw.contact("Ada", email="ada@example.com", phone="+60123456789") == ada
    theirs = o.contact("Eve", phone="+60123456700")
    assert po.contact("Eve", phone="+60123456700") == theirs
    text = b'{"type":"text","text":"Hello"}'
    ch = str(w.channel_id).encode()
    cases: list[tuple[str, bytes, int, bool]] = [
        (
            f"/contact/id:{ada}/message",
            b'{"channelId":' + ch + b',"message":' + text + b"}",
            200,
            False,
        ),
        ("/contact/email:ada@example.com/message", b'{"message":' + text + b"}", 200, False),
        (
            "/contact/phone:+60123456789/message",
            b'{"channelId":null,"message":' + text + b"}",
            200,
            False,
        ),
        (
            f"/contact/id:{ada}/message",
            b'{"channelId":"' + ch + b'","message":' + text + b"}",
            200,
            False,
        ),
        (f"/contact/id:{ada}/message", b'{"channelId":999999,"message":' + text + b"}", 404, False),
        (f"/contact/id:{theirs}/message", b'{"message":' + text + b"}", 404, False),
        ("/contact/id:999999999/message", b'{"message":' + text + b"}", 404, False),
        ("/contact/id:abc/message", b'{"message":' + text + b"}", 400, False),
        (f"/contact/id:{ada}/message", b'{"message":{"type":"text","text":""}}', 400, True),
        (f"/contact/id:{ada}/message", b'{"message":{"type":"fax","text":"x"}}', 400, True),
        (f"/contact/id:{ada}/message", b'{"channelId":0,"message":' + text + b"}", 400, True),
        (f"/contact/id:{ada}/message", b'{"channelId":' + ch + b"}", 400, True),
        (f"/contact/id:{ada}/message", b"{}", 400, True),
        (f"/contact/id:{ada}/message", b"", 400, True),
    ]
    for path, body, status, handed in cases:
        got = _same(twins, (w, pw), path, body, handed=handed)
        assert got.status_code == status, (path, body, got.text)


def test_pages_answer_as_litestar(
    twins: Twins, pairs: tuple[Workspace, Workspace, Workspace, Workspace]
) -> None:
    w, o, pw, po = pairs
    ids = [w.contact(f"C{i}", email=f"c{i}@example.com") for i in range(7)]
    assert [pw.contact(f"C{i}", email=f"c{i}@example.com") for i in range(7)] == ids
    assert o.contact("Eve") == po.contact("Eve")  # another workspace's: never listed
    big = 2**53
    cases: list[tuple[str, bytes, bool]] = [
        ("/contact/list", b"{}", False),
        ("/contact/list", b"null", False),
        ("/contact/list?limit=3", b"{}", False),
        (f"/contact/list?limit=3&cursorId={ids[2]}", b"{}", False),
        (f"/contact/list?cursorId=-{ids[5]}&limit=2&keep=yes", b"{}", False),
        ("/contact/list?limit=100", b'{"search":"c3"}', False),
        ("/contact/list", b'{"search":"nobody"}', False),
        ("/contact/list", b'{"search":"","timezone":"Asia/Kuala_Lumpur"}', False),
        ("/contact/list", b'{"filter":{"$and":[]}}', False),
        ("/contact/list?limit=0", b"{}", True),  # out of the declared range
        ("/contact/list?limit=101", b"{}", True),
        (f"/contact/list?cursorId={big}", b"{}", True),
        ("/contact/list?limit=2&limit=3", b"{}", True),
        ("/contact/list?limit=abc", b"{}", False),  # refused by the API middleware
        ("/contact/list", b"", True),  # no body: Litestar's default
        ("/contact/list", b'{"search":5}', True),
        ("/contact/list", b"[1]", True),
    ]
    for path, body, handed in cases:
        got = _same(twins, (w, pw), path, body, handed=handed)
        assert got.status_code in (200, 400), (path, body, got.text)
    first = _post(w, "/contact/list?limit=3", b"{}").json()
    assert [c["id"] for c in first["items"]] == ids[:3]
    assert first["pagination"]["next"].startswith(twins.direct)


@pytest.mark.parametrize(
    "path",
    [
        "/contact/",
        "/contact/x",  # no route (the identifier's pattern): Litestar answers
        "/contact/nocolon/message",
        "/contact/id:1/message/",
        "/contact/id:1/messages",
        "/contact/id:1/x/message",
    ],
)
def test_what_no_direct_write_matches_goes_to_litestar(
    twins: Twins, pairs: tuple[Workspace, Workspace, Workspace, Workspace], path: str
) -> None:
    w, _, pw, _ = pairs
    taken = len(twins.taken)
    got = _post(w, path, b'{"message":{"type":"text","text":"x"}}')
    want = _post(pw, path, b'{"message":{"type":"text","text":"x"}}')
    assert len(twins.taken) == taken
    assert (got.status_code, got.content) == (want.status_code, want.content)


def test_a_failed_write_runs_again_in_litestar_on_a_clean_transaction(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A failure that is not a refusal (here a transient one, once) rolls the direct write
    back and lets the Litestar route run the request: one contact, answered 200."""
    calls: list[str] = []
    create = contact_service.create_contact

    async def flaky(sc: Any, data: Any, **kw: Any) -> int:
        contact_id: int = await create(sc, data, **kw)  # written, then lost with the rollback
        calls.append(data.first_name)
        if len(calls) == 1:
            raise TransientError("could not serialize access")
        return contact_id

    monkeypatch.setattr(contact_service, "create_contact", flaky)
    app = create_app(make_settings(tmp_path / "flaky.db"))
    with ServerThread(app) as base, new_workspace(base) as ws:
        r = ws.api.post("/contact", json={"firstName": "Ada", "email": "ada@example.com"})
        assert r.status_code == 200, r.text
        assert calls == ["Ada", "Ada"]
        page = ws.api.post("/contact/list", json={}).json()["items"]
        assert [(c["id"], c["email"]) for c in page] == [(r.json()["contactId"], "ada@example.com")]


def test_direct_writes_keep_idempotency_rate_limit_and_request_log(tmp_path: Path) -> None:
    app = create_app(make_settings(tmp_path / "w.db", rate_limit_per_second=3))
    with ServerThread(app) as base, new_workspace(base) as ws:
        first = _post(ws, "/contact", b'{"firstName":"Ada"}', key="k-1")
        again = _post(ws, "/contact", b'{"firstName":"Ada"}', key="k-1")
        assert first.status_code == again.status_code == 200, (first.text, again.text)
        assert again.content == first.content
        assert again.headers["idempotent-replayed"] == "true"
        other = _post(ws, "/contact", b'{"firstName":"Bo"}', key="k-1")
        assert other.status_code == 422, other.text  # the key, reused for another body
        answers = [_post(ws, "/contact", b'{"firstName":"Cy"}') for _ in range(8)]
        statuses = [r.status_code for r in answers]
        assert 200 in statuses, statuses
        assert 429 in statuses, statuses
        limited = next(r for r in answers if r.status_code == 429)
        assert limited.json()["code"] == 429
        assert "retry-after" in limited.headers
        made = ws.api.post("/contact/list?limit=100", json={}).json()["items"]
        assert sorted(c["firstName"] for c in made) == ["Ada"] + ["Cy"] * statuses.count(200)

        def logged() -> list[dict[str, Any]] | None:
            r = ws.control.get(
                f"/control/workspaces/{ws.wid}/requests",
                params={"route": "/v2/contact", "limit": 100},
            )
            assert r.status_code == 200, r.text
            items: list[dict[str, Any]] = r.json()["items"]
            return items if len(items) >= 11 else None

        items = until(logged, "eleven creates in the request log")
        assert sorted(i["status"] for i in items) == sorted([200, 200, 422, *statuses])
