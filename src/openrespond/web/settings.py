"""Workspace settings in the browser (``/app/{wid}/settings``): users, channels, tags, custom
fields, lifecycle stages, closing notes and canned replies. Owners and managers only (anybody
else gets 404). Every change calls the service function the control API calls, so a value the
API refuses is refused here with the same message, shown next to its field; nothing is kept.

Channel secrets (a custom channel's token, an SMTP password) are write-only: a generated
token is shown once, in the answer to the form that made it, and never again."""

from __future__ import annotations

import json
import re
from collections.abc import Awaitable, Callable
from typing import Any

import msgspec
from litestar import Response, get, post
from litestar.response import Template

from openrespond.accounts import service as accounts
from openrespond.channels import provider_channels, upkeep, whatsapp
from openrespond.channels import settings as channel_settings
from openrespond.custom_fields import service as custom_fields
from openrespond.custom_fields.schemas import DATA_TYPES, CustomFieldCreate
from openrespond.db import Scope, Transaction
from openrespond.errors import BadRequest, Conflict, NotFound
from openrespond.http.pagination import public_base
from openrespond.http.routing import PathId
from openrespond.space import canned_replies, catalogue
from openrespond.space import channels as space_channels
from openrespond.space import users as space_users
from openrespond.space.schemas import CHANNEL_SOURCES
from openrespond.tags import service as tags
from openrespond.tags.schemas import TagCreate
from openrespond.web.pages import Req, page, posted, see_other
from openrespond.web.session import Viewer, managers_only, viewer, write

__all__ = ["ROUTES"]

_SMTP_FIELDS = (
    "host",
    "port",
    "security",
    "username",
    "password",
    "from",
    "fromName",
    "replyTo",
    "timeoutSeconds",
    "attachments",
    "maxAttachmentBytes",
)
_CUSTOM_FIELDS = ("apiBaseUrl", "token", "idType")
_INTEGERS = ("port", "timeoutSeconds", "maxAttachmentBytes")
# Form field -> setting, per driver. The providers' fields carry a prefix: their names repeat
# across drivers, and the new-channel form holds every driver's fields.
_DRIVER_FORMS: dict[str, dict[str, str]] = {
    "custom_channel": {n: n for n in _CUSTOM_FIELDS},
    "smtp": {n: n for n in _SMTP_FIELDS},
    "whatsapp_cloud": {
        f"wa-{k}": k
        for k in (
            "phoneNumberId",
            "accessToken",
            "appSecret",
            "verifyToken",
            "businessAccountId",
            "graphBaseUrl",
            "graphVersion",
        )
    },
    "telegram": {f"tg-{k}": k for k in ("botToken", "mode", "apiBaseUrl")},
    "twilio": {
        f"tw-{k}": k
        for k in (
            "accountSid",
            "authToken",
            "apiKeySid",
            "apiKeySecret",
            "from",
            "messagingServiceSid",
            "apiBaseUrl",
        )
    },
}


async def settings_page_of(
    request: Req, v: Viewer, *, status: int = 200, **context: Any
) -> Template:
    """The settings page; ``errors`` maps a section to ``(field, message)``, ``forms`` a
    section to what was typed there."""
    sc = Scope(request.app.state.db.reader(), v.ws)
    context.setdefault("link", None)
    context.setdefault("errors", {})
    context.setdefault("forms", {})
    return page(
        request,
        "settings.html",
        status=status,
        v=v,
        users=await space_users.members(sc),
        canned=await canned_replies.list_canned_replies(sc),
        channels=await space_channels.list_channels(sc),
        tags=await tags.list_tags(sc),
        fields=await custom_fields.list_fields(sc),
        stages=await catalogue.list_lifecycle_stages(sc),
        notes=await catalogue.list_closing_notes(sc),
        sources=CHANNEL_SOURCES,
        drivers=space_channels.DRIVERS,
        data_types=DATA_TYPES,
        **context,
    )


def _field_of(message: str, fields: tuple[str, ...], default: str) -> str:
    """The form field an error names: ``settings.host: …``, ``… - at `$.port```, or a
    message's first word."""
    if (m := re.search(r"at `\$\.(\w+)", message)) or (m := re.match(r"settings\.(\w+)", message)):
        name = m.group(1)
    else:
        name = re.split(r"[\s:]", message, maxsplit=1)[0]
    return name if name in fields else default


