"""The developer console (``/app/{wid}/console``): the workspace overview, the API request
log, webhooks with their delivery log, and API tokens. Owners and managers only (anybody
else gets 404); every change goes through the service function the control API calls.

Secrets (a new token, a webhook's signing key) appear in the answer to the form that made
them and on no other page."""

from __future__ import annotations

import json
from typing import Annotated, Any
from urllib.parse import urlencode

import msgspec
from litestar import Response, get, post
from litestar.params import PathParameter
from litestar.response import Template

from openrespond.apilog import service as apilog
from openrespond.console import service as console
from openrespond.db import Connection, Scope, Transaction
from openrespond.db.paging import parse_cursor
from openrespond.errors import BadRequest, Conflict, NotFound
from openrespond.http.routing import PathId
from openrespond.messages.schemas import TextMessage
from openrespond.outbox import EVENT_NAMES
from openrespond.sandbox import service as sandbox
from openrespond.sandbox.schemas import Incoming, StatusBody
from openrespond.space import api_tokens
from openrespond.validation import clean
from openrespond.web.pages import Req, page, posted, see_other
from openrespond.web.session import Viewer, managers_only, viewer, write
from openrespond.webhooks import service as webhooks
from openrespond.webhooks.schemas import WebhookCreate, WebhookUpdate

__all__ = ["ROUTES"]

Action = Annotated[str, PathParameter(min_length=1, max_length=32)]
PAGE_SIZE = 50
# The webhook worker's longest wait between attempts (its default).
WEBHOOK_RETRY_CAP_MS = 3600 * 1000
_TOKEN_NAME_MAX = 100


async def _manager(request: Req, wid: int) -> tuple[Viewer, Scope[Connection]]:
    v = await viewer(request, wid)
    managers_only(v)
    return v, Scope(request.app.state.db.reader(), v.ws)


def _field(message: str, fields: tuple[str, ...], default: str) -> str:
    """The form field an error message names (its first word), else ``default``."""
    first = message.split(" ", 1)[0].rstrip(":").split(".")[0]
    return first if first in fields else default


def _pretty(text: str | None) -> str | None:
    if text is None:
        return None
    try:
        return json.dumps(json.loads(text), indent=2, ensure_ascii=False)
    except ValueError:
        return text


# -- overview --------------------------------------------------------------------------------


@get("/{wid:int}/console")
async def overview(request: Req, wid: PathId) -> Response[Any]:
    v, sc = await _manager(request, wid)
    return page(request, "console/overview.html", v=v, o=await console.overview(sc))


# -- the API request log ---------------------------------------------------------------------

_FILTERS = ("status", "route", "token", "since", "until")


@get("/{wid:int}/console/requests")
async def requests_page(request: Req, wid: PathId) -> Response[Any]:
    v, sc = await _manager(request, wid)
    q = {k: request.query_params.get(k, "") for k in _FILTERS}
    routes = sorted(p for p in request.app.state.allowed_methods if p.startswith("/v2/"))
    tokens = await apilog.tokens(sc)
    context: dict[str, Any] = {"q": q, "routes": routes, "tokens": tokens, "items": []}
    try:
        f = apilog.parse_filter(**q)
        raw_cursor = request.query_params.get("cursorId", "")
        if raw_cursor and not raw_cursor.lstrip("-").isdigit():
            raise BadRequest("cursorId must be an integer")
        cursor = parse_cursor(PAGE_SIZE, int(raw_cursor) if raw_cursor else None)
    except BadRequest as err:
        context["error"] = err.message
        context["error_field"] = _field(err.message, _FILTERS, "status")
        return page(request, "console/requests.html", status=400, v=v, **context)
    items, rows = await apilog.list_requests(sc, f, cursor=cursor)

    def link(cursor_id: int | None) -> str | None:
        if cursor_id is None:
            return None
        kept = {k: val for k, val in q.items() if val}
        return "?" + urlencode({**kept, "cursorId": cursor_id})

    context.update(items=items, next=link(rows.next_cursor), previous=link(rows.previous_cursor))
    return page(request, "console/requests.html", v=v, **context)


