"""Changing users through the control API: roles, deactivation, and the rule that a workspace
keeps an active owner, also when two changes race (both backends)."""

from __future__ import annotations

import threading

import httpx

from tests.conftest import Workspace


def test_role_and_deactivation(ws: Workspace) -> None:
    w = f"/control/workspaces/{ws.wid}/users"
    agent = ws.users["agent@example.com"]
    r = ws.control.put(f"{w}/{agent}", json={"role": "manager"})
    assert r.status_code == 200, r.text
    assert r.json()["role"] == "manager"
    assert ws.control.put(f"{w}/{agent}", json={"active": False}).status_code == 200
    assert ws.control.put(f"{w}/{agent}", json={"active": True}).status_code == 200
    for body, status, words in (
        ({"role": "boss"}, 400, "role"),
        ({"active": "no"}, 400, "active"),
    ):
        r = ws.control.put(f"{w}/{agent}", json=body)
        assert r.status_code == status, r.text
        assert words in r.json()["message"]
    assert ws.control.put(f"{w}/999999999", json={"role": "agent"}).status_code == 404
    owner = ws.users["owner@example.com"]
    r = ws.control.put(f"{w}/{owner}", json={"active": False})
    assert r.status_code == 409
    assert "only active owner" in r.json()["message"]


def test_another_workspaces_user_is_404(ws: Workspace, other: Workspace) -> None:
    theirs = other.users["agent@example.com"]
    r = ws.control.put(f"/control/workspaces/{ws.wid}/users/{theirs}", json={"role": "owner"})
    assert r.status_code == 404
    listed = other.control.get(f"/control/workspaces/{other.wid}/users").json()["items"]
    assert next(u for u in listed if u["id"] == theirs)["role"] == "agent"


def test_two_owners_demoting_each_other_at_once_leave_one_owner(ws: Workspace) -> None:
    w = f"/control/workspaces/{ws.wid}/users"
    first = ws.users["owner@example.com"]
    second = ws.users["agent@example.com"]
    assert ws.control.put(f"{w}/{second}", json={"role": "owner"}).status_code == 200
    results: list[int] = []
    lock = threading.Lock()
    barrier = threading.Barrier(2)

    def demote(user: int) -> None:
        with httpx.Client(base_url=str(ws.control.base_url), headers=ws.control.headers) as c:
            barrier.wait()
            r = c.put(f"{w}/{user}", json={"role": "agent"})
            with lock:
                results.append(r.status_code)

    threads = [threading.Thread(target=demote, args=(u,)) for u in (first, second)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(results) == [200, 409]
    roles = [u["role"] for u in ws.control.get(w).json()["items"]]
    assert roles.count("owner") == 1
