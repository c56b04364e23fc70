"""Identifier parsing and normalisation."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from openrespond.errors import BadRequest
from openrespond.identifiers import Identifier, parse_identifier


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("id:123", Identifier("id", 123)),
        ("ID:7", Identifier("id", 7)),
        ("email:Ada@Example.COM", Identifier("email", "ada@example.com")),
        ("email:a%41b@example.com", Identifier("email", "a%41b@example.com")),
        ("email:ada+news@example.com", Identifier("email", "ada+news@example.com")),
        ("phone:+60123456789", Identifier("phone", "+60123456789")),
        ("phone:+60 12-345 6789", Identifier("phone", "+60123456789")),
        ("phone:+44 20 7183 8750", Identifier("phone", "+442071838750")),
    ],
)
def test_parse(raw: str, expected: Identifier) -> None:
    assert parse_identifier(raw) == expected


@pytest.mark.parametrize(
    "raw",
    [
        "",
        "123",
        "id:",
        "id:x",
        "id:0",
        "id:-3",
        "id:99999999999999999999",
        "mail:a@b.c",
        "email:nope",
        "email:a@b",
        "phone:60123456789",
        "phone: 60123456789",
        "phone:+1",
        "phone:abc",
        "phone:+1 (555) 0100 ext 5",
        "id:١٢",
    ],
)
def test_malformed_is_bad_request(raw: str) -> None:
    with pytest.raises(BadRequest):
        parse_identifier(raw)


@given(st.text(max_size=80))
def test_any_text_parses_or_is_a_bad_request(raw: str) -> None:
    try:
        ident = parse_identifier(raw)
    except BadRequest as exc:
        refused: BadRequest | None = exc
    else:
        refused = None
        assert ident.kind in ("id", "email", "phone")
    if refused is not None:
        assert refused.message


@given(st.integers(min_value=1, max_value=2**63 - 1))
def test_ids_round_trip(n: int) -> None:
    assert parse_identifier(f"id:{n}") == Identifier("id", n)
