"""API.md §1-2 on real HTTP: auth, error bodies, limits, rate limits, idempotency."""

from __future__ import annotations

import contextlib
import os
import socket
import threading
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from openrespond.app import create_app
from openrespond.tokens import decode_unverified
from tests.backend import POSTGRES
from tests.conftest import ADMIN_TOKEN, ServerThread, Workspace, make_settings, new_workspace
from tests.contacts.test_routes import error


class TestAuth:
    @pytest.mark.parametrize(
        "headers",
        [
            {},
            {"Authorization": "Bearer"},
            {"Authorization": "Basic abc"},
            {"Authorization": "Bearer not-a-token"},
            {"Authorization": "Bearer eyJhbGciOiJIUzI1NiJ9.e30.c2ln"},
        ],
    )
    def test_missing_or_bad_token_is_401(self, ws: Workspace, headers: dict[str, str]) -> None:
        r = httpx.get(f"{ws.base}/v2/contact/list", headers=headers)
        error(r, 401)

    def test_admin_token_is_not_a_v2_token(self, ws: Workspace) -> None:
        r = httpx.get(
            f"{ws.base}/v2/contact/list", headers={"Authorization": f"Bearer {ADMIN_TOKEN}"}
        )
        error(r, 401)

    def test_token_is_jwt_shaped_for_the_mcp_server(self, ws: Workspace) -> None:
        payload = decode_unverified(ws.token)
        assert payload is not None
        assert payload["spaceId"] == ws.wid
        for key in ("id", "orgId", "type", "iat"):
            assert key in payload
        assert isinstance(payload["iat"], int)
        assert isinstance(payload["orgId"], int)

    def test_tampered_signature_is_401(self, ws: Workspace) -> None:
        head, body, sig = ws.token.split(".")
        forged = f"{head}.{body}.{sig[:-2]}{'AA' if sig[-2:] != 'AA' else 'BB'}"
        error(
            httpx.get(f"{ws.base}/v2/contact/list", headers={"Authorization": f"Bearer {forged}"}),
            401,
        )

    def test_revoked_token_is_401(self, ws: Workspace) -> None:
        issued = ws.control.post(
            f"/control/workspaces/{ws.wid}/tokens", json={"name": "temp"}
        ).json()
        headers = {"Authorization": f"Bearer {issued['token']}"}
        assert httpx.get(f"{ws.base}/v2/space/user", headers=headers).status_code == 200
        r = ws.control.delete(f"/control/workspaces/{ws.wid}/tokens/{issued['id']}")
        assert r.status_code == 200
        error(httpx.get(f"{ws.base}/v2/space/user", headers=headers), 401)

    def test_tokens_are_listed_without_the_secret(self, ws: Workspace) -> None:
        listing = ws.control.get(f"/control/workspaces/{ws.wid}/tokens")
        assert ws.token not in listing.text
        assert all("token" not in item for item in listing.json()["items"])


