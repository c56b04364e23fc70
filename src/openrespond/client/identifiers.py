"""Contact identifiers as the API spells them: ``id:123``, ``email:ada@example.com``,
``phone:+60123456789``. Checked here, so a malformed one fails before any request."""

from __future__ import annotations

import re

from openrespond.client.errors import InvalidRequestError

__all__ = ["by_email", "by_id", "by_phone", "identifier"]

_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_E164 = re.compile(r"^\+[1-9][0-9]{6,14}$")
_NOISE = re.compile(r"[\s().-]")


def by_id(contact_id: int) -> str:
    """``id:<n>`` for a positive contact id."""
    if isinstance(contact_id, bool) or not isinstance(contact_id, int) or contact_id < 1:
        raise InvalidRequestError(f"a contact id is a positive integer, got {contact_id!r}")
    return f"id:{contact_id}"


def by_email(email: str) -> str:
    """``email:<address>``."""
    value = email.strip() if isinstance(email, str) else email
    if not isinstance(value, str) or len(value) > 254 or not _EMAIL.match(value):
        raise InvalidRequestError(f"not an email address: {email!r}")
    return f"email:{value}"


def by_phone(phone: str) -> str:
    """``phone:<E.164>``; spaces, dots, dashes and parentheses are dropped."""
    value = _NOISE.sub("", phone) if isinstance(phone, str) else phone
    if not isinstance(value, str) or not _E164.match(value):
        raise InvalidRequestError(f"not an E.164 phone number (+ and 7-15 digits): {phone!r}")
    return f"phone:{value}"


def identifier(value: str | int) -> str:
    """Any accepted form as the API spells it: an int is an id; ``id:``, ``email:`` and
    ``phone:`` strings are checked."""
    if isinstance(value, int):
        return by_id(value)
    if not isinstance(value, str):
        raise InvalidRequestError(f"a contact identifier is a string or an id, got {value!r}")
    kind, sep, rest = value.partition(":")
    if sep:
        if kind == "id" and rest.isdigit():
            return by_id(int(rest))
        if kind == "email":
            return by_email(rest)
        if kind == "phone":
            return by_phone(rest)
    raise InvalidRequestError(
        f"a contact identifier is id:<n>, email:<address> or phone:<E.164>, got {value!r}"
    )
