"""The browser app's pages and form actions (``/app``).

Pages are rendered on the server and work without JavaScript; ``static/app.js`` adds live
updates, in-place form posts and keyboard shortcuts. Every action calls the service
function the ``/v2`` API calls, in one transaction, so it emits the same webhook events.
A form that fails is shown again with the error next to its field, and nothing is kept.
"""

from __future__ import annotations

import asyncio
import functools
import json
import re
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Annotated, Any, get_args
from urllib.parse import quote, urlencode

import msgspec
from litestar import Response, Router, get, post
from litestar.datastructures import ResponseHeader
from litestar.params import PathParameter
from litestar.response import ServerSentEvent, Stream, Template
from litestar.response.sse import ServerSentEventMessage

from openrespond.accounts import service as accounts
from openrespond.channels.capabilities import channel_capabilities
from openrespond.contacts import bulk, imports, merge
from openrespond.contacts import service as contacts
from openrespond.contacts.schemas import MergeBody, Operator
from openrespond.conversations import service as conversations
from openrespond.conversations.schemas import AssigneeBody, CommentBody, ConversationStatusBody
from openrespond.custom_fields import service as custom_fields
from openrespond.db import Scope, Transaction
from openrespond.errors import (
    ApiError,
    BadRequest,
    NotFound,
    TooManyRequests,
    Unauthorized,
)
from openrespond.http.pagination import public_base
from openrespond.http.routing import PathId
from openrespond.identifiers import Identifier
from openrespond.inbox import service as inbox
from openrespond.messages import attachments
from openrespond.messages import service as messages
from openrespond.messages.schemas import Message
from openrespond.space import canned_replies
from openrespond.space import users as space_users
from openrespond.tags import service as tags
from openrespond.web import render
from openrespond.web.console import ROUTES as CONSOLE_ROUTES
from openrespond.web.live import LiveHub
from openrespond.web.pages import Req
from openrespond.web.pages import page as _page
from openrespond.web.pages import posted as _posted
from openrespond.web.pages import see_other as _see_other
from openrespond.web.session import (
    COOKIE,
    PRE_COOKIE,
    SignInRequired,
    Viewer,
    anonymous_csrf,
    check_csrf,
    form_of,
    managers_only,
    session_of,
    set_cookie,
    viewer,
    write,
)
from openrespond.web.settings import ROUTES as SETTINGS_ROUTES

__all__ = ["CSP", "ROUTER"]

LinkToken = Annotated[str, PathParameter(min_length=1, max_length=128)]
Action = Annotated[str, PathParameter(min_length=1, max_length=32)]
FileName = Annotated[str, PathParameter(min_length=1, max_length=255)]

CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' https: http: data:;"
    " connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
)


def _client(request: Req) -> str:
    return (request.scope.get("client") or ("?", 0))[0]


def _safe_next(target: str | None) -> str:
    if target and target.startswith("/app/") and not target.startswith("//") and "\\" not in target:
        return target
    return "/app/"


# -- signing in ------------------------------------------------------------------------------


@get("/", name="app-home")
async def home(request: Req) -> Response[Any]:
    found = await session_of(request)
    if found is None:
        return _see_other("/app/sign-in")
    session, users = found
    if len(users) == 1:
        return _see_other(f"/app/{users[0]['workspace_id']}/")
    v = Viewer(session, users, users[0], users[0]["workspace_id"])
    return _page(request, "workspaces.html", v=v, users=users)


def _sign_in_page(
    request: Req, *, status: int = 200, error: str | None = None, email: str = ""
) -> Template:
    token = anonymous_csrf(request)
    page = _page(
        request,
        "sign_in.html",
        status=status,
        pre_csrf=token,
        error=error,
        email=email,
        next=_safe_next(request.query_params.get("next")),
    )
    set_cookie(page, request, PRE_COOKIE, token, 3600)
    return page


@get("/sign-in")
async def sign_in_form(request: Req) -> Response[Any]:
    return _sign_in_page(request)