async def _section(
    request: Req,
    wid: int,
    section: str,
    fields: tuple[str, ...],
    work: Callable[[Scope[Transaction], dict[str, str]], Awaitable[Any]],
    *,
    before: Callable[[dict[str, str]], Awaitable[None]] | None = None,
) -> Response[Any]:
    """Post one settings form: ``work`` in a transaction; an error shows on its field in that
    section (nothing is kept); success goes back to the section."""
    v, form = await posted(request, wid, managers=True)
    try:
        if before is not None:
            await before(form)
        await write(request, wid, lambda sc: work(sc, form))
    except (BadRequest, Conflict) as err:
        return await settings_page_of(
            request,
            v,
            status=err.status,
            errors={section: (_field_of(err.message, fields, fields[0]), err.message)},
            forms={section: form},
        )
    return see_other(f"/app/{wid}/settings#{section}")


@get("/{wid:int}/settings")
async def settings_page(request: Req, wid: PathId) -> Response[Any]:
    v = await viewer(request, wid)
    managers_only(v)
    return await settings_page_of(request, v)


# -- users -----------------------------------------------------------------------------------


@post("/{wid:int}/settings/invite")
async def invite(request: Req, wid: PathId) -> Response[Any]:
    v, form = await posted(request, wid, managers=True)

    async def work(sc: Scope[Transaction]) -> str:
        _, token, _ = await accounts.invite(
            sc,
            email=form.get("email", ""),
            first_name=form.get("firstName", "").strip() or None,
            role=form.get("role", "agent"),
        )
        return accounts.link_url(public_base(request), token)

    try:
        url = await write(request, wid, work)
    except (BadRequest, NotFound) as err:
        return await settings_page_of(request, v, status=err.status, error=err.message, form=form)
    return await settings_page_of(request, v, link=url)


@post("/{wid:int}/settings/users/{uid:int}")
async def user_change(request: Req, wid: PathId, uid: PathId) -> Response[Any]:
    async def work(sc: Scope[Transaction], form: dict[str, str]) -> None:
        active = {"1": True, "0": False}.get(form.get("active", ""))
        role = form.get("role") or None
        if role is None and active is None:
            raise BadRequest("role: choose a role")
        await space_users.change_member(sc, uid, role=role, active=active)

    return await _section(request, wid, "users", ("role", "active"), work)


# -- channels --------------------------------------------------------------------------------


def _driver_settings(driver: str, form: dict[str, str]) -> dict[str, Any] | None:
    """The driver's settings as the control API takes them, from the form's fields; empty
    fields are left out (a secret left out keeps its value)."""
    if driver not in _DRIVER_FORMS:
        return None
    out: dict[str, Any] = {}
    for name, key in _DRIVER_FORMS[driver].items():
        value = form.get(name, "").strip()
        if not value:
            continue
        if name in _INTEGERS:
            if not value.isdigit() or len(value) > 12:
                raise BadRequest(f"settings.{name}: a whole number")
            out[key] = int(value)
        else:
            out[key] = value
    return out


def _channel_field(message: str, driver: str) -> str:
    """The channel form's field an error names (a setting by its form name)."""
    by_setting = {key: name for name, key in _DRIVER_FORMS.get(driver, {}).items()}
    name = _field_of(message, ("name", "source", "driver", *by_setting), "name")
    return by_setting.get(name, name)


@post("/{wid:int}/settings/channels")
async def channel_create(request: Req, wid: PathId) -> Response[Any]:
    v, form = await posted(request, wid, managers=True)
    driver = form.get("driver", "sandbox")
    networks = request.app.state.settings.networks
    try:
        raw = _driver_settings(driver, form)
        settings, token = channel_settings.with_token(driver, raw)
        await space_channels.check_channel_settings(
            Scope(request.app.state.db.reader(), v.ws),
            settings=settings,
            networks=networks,
            driver=driver,
        )
        row = await write(
            request,
            wid,
            lambda sc: space_channels.create_channel(
                sc,
                name=form.get("name", ""),
                source=form.get("source", ""),
                driver=driver,
                settings=settings,
                sealer=request.app.state.sealer,
                networks=networks,
            ),
        )
    except (BadRequest, Conflict) as err:
        return await settings_page_of(
            request,
            v,
            status=err.status,
            errors={"channels": (_channel_field(err.message, driver), err.message)},
            forms={"channels": form},
        )
    created = {
        "id": row["id"],
        "name": row["name"],
        "token": token,
        "webhook_url": channel_settings.webhook_url(driver, row["id"], public_base(request)),
    }
    return await settings_page_of(request, v, created_channel=created)


