"""Bulk import and export of a workspace's contacts, as JSON Lines or CSV.

JSON Lines hold one Contact object per line, as the API shows it (``firstName``, ``email``,
``phone``, ``custom_fields: [{name, value}]``, ``tags``, ``lifecycle``…); an export can be
imported again. CSV has one column per field, ``tags`` as a JSON array (or comma-separated
names), and one ``custom:<name>`` column per custom field.

An import checks every row with the API's own rules and skips (and reports) a row that fails
them or whose email or phone another contact already has; the rest is written in batches, one
transaction each. Imports emit no webhook events: they are a bulk load, not a stream of
changes.
"""

from __future__ import annotations

import asyncio
import csv
import gc
import io
import json
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import IO, Any

import msgspec

from openrespond import common
from openrespond.contacts import repository as repo
from openrespond.contacts.schemas import ContactCreate
from openrespond.contacts.service import prepare
from openrespond.db import Database, Scope, Transaction
from openrespond.errors import ApiError
from openrespond.space import repository as space_repo
from openrespond.tags import repository as tags_repo
from openrespond.tags.service import clean_names

__all__ = ["FORMATS", "ImportReport", "export_contacts", "format_of", "import_contacts"]

FORMATS = ("jsonl", "csv")
_BASE_COLUMNS = (
    "id",
    "firstName",
    "lastName",
    "email",
    "phone",
    "language",
    "profilePic",
    "countryCode",
    "status",
    "lifecycle",
    "tags",
    "created_at",
)


class ImportRow(ContactCreate, kw_only=True):
    """A contact as an export shows it; ``id``, ``status``, ``assignee`` and ``created_at``
    are read and ignored (the imported contact is new)."""

    tags: list[str] | None = None
    lifecycle: str | None = None


_ROW = msgspec.json.Decoder(ImportRow)


@dataclass
class ImportReport:
    """What an import did: rows read, contacts created, rows skipped with their reasons."""

    read: int = 0
    created: int = 0
    skipped: int = 0
    errors: list[tuple[int, str]] = field(default_factory=list)
    seconds: float = 0.0

    def skip(self, line: int, reason: str, keep: int = 1000) -> None:
        self.skipped += 1
        if len(self.errors) < keep:
            self.errors.append((line, reason))


def format_of(path: str, given: str | None) -> str:
    """The format named, or the one the file name's extension says."""
    if given:
        return given
    lower = path.lower()
    if lower.endswith((".jsonl", ".ndjson", ".json")):
        return "jsonl"
    if lower.endswith(".csv"):
        return "csv"
    raise ValueError(f"cannot tell the format of {path!r}: use --format jsonl or csv")


def _csv_rows(stream: IO[str]) -> Iterator[tuple[int, ImportRow | str]]:
    reader = csv.DictReader(stream)
    for record in reader:
        line = reader.line_num
        try:
            yield line, _from_csv(record)
        except (msgspec.ValidationError, ValueError) as exc:
            yield line, str(exc)


def _from_csv(record: dict[str, str | None]) -> ImportRow:
    data: dict[str, Any] = {}
    custom: list[dict[str, Any]] = []
    for key, raw in record.items():
        if key is None or raw is None or raw == "":
            continue
        if key.startswith("custom:"):
            custom.append({"name": key[len("custom:") :], "value": raw})
        elif key == "tags":
            text = raw.strip()
            data["tags"] = (
                json.loads(text)
                if text.startswith("[")
                else [t for t in (p.strip() for p in text.split(",")) if t]
            )
        else:
            data[key] = raw
    if custom:
        data["custom_fields"] = custom
    return msgspec.convert(data, ImportRow)


def _jsonl_rows(stream: IO[str]) -> Iterator[tuple[int, ImportRow | str]]:
    for line, text in enumerate(stream, 1):
        if not text.strip():
            continue
        try:
            yield line, _ROW.decode(text)
        except msgspec.DecodeError as exc:
            yield line, str(exc)


def read_rows(stream: IO[str], fmt: str) -> Iterator[tuple[int, ImportRow | str]]:
    """(line number, row or the reason it cannot be read) for each record of ``stream``."""
    return _csv_rows(stream) if fmt == "csv" else _jsonl_rows(stream)


