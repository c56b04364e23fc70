"""`openrespond contacts import|export`: JSON Lines and CSV, round trips and bad rows."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from openrespond.cli import app
from tests.backend import database_url, query

runner = CliRunner()


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    env = {"OPENRESPOND_DATABASE_URL": database_url(tmp_path / "bulk.db")}
    for args in (
        ["workspace", "create", "one"],
        ["workspace", "create", "two"],
        ["custom-field", "add", "-w", "1", "Score", "--type", "number"],
        ["custom-field", "add", "-w", "1", "Plan", "--type", "text"],
        ["custom-field", "add", "-w", "2", "Score", "--type", "number"],
        ["custom-field", "add", "-w", "2", "Plan", "--type", "text"],
        ["lifecycle", "add", "-w", "1", "Customer"],
        ["lifecycle", "add", "-w", "2", "Customer"],
    ):
        result = runner.invoke(app, args, env=env)
        assert result.exit_code == 0, result.output
    return env


def invoke(env: dict[str, str], *args: str, code: int = 0) -> str:
    result = runner.invoke(app, list(args), env=env)
    assert result.exit_code == code, result.output
    return result.output


ROWS: list[dict[str, Any]] = [
    {
        "firstName": "Ada",
        "lastName": "Lovelace",
        "email": "Ada@Example.com",
        "phone": "+60 12-345 6789",
        "language": "en",
        "countryCode": "MY",
        "tags": ["vip", "lead"],
        "lifecycle": "Customer",
        "custom_fields": [{"name": "Score", "value": 42}, {"name": "Plan", "value": "Pro, annual"}],
    },
    {"firstName": "Grace", "email": "grace@example.com"},
    {"firstName": "Émile", "lastName": 'Zola "J\'accuse"', "tags": ["lead"]},
]


def _jsonl(path: Path, rows: list[dict[str, Any]]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


def _contacts(env: dict[str, str], ws: int) -> list[dict[str, Any]]:
    out = invoke(env, "contacts", "export", "-w", str(ws), "-q")
    return [json.loads(line) for line in out.splitlines() if line.strip()]


def _shown(contact: dict[str, Any]) -> dict[str, Any]:
    """What an import carries over (ids, times and status belong to the new contact)."""
    return {k: v for k, v in contact.items() if k not in ("id", "created_at", "status")}


def test_jsonl_import_then_export_and_import_again(env: dict[str, str], tmp_path: Path) -> None:
    out = invoke(env, "contacts", "import", str(_jsonl(tmp_path / "in.jsonl", ROWS)), "-w", "1")
    assert "imported 3 contact(s) of 3 row(s)" in out
    first = _contacts(env, 1)
    assert [c["firstName"] for c in first] == ["Ada", "Grace", "Émile"]
    ada = first[0]
    # the API's own rules: lower-cased email, E.164 phone, tags sorted, typed custom values
    assert (ada["email"], ada["phone"]) == ("ada@example.com", "+60123456789")
    assert ada["tags"] == ["lead", "vip"]
    assert ada["lifecycle"] == "Customer"
    assert ada["custom_fields"] == [
        {"name": "Score", "value": 42},
        {"name": "Plan", "value": "Pro, annual"},
    ]
    dump = tmp_path / "dump.jsonl"
    invoke(env, "contacts", "export", "-w", "1", "-o", str(dump))
    invoke(env, "contacts", "import", str(dump), "-w", "2", "-q")
    second = _contacts(env, 2)
    assert [_shown(c) for c in second] == [_shown(c) for c in first]
    assert {c["id"] for c in second}.isdisjoint({c["id"] for c in first})
    # the stored JSON of every imported contact is what the triggers would build
    assert len(query(tmp_path / "bulk.db", "SELECT id FROM contacts WHERE doc IS NULL")) == 0


def test_csv_round_trip(env: dict[str, str], tmp_path: Path) -> None:
    invoke(env, "contacts", "import", str(_jsonl(tmp_path / "in.jsonl", ROWS)), "-w", "1", "-q")
    dump = tmp_path / "dump.csv"
    invoke(env, "contacts", "export", "-w", "1", "--format", "csv", "-o", str(dump))
    with dump.open(encoding="utf-8", newline="") as f:
        table = list(csv.DictReader(f))
    assert table[0]["custom:Score"] == "42"
    assert table[0]["tags"] == '["lead", "vip"]'
    assert table[2]["lastName"] == 'Zola "J\'accuse"'
    invoke(env, "contacts", "import", str(dump), "-w", "2", "-q")
    assert [_shown(c) for c in _contacts(env, 2)] == [_shown(c) for c in _contacts(env, 1)]


def test_csv_takes_comma_separated_tags_and_a_byte_order_mark(
    env: dict[str, str], tmp_path: Path
) -> None:
    path = tmp_path / "excel.csv"
    path.write_bytes(
        '\ufefffirstName,email,tags,custom:Plan\nKen,ken@example.com,"a, b",Basic\n'.encode()
    )
    invoke(env, "contacts", "import", str(path), "-w", "1", "-q")
    [ken] = _contacts(env, 1)
    assert ken["tags"] == ["a", "b"]
    assert ken["custom_fields"] == [{"name": "Plan", "value": "Basic"}]


def test_bad_rows_are_skipped_with_their_line_and_the_rest_imported(
    env: dict[str, str], tmp_path: Path
) -> None:
    invoke(env, "contacts", "import", str(_jsonl(tmp_path / "a.jsonl", ROWS[1:2])), "-w", "1")
    lines = [
        json.dumps({"firstName": "Ok", "email": "ok@example.com"}),
        json.dumps({"firstName": "Bad", "email": "not-an-email"}),
        json.dumps({"lastName": "No first name"}),
        "{not json",
        json.dumps({"firstName": "Taken", "email": "grace@example.com"}),
        json.dumps({"firstName": "Stage", "lifecycle": "Nope"}),
        json.dumps({"firstName": "Field", "custom_fields": [{"name": "Missing", "value": 1}]}),
        json.dumps({"firstName": "Phone", "phone": "12345"}),
        json.dumps({"firstName": "Dup", "email": "ok@example.com"}),
        json.dumps({"firstName": "Ok2", "phone": "+60123456780"}),
    ]
    path = tmp_path / "mixed.jsonl"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    result = runner.invoke(app, ["contacts", "import", str(path), "-w", "1", "-q"], env=env)
    assert result.exit_code == 1, result.output
    assert "imported 2 contact(s) of 10 row(s)" in result.output
    assert "skipped 8" in result.output
    for line, word in (
        (2, "email"),
        (3, "firstName"),
        (4, "JSON"),
        (5, "email or phone"),
        (6, "lifecycle"),
        (7, "Missing"),
        (8, "phone"),
        (9, "email or phone"),
    ):
        assert any(
            f"line {line}:" in out and word.lower() in out.lower()
            for out in result.output.splitlines()
        ), (line, word, result.output)
    assert [c["firstName"] for c in _contacts(env, 1)] == ["Grace", "Ok", "Ok2"]


def test_import_refuses_what_it_cannot_read(env: dict[str, str], tmp_path: Path) -> None:
    assert "format" in invoke(env, "contacts", "import", str(tmp_path / "x.txt"), "-w", "1", code=2)
    assert "no such file" in invoke(
        env, "contacts", "import", str(tmp_path / "none.jsonl"), "-w", "1", code=2
    )
    path = _jsonl(tmp_path / "in.jsonl", ROWS)
    assert "not found" in invoke(env, "contacts", "import", str(path), "-w", "99", code=1)
    assert "format" in invoke(env, "contacts", "export", "-w", "1", "-f", "xml", code=2)
    assert _contacts(env, 1) == []


def test_export_is_streamed_page_by_page(env: dict[str, str], tmp_path: Path) -> None:
    """More contacts than one page: all of them, in id order, each once."""
    rows = [{"firstName": f"C{i}", "email": f"c{i}@example.com"} for i in range(2500)]
    invoke(env, "contacts", "import", str(_jsonl(tmp_path / "many.jsonl", rows)), "-w", "1", "-q")
    out = io.StringIO(invoke(env, "contacts", "export", "-w", "1", "-q"))
    exported = [json.loads(line) for line in out]
    assert [c["email"] for c in exported] == [f"c{i}@example.com" for i in range(2500)]
    ids = [c["id"] for c in exported]
    assert ids == sorted(ids)