@post("/sign-in")
async def sign_in(request: Req) -> Response[Any]:
    form = await form_of(request)
    check_csrf(request, form, request.cookies.get(PRE_COOKIE, ""))
    email = form.get("email", "").strip()
    password = form.get("password", "")
    if not email or not password:
        return _sign_in_page(
            request, status=400, error="Enter your email and password.", email=email
        )
    db = request.app.state.db
    try:
        async with db.transaction() as tx:
            matched = await accounts.sign_in(
                tx, email=email[:320], password=password[:1024], client=_client(request)
            )
    except TooManyRequests as err:
        return _sign_in_page(request, status=429, error=err.message, email=email)
    if not matched:
        return _sign_in_page(
            request, status=401, error="That email and password do not match.", email=email
        )
    return await _signed_in(request, matched, form.get("next"))


async def _signed_in(request: Req, user_ids: list[int], target: str | None) -> Response[Any]:
    settings = request.app.state.settings
    async with request.app.state.db.transaction() as tx:
        token, _ = await accounts.start_session(
            tx, user_ids, max_seconds=settings.session_max_seconds
        )
    response = _see_other(_safe_next(target))
    set_cookie(response, request, COOKIE, token, settings.session_max_seconds)
    response.delete_cookie(PRE_COOKIE, path="/app")
    return response


@post("/sign-out")
async def sign_out(request: Req) -> Response[Any]:
    found = await session_of(request)
    if found is not None:
        form = await form_of(request)
        check_csrf(request, form, found[0].csrf)
        async with request.app.state.db.transaction() as tx:
            await accounts.end_session(tx, found[0])
    response = _see_other("/app/sign-in")
    response.delete_cookie(COOKIE, path="/app")
    return response


@get("/link/{token:str}")
async def link_form(request: Req, token: LinkToken) -> Response[Any]:
    link = await accounts.open_link(request.app.state.db.reader(), token)
    pre = anonymous_csrf(request)
    page = _page(request, "link.html", link=link, pre_csrf=pre, error=None)
    page.headers["Referrer-Policy"] = "no-referrer"
    set_cookie(page, request, PRE_COOKIE, pre, 3600)
    return page


@post("/link/{token:str}")
async def link_use(request: Req, token: LinkToken) -> Response[Any]:
    form = await form_of(request)
    check_csrf(request, form, request.cookies.get(PRE_COOKIE, ""))
    db = request.app.state.db
    link = await accounts.open_link(db.reader(), token)
    password = form.get("password")
    try:
        if link["purpose"] != "signin" and password != form.get("confirm"):
            raise BadRequest("password: the two passwords differ")
        async with db.transaction() as tx:
            user_id = await accounts.redeem_link(tx, token, password=password)
    except BadRequest as err:
        pre = request.cookies.get(PRE_COOKIE)
        return _page(request, "link.html", status=400, link=link, pre_csrf=pre, error=err.message)
    return await _signed_in(request, [user_id], f"/app/{link['workspace_id']}/")


# -- the inbox -------------------------------------------------------------------------------


async def _inbox_page(
    request: Req,
    v: Viewer,
    *,
    contact_id: int | None,
    status: int = 200,
    errors: dict[str, str] | None = None,
    form: dict[str, str] | None = None,
) -> Template:
    params = dict(request.query_params.items())
    query = inbox.InboxQuery.parse(params)
    sc = Scope(request.app.state.db.reader(), v.ws)
    page = await inbox.list_conversations(sc, query, user_id=v.user_id)
    users = await space_users.list_users(sc)
    ctx: dict[str, Any] = {
        "query": query,
        "page": page,
        "users": users,
        "qs": lambda **kw: urlencode(query.params(**kw)),
        "contact_id": contact_id,
        "errors": errors or {},
        "form": form or {},
    }
    if contact_id is not None:
        view = await inbox.contact_view(sc, contact_id)
        items, older = await inbox.timeline(
            sc, contact_id, before=inbox.parse_before(params.get("before"))
        )
        names = {u.id: f"{u.first_name} {u.last_name or ''}".strip() for u in users}
        emails = {u.email.lower(): names[u.id] for u in users}
        ctx.update(
            view=view,
            items=items,
            older=older,
            mention=lambda text: render.mentions(text, names, emails),
            templates=await _templates(sc, items),
            channel_types={
                ch["channel_id"]: [
                    *sorted(channel_capabilities(ch).types & {"text", "email"}),
                    *(["whatsapp_template"] if view.templates.get(ch["channel_id"]) else []),
                ]
                for ch in view.channels
            },
            users_json=json.dumps(
                [{"id": u.id, "name": names[u.id], "email": u.email} for u in users]
            ),
            canned_json=json.dumps(
                [
                    {"code": r.short_code, "text": r.text}
                    for r in await canned_replies.list_canned_replies(sc)
                ]
            ),
        )
    return _page(request, "inbox.html", status=status, v=v, **ctx)


