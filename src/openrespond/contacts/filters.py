"""The contact list filter language (``$and``/``$or`` of conditions) compiled to SQL."""

from __future__ import annotations

import datetime as dt
import math
import re
from dataclasses import dataclass, field
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from openrespond.contacts.schemas import ContactListBody, FilterCondition, Range
from openrespond.custom_fields import repository as fields_repo
from openrespond.db import Connection, Row, Scope
from openrespond.errors import BadRequest
from openrespond.space import repository as space_repo
from openrespond.validation import normalize_phone

__all__ = ["compile_filter", "search_sql"]

_TEXT = {
    "firstName": "c.first_name",
    "lastName": "c.last_name",
    "email": "c.email",
    "phone": "c.phone",
    "language": "c.language",
    "countryCode": "c.country_code",
    "profilePic": "c.profile_pic",
    "status": "c.status",
}
_NUMBER = {"id": "c.id", "assigneeUserId": "c.assignee_user_id", "assignee": "c.assignee_user_id"}
_TIME = {"created_at": "c.created_at", "createdAt": "c.created_at"}
_EQUALITY = ("isEqualTo", "isNotEqualTo", "exists", "doesNotExist", "hasAnyOf", "hasNoneOf")
_COMPARE = ("isGreaterThan", "isLessThan", "isBetween")
_TIMESTAMP = ("isTimestampAfter", "isTimestampBefore", "isTimestampBetween")


@dataclass(slots=True)
class _Sql:
    parts: list[str] = field(default_factory=list)
    args: list[Any] = field(default_factory=list)