@get("/{wid:int}/console/requests/{rid:int}")
async def request_page(request: Req, wid: PathId, rid: PathId) -> Response[Any]:
    v, sc = await _manager(request, wid)
    item = await apilog.get_request(sc, rid)
    return page(
        request,
        "console/request.html",
        v=v,
        r=item,
        request_body=_pretty(item.request_body),
        response_body=_pretty(item.response_body),
    )


# -- API tokens ------------------------------------------------------------------------------


async def _tokens_page(request: Req, v: Viewer, *, status: int = 200, **context: Any) -> Template:
    sc = Scope(request.app.state.db.reader(), v.ws)
    return page(
        request,
        "console/tokens.html",
        status=status,
        v=v,
        tokens=await api_tokens.list_tokens(sc),
        **context,
    )


@get("/{wid:int}/console/tokens")
async def tokens_page(request: Req, wid: PathId) -> Response[Any]:
    v, _ = await _manager(request, wid)
    return await _tokens_page(request, v)


@post("/{wid:int}/console/tokens")
async def token_issue(request: Req, wid: PathId) -> Response[Any]:
    v, form = await posted(request, wid, managers=True)
    name = clean(form.get("name", "")).strip()
    if not name or len(name) > _TOKEN_NAME_MAX:
        return await _tokens_page(
            request,
            v,
            status=400,
            error=f"name: 1 to {_TOKEN_NAME_MAX} characters",
            form=form,
        )
    secret = request.app.state.secret

    async def work(sc: Scope[Transaction]) -> tuple[int, str]:
        return await api_tokens.issue_token(sc, name=name, secret=secret)

    _, token = await write(request, wid, work)
    # The one page that shows it: the answer to this form (not cached, not in the URL).
    return await _tokens_page(request, v, issued=token, issued_name=name)


@post("/{wid:int}/console/tokens/{tid:int}/revoke")
async def token_revoke(request: Req, wid: PathId, tid: PathId) -> Response[Any]:
    await posted(request, wid, managers=True)
    await write(request, wid, lambda sc: api_tokens.revoke_token(sc, tid))
    request.app.state.auth.forget()  # this process stops accepting it at once
    return see_other(f"/app/{wid}/console/tokens")


# -- webhooks --------------------------------------------------------------------------------

_HOOK_FIELDS = ("url", "events", "description", "signingKey")


def _hook_body(form: dict[str, str], events: list[str], kind: type[Any]) -> Any:
    raw: dict[str, Any] = {"url": form.get("url", "").strip()}
    raw["events"] = events or ["*"]
    if kind is WebhookCreate:
        raw["description"] = form.get("description", "").strip() or None
        if form.get("signingKey", "").strip():
            raw["signingKey"] = form["signingKey"].strip()
    else:
        raw["description"] = form.get("description", "").strip()
    try:
        return msgspec.convert(raw, kind)
    except msgspec.ValidationError as exc:
        text = str(exc)
        where = text.rsplit("$.", 1)[-1].split("[", 1)[0] if "$." in text else "url"
        if where == "url":
            message = "url: an http(s) URL without credentials, 10 to 2048 characters"
        elif where == "signingKey":
            message = "signingKey: 16 to 256 printable characters without spaces"
        elif where == "events":
            message = "events: choose one or more event types"
        else:
            message = f"{where}: {text.split(' - at ', 1)[0]}"
        raise BadRequest(message) from None


async def _events_of(request: Req) -> list[str]:
    form = await request.form()
    return [e for e in form.getall("events") if isinstance(e, str)] if "events" in form else []


async def _webhooks_page(request: Req, v: Viewer, *, status: int = 200, **context: Any) -> Template:
    sc = Scope(request.app.state.db.reader(), v.ws)
    return page(
        request,
        "console/webhooks.html",
        status=status,
        v=v,
        hooks=await webhooks.list_all(sc),
        event_names=EVENT_NAMES,
        **context,
    )


@get("/{wid:int}/console/webhooks")
async def webhooks_page(request: Req, wid: PathId) -> Response[Any]:
    v, _ = await _manager(request, wid)
    return await _webhooks_page(request, v)