async def _channel_page(
    request: Req, v: Viewer, channel_id: int, *, status: int = 200, **context: Any
) -> Template:
    row = await space_channels.get_channel(Scope(request.app.state.db.reader(), v.ws), channel_id)
    stored = json.loads(row["settings"] or "{}")
    secrets = channel_settings.secret_fields(row["driver"])
    shown = {k: val for k, val in stored.items() if k not in secrets}
    # Stored settings under the form's names (the providers' carry a prefix).
    for name, key in _DRIVER_FORMS.get(row["driver"], {}).items():
        if key in shown and name != key:
            shown[name] = shown[key]
    state = await provider_state(request, channel_id)
    return page(
        request,
        "channel.html",
        status=status,
        v=v,
        channel=row,
        current=shown,
        has_secret=any(stored.get(k) for k in secrets),
        secrets_set={k for k in secrets if stored.get(k)},
        webhook_url=channel_settings.webhook_url(row["driver"], channel_id, public_base(request)),
        state=state,
        **context,
    )


async def provider_state(request: Req, channel_id: int) -> dict[str, Any]:
    """What the channel's driver learnt (its last error, Telegram's mode, when templates
    were read), for the channel's page."""
    row = await provider_channels.one(request.app.state.db.reader(), channel_id)
    state: dict[str, Any] = json.loads(row["state"] or "{}") if row is not None else {}
    return state


@get("/{wid:int}/settings/channels/{cid:int}")
async def channel_page(request: Req, wid: PathId, cid: PathId) -> Response[Any]:
    v = await viewer(request, wid)
    managers_only(v)
    return await _channel_page(request, v, cid)


@post("/{wid:int}/settings/channels/{cid:int}")
async def channel_update(request: Req, wid: PathId, cid: PathId) -> Response[Any]:
    v, form = await posted(request, wid, managers=True)
    networks = request.app.state.settings.networks
    reader = Scope(request.app.state.db.reader(), v.ws)
    row = await space_channels.get_channel(reader, cid)
    try:
        settings = _driver_settings(row["driver"], form)
        await space_channels.check_channel_settings(
            reader, settings=settings, networks=networks, channel_id=cid
        )
        await write(
            request,
            wid,
            lambda sc: space_channels.update_channel(
                sc,
                cid,
                name=form.get("name", ""),
                settings=settings,
                sealer=request.app.state.sealer,
                networks=networks,
            ),
        )
    except (BadRequest, Conflict) as err:
        return await _channel_page(
            request,
            v,
            cid,
            status=err.status,
            error=err.message,
            error_field=_channel_field(err.message, row["driver"]),
            form=form,
        )
    return see_other(f"/app/{wid}/settings#channels")


@post("/{wid:int}/settings/channels/{cid:int}/templates")
async def channel_templates_sync(request: Req, wid: PathId, cid: PathId) -> Response[Any]:
    """Read a WhatsApp Cloud channel's templates from the Graph API now."""
    v, _ = await posted(request, wid, managers=True)
    state = request.app.state
    row = await space_channels.get_channel(Scope(state.db.reader(), v.ws), cid)
    channel = await provider_channels.one(state.db.reader(), cid)
    if row["driver"] != "whatsapp_cloud" or channel is None:
        raise NotFound(f"channel {cid} has no templates to read")
    try:
        added, changed, removed = await upkeep.read_templates_now(
            state.db,
            channel,
            sealer=state.sealer,
            networks=state.settings.networks,
            timeout_seconds=state.settings.webhook_timeout_seconds,
        )
    except whatsapp.TemplateSyncError as exc:
        return await _channel_page(request, v, cid, status=502, error=f"templates: {exc}")
    done = f"Templates read: {added} new, {changed} changed, {removed} removed."
    return await _channel_page(request, v, cid, notice=done)


@post("/{wid:int}/settings/channels/{cid:int}/delete")
async def channel_delete(request: Req, wid: PathId, cid: PathId) -> Response[Any]:
    await posted(request, wid, managers=True)
    await write(request, wid, lambda sc: space_channels.delete_channel(sc, cid))
    return see_other(f"/app/{wid}/settings#channels")


# -- the catalogue: tags, custom fields, lifecycle stages, closing notes --------------------


def _convert(raw: dict[str, Any], kind: type[Any]) -> Any:
    """``raw`` as the API's model; 400 naming the field, as the API does."""
    try:
        return msgspec.convert(raw, kind)
    except msgspec.ValidationError as exc:
        text = str(exc)
        where = text.rsplit("$.", 1)[-1].split("`", 1)[0].split("[", 1)[0] if "$." in text else ""
        raise BadRequest(f"{where}: {text.split(' - at ', 1)[0]}" if where else text) from None