class _Compiler:
    def __init__(self, sc: Scope[Connection], timezone: str | None) -> None:
        self.sc = sc
        self.timezone = timezone
        self._tz: dt.tzinfo | None = None

    def tz(self, where: str) -> dt.tzinfo:
        if self._tz is None:
            name = (self.timezone or "UTC").strip()
            if name.upper() == "UTC":
                self._tz = dt.UTC
            else:
                try:
                    self._tz = ZoneInfo(name)
                except (ZoneInfoNotFoundError, ValueError):
                    raise BadRequest(
                        f"timezone {name[:64]!r} is not a known IANA time zone (needed by {where})"
                    ) from None
        return self._tz

    async def condition(self, cond: FilterCondition, where: str) -> tuple[str, list[Any]]:
        if cond.operator in ("exists", "doesNotExist") and cond.value not in (None, "", []):
            raise BadRequest(f"{where}.value: {cond.operator} takes no value")
        if cond.category == "contactTag" or (
            cond.category == "contactField" and cond.field == "tags"
        ):
            return self.tags(cond, where)
        if cond.category == "lifecycle" or (
            cond.category == "contactField" and cond.field == "lifecycle"
        ):
            return await self.lifecycle(cond, where)
        name = cond.field
        if not name:
            raise BadRequest(f"{where}.field is required for category contactField")
        if name in _TEXT:
            return self.scalar(_TEXT[name], "text", cond, where, field_name=name)
        if name in _NUMBER:
            return self.scalar(_NUMBER[name], "number", cond, where, field_name=name)
        if name in _TIME:
            return self.scalar(_TIME[name], "time", cond, where, field_name=name)
        row = await fields_repo.by_name(self.sc, name) or await fields_repo.by_slug(self.sc, name)
        if row is None:
            raise BadRequest(f"{where}.field: unknown contact field or custom field {name[:64]!r}")
        return self.custom(row, cond, where)

    # -- standard columns -------------------------------------------------------------
    def scalar(
        self, col: str, kind: str, cond: FilterCondition, where: str, *, field_name: str
    ) -> tuple[str, list[Any]]:
        op = cond.operator
        if op == "exists":
            return (
                f"({col} IS NOT NULL AND {col} <> '')" if kind == "text" else f"{col} IS NOT NULL"
            ), []
        if op == "doesNotExist":
            return (f"({col} IS NULL OR {col} = '')" if kind == "text" else f"{col} IS NULL"), []
        if kind == "text":
            if op not in _EQUALITY:
                raise _unsupported(op, field_name, where)
            norm = (lambda v: _phone_or_raw(v)) if field_name == "phone" else (lambda v: v.lower())
            col_expr = col if field_name == "phone" else f"lower({col})"
            return _equality(col_expr, op, cond.value, where, norm)
        if kind == "number":
            if op in _EQUALITY:
                return _equality(
                    col, op, cond.value, where, lambda v: _integer(v, f"{where}.value")
                )
            if op in _COMPARE:
                return _compare(col, op, cond.value, where, _integer)
            raise _unsupported(op, field_name, where)
        # time (Unix seconds)
        if op in _TIMESTAMP:
            return _compare(col, _TS_TO_CMP[op], cond.value, where, lambda v, w: self.instant(v, w))
        if op in _COMPARE:
            return _compare(col, op, cond.value, where, _integer)
        raise _unsupported(op, field_name, where)

    # -- custom fields ------------------------------------------------------------------
    def custom(self, row: Row, cond: FilterCondition, where: str) -> tuple[str, list[Any]]:
        op = cond.operator
        kind = row["data_type"]
        fid = row["id"]
        base = "EXISTS (SELECT 1 FROM contact_field_values v WHERE v.contact_id = c.id AND v.field_id = ?"
        if op == "exists":
            return f"{base})", [fid]
        if op == "doesNotExist":
            return f"NOT {base})", [fid]
        negate = op in ("isNotEqualTo", "hasNoneOf")
        positive = {"isNotEqualTo": "isEqualTo", "hasNoneOf": "hasAnyOf"}.get(op, op)
        if kind == "number":
            if positive in ("isEqualTo", "hasAnyOf"):
                sql, args = _equality(
                    "v.value_num",
                    positive,
                    cond.value,
                    where,
                    lambda v: _number(v, f"{where}.value"),
                )
            elif op in _COMPARE:
                sql, args = _compare("v.value_num", op, cond.value, where, _number)
            else:
                raise _unsupported(op, row["name"], where, kind)
        elif kind == "checkbox":
            if positive != "isEqualTo":
                raise _unsupported(op, row["name"], where, kind)
            sql, args = "v.value = ?", [_boolean(cond.value, where)]
        elif kind == "date" and op in _TIMESTAMP:
            sql, args = _compare(
                "v.value", _TS_TO_CMP[op], cond.value, where, lambda v, w: self.day(v, w)
            )
        elif kind == "date" and op in _COMPARE:
            sql, args = _compare("v.value", op, cond.value, where, lambda v, w: self.day(v, w))
        elif positive in ("isEqualTo", "hasAnyOf"):
            sql, args = _equality(
                "lower(v.value)", positive, cond.value, where, lambda v: v.lower()
            )
        else:
            raise _unsupported(op, row["name"], where, kind)
        return f"{'NOT ' if negate else ''}{base} AND {sql})", [fid, *args]

    # -- tags and lifecycle --------------------------------------------------------------
    def tags(self, cond: FilterCondition, where: str) -> tuple[str, list[Any]]:
        op = cond.operator
        any_tag = "EXISTS (SELECT 1 FROM contact_tags ct WHERE ct.contact_id = c.id)"
        if op == "exists":
            return any_tag, []
        if op == "doesNotExist":
            return f"NOT {any_tag}", []
        named = (
            "SELECT COUNT(*) FROM contact_tags ct JOIN tags t ON t.id = ct.tag_id"
            " WHERE ct.contact_id = c.id AND t.name IN ({marks})"
        )
        if op in ("isEqualTo", "isNotEqualTo"):
            names = [_string(cond.value, where)]
        elif op in ("hasAnyOf", "hasAllOf", "hasNoneOf"):
            names = sorted(set(_strings(cond.value, where)))
        else:
            raise _unsupported(op, "tags", where)
        sql = named.format(marks=",".join("?" * len(names)))
        if op == "hasAllOf":
            return f"({sql}) = {len(names)}", names
        if op in ("isNotEqualTo", "hasNoneOf"):
            return f"({sql}) = 0", names
        return f"({sql}) > 0", names

    async def lifecycle(self, cond: FilterCondition, where: str) -> tuple[str, list[Any]]:
        op = cond.operator
        col = "c.lifecycle_stage_id"
        if op == "exists":
            return f"{col} IS NOT NULL", []
        if op == "doesNotExist":
            return f"{col} IS NULL", []
        if op in ("isEqualTo", "isNotEqualTo"):
            names = [_string(cond.value, where)]
        elif op in ("hasAnyOf", "hasNoneOf"):
            names = _strings(cond.value, where)
        else:
            raise _unsupported(op, "lifecycle", where)
        ids = []
        for name in names:
            stage = await space_repo.get_lifecycle_stage_by_name(self.sc, name)
            if stage is None:
                raise BadRequest(f"{where}.value: unknown lifecycle stage {name[:64]!r}")
            ids.append(stage["id"])
        marks = ",".join("?" * len(ids))
        if op in ("isNotEqualTo", "hasNoneOf"):
            return f"({col} IS NULL OR {col} NOT IN ({marks}))", ids
        return f"{col} IN ({marks})", ids

    # -- time values --------------------------------------------------------------------
    def instant(self, value: Any, where: str) -> int:
        """Unix seconds from seconds, milliseconds, a date or a date-time (in ``timezone``)."""
        if isinstance(value, bool):
            raise BadRequest(f"{where} must be a timestamp or date")
        if isinstance(value, int | float) or (isinstance(value, str) and _is_number(value)):
            number = float(value)
            if not math.isfinite(number):
                raise BadRequest(f"{where} must be a finite timestamp")
            return _in_range(int(number / 1000 if abs(number) >= 1e11 else number), where)
        if not isinstance(value, str):
            raise BadRequest(f"{where} must be a timestamp or date")
        text = value.strip().replace("Z", "+00:00")
        try:
            if len(text) == 10:
                day = dt.date.fromisoformat(text)
                moment = dt.datetime(day.year, day.month, day.day, tzinfo=self.tz(where))
            else:
                moment = dt.datetime.fromisoformat(text)
                if moment.tzinfo is None:
                    moment = moment.replace(tzinfo=self.tz(where))
            seconds = int(moment.timestamp())
        except (ValueError, OverflowError):
            raise BadRequest(
                f"{where} is not a timestamp, date or ISO date-time: {value[:40]!r}"
            ) from None
        return _in_range(seconds, where)

    def day(self, value: Any, where: str) -> str:
        """A calendar date YYYY-MM-DD, from a date or an instant read in ``timezone``."""
        if isinstance(value, str) and len(value.strip()) == 10:
            try:
                return dt.date.fromisoformat(value.strip()).isoformat()
            except ValueError:
                raise BadRequest(f"{where} is not a date: {value[:40]!r}") from None
        seconds = self.instant(value, where)
        try:
            return dt.datetime.fromtimestamp(seconds, self.tz(where)).date().isoformat()
        except (ValueError, OverflowError, OSError):
            raise BadRequest(f"{where} is out of the range of dates") from None