@post("/{wid:int}/console/webhooks")
async def webhook_create(request: Req, wid: PathId) -> Response[Any]:
    v, form = await posted(request, wid, managers=True)
    events = await _events_of(request)
    settings = request.app.state.settings
    try:
        body = _hook_body(form, events, WebhookCreate)
        await webhooks.check_destination(body.url, settings.networks)  # before the transaction
        created = await write(
            request,
            wid,
            lambda sc: webhooks.create(
                sc, body, sealer=request.app.state.sealer, networks=settings.networks
            ),
        )
    except BadRequest as err:
        return await _webhooks_page(
            request,
            v,
            status=err.status,
            error=err.message,
            error_field=_field(err.message, _HOOK_FIELDS, "url"),
            form=form,
            chosen=events,
        )
    return await _webhooks_page(request, v, created=created)


_DELIVERY_STATUSES = ("pending", "delivered", "failed")


async def _webhook_page(
    request: Req, v: Viewer, hook_id: int, *, status: int = 200, **context: Any
) -> Template:
    sc = Scope(request.app.state.db.reader(), v.ws)
    hook = await webhooks.get(sc, hook_id)
    state = request.query_params.get("status") or None
    if state is not None and state not in _DELIVERY_STATUSES:
        state = None
    raw_cursor = request.query_params.get("cursorId", "")
    cursor = parse_cursor(PAGE_SIZE, int(raw_cursor) if raw_cursor.lstrip("-").isdigit() else None)
    items, rows = await webhooks.deliveries(sc, hook_id, cursor=cursor, status=state)

    def link(cursor_id: int | None) -> str | None:
        if cursor_id is None:
            return None
        return "?" + urlencode({**({"status": state} if state else {}), "cursorId": cursor_id})

    return page(
        request,
        "console/webhook.html",
        status=status,
        v=v,
        hook=hook,
        deliveries=items,
        state=state,
        next=link(rows.next_cursor),
        previous=link(rows.previous_cursor),
        event_names=EVENT_NAMES,
        **context,
    )


@get("/{wid:int}/console/webhooks/{hid:int}")
async def webhook_page(request: Req, wid: PathId, hid: PathId) -> Response[Any]:
    v, _ = await _manager(request, wid)
    return await _webhook_page(request, v, hid)


@post("/{wid:int}/console/webhooks/{hid:int}/{action:str}")
async def webhook_act(request: Req, wid: PathId, hid: PathId, action: Action) -> Response[Any]:
    v, form = await posted(request, wid, managers=True)
    settings = request.app.state.settings
    sealer = request.app.state.sealer
    back = f"/app/{wid}/console/webhooks/{hid}"
    try:
        if action == "edit":
            body = _hook_body(form, await _events_of(request), WebhookUpdate)
            await webhooks.check_destination(body.url, settings.networks)
            await write(
                request,
                wid,
                lambda sc: webhooks.update(sc, hid, body=body, networks=settings.networks),
            )
        elif action in ("enable", "disable"):
            flip = WebhookUpdate(enabled=action == "enable")
            await write(
                request,
                wid,
                lambda sc: webhooks.update(sc, hid, body=flip, networks=settings.networks),
            )
        elif action == "rotate":
            rotated = await write(request, wid, lambda sc: webhooks.rotate(sc, hid, sealer=sealer))
            return await _webhook_page(request, v, hid, signing_key=rotated.signing_key)
        elif action == "test":
            sent = await write(request, wid, lambda sc: webhooks.send_test(sc, hid))
            return see_other(f"{back}/deliveries/{sent.id}")
        elif action == "delete":
            await write(request, wid, lambda sc: webhooks.delete(sc, hid))
            return see_other(f"/app/{wid}/console/webhooks")
        elif action == "replay":
            chosen = await _chosen_deliveries(request)
            if not chosen:
                raise BadRequest("deliveries: choose the deliveries to send again")

            async def replay_all(sc: Scope[Transaction]) -> None:
                for delivery_id in chosen:
                    await webhooks.replay(sc, hid, delivery_id=delivery_id)

            await write(request, wid, replay_all)
        else:
            raise NotFound("page not found")
    except BadRequest as err:
        return await _webhook_page(
            request,
            v,
            hid,
            status=err.status,
            error=err.message,
            error_field=_field(err.message, (*_HOOK_FIELDS, "deliveries"), "url"),
            form=form,
        )
    return see_other(back)


async def _chosen_deliveries(request: Req) -> list[int]:
    form = await request.form()
    values = form.getall("delivery") if "delivery" in form else []
    chosen = []
    for value in values[:100]:
        if not isinstance(value, str) or not value.isdigit() or len(value) > 15:
            raise BadRequest("deliveries: not a delivery id")
        chosen.append(int(value))
    return chosen