async def import_contacts(
    db: Database,
    ws: int,
    *,
    rows: Iterable[tuple[int, ImportRow | str]],
    batch: int = 2000,
    progress: Callable[[int], None] | None = None,
    on_batch: Callable[[Transaction, ImportReport], Awaitable[None]] | None = None,
    pause: float = 0.0,
) -> ImportReport:
    """Create a contact for each good row, ``batch`` rows per transaction; ``on_batch`` runs
    at the end of each batch's transaction with the report so far (an import job records its
    progress there, so a resumed import starts after the last batch that committed). ``pause``
    seconds pass between batches: a server loading an import beside its requests (SQLite
    works on the event loop's thread) lets them run in between."""
    report = ImportReport()
    started = time.perf_counter()
    stages: dict[str, int] | None = None
    chunk: list[tuple[int, ImportRow | str]] = []

    async def flush() -> None:
        nonlocal stages
        async with db.transaction() as tx:
            sc = Scope(tx, ws)
            if stages is None:
                stages = {r["name"]: r["id"] for r in await space_repo.list_lifecycle_stages(sc)}
            now = common.now()
            tag_ids: dict[str, int] = {}
            links: list[tuple[int, int, int]] = []
            for line, row in chunk:
                if isinstance(row, str):
                    report.skip(line, row)
                    continue
                try:
                    cols, values = await prepare(sc, row)
                    if row.lifecycle:
                        stage = stages.get(row.lifecycle.strip())
                        if stage is None:
                            raise ValueError(f"lifecycle: unknown stage {row.lifecycle[:64]!r}")
                        cols["lifecycle_stage_id"] = stage
                    names = clean_names(row.tags) if row.tags else []
                except (ApiError, ValueError) as exc:
                    report.skip(line, getattr(exc, "message", None) or str(exc))
                    continue
                contact_id = await repo.insert_new(sc, cols, now=now)
                if contact_id is None:
                    report.skip(line, "another contact already has this email or phone")
                    continue
                if values:
                    await repo.set_field_values(sc, contact_id, values=values)
                if names:
                    missing = [n for n in names if n not in tag_ids]
                    if missing:
                        await tags_repo.ensure(sc, missing, now=now)
                        tag_ids.update(await tags_repo.ids_by_name(sc, missing))
                    links.extend((contact_id, tag_ids[n], now) for n in names)
                report.created += 1
            await tags_repo.attach_many(sc, links)
            if on_batch is not None:
                await on_batch(tx, report)
        if progress is not None:
            progress(len(chunk))
        chunk.clear()
        if pause:
            await asyncio.sleep(pause)

    # Millions of short-lived objects and none of them cyclic: the cycle collector would only
    # slow the load down.
    collecting = gc.isenabled()
    gc.disable()
    try:
        for item in rows:
            report.read += 1
            chunk.append(item)
            if len(chunk) >= batch:
                await flush()
        if chunk:
            await flush()
    finally:
        if collecting:
            gc.enable()
    report.seconds = time.perf_counter() - started
    return report


async def export_contacts(
    db: Database, ws: int, *, fmt: str, page: int = 1000
) -> AsyncIterator[tuple[str, int]]:
    """The workspace's contacts, oldest first, as (text, number of contacts in it) chunks of
    the format, streamed: one page of contacts in memory at a time."""
    reader = db.reader()
    fields = [r["name"] for r in await _field_names(db, ws)]
    if fmt == "csv":
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow([*_BASE_COLUMNS, *(f"custom:{name}" for name in fields)])
        yield out.getvalue(), 0
    after = 0
    while True:
        rows = await reader.fetch_all(
            f"{repo.select_json(reader.dialect)} WHERE c.workspace_id = ? AND c.id > ? ORDER BY c.id"
            " LIMIT ?",
            ws,
            after,
            page,
        )
        if not rows:
            return
        after = rows[-1][0]
        if fmt == "jsonl":
            yield "".join(_compact(bytes(r[1])) + "\n" for r in rows), len(rows)
            continue
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        for r in rows:
            doc = json.loads(bytes(r[1]))
            custom = {c["name"]: c["value"] for c in doc.get("custom_fields") or []}
            writer.writerow(
                [
                    *(_cell(doc.get(col)) for col in _BASE_COLUMNS),
                    *(_cell(custom.get(name)) for name in fields),
                ]
            )
        yield out.getvalue(), len(rows)


def _compact(doc: bytes) -> str:
    """One line of JSON whatever spacing the database used."""
    return msgspec.json.encode(msgspec.json.decode(doc)).decode()


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, list):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


async def _field_names(db: Database, ws: int) -> list[Any]:
    return await db.reader().fetch_all(
        "SELECT name FROM custom_fields WHERE workspace_id = ? ORDER BY id", ws
    )
