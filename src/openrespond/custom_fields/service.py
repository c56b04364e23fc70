"""Rules for custom fields: definitions (idempotent create) and values on contacts."""

from __future__ import annotations

import datetime as dt
import json
import math
import re
from typing import Any

from msgspec import UNSET

from openrespond import common
from openrespond.custom_fields import repository as repo
from openrespond.custom_fields.repository import FieldValue
from openrespond.custom_fields.schemas import (
    AllowedValues,
    CustomField,
    CustomFieldCreate,
    ListValues,
)
from openrespond.db import Connection, Row, Scope, Transaction
from openrespond.errors import BadRequest, Conflict, NotFound
from openrespond.space.workspaces import existing
from openrespond.validation import clean, normalize_email, normalize_url

__all__ = [
    "create_field",
    "decode_value",
    "delete_field",
    "encode_value",
    "field_from_row",
    "get_field",
    "list_fields",
    "resolve_fields",
]

VALUE_MAX = 2000
_TIME = re.compile(r"^([01]\d|2[0-3]):[0-5]\d$")
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def field_from_row(row: Row) -> CustomField:
    allowed = row["allowed_values"]
    return CustomField(
        id=row["id"],
        name=row["name"],
        slug=row["slug"],
        description=row["description"],
        data_type=row["data_type"],
        allowed_values=AllowedValues(json.loads(allowed)) if allowed is not None else None,
        created_at=row["created_at"],
    )


def slugify(name: str) -> str:
    slug = re.sub(r"[^A-Za-z0-9]+", "_", name).strip("_").lower()[:50]
    return slug or "field"


async def get_field(sc: Scope[Connection], field_id: int) -> CustomField:
    row = await repo.get(sc, field_id)
    if row is None:
        raise NotFound(f"custom field {field_id} not found")
    return field_from_row(row)


async def create_field(sc: Scope[Transaction], body: CustomFieldCreate) -> CustomField:
    """Create a definition; the same definition again answers the existing one, a different
    definition under a taken name or slug is a 409."""
    name = clean(body.name)
    if not name:
        raise BadRequest("name must not be blank")
    if body.data_type is not UNSET and body.type is not UNSET:
        raise BadRequest("send dataType (official) or type (collection), not both")
    data_type = body.data_type if body.data_type is not UNSET else body.type
    if data_type is UNSET:
        raise BadRequest(
            "dataType is required (one of text, list, checkbox, email, number, url, date, time)"
        )
    if body.allowed_values is not None and body.options is not None:
        raise BadRequest("send allowedValues (official) or options (collection), not both")
    given = body.allowed_values if body.allowed_values is not None else body.options
    allowed = given.list_values if isinstance(given, ListValues) else given
    if data_type == "list":
        if not allowed:
            raise BadRequest("allowedValues must be a non-empty list for a list field")
        if len(set(allowed)) != len(allowed):
            raise BadRequest("allowedValues must not repeat a value")
    elif allowed:
        raise BadRequest(f"allowedValues only applies to list fields, not {data_type}")
    else:
        allowed = None
    wanted_slug = body.slug or None
    slug = wanted_slug or slugify(name)
    # An insert that loses to a concurrent create of the same name or slug writes nothing,
    # and the next look sees the winner (a third look only if that one was deleted).
    for _ in range(3):
        existing = await repo.by_name(sc, name)
        if existing is not None:
            same = (
                existing["data_type"] == data_type
                and (allowed is None or json.loads(existing["allowed_values"] or "null") == allowed)
                and (wanted_slug is None or existing["slug"] == wanted_slug)
                and (body.description is None or existing["description"] == body.description)
            )
            if not same:
                raise Conflict(f"custom field {name!r} already exists with a different definition")
            return field_from_row(existing)
        holder = await repo.by_slug(sc, slug)
        if holder is not None:
            if holder["name"] == name:
                continue  # created by a concurrent request since the look-up by name
            raise Conflict(f"slug {slug!r} is already used by another custom field")
        field_id = await repo.insert(
            sc,
            name=name,
            slug=slug,
            description=body.description,
            data_type=data_type,
            allowed_values=json.dumps(allowed) if allowed is not None else None,
            now=common.now(),
        )
        if field_id is not None:
            row = await repo.get(sc, field_id)
            assert row is not None
            return field_from_row(row)
    raise Conflict(f"custom field {name!r} was being created and deleted concurrently; retry")