_TS_TO_CMP = {
    "isTimestampAfter": "isGreaterThan",
    "isTimestampBefore": "isLessThan",
    "isTimestampBetween": "isBetween",
}


def _unsupported(op: str, field_name: str, where: str, kind: str | None = None) -> BadRequest:
    what = f"{field_name!r}" + (f" ({kind})" if kind else "")
    return BadRequest(f"{where}: operator {op} is not supported for field {what}")


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def _string(value: Any, where: str) -> str:
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise BadRequest(f"{where}.value must be a string")
    return str(value)


def _strings(value: Any, where: str) -> list[str]:
    if not isinstance(value, list) or not value:
        raise BadRequest(f"{where}.value must be a non-empty array of strings")
    if len(value) > 100:
        raise BadRequest(f"{where}.value must have at most 100 entries")
    for i, item in enumerate(value):
        if isinstance(item, bool) or not isinstance(item, str | int | float):
            raise BadRequest(f"{where}.value[{i}] must be a string")
    return [str(item) for item in value]


# Instants a filter can name: the years 1-9999, as Unix seconds.
_FIRST_SECOND = -62_135_596_800
_LAST_SECOND = 253_402_300_799
# Ids and other integer columns hold at most JavaScript's safe integers.
_MAX_INTEGER = 2**53 - 1


def _in_range(seconds: int, where: str) -> int:
    if not _FIRST_SECOND <= seconds <= _LAST_SECOND:
        raise BadRequest(f"{where} is out of range (a time in the years 1 to 9999)")
    return seconds


def _number(value: Any, where: str) -> float:
    """``where`` names the value itself (``filter.$and[0].value``)."""
    if isinstance(value, bool):
        raise BadRequest(f"{where} must be a number")
    try:
        number = float(value)
    except (TypeError, ValueError, OverflowError):
        raise BadRequest(f"{where} must be a number") from None
    if not math.isfinite(number):
        raise BadRequest(f"{where} must be a finite number")
    return number


