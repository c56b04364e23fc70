"""Message templates of a channel."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import msgspec

from openrespond.common import now
from openrespond.db import Connection, IntegrityError, Row, Scope, Transaction
from openrespond.db.paging import Cursor, PageRows
from openrespond.errors import BadRequest, Conflict, NotFound
from openrespond.space import repository as repo
from openrespond.space.channels import get_channel
from openrespond.space.schemas import (
    MtmAnswer,
    MtmChannel,
    MtmDetail,
    MtmTemplate,
    Template,
)

__all__ = [
    "TEMPLATE_STATUSES",
    "create_template",
    "delete_template",
    "get_mtm",
    "has_approved_template",
    "list_templates",
    "mtm_components",
    "mtm_from_row",
    "page_templates",
    "sync_templates",
    "template_from_row",
]


TEMPLATE_STATUSES = ("approved", "pending", "rejected")


async def has_approved_template(
    sc: Scope[Connection], channel_id: int, *, name: str, language_code: str
) -> bool:
    """Whether the channel has an approved template of that name and language."""
    return await repo.approved_template_exists(
        sc, channel_id, name=name, language_code=language_code
    )


def template_from_row(row: Row) -> Template:
    return Template(
        id=row["id"],
        name=row["name"],
        channel_id=row["channel_id"],
        language_code=row["language_code"],
        category=row["category"],
        status=row["status"],
        components=json.loads(row["components"]),
        created_at=row["created_at"],
    )


async def create_template(
    sc: Scope[Transaction],
    *,
    channel_id: int,
    name: str,
    language_code: str,
    category: str = "UTILITY",
    status: str = "approved",
    components: list[dict[str, Any]] | None = None,
    provider_id: str | None = None,
) -> Template:
    """A message template on one of the workspace's channels."""
    await get_channel(sc, channel_id)
    if not 1 <= len(name) <= 512:
        raise BadRequest("name must be 1-512 characters")
    if not 2 <= len(language_code) <= 16:
        raise BadRequest("languageCode must be 2-16 characters")
    if status not in TEMPLATE_STATUSES:
        raise BadRequest(f"status must be one of {', '.join(TEMPLATE_STATUSES)}")
    if not 1 <= len(category) <= 64:
        raise BadRequest("category must be 1-64 characters")
    try:
        template_id = await repo.insert_template(
            sc,
            channel_id=channel_id,
            name=name,
            language_code=language_code,
            category=category,
            status=status,
            components=msgspec.json.encode(components or []).decode(),
            provider_id=provider_id,
            created_at=now(),
        )
    except IntegrityError:
        raise Conflict(
            f"template {name!r} ({language_code}) already exists on this channel"
        ) from None
    row = await repo.get_template(sc, template_id)
    assert row is not None
    return template_from_row(row)


async def delete_template(sc: Scope[Transaction], template_id: int) -> None:
    if not await repo.delete_template(sc, template_id):
        raise NotFound(f"template {template_id} not found")


async def page_templates(sc: Scope[Connection], channel_id: int, *, cursor: Cursor) -> PageRows:
    await get_channel(sc, channel_id)
    return await repo.page_templates(sc, channel_id, cursor=cursor)


async def list_templates(sc: Scope[Connection], channel_id: int) -> list[Template]:
    await get_channel(sc, channel_id)
    return [template_from_row(r) for r in await repo.all_templates(sc, channel_id)]


def _lower(value: Any) -> Any:
    return value.lower() if isinstance(value, str) else value


def mtm_components(components: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Components as respond.io serves them: ``type`` and ``format`` lowercase (Meta's
    definitions spell them in capitals), buttons' types too."""
    out = []
    for raw in components:
        c = dict(raw)
        for key in ("type", "format"):
            if key in c:
                c[key] = _lower(c[key])
        if isinstance(c.get("buttons"), list):
            c["buttons"] = [
                {**b, "type": _lower(b.get("type"))} if isinstance(b, dict) else b
                for b in c["buttons"]
            ]
        out.append(c)
    return out


def _iso(seconds: int | None) -> str:
    moment = datetime.fromtimestamp(seconds or 0, tz=UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def _mtm_fields(row: Row) -> dict[str, Any]:
    return {
        "id": row["id"],
        "name": row["name"],
        "channel_id": str(row["channel_id"]),
        "bot_id": "",
        "created_at": _iso(row["created_at"]),
        "updated_at": _iso(row["updated_at"] or row["created_at"]),
        "language_code": row["language_code"],
        "namespace": "",
        "category": row["category"],
        "status": str(row["status"]).lower(),
        "status_detail": row["status_detail"] or "",
        "template_id": row["provider_id"] or str(row["id"]),
        "label": row["name"],
        "quality_score": row["quality_score"] or "",
    }


def mtm_from_row(row: Row) -> MtmTemplate:
    """A template as respond.io's mtm list shows it (components as JSON text)."""
    components = mtm_components(json.loads(row["components"]))
    return MtmTemplate(
        components=msgspec.json.encode(components).decode(), bundle="", **_mtm_fields(row)
    )


async def get_mtm(sc: Scope[Connection], template_id: int) -> MtmAnswer:
    """One template in respond.io's ``{status, message, data}`` wrapper; 404 when the
    workspace has no such template."""
    row = await repo.get_template(sc, template_id)
    if row is None:
        raise NotFound(f"template {template_id} not found")
    channel = await get_channel(sc, row["channel_id"])
    detail = MtmDetail(
        components=mtm_components(json.loads(row["components"])),
        bundle={},
        channel=MtmChannel(id=channel["id"], name=channel["name"], source=channel["source"]),
        catalog_products=[],
        **_mtm_fields(row),
    )
    return MtmAnswer(status="success", message="Template fetched successfully", data=detail)


def _synced(item: dict[str, Any]) -> dict[str, Any] | None:
    """A Graph API template definition as a template row's values (None: unusable)."""
    name, language, provider_id = item.get("name"), item.get("language"), item.get("id")
    if not (isinstance(name, str) and isinstance(language, str) and provider_id):
        return None
    components = item.get("components")
    quality = item.get("quality_score")
    return {
        "name": name[:512],
        "language_code": language[:16],
        "category": str(item.get("category") or "UTILITY")[:64],
        "status": str(item.get("status") or "pending").lower()[:32],
        "components": msgspec.json.encode(
            components if isinstance(components, list) else []
        ).decode(),
        "provider_id": str(provider_id)[:64],
        "status_detail": str(item.get("rejected_reason") or "")[:512] or None,
        "quality_score": (
            str(quality.get("score"))
            if isinstance(quality, dict) and quality.get("score")
            else None
        ),
    }


async def sync_templates(
    sc: Scope[Transaction], channel_id: int, *, items: list[dict[str, Any]]
) -> tuple[int, int, int]:
    """Make the channel's provider templates those of ``items`` (Graph API definitions):
    new ones added, changed ones updated, vanished ones removed; templates added by hand
    are kept. (added, changed, removed)."""
    await get_channel(sc, channel_id)
    added = changed = 0
    keep: list[str] = []
    at = now()
    for item in items:
        values = _synced(item)
        if values is None:
            continue
        keep.append(values["provider_id"])
        result = await repo.upsert_synced_template(sc, channel_id=channel_id, now=at, **values)
        added += result == "added"
        changed += result == "changed"
    removed = await repo.delete_synced_templates(sc, channel_id, keep=keep)
    return added, changed, removed