async def _templates(sc: Scope[Any], items: list[inbox.TimelineItem]) -> dict[int, str]:
    """The filled text of each template message of ``items``, by message id."""
    out: dict[int, str] = {}
    for item in items:
        if item.kind != "message" or item.row["type"] not in (
            "whatsapp_template",
            "facebook_template",
        ):
            continue
        tpl = item.content.get("template", {})
        found = await inbox.template_components(
            sc,
            channel_id=item.row["channel_id"],
            name=str(tpl.get("name", "")),
            language=str(tpl.get("languageCode", "")),
        )
        if found is not None:
            out[item.row["id"]] = render.template_text(found, tpl.get("components"))
    return out


@get("/{wid:int}")
async def inbox_list(request: Req, wid: PathId) -> Response[Any]:
    v = await viewer(request, wid)
    return await _inbox_page(request, v, contact_id=None)


@get("/{wid:int}/c/{cid:int}")
async def conversation(request: Req, wid: PathId, cid: PathId) -> Response[Any]:
    v = await viewer(request, wid)
    page = await _inbox_page(request, v, contact_id=cid)
    # A write only when there is something new to mark (live refreshes re-read this page).
    if await inbox.unseen(
        Scope(request.app.state.db.reader(), wid), user_id=v.user_id, contact_id=cid
    ):
        await write(request, wid, lambda sc: inbox.mark_read(sc, user_id=v.user_id, contact_id=cid))
    return page


def _message(
    form: dict[str, str], channel_type: str, *, attachments: list[dict[str, str]] | None = None
) -> Message:
    doc: dict[str, Any] = {"type": channel_type, "text": form.get("text", "")}
    if channel_type == "email" and form.get("subject"):
        doc["subject"] = form["subject"]
    if attachments:
        doc["attachments"] = attachments
    return _convert(doc, "text")


def _convert(doc: dict[str, Any], field: str) -> Message:
    """The message ``doc`` describes, by the API's model; 400 naming ``field``."""
    try:
        message: Message = msgspec.convert(doc, type=Message)
        return message
    except msgspec.ValidationError as err:
        raise BadRequest(f"{field}: {err}") from None


@dataclass(frozen=True, slots=True)
class _Upload:
    """A file posted with a reply, and the address it will be fetched from."""

    name: str
    data: bytes
    base: str
    media: attachments.MediaDirectory | None  # where files are kept, when not the database


async def _reply(
    sc: Scope[Transaction],
    cid: int,
    v: Viewer,
    form: dict[str, str],
    upload: _Upload | None = None,
) -> None:
    channel = form.get("channel", "")
    if not (channel.isascii() and channel.isdigit() and len(channel) <= 16):
        raise BadRequest("channel: choose one of the contact's channels")
    kind = form.get("type") or "text"
    text = form.get("text", "").strip()
    sent: list[Message] = []
    if kind == "whatsapp_template":
        if upload is not None:
            raise BadRequest("file: a template carries no file; send it on its own")
        sent.append(await _template(sc, cid, int(channel), form))
    elif upload is None:
        if not text:
            raise BadRequest("text: write a message first")
        sent.append(_message(form, kind))
    else:
        stored = await attachments.store_file(
            sc, cid, name=upload.name, data=upload.data, media=upload.media
        )
        item = {"type": stored.kind, "url": upload.base + stored.path, "fileName": stored.name}
        if kind == "email":
            sent.append(_message(form, "email", attachments=[item]))
        else:
            if text:
                sent.append(_message(form, kind))
            sent.append(_convert({"type": "attachment", "attachment": item}, "file"))
    for message in sent:
        await messages.send(
            sc, Identifier("id", cid), channel_id=int(channel), message=message, user_id=v.user_id
        )


