"""Conversations (open, close, assign) and comments, on both routes and in every body form."""

from __future__ import annotations

from typing import Any

import pytest

from tests.conftest import Rows, Workspace
from tests.contacts.test_routes import error


@pytest.fixture
def ada(ws: Workspace) -> int:
    return ws.contact("Ada", email="ada@example.com", phone="+60123456789")


def contact(ws: Workspace, contact_id: int) -> dict[str, Any]:
    body: dict[str, Any] = ws.api.get(f"/contact/id:{contact_id}").json()
    return body


class TestStatus:
    @pytest.mark.parametrize("route", ["conversation", "conversation/status"])
    def test_open_then_close_with_category_and_summary(
        self, ws: Workspace, ada: int, db_rows: Rows, route: str
    ) -> None:
        assert contact(ws, ada)["status"] == "close"
        r = ws.api.post(f"/contact/id:{ada}/{route}", json={"status": "open"})
        assert r.json() == {"contactId": ada}
        assert contact(ws, ada)["status"] == "open"
        r = ws.api.post(
            f"/contact/email:ada@example.com/{route}",
            json={"status": "close", "category": "resolved", "summary": "Sorted"},
        )
        assert r.status_code == 200
        assert contact(ws, ada)["status"] == "close"
        [row] = db_rows(
            "SELECT opened_by_source, closed_by_source, category, summary, closed_at >= opened_at"
            " FROM conversations WHERE contact_id = ?",
            ada,
        )
        assert row == ("api", "api", "Resolved", "Sorted", 1)

    def test_repeating_a_status_changes_nothing(
        self, ws: Workspace, ada: int, db_rows: Rows
    ) -> None:
        for _ in range(2):
            assert (
                ws.api.post(f"/contact/id:{ada}/conversation", json={"status": "close"}).status_code
                == 200
            )
        for _ in range(2):
            assert (
                ws.api.post(f"/contact/id:{ada}/conversation", json={"status": "open"}).status_code
                == 200
            )
        rows = db_rows("SELECT closed_at FROM conversations WHERE contact_id = ?", ada)
        assert rows == [(None,)]

    @pytest.mark.parametrize(
        ("body", "status", "words"),
        [
            ({"status": "close", "category": "Nonsense"}, 400, ["category", "Nonsense"]),
            ({"status": "close", "summary": "s" * 513}, 400, ["summary"]),
            ({"status": "close", "category": "c" * 129}, 400, ["category"]),
            ({"status": "closed"}, 400, ["status"]),
            ({}, 400, ["status"]),
            ({"status": None}, 400, ["status"]),
        ],
    )
    def test_bad_bodies_change_nothing(
        self, ws: Workspace, ada: int, body: dict[str, Any], status: int, words: list[str]
    ) -> None:
        ws.api.post(f"/contact/id:{ada}/conversation", json={"status": "open"})
        error(ws.api.post(f"/contact/id:{ada}/conversation/status", json=body), status, *words)
        assert contact(ws, ada)["status"] == "open"

    def test_unknown_contact(self, ws: Workspace) -> None:
        error(ws.api.post("/contact/id:999999999/conversation", json={"status": "open"}), 404)


class TestAssignee:
    @pytest.mark.parametrize(
        "form",
        [
            lambda u: u["agent@example.com"],
            lambda u: str(u["agent@example.com"]),
            lambda u: "agent@example.com",
            lambda u: "AGENT@example.com",
            lambda u: "email:agent@example.com",
            lambda u: f"id:{u['agent@example.com']}",
        ],
        ids=["int", "numeric-string", "email", "email-any-case", "email-prefix", "id-prefix"],
    )
    def test_every_form_names_the_user(self, ws: Workspace, ada: int, form: Any) -> None:
        r = ws.api.post(
            f"/contact/id:{ada}/conversation/assignee", json={"assignee": form(ws.users)}
        )
        assert r.json() == {"contactId": ada}
        assignee = contact(ws, ada)["assignee"]
        assert assignee["id"] == ws.users["agent@example.com"]
        assert assignee["email"] == "agent@example.com"
        assert assignee["firstName"] == "Alex"

    @pytest.mark.parametrize("nothing", [None, "null", "NULL"])
    def test_null_unassigns(self, ws: Workspace, ada: int, nothing: Any) -> None:
        ws.api.post(
            f"/contact/id:{ada}/conversation/assignee", json={"assignee": "owner@example.com"}
        )
        assert contact(ws, ada)["assignee"] is not None
        r = ws.api.post(f"/contact/id:{ada}/conversation/assignee", json={"assignee": nothing})
        assert r.status_code == 200
        assert contact(ws, ada)["assignee"] is None

    def test_open_conversation_records_the_assignment(
        self, ws: Workspace, ada: int, db_rows: Rows
    ) -> None:
        ws.api.post(f"/contact/id:{ada}/conversation", json={"status": "open"})
        ws.api.post(
            f"/contact/id:{ada}/conversation/assignee", json={"assignee": "agent@example.com"}
        )
        [row] = db_rows(
            "SELECT assignee_user_id, last_assignment_at IS NOT NULL FROM conversations"
            " WHERE contact_id = ?",
            ada,
        )
        assert row == (ws.users["agent@example.com"], 1)

    @pytest.mark.parametrize(
        ("value", "words"),
        [
            ("ghost@example.com", ["assignee", "ghost@example.com"]),
            (999999999, ["assignee", "999999999"]),
            ("999999999", ["assignee"]),
            ("id:999999999", ["assignee"]),
            ("email:ghost@example.com", ["assignee"]),
            ("not a user", ["assignee"]),
            ("", ["assignee"]),
            (True, ["assignee"]),
            (1.5, ["assignee"]),
            ([1], ["assignee"]),
        ],
    )
    def test_not_a_workspace_user(
        self, ws: Workspace, ada: int, value: Any, words: list[str]
    ) -> None:
        ws.api.post(
            f"/contact/id:{ada}/conversation/assignee", json={"assignee": "owner@example.com"}
        )
        error(
            ws.api.post(f"/contact/id:{ada}/conversation/assignee", json={"assignee": value}),
            400,
            *words,
        )
        assert contact(ws, ada)["assignee"]["email"] == "owner@example.com"

    def test_another_workspaces_user_is_not_a_user_here(
        self, ws: Workspace, other: Workspace, ada: int
    ) -> None:
        theirs = other.users["agent@example.com"]
        error(
            ws.api.post(f"/contact/id:{ada}/conversation/assignee", json={"assignee": theirs}),
            400,
            "assignee",
        )