class TestErrorShape:
    def test_unknown_route_is_json_404(self, ws: Workspace) -> None:
        error(ws.api.get("/no/such/route"), 404, "no route")
        error(ws.api.post("/contact/id:1/nothing", json={}), 404)

    def test_wrong_method_is_json_405(self, ws: Workspace) -> None:
        error(ws.api.patch("/contact/id:1", json={}), 405, "PATCH")
        error(ws.api.put("/space/user", json={}), 405)

    def test_oversized_body_is_413(self, ws: Workspace) -> None:
        big = b'{"firstName": "' + b"x" * (1024 * 1024) + b'"}'
        r = ws.api.post("/contact", content=big, headers={"content-type": "application/json"})
        error(r, 413, "limit")

    def test_oversized_chunked_body_is_413(self, ws: Workspace) -> None:
        def chunks() -> Iterator[bytes]:
            yield b'{"firstName": "'
            for _ in range(20):
                yield b"x" * 65536
            yield b'"}'

        r = ws.api.post("/contact", content=chunks(), headers={"content-type": "application/json"})
        error(r, 413)
        assert ws.api.get("/contact/list").json()["items"] == []

    def test_non_json_media_type_is_415(self, ws: Workspace) -> None:
        r = ws.api.post(
            "/contact",
            content=b"firstName=A",
            headers={"content-type": "application/x-www-form-urlencoded"},
        )
        error(r, 415, "content-type")

    def test_json_with_charset_and_get_with_content_type_are_fine(self, ws: Workspace) -> None:
        r = ws.api.post(
            "/contact",
            content=b'{"firstName":"A"}',
            headers={"content-type": "application/json; charset=utf-8"},
        )
        assert r.status_code == 200
        assert (
            ws.api.get("/contact/list", headers={"content-type": "application/json"}).status_code
            == 200
        )

    @pytest.mark.parametrize(
        "query",
        [
            "limit=0",
            "limit=101",
            "limit=-5",
            "limit=abc",
            "cursorId=abc",
            "cursorId=1.5",
            # text is not read as absent, nor numbers in other spellings converted
            "limit=null",
            "cursorId=NULL",
            "limit=5.0",
            "limit=1e1",
            "limit=",
        ],
    )
    def test_bad_paging_parameters_are_400(self, ws: Workspace, query: str) -> None:
        error(ws.api.get(f"/contact/list?{query}"), 400, query.split("=")[0])
        error(ws.api.post(f"/contact/list?{query}", json={}), 400, query.split("=")[0])

    def test_unknown_fields_are_ignored_and_not_echoed(self, ws: Workspace) -> None:
        r = ws.api.post("/contact", json={"firstName": "A", "shoeSize": 44})
        assert r.status_code == 200
        assert "shoeSize" not in ws.api.get(f"/contact/id:{r.json()['contactId']}").text


class TestPagination:
    def test_forward_and_backward_with_inserts_in_between(self, ws: Workspace) -> None:
        ids = [ws.contact(f"C{i}") for i in range(7)]
        page1 = ws.api.get("/contact/list?limit=3").json()
        assert [c["id"] for c in page1["items"]] == ids[:3]
        assert page1["pagination"]["previous"] is None
        nxt = page1["pagination"]["next"]
        assert nxt.startswith(ws.base + "/v2/contact/list?")
        assert f"cursorId={ids[2]}" in nxt
        ids.append(ws.contact("Late"))  # inserted while paging
        page2 = httpx.get(nxt, headers=ws.api.headers).json()
        assert [c["id"] for c in page2["items"]] == ids[3:6]
        page3 = httpx.get(page2["pagination"]["next"], headers=ws.api.headers).json()
        assert [c["id"] for c in page3["items"]] == ids[6:8]
        assert page3["pagination"]["next"] is None
        prev = page3["pagination"]["previous"]
        assert f"cursorId=-{ids[6]}" in prev
        back = httpx.get(prev, headers=ws.api.headers).json()
        assert [c["id"] for c in back["items"]] == ids[3:6]
        back2 = httpx.get(back["pagination"]["previous"], headers=ws.api.headers).json()
        assert [c["id"] for c in back2["items"]] == ids[:3]
        assert back2["pagination"]["previous"] is None
        assert f"cursorId={ids[2]}" in back2["pagination"]["next"]

    def test_search_is_kept_in_links_and_post_list_pages(self, ws: Workspace) -> None:
        for i in range(3):
            ws.contact(f"Match{i}")
        ws.contact("Other")
        page = ws.api.get("/contact/list?limit=2&search=match").json()
        assert "search=match" in page["pagination"]["next"]
        r = ws.api.post("/contact/list?limit=2", json={"search": "match"}).json()
        assert len(r["items"]) == 2
        rest = httpx.post(
            r["pagination"]["next"], json={"search": "match"}, headers=ws.api.headers
        ).json()
        assert [c["firstName"] for c in rest["items"]] == ["Match2"]

    def test_public_url_is_used_for_links(self, tmp_path: Path) -> None:
        settings = make_settings(tmp_path / "p.db", public_url="https://crm.example.com")
        with ServerThread(create_app(settings)) as base:
            with new_workspace(base) as w:
                w.contact("A")
                w.contact("B")
                page = w.api.get("/contact/list?limit=1").json()
            assert page["pagination"]["next"].startswith("https://crm.example.com/v2/contact/list?")

    def test_empty_page_past_the_end(self, ws: Workspace) -> None:
        cid = ws.contact()
        page = ws.api.get(f"/contact/list?cursorId={cid}").json()
        assert page["items"] == []
        assert page["pagination"]["next"] is None
        assert page["pagination"]["previous"] is not None
        back = httpx.get(page["pagination"]["previous"], headers=ws.api.headers).json()
        assert [c["id"] for c in back["items"]] == [cid]


