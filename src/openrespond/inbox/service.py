"""The inbox's reads: the conversation list and one contact's timeline.

Everything the inbox changes goes through the services the API uses (conversations,
messages, tags, contacts); this module only reads, plus the per-user read marker.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any, Literal

import msgspec

from openrespond.channels.capabilities import channel_capabilities
from openrespond.contacts import service as contacts
from openrespond.contacts.filters import search_sql
from openrespond.contacts.schemas import (
    Contact,
    ContactFields,
    ContactListBody,
    FilterCondition,
)
from openrespond.custom_fields import service as custom_fields
from openrespond.custom_fields.schemas import CustomField
from openrespond.db import Connection, Row, Scope, Transaction
from openrespond.db.paging import Cursor, PageRows
from openrespond.errors import BadRequest
from openrespond.identifiers import Identifier
from openrespond.inbox import repository as repo
from openrespond.space import repository as space_repo

__all__ = [
    "PAGE",
    "STANDARD_FIELDS",
    "TIMELINE",
    "ContactQuery",
    "ContactView",
    "InboxPage",
    "InboxQuery",
    "TemplateChoice",
    "TimelineItem",
    "contact_fields",
    "contact_of",
    "contact_page",
    "contact_templates",
    "contact_view",
    "list_conversations",
    "mark_read",
    "merge_candidates",
    "parse_before",
    "template_choice",
    "template_components",
    "template_message",
    "templates_of",
    "timeline",
    "unseen",
]

PAGE = 25
TIMELINE = 200


@dataclass(frozen=True, slots=True)
class InboxQuery:
    """What the list shows: ``status`` open or closed; ``assignee`` ``mine``,
    ``unassigned``, ``all`` or a user id; ``q`` a search over names, email and phone;
    ``after`` the keyset of the last row of the previous page."""

    status: Literal["open", "closed"] = "open"
    assignee: str = "all"
    q: str = ""
    after: tuple[int, int] | None = None

    @staticmethod
    def parse(params: dict[str, str]) -> InboxQuery:
        """From query parameters; 400 naming the parameter that is not understood."""
        status = params.get("status") or "open"
        if status not in ("open", "closed"):
            raise BadRequest(f"status: must be open or closed, got {status[:32]!r}")
        assignee = params.get("assignee") or "all"
        if assignee not in ("mine", "unassigned", "all") and not _whole(assignee):
            raise BadRequest(
                f"assignee: must be mine, unassigned, all or a user id, got {assignee[:32]!r}"
            )
        q = (params.get("q") or "").strip()
        if len(q) > 255:
            raise BadRequest("q: must be at most 255 characters")
        after = None
        if cursor := params.get("after"):
            last, _, contact = cursor.partition("-")
            if not (_whole(last) and _whole(contact)):
                raise BadRequest(f"after: not a cursor of this list: {cursor[:40]!r}")
            after = (int(last), int(contact))
        return InboxQuery(status, assignee, q, after)  # type: ignore[arg-type]

    def params(self, **changes: Any) -> dict[str, str]:
        """Query parameters for this query with ``changes`` (``after`` dropped unless given)."""
        out = {"status": self.status, "assignee": self.assignee, "q": self.q}
        out.update({k: str(v) for k, v in changes.items() if v is not None})
        return {k: v for k, v in out.items() if v and not (k == "assignee" and v == "all")}


def _whole(text: str) -> bool:
    """Digits only, few enough for a 64-bit id."""
    return text.isascii() and text.isdigit() and len(text) <= 16


def parse_before(value: str | None) -> int | None:
    """The ``before`` parameter of a timeline (a message id); 400 when it is not one."""
    if not value:
        return None
    if not _whole(value):
        raise BadRequest(f"before: must be a message id, got {value[:32]!r}")
    return int(value)


@dataclass(slots=True)
class InboxPage:
    rows: list[Row]
    next_after: str | None
    unread: int


def _assignee_sql(assignee: str, user_id: int) -> tuple[str, list[Any]]:
    if assignee == "mine":
        return "c.assignee_user_id = ?", [user_id]
    if assignee == "unassigned":
        return "c.assignee_user_id IS NULL", []
    if assignee == "all":
        return "", []
    return "c.assignee_user_id = ?", [int(assignee)]


async def list_conversations(
    sc: Scope[Connection], query: InboxQuery, *, user_id: int, limit: int = PAGE
) -> InboxPage:
    """One page of the list; the unread count is of open conversations under the same
    assignee filter (what the tab title shows)."""
    parts: list[str] = []
    args: list[Any] = []
    where, more = _assignee_sql(query.assignee, user_id)
    if where:
        parts.append(where)
        args.extend(more)
    unread_where, unread_args = " AND ".join(parts), list(args)
    if query.q:
        where, more = search_sql(query.q)
        parts.append(where)
        args.extend(more)
    rows = await repo.list_rows(
        sc,
        user_id=user_id,
        status="open" if query.status == "open" else "close",
        where=" AND ".join(parts),
        args=args,
        after=query.after,
        limit=limit + 1,
    )
    next_after = None
    if len(rows) > limit:
        rows = rows[:limit]
        next_after = f"{rows[-1]['last_message_id']}-{rows[-1]['id']}"
    count = await repo.unread_count(sc, user_id=user_id, where=unread_where, args=unread_args)
    return InboxPage(rows, next_after, count)


@dataclass(slots=True)
class TimelineItem:
    """A message or a comment, in time order."""

    kind: Literal["message", "comment"]
    at: int
    row: Row
    content: dict[str, Any] = field(default_factory=dict)
    statuses: list[dict[str, Any]] = field(default_factory=list)


async def timeline(
    sc: Scope[Connection], contact_id: int, *, before: int | None = None, limit: int = TIMELINE
) -> tuple[list[TimelineItem], int | None]:
    """The contact's newest ``limit`` messages (before message ``before``) with the comments
    of that span, oldest first; and the id to pass as ``before`` for older ones (None when
    there are none)."""
    rows = await repo.messages(sc, contact_id, before=before, limit=limit + 1)
    older = None
    if len(rows) > limit:
        rows = rows[:limit]
        older = rows[-1]["id"]
    rows.reverse()
    # The comments of this span: from its first message (all when nothing is older) up to
    # the message after it (all when this is the newest page).
    since = rows[0]["created_at"] if older is not None else None
    until = await repo.message_time(sc, before) if before is not None else None
    items = [
        TimelineItem(
            "message",
            r["created_at"],
            r,
            json.loads(r["content"]),
            json.loads(r["statuses"]),
        )
        for r in rows
    ]
    if rows or before is None:
        for c in await repo.comments(sc, contact_id, since=since, until=until):
            items.append(TimelineItem("comment", c["created_at"], c))
    items.sort(key=lambda i: (i.at, 0 if i.kind == "message" else 1, i.row["id"]))
    return items, older


@dataclass(frozen=True, slots=True)
class TemplateChoice:
    """An approved template the composer offers: how many ``{{n}}`` values each component
    takes, and its text to show."""

    id: int
    name: str
    language: str
    slots: list[tuple[str, int]]
    preview: str


_PLACEHOLDER = re.compile(r"\{\{(\d+)\}\}")


def template_choice(row: Row) -> TemplateChoice:
    components = json.loads(row["components"] or "[]")
    slots: list[tuple[str, int]] = []
    lines: list[str] = []
    for comp in components if isinstance(components, list) else []:
        text = comp.get("text") if isinstance(comp, dict) else None
        if not isinstance(text, str):
            continue
        lines.append(text)
        numbers = [int(n) for n in _PLACEHOLDER.findall(text)]
        if numbers:
            slots.append((str(comp.get("type", "body")).lower(), max(numbers)))
    return TemplateChoice(row["id"], row["name"], row["language_code"], slots, "\n".join(lines))


def template_message(choice: TemplateChoice, values: dict[str, list[str]]) -> dict[str, Any]:
    """A ``whatsapp_template`` message in respond.io's shape, the placeholders of each
    component filled from ``values`` (by component type, in order)."""
    components = []
    for kind, count in choice.slots:
        given = values.get(kind, [])
        if len(given) < count or any(not v.strip() for v in given[:count]):
            raise BadRequest(f"template: fill in all {count} value(s) of the {kind}")
        components.append(
            {"type": kind, "parameters": [{"type": "text", "text": v} for v in given[:count]]}
        )
    template: dict[str, Any] = {"name": choice.name, "languageCode": choice.language}
    if components:
        template["components"] = components
    return {"type": "whatsapp_template", "template": template}


async def templates_of(
    sc: Scope[Connection], channels: list[Row]
) -> dict[int, list[TemplateChoice]]:
    """The approved templates of each of ``channels`` (a contact's) that sends them."""
    return {
        ch["channel_id"]: [
            template_choice(t)
            for t in await space_repo.all_templates(sc, ch["channel_id"])
            if t["status"] == "approved"
        ]
        for ch in channels
        if "whatsapp_template" in channel_capabilities(ch).types
    }


async def contact_templates(
    sc: Scope[Connection], contact_id: int, *, channel_id: int
) -> list[TemplateChoice]:
    """The templates the composer offers for ``channel_id``, one of the contact's channels."""
    channels = [
        c for c in await repo.contact_channels(sc, contact_id) if c["channel_id"] == channel_id
    ]
    return (await templates_of(sc, channels)).get(channel_id, [])


@dataclass(slots=True)
class ContactView:
    contact: Contact
    channels: list[Row]
    users: list[Row]
    closing_notes: list[Row]
    stages: list[Row]
    tags: list[Row]
    fields: list[CustomField]
    # The approved templates of each of the contact's channels that send them.
    templates: dict[int, list[TemplateChoice]]

    def value_of(self, name: str) -> Any:
        """The contact's value of custom field ``name`` (None when it has none)."""
        return next((v.value for v in self.contact.custom_fields if v.name == name), None)


async def contact_view(sc: Scope[Connection], contact_id: int) -> ContactView:
    """The contact as the API returns it, with what the panel offers (404 when not in
    ``sc.ws``)."""
    contact = await contact_of(sc, contact_id)
    channels = await repo.contact_channels(sc, contact_id)
    templates = await templates_of(sc, channels)
    return ContactView(
        contact=contact,
        channels=channels,
        users=await space_repo.all_users(sc),
        closing_notes=await space_repo.all_closing_notes(sc),
        stages=await space_repo.list_lifecycle_stages(sc),
        tags=await repo.tag_names(sc),
        fields=await custom_fields.list_fields(sc),
        templates=templates,
    )


async def contact_of(sc: Scope[Connection], contact_id: int) -> Contact:
    """The contact as the API returns it; 404 when it is not in ``sc.ws``."""
    doc = await contacts.get_contact(sc, Identifier("id", contact_id))
    return msgspec.json.decode(doc, type=Contact)


async def merge_candidates(sc: Scope[Connection], contact_id: int, *, q: str) -> list[Contact]:
    """Up to 10 contacts matching ``q`` (by the API's search), other than ``contact_id``."""
    if not q.strip():
        return []
    docs, _ = await contacts.list_contacts(
        sc, ContactListBody(search=q[:255]), cursor=Cursor(limit=11, cursor_id=0)
    )
    found = [msgspec.json.decode(d, type=Contact) for d in docs]
    return [c for c in found if c.id != contact_id][:10]


def contact_fields(form: dict[str, str], defs: list[CustomField]) -> ContactFields:
    """The contact form's fields as the API takes them: a field left empty is cleared
    (firstName must stay), custom fields are posted as ``cf:<name>``. 400 naming the field
    the API's model refuses."""
    doc: dict[str, Any] = {}
    for name in STANDARD_FIELDS:
        if name in form:
            value = form[name].strip()
            doc[name] = value if value or name == "firstName" else None
    known = {d.name for d in defs}
    custom = [
        {"name": key[3:], "value": form[key].strip() or None}
        for key in form
        if key.startswith("cf:") and key[3:] in known
    ]
    if custom:
        doc["custom_fields"] = custom
    try:
        return msgspec.convert(doc, type=ContactFields)
    except msgspec.ValidationError as err:
        where = str(err).rsplit("at `$.", 1)
        field = where[1].split("`")[0].split(".")[0].split("[")[0] if len(where) == 2 else ""
        raise BadRequest(f"{field or 'contact'}: {str(err).split(' - at ')[0]}") from None


@dataclass(frozen=True, slots=True)
class ContactQuery:
    """The contacts page's search: ``q`` as the API's ``search``, the filter builder's rows
    (category, field, operator, value) joined by ``match`` (``all``: $and, ``any``: $or), and
    the page (the API's ``cursorId``)."""

    q: str
    rows: list[tuple[str, str, str, str]]
    match: str
    cursor: int

    @staticmethod
    def parse(params: list[tuple[str, str]]) -> ContactQuery:
        one = dict(params)
        columns = {name: [v for k, v in params if k == name] for name in _CONDITION}
        count = max((len(v) for v in columns.values()), default=0)
        rows = [
            tuple(columns[name][i] if i < len(columns[name]) else "" for name in _CONDITION)
            for i in range(count)
        ]
        kept = [r for r in rows if r[2]]  # a row without an operator is the blank one
        if len(kept) > 50:
            raise BadRequest("filter: at most 50 conditions")
        match = one.get("match") or "all"
        if match not in ("all", "any"):
            raise BadRequest(f"match: must be all or any, got {match[:16]!r}")
        cursor = one.get("cursor") or "0"
        if not (
            cursor.lstrip("-").isascii() and cursor.lstrip("-").isdigit() and len(cursor) <= 17
        ):
            raise BadRequest(f"cursor: not a page of this list: {cursor[:20]!r}")
        return ContactQuery(one.get("q", "").strip(), kept, match, int(cursor))  # type: ignore[arg-type]

    def body(self) -> ContactListBody:
        """The API's list body for this query; 400 naming the condition it refuses."""
        conditions = []
        for i, (category, field_, operator, value) in enumerate(self.rows):
            item: dict[str, Any] = {"category": category, "operator": operator}
            if field_:
                item["field"] = field_
            if value != "":
                item["value"] = _value(value, operator)
            conditions.append(item)
            try:
                msgspec.convert(item, type=FilterCondition)
            except msgspec.ValidationError as err:
                raise BadRequest(f"filter row {i + 1}: {err}") from None
        doc: dict[str, Any] = {"search": self.q[:255] or None}
        if conditions:
            doc["filter"] = {"$and" if self.match == "all" else "$or": conditions}
        return msgspec.convert(doc, type=ContactListBody)


_CONDITION = ("category", "field", "operator", "value")


def _value(text: str, operator: str) -> Any:
    """A condition's value from its text: a list for hasAnyOf/hasAllOf/hasNoneOf, a range
    ``from..to`` for the between operators, else the text itself."""
    if operator in ("hasAnyOf", "hasAllOf", "hasNoneOf"):
        return [part.strip() for part in text.split(",") if part.strip()]
    if operator in ("isBetween", "isTimestampBetween") and ".." in text:
        low, _, high = text.partition("..")
        return {"from": low.strip(), "to": high.strip()}
    return text


async def contact_page(
    sc: Scope[Connection], query: ContactQuery, *, limit: int = PAGE
) -> tuple[list[Contact], PageRows]:
    """One page of contacts by the API's own search and filter."""
    docs, page = await contacts.list_contacts(
        sc, query.body(), cursor=Cursor(limit=limit, cursor_id=query.cursor)
    )
    return [msgspec.json.decode(d, type=Contact) for d in docs], page


# The contact form's standard fields, by their API names.
STANDARD_FIELDS = ("firstName", "lastName", "email", "phone", "language", "countryCode")


async def unseen(sc: Scope[Connection], *, user_id: int, contact_id: int) -> bool:
    """Whether the contact has a message newer than the newest ``user_id`` has seen."""
    return await repo.unseen(sc, user_id=user_id, contact_id=contact_id)


async def mark_read(sc: Scope[Transaction], *, user_id: int, contact_id: int) -> bool:
    return await repo.mark_read(sc, user_id=user_id, contact_id=contact_id)


async def template_components(
    sc: Scope[Connection], *, channel_id: int, name: str, language: str
) -> list[dict[str, Any]] | None:
    found = await repo.template_components(sc, channel_id=channel_id, name=name, language=language)
    if found is None:
        return None
    parsed = json.loads(found)
    return parsed if isinstance(parsed, list) else None