def _integer(value: Any, where: str) -> int:
    """An integer column's operand: a whole number within the safe integers (what ids are)."""
    number = _number(value, where)
    if not number.is_integer() or abs(number) > _MAX_INTEGER:
        raise BadRequest(f"{where} must be a whole number of at most {_MAX_INTEGER}")
    return int(number)


def _boolean(value: Any, where: str) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str) and value.strip().lower() in ("true", "false"):
        return value.strip().lower()
    raise BadRequest(f"{where}.value must be true or false")


def _phone_or_raw(value: str) -> str:
    try:
        return normalize_phone(value)
    except BadRequest:
        return value


def _equality(col: str, op: str, value: Any, where: str, norm: Any) -> tuple[str, list[Any]]:
    if op in ("isEqualTo", "isNotEqualTo"):
        v = norm(_string(value, where))
        if op == "isEqualTo":
            return f"{col} = ?", [v]
        return f"({col} IS NULL OR {col} <> ?)", [v]
    values = [norm(v) for v in _strings(value, where)]
    marks = ",".join("?" * len(values))
    if op == "hasAnyOf":
        return f"{col} IN ({marks})", values
    return f"({col} IS NULL OR {col} NOT IN ({marks}))", values


def _compare(col: str, op: str, value: Any, where: str, conv: Any) -> tuple[str, list[Any]]:
    if op == "isBetween":
        if isinstance(value, list) and len(value) == 2:
            value = Range(from_=value[0], to=value[1])  # [from, to]
        if not isinstance(value, Range) or value.from_ is None or value.to is None:
            raise BadRequest(
                f"{where}.value must be an object {{from, to}} (or an array [from, to])"
                " with both ends"
            )
        lo, hi = conv(value.from_, f"{where}.value.from"), conv(value.to, f"{where}.value.to")
        if lo > hi:
            raise BadRequest(f"{where}.value: from must not be after to")
        return f"{col} BETWEEN ? AND ?", [lo, hi]
    if isinstance(value, Range | list) or value is None:
        raise BadRequest(f"{where}.value must be a single value for {op}")
    return f"{col} {'>' if op == 'isGreaterThan' else '<'} ?", [conv(value, f"{where}.value")]


# A search term is matched against phones only when it looks like (part of) a phone number:
# digits, spaces and + - ( ) . with at least four digits ("alice0996" is not one).
_PHONE_LIKE = re.compile(r"[0-9 +().-]+")


def search_sql(term: str) -> tuple[str, list[Any]]:
    """SQL (over alias ``c``) matching a search term against names, email and phone."""
    text = term.strip().lower()
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    like = f"%{escaped}%"
    digits = "".join(ch for ch in text if ch.isdigit() or ch == "+")
    sql = (
        "(lower(c.first_name) LIKE ? ESCAPE '\\' OR lower(c.last_name) LIKE ? ESCAPE '\\'"
        " OR lower(c.first_name || ' ' || COALESCE(c.last_name, '')) LIKE ? ESCAPE '\\'"
        " OR c.email LIKE ? ESCAPE '\\'"
    )
    args: list[Any] = [like, like, like, like]
    if _PHONE_LIKE.fullmatch(text) and sum(ch.isdigit() for ch in text) >= 4:
        sql += " OR c.phone LIKE ?"
        args.append(f"%{digits}%")
    return sql + ")", args


async def compile_filter(
    sc: Scope[Connection], body: ContactListBody | None
) -> tuple[str, list[Any]]:
    """SQL (over alias ``c``) and arguments selecting the contacts ``body`` asks for."""
    if body is None:
        return "", []
    out = _Sql()
    if body.search and body.search.strip():
        sql, args = search_sql(body.search)
        out.parts.append(sql)
        out.args.extend(args)
    compiler = _Compiler(sc, body.timezone)
    if body.filter is not None:
        for key, conds in (("$and", body.filter.and_), ("$or", body.filter.or_)):
            if not conds:
                continue
            pieces = []
            for i, cond in enumerate(conds):
                sql, args = await compiler.condition(cond, f"filter.{key}[{i}]")
                pieces.append(f"({sql})")
                out.args.extend(args)
            joiner = " AND " if key == "$and" else " OR "
            out.parts.append(f"({joiner.join(pieces)})")
    return " AND ".join(out.parts), out.args