async def _template(
    sc: Scope[Transaction], cid: int, channel_id: int, form: dict[str, str]
) -> Message:
    """The template the form picked for ``channel_id``, its values filled in (fields
    ``p.<component>.<n>``)."""
    choices = {str(t.id): t for t in await inbox.contact_templates(sc, cid, channel_id=channel_id)}
    choice = choices.get(form.get("template", ""))
    if choice is None:
        raise BadRequest("template: choose one of the channel's approved templates")
    values: dict[str, list[str]] = {}
    for kind, count in choice.slots:
        values[kind] = [form.get(f"p.{choice.id}.{kind}.{n}", "") for n in range(1, count + 1)]
    doc = inbox.template_message(choice, values)
    try:
        message: Message = msgspec.convert(doc, type=Message)
    except msgspec.ValidationError as err:
        raise BadRequest(f"template: {err}") from None
    return message


async def _comment(sc: Scope[Transaction], cid: int, v: Viewer, form: dict[str, str]) -> None:
    await conversations.add_comment(
        sc, Identifier("id", cid), body=CommentBody(text=form.get("text", "")), user_id=v.user_id
    )


async def _status(sc: Scope[Transaction], cid: int, v: Viewer, form: dict[str, str]) -> None:
    status = form.get("status")
    if status not in ("open", "close"):
        raise BadRequest("status: must be open or close")
    body = ConversationStatusBody(
        status=status,  # type: ignore[arg-type]
        category=form.get("category") or None,
        summary=form.get("summary") or None,
    )
    await conversations.set_status(sc, Identifier("id", cid), body=body, user_id=v.user_id)


async def _assign(sc: Scope[Transaction], cid: int, v: Viewer, form: dict[str, str]) -> None:
    value = form.get("assignee", "")
    if value == "me":
        value = str(v.user_id)
    await conversations.assign(sc, Identifier("id", cid), body=AssigneeBody(assignee=value or None))


async def _tag(sc: Scope[Transaction], cid: int, v: Viewer, form: dict[str, str]) -> None:
    name = form.get("tag", "").strip()
    if not name:
        raise BadRequest("tag: write a tag name")
    await tags.add_to_contact(sc, Identifier("id", cid), names=[name])


async def _untag(sc: Scope[Transaction], cid: int, v: Viewer, form: dict[str, str]) -> None:
    await tags.remove_from_contact(sc, Identifier("id", cid), names=[form.get("tag", "")])


async def _lifecycle(sc: Scope[Transaction], cid: int, v: Viewer, form: dict[str, str]) -> None:
    await contacts.set_lifecycle(sc, Identifier("id", cid), name=form.get("lifecycle") or None)


async def _contact(sc: Scope[Transaction], cid: int, v: Viewer, form: dict[str, str]) -> None:
    defs = await custom_fields.list_fields(sc)
    fields = inbox.contact_fields(form, defs)
    await contacts.update_contact(sc, Identifier("id", cid), fields=fields)


async def _delete(sc: Scope[Transaction], cid: int, v: Viewer, form: dict[str, str]) -> None:
    if form.get("confirm") != "delete":
        raise BadRequest("confirm: confirm the deletion on its page")
    await contacts.delete_contact(sc, Identifier("id", cid))


async def _merge(sc: Scope[Transaction], cid: int, v: Viewer, form: dict[str, str]) -> None:
    other = form.get("with", "")
    if not (other.isascii() and other.isdigit() and len(other) <= 16):
        raise BadRequest("with: choose the contact to merge into this one")
    await merge.merge_contacts(
        sc, MergeBody(primary_contact_id=cid, secondary_contact_id=int(other))
    )