class TestComments:
    def test_both_mention_syntaxes_are_resolved_and_stored(
        self, ws: Workspace, ada: int, db_rows: Rows
    ) -> None:
        agent, owner = ws.users["agent@example.com"], ws.users["owner@example.com"]
        text = f"Ping {{{{@user.{agent}}}}} and @[owner@example.com], again @[agent@example.com]"
        r = ws.api.post(f"/contact/id:{ada}/comment", json={"text": text})
        body = r.json()
        assert r.status_code == 200
        assert body["contactId"] == ada
        assert body["text"] == text
        assert isinstance(body["created_at"], int)
        rows = db_rows(
            "SELECT m.user_id FROM comment_mentions m JOIN comments c ON c.id = m.comment_id"
            " WHERE c.contact_id = ? ORDER BY m.user_id",
            ada,
        )
        assert rows == sorted([(agent,), (owner,)])

    @pytest.mark.parametrize(
        ("text", "words"),
        [
            ("Hi @[ghost@example.com]", ["mention", "ghost@example.com"]),
            ("Hi {{@user.999999999}}", ["mention", "999999999"]),
            # an id no user can have is an unknown user too, not plain text
            ("Hi {{@user.99999999999999999999}}", ["mention", "99999999999999999999"]),
            ("Hi {{@user.9007199254740992}}", ["mention", "9007199254740992"]),
            ("", ["text"]),
            ("   ", ["text"]),
            ("x" * 1001, ["text"]),
        ],
    )
    def test_refused_comments_store_nothing(
        self, ws: Workspace, ada: int, db_rows: Rows, text: str, words: list[str]
    ) -> None:
        error(ws.api.post(f"/contact/id:{ada}/comment", json={"text": text}), 400, *words)
        assert db_rows("SELECT COUNT(*) FROM comments WHERE contact_id = ?", ada) == [(0,)]

    def test_other_workspaces_users_cannot_be_mentioned(
        self, ws: Workspace, other: Workspace, ada: int
    ) -> None:
        theirs = other.users["agent@example.com"]
        error(
            ws.api.post(f"/contact/id:{ada}/comment", json={"text": f"{{{{@user.{theirs}}}}}"}),
            400,
            "mention",
        )

    def test_missing_or_wrong_body(self, ws: Workspace, ada: int) -> None:
        error(ws.api.post(f"/contact/id:{ada}/comment", json={}), 400, "text")
        error(ws.api.post(f"/contact/id:{ada}/comment", json={"text": 5}), 400, "text")
        error(ws.api.post("/contact/id:999999999/comment", json={"text": "x"}), 404)


def test_incoming_message_opens_a_closed_conversation_and_counts(
    ws: Workspace, ada: int, db_rows: Rows
) -> None:
    W = f"/control/workspaces/{ws.wid}"
    ws.api.post(f"/contact/id:{ada}/conversation", json={"status": "close"})
    r = ws.control.post(
        f"{W}/sandbox/incoming",
        json={
            "channelId": ws.channel_id,
            "address": "+60123456789",
            "message": {"type": "text", "text": "hi"},
        },
    )
    assert r.json()["contactId"] == ada
    assert contact(ws, ada)["status"] == "open"
    ws.api.post(
        f"/contact/id:{ada}/message",
        json={"channelId": ws.channel_id, "message": {"type": "text", "text": "yo"}},
    )
    [row] = db_rows(
        "SELECT opened_by_source, incoming_count, outgoing_count, first_response_at IS NOT NULL"
        " FROM conversations WHERE contact_id = ? AND closed_at IS NULL",
        ada,
    )
    assert row == ("contact", 1, 1, 1)