@get("/{wid:int}/console/webhooks/{hid:int}/deliveries/{did:int}")
async def delivery_page(request: Req, wid: PathId, hid: PathId, did: PathId) -> Response[Any]:
    v, sc = await _manager(request, wid)
    hook = await webhooks.get(sc, hid)
    d = await webhooks.delivery(sc, hid, delivery_id=did)
    payload = _pretty(bytes(d.payload).decode("utf-8", "replace"))
    return page(
        request,
        "console/delivery.html",
        v=v,
        hook=hook,
        d=d,
        payload=payload,
        schedule=_schedule(d, request.app.state.settings) if d.status == "pending" else None,
    )


def _schedule(d: Any, settings: Any) -> dict[str, Any]:
    """When a pending delivery is tried next, the longest each later wait can be (the
    worker's backoff, with jitter below it), and when it is given up."""
    give_up_ms = d.queued_ms + settings.webhook_retry_seconds * 1000
    waits = []
    for attempt in range(d.attempts + 1, d.attempts + 6):
        waits.append(min(WEBHOOK_RETRY_CAP_MS, settings.retry_base_ms * 2 ** min(attempt - 1, 20)))
    return {
        "next_ms": d.next_attempt_ms,
        "waits_s": [w / 1000 for w in waits],
        "give_up_ms": give_up_ms,
    }


@post("/{wid:int}/console/webhooks/{hid:int}/deliveries/{did:int}/replay")
async def delivery_replay(request: Req, wid: PathId, hid: PathId, did: PathId) -> Response[Any]:
    await posted(request, wid, managers=True)
    await write(request, wid, lambda sc: webhooks.replay(sc, hid, delivery_id=did))
    return see_other(f"/app/{wid}/console/webhooks/{hid}/deliveries/{did}")


# -- the customer simulator -----------------------------------------------------------------

_SIM_FIELDS = ("channel", "address", "firstName", "type", "text", "url", "kind", "subject")
_SENT_SHOWN = 20


async def _simulator_page(
    request: Req, v: Viewer, *, status: int = 200, **context: Any
) -> Template:
    sc = Scope(request.app.state.db.reader(), v.ws)
    data = await console.simulator(sc)
    sent = {}
    for channel in data["channels"]:
        if channel["driver"] != "sandbox":
            continue  # a custom channel's deliveries are its bridge's to show
        items, _ = await sandbox.sent(
            sc, channel["id"], cursor=parse_cursor(_SENT_SHOWN, -(2**53 - 1))
        )
        sent[channel["id"]] = [msgspec.to_builtins(i) for i in reversed(items)]
    context.setdefault("form", {})
    return page(
        request,
        "console/simulator.html",
        status=status,
        v=v,
        sent=sent,
        **data,
        **context,
    )


@get("/{wid:int}/console/simulator")
async def simulator_page(request: Req, wid: PathId) -> Response[Any]:
    v, _ = await _manager(request, wid)
    return await _simulator_page(request, v)


def _incoming(form: dict[str, str]) -> Incoming:
    """The message the form describes, as the sandbox API takes it; 400 naming the field."""
    channel = form.get("channel", "")
    if not channel.isdigit() or len(channel) > 15:
        raise BadRequest("channel: choose a channel")
    address = form.get("address", "").strip()
    if not address:
        raise BadRequest("address: type the customer's phone number, email or id")
    kind = form.get("type", "text")
    text = form.get("text", "")
    message: dict[str, Any]
    if kind == "text":
        if not text.strip():
            raise BadRequest("text: write what the customer says")
        message = {"type": "text", "text": text}
    elif kind == "attachment":
        message = {
            "type": "attachment",
            "attachment": {"type": form.get("kind", "image"), "url": form.get("url", "").strip()},
        }
    elif kind == "email":
        if not text.strip():
            raise BadRequest("text: write the email")
        message = {"type": "email", "text": text, "subject": form.get("subject", "") or None}
    else:
        raise BadRequest("type: text, attachment or email")
    raw: dict[str, Any] = {"channelId": int(channel), "address": address, "message": message}
    if form.get("firstName", "").strip():
        raw["contact"] = {"firstName": form["firstName"].strip()}
    try:
        return msgspec.convert(raw, Incoming)
    except msgspec.ValidationError as exc:
        text = str(exc)
        where = text.rsplit("$.", 1)[-1] if "$." in text else "text"
        field = {
            "address": "address",
            "contact.firstName": "firstName",
            "message.attachment.url": "url",
            "message.attachment.type": "kind",
            "message.subject": "subject",
        }.get(where, "text")
        raise BadRequest(f"{field}: {text.split(' - at ', 1)[0]}") from None