ACTIONS: dict[
    str, tuple[Callable[[Scope[Transaction], int, Viewer, dict[str, str]], Awaitable[None]], str]
] = {
    "reply": (_reply, "text"),
    "comment": (_comment, "text"),
    "status": (_status, "summary"),
    "assign": (_assign, "assignee"),
    "tag": (_tag, "tag"),
    "untag": (_untag, "tag"),
    "lifecycle": (_lifecycle, "lifecycle"),
    "contact": (_contact, "firstName"),
    "delete": (_delete, "confirm"),
    "merge": (_merge, "with"),
}


# The services name fields as the API does; the forms' names where they differ.
_FORM_NAMES = {"channelId": "channel", "name": "lifecycle"}


def _field_of(message: str, default: str, form: dict[str, str]) -> str:
    """The form field an error message names (``field: …`` or ``field must …``; a custom
    field by its quoted name), else ``default``."""
    head = re.split(r"[:\s]", message.strip(), maxsplit=1)[0]
    head = _FORM_NAMES.get(head, head)
    if head in form or head == "file":  # the file is posted beside the text fields
        return head
    for key in form:
        if key.startswith("cf:") and f"{key[3:]!r} (" in message:
            return key
    return default


async def _upload_of(request: Req) -> _Upload | None:
    """The file posted with a reply, if one was chosen."""
    upload = (await request.form()).get("file")
    if upload is None or isinstance(upload, str) or not upload.filename:
        return None
    return _Upload(
        str(upload.filename), await upload.read(), public_base(request), request.app.state.media
    )


# A reply may carry a file.
@post(
    "/{wid:int}/c/{cid:int}/{action:str}",
    request_max_body_size=attachments.MAX_BYTES + 256 * 1024,
)
async def act(request: Req, wid: PathId, cid: PathId, action: Action) -> Response[Any]:
    v, form = await _posted(request, wid)
    if action not in ACTIONS:
        raise NotFound(f"no action {action[:32]!r}")
    run, field = ACTIONS[action]
    if action == "reply":
        upload = await _upload_of(request)
        run = functools.partial(_reply, upload=upload)
    try:
        await write(request, wid, lambda sc: run(sc, cid, v, form))
    except NotFound:
        raise  # not this workspace's contact: the error page, not the form
    except ApiError as err:
        where = _field_of(err.message, field, form)
        return await _inbox_page(
            request,
            v,
            contact_id=cid,
            status=err.status,
            errors={f"{action}.{where}": err.message},
            form={"action": action, **form},
        )
    if action == "delete":
        return _see_other(f"/app/{wid}/")
    target = f"/app/{wid}/c/{cid}"
    if request.url.query and action != "merge":
        target += f"?{request.url.query}"
    return _see_other(target)


@get("/{wid:int}/c/{cid:int}/confirm-delete")
async def delete_page(request: Req, wid: PathId, cid: PathId) -> Response[Any]:
    """Deleting a contact asks first, naming what goes with it."""
    v = await viewer(request, wid)
    contact = await inbox.contact_of(Scope(request.app.state.db.reader(), wid), cid)
    return _page(request, "delete.html", v=v, contact=contact)


@get("/{wid:int}/c/{cid:int}/merge-with")
async def merge_page(request: Req, wid: PathId, cid: PathId) -> Response[Any]:
    """Find the contact to merge into this one, then see what survives before confirming."""
    v = await viewer(request, wid)
    sc = Scope(request.app.state.db.reader(), wid)
    contact = await inbox.contact_of(sc, cid)
    q = request.query_params.get("q", "")
    if len(q) > 255:
        raise BadRequest("q: must be at most 255 characters")
    other = request.query_params.get("with")
    second = result = None
    if other:
        if not (other.isascii() and other.isdigit() and len(other) <= 16) or int(other) == cid:
            raise BadRequest("with: choose another contact of this workspace")
        second = await inbox.contact_of(sc, int(other))
        result = merge.preview(contact, second)
    return _page(
        request,
        "merge.html",
        v=v,
        contact=contact,
        q=q,
        found=await inbox.merge_candidates(sc, cid, q=q),
        second=second,
        result=result,
    )


# -- contacts --------------------------------------------------------------------------------

