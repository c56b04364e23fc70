"""The user's request collection, replayed as written against ``openrespond serve --demo``.

Only the base URL, the token and the ``{identifier}`` placeholder are filled in; bodies and
paths are taken from the shipped copy of the collection unchanged.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.server_process import ServerProcess

COLLECTION = Path(__file__).parent / "data" / "respond-io-v2.opencollection.json"
PREFIX = "https://api.respond.io/v2"
TOKEN = "collection-token-0123456789"
IDENTIFIER = "email:ada@example.com"

# The order a person clicks through it: create, read, message, converse, tag, merge, delete.
ORDER = [
    "Create a contact",
    "Get a contact",
    "Update a contact",
    "List contacts",
    "List a contact's channels",
    "Send a message",
    "Get a message",
    "Open or close a conversation",
    "Assign or unassign a conversation",
    "Create a comment",
    "Add tags to a contact",
    "Remove tags from a contact",
    "Create a tag",
    "List custom fields",
    "Create a custom field",
    "Merge contacts",
    "Delete a contact",
]


def requests() -> dict[str, dict[str, Any]]:
    data = json.loads(COLLECTION.read_text())
    out: dict[str, dict[str, Any]] = {}

    def walk(items: list[dict[str, Any]]) -> None:
        for item in items:
            if item["info"]["type"] == "folder":
                walk(item["items"])
            else:
                out[item["info"]["name"]] = item["http"]

    walk(data["items"])
    return out


def test_collection_is_the_one_we_replay() -> None:
    assert set(requests()) == set(ORDER)
    assert len(requests()) == 17


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    db = tmp_path_factory.mktemp("collection") / "demo.db"
    with ServerProcess(db, "--demo", env={"OPENRESPOND_DEMO_TOKEN": TOKEN}) as server:
        yield server.url


def test_every_request_passes_as_written(demo: str) -> None:
    reqs = requests()
    headers = {"Authorization": f"Bearer {TOKEN}"}
    results: dict[str, httpx.Response] = {}
    with httpx.Client(headers=headers) as client:
        for name in ORDER:
            http = reqs[name]
            url = http["url"].replace(PREFIX, f"{demo}/v2").replace("{identifier}", IDENTIFIER)
            if "{messageId}" in url:
                url = url.replace("{messageId}", str(results["Send a message"].json()["messageId"]))
            body = http.get("body")
            kwargs: dict[str, Any] = {}
            if body:
                assert body["type"] == "json"
                kwargs = {
                    "content": body["data"].encode(),
                    "headers": {"Content-Type": "application/json"},
                }
            r = client.request(http["method"], url, **kwargs)
            results[name] = r
            assert 200 <= r.status_code < 300, f"{name}: {r.status_code} {r.text}"
    assert results["Get a contact"].json()["email"] == "ada@example.com"
    assert results["Get a contact"].json()["firstName"] == "Ada"
    assert "ada@example.com" in [c["email"] for c in results["List contacts"].json()["items"]]
    sent = results["Get a message"].json()
    assert sent["message"] == {"type": "text", "text": "Hello from respond.io"}
    assert sent["channelId"] == 123
    assert sent["traffic"] == "outgoing"
    assert sent["status"][0]["value"] == "pending"
    assert results["Create a comment"].json()["text"] == "Following up @[agent@example.com]"
    assert results["Create a tag"].json()["name"] == "vip"
    assert results["Create a custom field"].json()["name"] == "account_tier"
    assert results["Merge contacts"].json() == {"contactId": 12345}
    assert (
        results["Delete a contact"].json()["contactId"]
        == results["Create a contact"].json()["contactId"]
    )
    with httpx.Client(headers=headers) as client:
        assert client.get(f"{demo}/v2/contact/{IDENTIFIER}").status_code == 404
        assert client.get(f"{demo}/v2/contact/id:67890").status_code == 404


def test_demo_workspace_holds_the_contract_data(demo: str) -> None:
    with httpx.Client(headers={"Authorization": f"Bearer {TOKEN}"}) as client:
        users = client.get(f"{demo}/v2/space/user").json()["items"]
        assert {u["email"] for u in users} == {"agent@example.com", "owner@example.com"}
        channels = client.get(f"{demo}/v2/space/channel").json()["items"]
        assert channels[0]["id"] == 123
        assert channels[0]["source"] == "whatsapp_cloud"
        assert (
            client.get(f"{demo}/v2/space/channel/123/template").json()["items"][0]["name"]
            == "hello_world"
        )
        notes = [
            n["category"] for n in client.get(f"{demo}/v2/space/closing_notes").json()["items"]
        ]
        assert notes == ["Resolved", "Follow-up needed", "Spam"]