@post("/{wid:int}/settings/tags")
async def tag_create(request: Req, wid: PathId) -> Response[Any]:
    async def work(sc: Scope[Transaction], form: dict[str, str]) -> None:
        raw = {
            "name": form.get("name", ""),
            "description": form.get("description") or None,
            "colorCode": form.get("colorCode") or None,
            "emoji": form.get("emoji") or None,
        }
        await tags.create_tag(sc, _convert(raw, TagCreate))

    return await _section(request, wid, "tags", ("name", "description", "colorCode", "emoji"), work)


@post("/{wid:int}/settings/tags/delete")
async def tag_delete(request: Req, wid: PathId) -> Response[Any]:
    v, form = await posted(request, wid, managers=True)
    await write(request, wid, lambda sc: tags.delete_tag(sc, form.get("name", "")))
    return see_other(f"/app/{v.ws}/settings#tags")


@post("/{wid:int}/settings/fields")
async def field_create(request: Req, wid: PathId) -> Response[Any]:
    async def work(sc: Scope[Transaction], form: dict[str, str]) -> None:
        values = [x.strip() for x in re.split(r"[\n,]", form.get("allowedValues", ""))]
        raw: dict[str, Any] = {
            "name": form.get("name", ""),
            "dataType": form.get("dataType", ""),
            "slug": form.get("slug") or None,
            "description": form.get("description") or None,
            "allowedValues": [x for x in values if x] or None,
        }
        await custom_fields.create_field(sc, _convert(raw, CustomFieldCreate))

    return await _section(
        request,
        wid,
        "fields",
        ("name", "dataType", "slug", "description", "allowedValues"),
        work,
    )


@post("/{wid:int}/settings/fields/{fid:int}/delete")
async def field_delete(request: Req, wid: PathId, fid: PathId) -> Response[Any]:
    await posted(request, wid, managers=True)
    await write(request, wid, lambda sc: custom_fields.delete_field(sc, fid))
    return see_other(f"/app/{wid}/settings#fields")


@post("/{wid:int}/settings/stages")
async def stage_add(request: Req, wid: PathId) -> Response[Any]:
    async def work(sc: Scope[Transaction], form: dict[str, str]) -> None:
        await catalogue.add_lifecycle_stage(sc, form.get("name", ""))

    return await _section(request, wid, "stages", ("name",), work)


@post("/{wid:int}/settings/stages/delete")
async def stage_delete(request: Req, wid: PathId) -> Response[Any]:
    _, form = await posted(request, wid, managers=True)
    await write(request, wid, lambda sc: catalogue.remove_lifecycle_stage(sc, form.get("name", "")))
    return see_other(f"/app/{wid}/settings#stages")


@post("/{wid:int}/settings/notes")
async def note_add(request: Req, wid: PathId) -> Response[Any]:
    async def work(sc: Scope[Transaction], form: dict[str, str]) -> None:
        await catalogue.add_closing_note(
            sc, category=form.get("category", ""), description=form.get("description", "")
        )

    return await _section(request, wid, "notes", ("category", "description"), work)


@post("/{wid:int}/settings/notes/delete")
async def note_delete(request: Req, wid: PathId) -> Response[Any]:
    v, form = await posted(request, wid, managers=True)
    await write(
        request, wid, lambda sc: catalogue.remove_closing_note(sc, form.get("category", ""))
    )
    return see_other(f"/app/{v.ws}/settings#notes")


# -- canned replies --------------------------------------------------------------------------


@post("/{wid:int}/settings/canned")
async def canned_add(request: Req, wid: PathId) -> Response[Any]:
    v, form = await posted(request, wid, managers=True)

    async def work(sc: Scope[Transaction]) -> int:
        return await canned_replies.add_canned_reply(
            sc, short_code=form.get("shortCode", ""), text=form.get("text", "")
        )

    try:
        await write(request, wid, work)
    except (BadRequest, Conflict) as err:
        return await settings_page_of(
            request, v, status=err.status, canned_error=err.message, canned_form=form
        )
    return see_other(f"/app/{wid}/settings#canned")


@post("/{wid:int}/settings/canned/{reply:int}/delete")
async def canned_delete(request: Req, wid: PathId, reply: PathId) -> Response[Any]:
    await posted(request, wid, managers=True)
    await write(request, wid, lambda sc: canned_replies.delete_canned_reply(sc, reply))
    return see_other(f"/app/{wid}/settings#canned")


ROUTES = [
    settings_page,
    invite,
    user_change,
    channel_create,
    channel_page,
    channel_update,
    channel_delete,
    channel_templates_sync,
    tag_create,
    tag_delete,
    field_create,
    field_delete,
    stage_add,
    stage_delete,
    note_add,
    note_delete,
    canned_add,
    canned_delete,
]