OPERATORS = get_args(Operator)
CATEGORIES = (("contactField", "Field"), ("contactTag", "Tag"), ("lifecycle", "Lifecycle"))


@get("/{wid:int}/contacts")
async def contacts_page(request: Req, wid: PathId) -> Response[Any]:
    """Every contact, by the API's search and filter language, a page at a time."""
    v = await viewer(request, wid)
    sc = Scope(request.app.state.db.reader(), wid)
    query = inbox.ContactQuery.parse(list(request.query_params.multi_items()))
    error = None
    try:
        found, page = await inbox.contact_page(sc, query)
    except BadRequest as err:
        if not query.rows:
            raise
        error, found, page = err.message, [], None

    def qs(**changes: Any) -> str:
        params: list[tuple[str, Any]] = [("q", query.q), ("match", query.match)]
        for row in query.rows:
            params.extend(zip(("category", "field", "operator", "value"), row, strict=True))
        params.extend(changes.items())
        return urlencode([(k, x) for k, x in params if x not in ("", None)])

    return _page(
        request,
        "contacts.html",
        status=400 if error else 200,
        v=v,
        query=query,
        found=found,
        page=page,
        error=error,
        qs=qs,
        operators=OPERATORS,
        categories=CATEGORIES,
        fields=[
            *inbox.STANDARD_FIELDS,
            *(f.name for f in await custom_fields.list_fields(sc)),
        ],
    )


@get("/{wid:int}/contacts/export.csv")
async def contacts_export(request: Req, wid: PathId) -> Stream:
    """Every contact of the workspace as CSV (the format ``openrespond contacts import``
    and the import below read back)."""
    v = await viewer(request, wid)

    async def chunks() -> AsyncIterator[bytes]:
        async for text, _ in bulk.export_contacts(request.app.state.db, v.ws, fmt="csv"):
            yield text.encode()

    return Stream(
        chunks(),
        media_type="text/csv",
        headers={"Content-Disposition": f'attachment; filename="contacts-{v.ws}.csv"'},
    )


@post("/{wid:int}/contacts/import", request_max_body_size=imports.MAX_BYTES + 64 * 1024)
async def contacts_import(request: Req, wid: PathId) -> Response[Any]:
    """Queue a CSV import (owners and managers); its progress page follows."""
    v = await viewer(request, wid)
    managers_only(v)
    form = await request.form()
    check_csrf(request, {"_csrf": str(form.get("_csrf", ""))}, v.csrf)
    upload = form.get("file")
    try:
        if upload is None or isinstance(upload, str):
            raise BadRequest("file: choose a CSV file")
        data = await upload.read()
        name = str(upload.filename or "contacts.csv")

        async def work(sc: Scope[Transaction]) -> int:
            return await imports.start_import(sc, user_id=v.user_id, file_name=name, data=data)

        job_id = await write(request, wid, work)
    except BadRequest as err:
        return _page(
            request,
            "import.html",
            status=400,
            v=v,
            job=None,
            error=err.message,
        )
    return _see_other(f"/app/{wid}/contacts/imports/{job_id}")


@get("/{wid:int}/contacts/import")
async def contacts_import_form(request: Req, wid: PathId) -> Response[Any]:
    v = await viewer(request, wid)
    managers_only(v)
    return _page(request, "import.html", v=v, job=None, error=None)


@get("/{wid:int}/contacts/imports/{job:int}")
async def contacts_import_status(request: Req, wid: PathId, job: PathId) -> Response[Any]:
    """An import's progress (the page refreshes itself while it runs)."""
    v = await viewer(request, wid)
    managers_only(v)
    found = await imports.get_import(Scope(request.app.state.db.reader(), wid), job)
    return _page(request, "import.html", v=v, job=found, error=None)


# -- live ------------------------------------------------------------------------------------


# The shortest time between two events of one stream.
LIVE_INTERVAL = 0.5