@post("/{wid:int}/console/simulator/incoming")
async def simulator_incoming(request: Req, wid: PathId) -> Response[Any]:
    v, form = await posted(request, wid, managers=True)
    try:
        body = _incoming(form)
        contact_id, _ = await write(request, wid, lambda sc: sandbox.receive(sc, body))
    except (BadRequest, NotFound) as err:
        message = err.message.replace("channelId", "channel")
        return await _simulator_page(
            request,
            v,
            status=400 if isinstance(err, NotFound) else err.status,
            error=message,
            error_field=_field(message, _SIM_FIELDS, "text"),
            form=form,
        )
    return see_other(f"/app/{wid}/console/simulator?sent={contact_id}")


@post("/{wid:int}/console/simulator/messages/{mid:int}/status")
async def simulator_status(request: Req, wid: PathId, mid: PathId) -> Response[Any]:
    v, form = await posted(request, wid, managers=True)
    reason = form.get("reason", "").strip() or None
    try:
        body = msgspec.convert({"status": form.get("status", ""), "reason": reason}, StatusBody)
    except msgspec.ValidationError:
        return await _simulator_page(
            request,
            v,
            status=400,
            status_error=f"message {mid}: status must be delivered, read or failed"
            " (a reason of at most 1000 characters)",
            status_for=mid,
        )
    try:
        await write(request, wid, lambda sc: sandbox.set_status(sc, mid, body=body))
    except (BadRequest, Conflict) as err:
        return await _simulator_page(
            request, v, status=err.status, status_error=err.message, status_for=mid
        )
    return see_other(f"/app/{wid}/console/simulator#message-{mid}")


@post("/{wid:int}/console/simulator/messages/{mid:int}/answer")
async def simulator_answer(request: Req, wid: PathId, mid: PathId) -> Response[Any]:
    """The customer taps one of a quick reply's answers: it comes back as their message."""
    v, form = await posted(request, wid, managers=True)
    sc_read = Scope(request.app.state.db.reader(), v.ws)
    found = next((o for o in (await console.simulator(sc_read))["outgoing"] if o.id == mid), None)
    if found is None or found.type != "quick_reply" or found.address is None:
        raise NotFound(f"quick reply {mid} not found")
    answer = form.get("answer", "")
    if answer not in found.content.get("replies", []):
        return await _simulator_page(
            request, v, status=400, status_error="answer: not one of the replies", status_for=mid
        )
    body = Incoming(
        channel_id=found.channel_id,
        address=found.address,
        message=TextMessage(text=answer),
    )
    await write(request, wid, lambda sc: sandbox.receive(sc, body))
    return see_other(f"/app/{wid}/console/simulator#message-{mid}")


@post("/{wid:int}/console/simulator/reset")
async def simulator_reset(request: Req, wid: PathId) -> Response[Any]:
    v, form = await posted(request, wid, managers=True)
    to = form.get("to", "")
    name = v.user["workspace_name"]
    if to not in ("empty", "demo"):
        error = "to: empty or demo"
    elif form.get("confirm", "") != name:
        error = f"confirm: type the workspace's name, {name}, to confirm"
    else:
        await write(request, wid, lambda sc: sandbox.reset(sc, to=to))
        return see_other(f"/app/{wid}/console/simulator?reset={to}")
    return await _simulator_page(request, v, status=400, reset_error=error, reset_form=form)


ROUTES = [
    simulator_page,
    simulator_incoming,
    simulator_status,
    simulator_answer,
    simulator_reset,
    overview,
    requests_page,
    request_page,
    tokens_page,
    token_issue,
    token_revoke,
    webhooks_page,
    webhook_create,
    webhook_page,
    webhook_act,
    delivery_page,
    delivery_replay,
]
