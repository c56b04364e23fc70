"""Every form of the app, posted with hostile values over plain HTTP: never a 5xx, and the
one-time links hold under concurrent use (both backends)."""

from __future__ import annotations

import re
import threading
from urllib.parse import quote

import httpx
import pytest

from tests.web.conftest import PASSWORDS, App

HOSTILE = [
    "",
    " ",
    "x" * 20_000,
    "nul\x00here",
    "-1",
    "0",
    "99999999999999999999999",
    "<script>alert(1)</script>",
    "{{7*7}}",
    "me",
    "email:nobody@example.com",
    "\uff46\uff55\uff4c\uff4c\u3000width",  # full-width letters and space
    "\u202eright-to-left",
]
FIELDS = {
    "reply": ["channel", "type", "text", "subject", "template"],
    "comment": ["text"],
    "status": ["status", "category", "summary"],
    "assign": ["assignee"],
    "tag": ["tag"],
    "untag": ["tag"],
    "lifecycle": ["lifecycle"],
    "contact": ["firstName", "lastName", "email", "phone", "language", "countryCode"],
    "delete": ["confirm"],
    "merge": ["with"],
}


def signed_in(app: App, email: str = "owner@example.com") -> tuple[httpx.Client, str]:
    """An HTTP client signed in as ``email`` and the session's CSRF token."""
    client = httpx.Client(base_url=app.url, timeout=30)
    form = client.get("/app/sign-in")
    pre = re.search(r'name="_csrf" value="([^"]+)"', form.text)
    assert pre
    r = client.post(
        "/app/sign-in",
        data={"_csrf": pre.group(1), "email": email, "password": PASSWORDS[email]},
    )
    assert r.status_code == 303, r.text
    page = client.get("/app/1/")
    csrf = re.search(r'data-csrf="([^"]+)"', page.text)
    assert csrf
    return client, csrf.group(1)


@pytest.mark.parametrize("action", sorted(FIELDS))
def test_no_form_value_makes_a_server_error(app: App, action: str) -> None:
    client, csrf = signed_in(app)
    try:
        for field in FIELDS[action]:
            for value in HOSTILE:
                data = {"_csrf": csrf, "channel": "123", "status": "close", field: value}
                r = client.post(f"/app/1/c/12345/{action}", data=data)
                assert r.status_code < 500, (action, field, value[:40], r.text[:300])
                assert r.status_code in (303, 400, 404, 409, 413), (action, field, r.status_code)
                if r.status_code != 303:
                    assert 'role="alert"' in r.text, (action, field, value[:40])
    finally:
        client.close()


def test_other_forms_take_hostile_values_without_a_server_error(app: App) -> None:
    client, csrf = signed_in(app)
    try:
        for value in HOSTILE:
            for field in ("email", "firstName", "role"):
                data = {"_csrf": csrf, "email": "h@example.com", "role": "agent", field: value}
                r = client.post("/app/1/settings/invite", data=data)
                assert r.status_code in (200, 400, 409), (field, value[:40], r.text[:300])
            for path in ("/app/1/", "/app/1/c/12345"):
                for param in ("q", "assignee", "status", "after", "before"):
                    r = client.get(path, params={param: value})
                    # 414: a URL longer than the server reads
                    assert r.status_code in (200, 400, 414), (path, param, value[:40])
    finally:
        client.close()
    with httpx.Client(base_url=app.url) as anonymous:
        for value in HOSTILE:
            r = anonymous.post("/app/sign-in", data={"email": value, "password": value})
            assert r.status_code in (400, 403)  # no CSRF cookie; NUL is refused before that
            token = quote(value or "x", safe="")
            assert anonymous.get(f"/app/link/{token}").status_code in (400, 404, 414)


def test_a_link_used_twice_at_once_signs_in_once(app: App) -> None:
    with app.admin() as admin:
        r = admin.post(
            "/control/workspaces/1/users",
            json={"email": "racer@example.com", "firstName": "Rae", "role": "agent"},
        )
        assert r.status_code == 200, r.text
    url = app.link(1, app.user_id(1, "racer@example.com"))
    clients = [httpx.Client(timeout=30) for _ in range(6)]
    forms = []
    for client in clients:
        page = client.get(url)
        token = re.search(r'name="_csrf" value="([^"]+)"', page.text)
        assert token
        forms.append(token.group(1))
    codes: list[int] = []
    start = threading.Barrier(len(clients))

    def use(i: int) -> None:
        start.wait()
        password = f"racer-password-{i}"
        r = clients[i].post(
            url, data={"_csrf": forms[i], "password": password, "confirm": password}
        )
        codes.append(r.status_code)

    threads = [threading.Thread(target=use, args=(i,)) for i in range(len(clients))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for client in clients:
        client.close()
    assert sorted(codes) == [303] + [404] * (len(clients) - 1)