@get("/{wid:int}/live")
async def live(request: Req, wid: PathId) -> ServerSentEvent:
    """Server-sent events: ``change`` with the contacts that changed (merged per burst)."""
    v = await viewer(request, wid)
    hub: LiveHub = request.app.state.live
    raw = request.query_params.get("since", "")
    since = int(raw) if raw.isdigit() and len(raw) <= 16 else None
    sub = hub.subscribe(v.ws, since=since)

    async def stream() -> AsyncIterator[ServerSentEventMessage]:
        try:
            yield ServerSentEventMessage(comment="connected", retry=2000)
            while not sub.closed:
                try:
                    await _wait(sub.ready, 15.0)
                except TimeoutError:
                    yield ServerSentEventMessage(comment="ping")
                    continue
                if sub.closed:
                    break
                contacts_, kinds = sub.take()
                yield ServerSentEventMessage(
                    event="change", data=json.dumps({"contacts": contacts_, "kinds": kinds})
                )
                # What changes meanwhile goes out together: a page refreshes at most this
                # often, however busy the workspace.
                await asyncio.sleep(LIVE_INTERVAL)
        finally:
            hub.unsubscribe(sub)

    return ServerSentEvent(stream(), headers={"Cache-Control": "no-store"})


async def _wait(event: asyncio.Event, seconds: float) -> None:
    async with asyncio.timeout(seconds):
        await event.wait()


@get("/files/{token:str}/{name:str}")
async def file(request: Req, token: LinkToken, name: FileName) -> Response[bytes]:
    """A file attached to a message, for the channel that delivers it and for the inbox: the
    token in the link is the only key (no session). Served so that it cannot run in a
    browser (a sandbox CSP, no sniffing); images and PDFs inline, others as downloads."""
    found = await attachments.open_file(request.app.state.db.reader(), token)
    if found is None or found["name"] != name:
        raise NotFound("file not found")
    data = bytes(found["data"])
    if found["location"]:
        media = request.app.state.media
        kept = await media.read(found["location"]) if media is not None else None
        if kept is None:
            raise NotFound("file not found (it is not in OPENRESPOND_MEDIA_DIR)")
        data = kept
    inline = str(found["content_type"]).startswith(("image/", "application/pdf"))
    return Response(
        data,
        media_type=found["content_type"],
        headers={
            "Content-Disposition": ("inline" if inline else "attachment")
            + f"; filename*=UTF-8''{quote(found['name'])}",
            "Content-Security-Policy": "default-src 'none'; sandbox",
            "Cache-Control": "private, max-age=86400, immutable",
        },
    )


# -- errors ----------------------------------------------------------------------------------


async def _refuse_nul(request: Req) -> None:
    """Text with NUL characters is stored alike by no backend: refused up front, as the API
    does (forms are checked field by field in ``form_of``)."""
    if "\x00" in request.scope["path"] or b"%00" in request.scope.get("query_string", b"").lower():
        raise BadRequest("the URL must not contain NUL characters (%00)")


def _error_page(request: Req, exc: Exception) -> Response[Any]:
    if isinstance(exc, SignInRequired):
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        return _see_other("/app/sign-in?" + urlencode({"next": target}))
    assert isinstance(exc, ApiError)
    if isinstance(exc, Unauthorized):
        return _see_other("/app/sign-in")
    if request.headers.get("accept", "").startswith("application/json"):
        return Response(exc.body(), status_code=exc.status)
    return _page(request, "error.html", status=exc.status, error=exc.message)


ROUTER = Router(
    path="/app",
    route_handlers=[
        home,
        sign_in_form,
        sign_in,
        sign_out,
        link_form,
        link_use,
        inbox_list,
        conversation,
        act,
        delete_page,
        merge_page,
        contacts_page,
        contacts_export,
        contacts_import,
        contacts_import_form,
        contacts_import_status,
        live,
        *SETTINGS_ROUTES,
        file,
        *CONSOLE_ROUTES,
    ],
    response_headers=[
        ResponseHeader(name="Content-Security-Policy", value=CSP),
        ResponseHeader(name="X-Content-Type-Options", value="nosniff"),
        ResponseHeader(name="Referrer-Policy", value="same-origin"),
        ResponseHeader(name="Cache-Control", value="no-store"),
    ],
    before_request=_refuse_nul,
    exception_handlers={ApiError: _error_page, SignInRequired: _error_page},
    include_in_schema=False,
)