@pytest.fixture(scope="module")
def limited(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    settings = make_settings(tmp_path_factory.mktemp("rl") / "rl.db", rate_limit_per_second=5)
    with ServerThread(create_app(settings)) as url:
        yield url


class TestRateLimits:
    def test_headers_on_every_response_and_429_with_retry_after(self, limited: str) -> None:
        with new_workspace(limited) as w:
            self._check(w)

    def _check(self, w: Workspace) -> None:
        statuses = []
        for _ in range(12):
            r = w.api.get("/space/user")
            assert "x-ratelimit-limit" in r.headers
            assert "x-ratelimit-remaining" in r.headers
            assert "ratelimit-policy" in r.headers
            assert "ratelimit" in r.headers
            statuses.append(r.status_code)
        assert statuses[:10] == [200] * 10
        assert 429 in statuses[10:]
        r = w.api.get("/space/user")
        error(r, 429, "rate limit")
        assert int(r.headers["retry-after"]) >= 1
        assert r.headers["x-ratelimit-remaining"] == "0"
        # errors carry the headers too, and another operation has its own bucket
        r = w.api.get("/contact/id:987654321")
        assert r.status_code == 404
        assert r.headers["x-ratelimit-limit"] == "10"

    def test_unauthenticated_requests_carry_headers_and_are_throttled(self, limited: str) -> None:
        statuses = []
        with httpx.Client(headers={"Authorization": "Bearer guess-1234"}) as client:
            for _ in range(20):
                r = client.get(f"{limited}/v2/space/user")
                assert "x-ratelimit-limit" in r.headers
                assert "x-ratelimit-remaining" in r.headers
                statuses.append(r.status_code)
        # A burst of 10 failed logins is answered, then the client's bucket runs dry.
        assert statuses[:10] == [401] * 10
        assert 429 in statuses[10:]

    def test_limits_are_per_workspace(self, limited: str) -> None:
        with new_workspace(limited) as a, new_workspace(limited) as b:
            for _ in range(12):
                a.api.get("/space/channel")
            assert a.api.get("/space/channel").status_code == 429
            assert b.api.get("/space/channel").status_code == 200


def _redis_url() -> str:
    url = os.environ.get("OPENRESPOND_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
    try:
        with (
            socket.create_connection(("127.0.0.1", 6379), timeout=1)
            if "127.0.0.1:6379" in url
            else contextlib.nullcontext()
        ):
            pass
    except OSError as exc:
        pytest.skip(f"no Redis at {url}: {exc}")
    return url


def _shared_burst(a: str, b: str) -> list[int]:
    """Twelve requests of one workspace, alternating between two servers on one database."""
    with new_workspace(a) as w:
        headers = {"Authorization": f"Bearer {w.token}"}
        # Kept-alive clients: the burst must come faster than the bucket refills (5/s).
        with httpx.Client(headers=headers) as ca, httpx.Client(headers=headers) as cb:
            ca.get(f"{a}/healthz")
            cb.get(f"{b}/healthz")
            return [
                (ca if i % 2 == 0 else cb)
                .get(f"{a if i % 2 == 0 else b}/v2/space/user")
                .status_code
                for i in range(12)
            ]


@pytest.mark.parametrize("store", ["redis", "postgresql"])
def test_processes_on_one_database_share_the_rate_limit(tmp_path: Path, store: str) -> None:
    """A burst of 10, spent half on each server: the shared bucket runs dry after 10 in all
    (two servers with their own buckets would let all 12 through)."""
    if store == "postgresql" and not POSTGRES:
        pytest.skip("PostgreSQL keeps shared buckets only on the PostgreSQL backend run")
    extra = {"redis_url": _redis_url()} if store == "redis" else {}
    settings = make_settings(tmp_path / "shared.db", rate_limit_per_second=5, **extra)
    with ServerThread(create_app(settings)) as a, ServerThread(create_app(settings)) as b:
        statuses = _shared_burst(a, b)
    assert statuses[:10] == [200] * 10, statuses
    assert 429 in statuses[10:], statuses


def test_an_unreachable_rate_limit_store_lets_requests_through(tmp_path: Path) -> None:
    settings = make_settings(
        tmp_path / "open.db", rate_limit_per_second=5, redis_url="redis://127.0.0.1:9/0"
    )
    with ServerThread(create_app(settings)) as url, new_workspace(url) as w:
        assert [w.api.get("/space/user").status_code for _ in range(12)] == [200] * 12


class TestIdempotency:
    def test_replay_returns_the_first_answer(self, ws: Workspace) -> None:
        headers = {"Idempotency-Key": "create-ada-1"}
        first = ws.api.post(
            "/contact", json={"firstName": "Ada", "email": "ada@example.com"}, headers=headers
        )
        again = ws.api.post(
            "/contact", json={"firstName": "Ada", "email": "ada@example.com"}, headers=headers
        )
        assert first.status_code == again.status_code == 200
        assert again.json() == first.json()
        assert again.headers["idempotent-replayed"] == "true"
        assert "idempotent-replayed" not in first.headers
        assert len(ws.api.get("/contact/list").json()["items"]) == 1

    def test_same_key_different_request_is_422(self, ws: Workspace) -> None:
        headers = {"Idempotency-Key": "k-2"}
        ws.api.post("/contact", json={"firstName": "Ada"}, headers=headers)
        error(
            ws.api.post("/contact", json={"firstName": "Bob"}, headers=headers),
            422,
            "Idempotency-Key",
        )
        error(ws.api.put("/contact/id:1", json={"firstName": "Ada"}, headers=headers), 422)

    def test_errors_are_replayed_too_and_nothing_is_half_written(self, ws: Workspace) -> None:
        headers = {"Idempotency-Key": "bad-1"}
        r1 = ws.api.post("/contact", json={"firstName": "A", "email": "nope"}, headers=headers)
        r2 = ws.api.post("/contact", json={"firstName": "A", "email": "nope"}, headers=headers)
        assert r1.status_code == r2.status_code == 400
        assert r1.json() == r2.json()
        assert ws.api.get("/contact/list").json()["items"] == []

    def test_keys_are_per_workspace(self, ws: Workspace, other: Workspace) -> None:
        headers = {"Idempotency-Key": "shared"}
        a = ws.api.post("/contact", json={"firstName": "A"}, headers=headers)
        b = other.api.post("/contact", json={"firstName": "A"}, headers=headers)
        assert a.status_code == b.status_code == 200
        assert "idempotent-replayed" not in b.headers

    def test_concurrent_same_key_is_409_or_replay_never_twice(self, ws: Workspace) -> None:
        results: list[httpx.Response] = []

        def call() -> None:
            with httpx.Client(base_url=ws.api.base_url, headers=ws.api.headers) as c:
                results.append(
                    c.post(
                        "/contact", json={"firstName": "Race"}, headers={"Idempotency-Key": "race"}
                    )
                )

        threads = [threading.Thread(target=call) for _ in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert all(r.status_code in (200, 409) for r in results), [r.text for r in results]
        assert len(ws.api.get("/contact/list").json()["items"]) == 1
        ids = {r.json()["contactId"] for r in results if r.status_code == 200}
        assert len(ids) == 1

    def test_bad_key_is_400(self, ws: Workspace) -> None:
        error(
            ws.api.post(
                "/contact", json={"firstName": "A"}, headers={"Idempotency-Key": "x" * 300}
            ),
            400,
            "Idempotency-Key",
        )


@pytest.mark.parametrize(
    ("route", "body", "field"),
    [
        ("/contact", {"firstName": "Ada\u0000"}, "firstName"),
        (
            "/contact",
            {"firstName": "Ada", "custom_fields": [{"name": "x", "value": "\u0000"}]},
            "custom_fields[0].value",
        ),
        ("/space/tag", {"name": "vip", "description": "a\u0000b"}, "description"),
    ],
)
def test_nul_characters_are_refused_naming_the_field(
    ws: Workspace, route: str, body: dict[str, object], field: str
) -> None:
    """No backend stores NUL alike (PostgreSQL text cannot hold it): 400, nothing kept."""
    before = ws.api.get("/contact/list", params={"limit": 100}).json()["items"]
    error(ws.api.post(route, json=body), 400, field, "NUL")
    assert ws.api.get("/contact/list", params={"limit": 100}).json()["items"] == before
    # An escaped backslash followed by "u0000" is ordinary text.
    r = ws.api.post("/contact", json={"firstName": "back\\u0000slash"})
    assert r.status_code == 200, r.text
    assert ws.api.get(f"/contact/id:{r.json()['contactId']}").json()["firstName"] == (
        "back\\u0000slash"
    )


def _nested(depth: int, inner: str = "1") -> str:
    return "[" * depth + inner + "]" * depth


@pytest.mark.parametrize("depth", [65, 1000, 100_000])
def test_deeply_nested_json_is_refused_everywhere_with_400(ws: Workspace, depth: int) -> None:
    """JSON nested past 64 levels is a 400 on every route that takes a body (a decoder
    would run out of stack), and a NUL inside it changes nothing."""
    deep = _nested(depth)
    for client, route, body in (
        (ws.api, "/contact", '{"firstName": "a", "custom_fields": ' + deep + "}"),
        (ws.api, "/contact/list", '{"filter": {"$and": ' + deep + "}}"),
        (ws.api, "/contact", '{"firstName": "\u0000", "x": ' + deep + "}"),
        (ws.control, f"/control/workspaces/{ws.wid}/tags", '{"name": ' + deep + "}"),
        (ws.control, "/custom/channel/webhook/", '{"events": ' + deep + "}"),
    ):
        r = client.post(route, content=body, headers={"Content-Type": "application/json"})
        assert r.status_code == 400, (route, r.status_code, r.text)
        assert r.json()["code"] == 400, r.text
        if not route.startswith("/custom/"):  # that one may first find the wrong type
            assert "nested" in r.json()["message"], r.text
    # 64 levels is fine as far as nesting goes (this one fails on what it holds)
    r = ws.api.post(
        "/contact",
        content='{"firstName": "a", "custom_fields": ' + _nested(63) + "}",
        headers={"Content-Type": "application/json"},
    )
    assert r.status_code == 400, r.text
    assert "nested" not in r.json()["message"], r.text


def test_a_body_of_unclosed_strings_is_refused_at_once(ws: Workspace) -> None:
    """Brackets enough to need the nesting scan, then a string that never closes, its
    quotes escaped (a scan that restarted at every quote would take minutes on 1 MiB)."""
    body = b"[]" * 40 + b'x\\"' * 300_000
    r = ws.api.post("/contact", content=body, headers={"Content-Type": "application/json"})
    assert r.status_code == 400, r.text
    assert r.json()["code"] == 400, r.text


def test_nul_characters_in_the_url_are_refused(ws: Workspace) -> None:
    error(ws.api.get("/contact/email:ada%00@example.com"), 400, "NUL")
    error(ws.api.get("/contact/list", params={"search": "a\u0000"}), 400, "NUL")


def test_a_transient_database_failure_is_retried_whole(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A deadlock or serialization failure (TransientError) after part of the work was done:
    that attempt is rolled back and the request runs again, so the change is applied once and
    the client only sees the 200. When every attempt fails, 503 with Retry-After and nothing
    kept."""
    from openrespond.db import Scope, Transaction, TransientError
    from openrespond.identifiers import Identifier
    from openrespond.tags import service as tags_service

    real = tags_service.add_to_contact
    failures = {"left": 2}

    async def flaky(sc: Scope[Transaction], ident: Identifier, *, names: list[str]) -> int:
        contact_id = await real(sc, ident, names=names)
        if failures["left"] > 0:
            failures["left"] -= 1
            raise TransientError("deadlock detected")
        return contact_id

    monkeypatch.setattr(tags_service, "add_to_contact", flaky)
    settings = make_settings(tmp_path / "retry.db")
    with ServerThread(create_app(settings)) as url, new_workspace(url) as w:
        cid = w.contact("Ada")
        r = w.api.post(f"/contact/id:{cid}/tag", json=["vip"])
        assert r.status_code == 200, r.text
        assert failures["left"] == 0
        assert w.api.get(f"/contact/id:{cid}").json()["tags"] == ["vip"]
        failures["left"] = 100
        r = w.api.post(f"/contact/id:{cid}/tag", json=["never"])
        error(r, 503, "busy")
        assert r.headers["retry-after"] == "1"
        assert w.api.get(f"/contact/id:{cid}").json()["tags"] == ["vip"]
        assert "never" not in [t["name"] for t in w.api.get("/space/tag").json()["items"]]