async def resolve_fields(sc: Scope[Connection], names: list[str]) -> dict[str, Row]:
    """Definitions by the name (or slug) clients used; 400 naming any unknown one."""
    if not names:
        return {}
    rows = await repo.by_names(sc, sorted(set(names)))
    found: dict[str, Row] = {}
    for row in rows:
        found.setdefault(row["name"], row)
        found.setdefault(row["slug"], row)
    unknown = [n for n in names if n not in found]
    if unknown:
        raise BadRequest(f"custom_fields: unknown custom field {unknown[0]!r}")
    return found


def encode_value(field: Row, value: Any, *, where: str) -> FieldValue:
    """Check ``value`` against the field's type; None clears the value."""
    fid = field["id"]
    kind = field["data_type"]
    label = f"{where} {field['name']!r} ({kind})"
    if value is None:
        return FieldValue(fid, None, None)
    if kind == "number":
        if isinstance(value, bool):
            raise BadRequest(f"{label} must be a number")
        if isinstance(value, str):
            try:
                value = float(value.strip()) if value.strip() else None
            except ValueError:
                raise BadRequest(f"{label} must be a number, got {value[:40]!r}") from None
            if value is None:
                raise BadRequest(f"{label} must be a number")
        if not isinstance(value, int | float) or (
            isinstance(value, float) and not math.isfinite(value)
        ):
            raise BadRequest(f"{label} must be a finite number")
        number = float(value)
        text = str(int(number)) if number.is_integer() and abs(number) < 2**53 else repr(number)
        return FieldValue(fid, text, number)
    if kind == "checkbox":
        if isinstance(value, bool):
            return FieldValue(fid, "true" if value else "false", None)
        if isinstance(value, str) and value.strip().lower() in ("true", "false"):
            return FieldValue(fid, value.strip().lower(), None)
        raise BadRequest(f"{label} must be true or false")
    if not isinstance(value, str):
        raise BadRequest(f"{label} must be a string")
    if len(value) > VALUE_MAX:
        raise BadRequest(f"{label} must be at most {VALUE_MAX} characters")
    if kind == "list":
        allowed = json.loads(field["allowed_values"] or "[]")
        if value not in allowed:
            raise BadRequest(f"{label} must be one of {', '.join(map(repr, allowed))}")
    elif kind == "email":
        value = normalize_email(value, field=label)
    elif kind == "url":
        value = normalize_url(value, field=label)
    elif kind == "date":
        if not _DATE.match(value):
            raise BadRequest(f"{label} must be a date YYYY-MM-DD")
        try:
            dt.date.fromisoformat(value)
        except ValueError:
            raise BadRequest(f"{label} is not a real date: {value!r}") from None
    elif kind == "time" and not _TIME.match(value):
        raise BadRequest(f"{label} must be a 24-hour time HH:MM")
    return FieldValue(fid, value, None)


def decode_value(kind: str, text: str) -> str | int | float | bool:
    """The stored text of a value back in its wire type."""
    if kind == "number":
        number = float(text)
        return int(number) if number.is_integer() and abs(number) < 2**53 else number
    if kind == "checkbox":
        return text == "true"
    return text


async def list_fields(sc: Scope[Connection]) -> list[CustomField]:
    """Every definition of the workspace, by id."""
    await existing(sc)
    return [field_from_row(r) for r in await repo.all_fields(sc)]


async def delete_field(sc: Scope[Transaction], field_id: int) -> None:
    """Delete a definition and every contact's value for it."""
    if not await repo.delete(sc, field_id):
        raise NotFound(f"custom field {field_id} not found")
