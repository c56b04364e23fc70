"""The ``whatsapp_cloud`` driver: Meta's WhatsApp Cloud API (the Graph API).

Outgoing: ``POST {graphBaseUrl}/{graphVersion}/{phoneNumberId}/messages`` with the access
token. respond.io's message types become Meta's: text, media by link, reply buttons (a list
beyond three choices) for quick replies, templates (respond.io's ``languageCode`` and
lowercase components become Meta's ``language`` and per-button components), and a custom
payload is sent as the Graph message object it holds. Meta's ``wamid`` is the message's
``channelMessageId``. Errors: 131047 (outside the 24-hour window) and 131026 (undeliverable)
fail the message with the reason; throughput and transient errors are retried with backoff;
credential errors fail it and are kept on the channel for its settings page.

Incoming: Meta's ``GET`` verification handshake, and ``POST``s signed with
``X-Hub-Signature-256`` (HMAC-SHA256 of the raw body with the app secret), holding messages
and status reports (``parse``). A contact is addressed by its phone number (``wa_id``), or by
its business-scoped user id when Meta gives no number.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import re
from typing import Any

import httpx

from openrespond import common
from openrespond.channels import settings as channel_settings
from openrespond.channels.drivers import Job, Outcome
from openrespond.channels.providers import (
    MAX_REASON,
    Incoming,
    MediaFailed,
    MediaRef,
    Pools,
    ProviderDriver,
    StatusReport,
    download,
)
from openrespond.messages.schemas import (
    Attachment,
    AttachmentMessage,
    ContactProfile,
    Message,
    QuickReplyMessage,
    TextMessage,
)
from openrespond.net import ForbiddenAddress
from openrespond.sealing import Sealer, SealError

__all__ = [
    "TemplateSyncError",
    "WhatsappCloudDriver",
    "check_outgoing",
    "fetch_media",
    "fetch_templates",
    "is_user_id",
    "parse",
    "template_to_meta",
    "verify_signature",
]

log = logging.getLogger("openrespond.whatsapp")

# Meta's codes (https://developers.facebook.com/docs/whatsapp/cloud-api/support/error-codes,
# as pywa names them in pywa/errors.py).
_RETRY = {4, 80007, 130429, 131000, 131016, 131056, 133004, 135000, 2}
_CREDENTIALS = {0, 10, 190, *range(200, 300)}
_WINDOW = 131047
_UNDELIVERABLE = 131026
# A business-scoped user id, e.g. US.13491208655302741918 (no phone number given).
_USER_ID = re.compile(r"^[A-Z]{2}\.[0-9A-Za-z]{4,128}$")
_MEDIA = {"image": "image", "video": "video", "audio": "audio", "file": "document"}
MAX_BUTTONS = 3
MAX_ROWS = 10
BUTTON_TITLE = 20
ROW_TITLE = 24


def is_user_id(address: str) -> bool:
    """Whether ``address`` is a business-scoped user id rather than a phone number."""
    return bool(_USER_ID.match(address))


def check_outgoing(message: Message) -> str | None:
    """Why WhatsApp cannot carry ``message`` as given (a field and a rule), else None."""
    if isinstance(message, QuickReplyMessage):
        n = len(message.replies)
        if n > MAX_ROWS:
            return f"message.replies: WhatsApp offers at most {MAX_ROWS} choices, got {n}"
        limit = BUTTON_TITLE if n <= MAX_BUTTONS else ROW_TITLE
        for i, reply in enumerate(message.replies):
            if len(reply) > limit:
                return (
                    f"message.replies[{i}]: WhatsApp shows at most {limit} characters on a"
                    f" {'button' if n <= MAX_BUTTONS else 'list row'}, got {len(reply)}"
                )
    return None


def _recipient(address: str) -> dict[str, str]:
    if is_user_id(address):
        return {"recipient": address}
    return {"to": address.removeprefix("+")}


def _component(raw: dict[str, Any]) -> dict[str, Any]:
    kept = {k: v for k, v in raw.items() if k in ("type", "sub_type", "index", "parameters")}
    kept["type"] = str(kept.get("type", "")).lower()
    kept.setdefault("parameters", [])
    return kept


def template_to_meta(template: dict[str, Any]) -> dict[str, Any]:
    """respond.io's template (``languageCode``, lowercase components, a ``buttons``
    component) as Meta's send body: ``language.code``, and one ``button`` component per
    button that carries parameters."""
    components: list[dict[str, Any]] = []
    for raw in template.get("components") or []:
        kind = str(raw.get("type", "")).lower()
        if kind == "buttons":
            for index, button in enumerate(raw.get("buttons") or []):
                sub_type = str(button.get("type", "")).lower()
                params = button.get("parameters")
                if sub_type == "quick_reply":
                    payload = button.get("payload") or button.get("text")
                    if not params and payload:
                        params = [{"type": "payload", "payload": str(payload)}]
                if not params:
                    continue  # a static button needs nothing at send time
                components.append(
                    {
                        "type": "button",
                        "sub_type": sub_type,
                        "index": str(index),
                        "parameters": params,
                    }
                )
        elif kind == "footer":
            continue  # fixed in the template
        elif raw.get("parameters") or kind == "button":
            components.append(_component(raw))
    body: dict[str, Any] = {
        "name": template["name"],
        "language": {"code": template["languageCode"], "policy": "deterministic"},
    }
    if components:
        body["components"] = components
    return body


def _quick_reply(content: dict[str, Any]) -> dict[str, Any]:
    replies: list[str] = content["replies"]
    if len(replies) <= MAX_BUTTONS:
        action: dict[str, Any] = {
            "buttons": [
                {"type": "reply", "reply": {"id": reply[:256], "title": reply}} for reply in replies
            ]
        }
        return {"type": "button", "body": {"text": content["title"]}, "action": action}
    return {
        "type": "list",
        "body": {"text": content["title"]},
        "action": {
            "button": "Choose",
            "sections": [
                {"title": "Choices", "rows": [{"id": r[:200], "title": r} for r in replies]}
            ],
        },
    }


def outgoing_body(job: Job) -> dict[str, Any]:
    """The Graph API message object for ``job``."""
    content: dict[str, Any] = json.loads(job.content)
    body: dict[str, Any] = {
        "messaging_product": "whatsapp",
        "recipient_type": "individual",
        **_recipient(job.address or ""),
        # Comes back on every status report of the message.
        "biz_opaque_callback_data": f"openrespond:{job.message_id}",
    }
    kind = content["type"]
    if kind == "text":
        body.update(type="text", text={"body": content["text"], "preview_url": False})
    elif kind == "attachment":
        attachment = content["attachment"]
        media_type = _MEDIA[attachment["type"]]
        media: dict[str, Any] = {"link": attachment["url"]}
        if media_type == "document" and attachment.get("fileName"):
            media["filename"] = attachment["fileName"]
        body.update(type=media_type, **{media_type: media})
    elif kind == "quick_reply":
        body.update(type="interactive", interactive=_quick_reply(content))
    elif kind == "whatsapp_template":
        body.update(type="template", template=template_to_meta(content["template"]))
    elif kind == "custom_payload":
        payload = dict(content["payload"])
        for fixed in ("messaging_product", "recipient_type", "to", "recipient"):
            payload.pop(fixed, None)
        body.update(payload)
    else:
        raise ValueError(f"WhatsApp cannot carry {kind} messages")
    return body


def _error(resp: httpx.Response) -> tuple[int | None, str]:
    """Meta's error code and a reason naming it, from a Graph API error answer."""
    try:
        data = resp.json()
    except ValueError:
        data = None
    error = data.get("error") if isinstance(data, dict) else None
    if not isinstance(error, dict):
        text = resp.text.strip()[:200]
        return None, f"HTTP {resp.status_code}" + (f": {text}" if text else "")
    code = error.get("code")
    code = code if isinstance(code, int) and not isinstance(code, bool) else None
    message = str(error.get("message") or error.get("error_user_msg") or "error")
    details = (error.get("error_data") or {}).get("details")
    if isinstance(details, str) and details and details not in message:
        message = f"{message}: {details}"
    return code, f"{message} (WhatsApp error {code})"[:MAX_REASON]


def outcome_of_error(code: int | None, reason: str, status: int) -> Outcome:
    """What an error answer of Meta means for the message."""
    if code == _WINDOW:
        return Outcome(
            ("failed",),
            error="outside the 24-hour customer service window; send an approved template"
            f" ({reason})"[:MAX_REASON],
        )
    if code == _UNDELIVERABLE:
        return Outcome(("failed",), error=f"undeliverable: {reason}"[:MAX_REASON])
    if code in _RETRY or status >= 500 or status in (408, 429):
        return Outcome(retry=True, error=reason)
    if code in _CREDENTIALS or status in (401, 403):
        return Outcome(("failed",), error=f"channel credentials refused: {reason}"[:MAX_REASON])
    return Outcome(("failed",), error=reason)


class WhatsappCloudDriver(ProviderDriver):
    """Sends through the Graph API."""

    async def send(self, job: Job) -> Outcome:
        if job.address is None:
            return Outcome(("failed",), error="the contact has no address on this channel")
        try:
            token = channel_settings.secret(
                job.settings, "whatsapp_cloud", self.sealer, "accessToken"
            )
        except SealError as exc:
            return Outcome(("failed",), error=f"channel access token unusable: {exc}")
        if token is None:
            return Outcome(("failed",), error="the channel has no access token")
        try:
            body = outgoing_body(job)
        except (ValueError, KeyError) as exc:
            return Outcome(("failed",), error=str(exc)[:MAX_REASON])
        url = (
            f"{job.settings['graphBaseUrl']}/{job.settings.get('graphVersion', 'v25.0')}"
            f"/{job.settings['phoneNumberId']}/messages"
        )
        client, gate = self.pools.get(url)
        try:
            async with gate:
                resp = await client.post(
                    url, json=body, headers={"Authorization": f"Bearer {token}"}
                )
        except ForbiddenAddress as exc:
            return Outcome(("failed",), error=f"Graph API address refused: {exc}")
        except httpx.TimeoutException:
            return Outcome(retry=True, error="the Graph API gave no answer in time")
        except httpx.HTTPError as exc:
            return Outcome(
                retry=True, error=f"Graph API unreachable: {type(exc).__name__}: {exc}"[:MAX_REASON]
            )
        if resp.status_code == 200:
            try:
                wamid = resp.json()["messages"][0]["id"]
            except (ValueError, KeyError, IndexError, TypeError):
                return Outcome(retry=True, error="the Graph API answered without a message id")
            self.note(job.channel_id, None)
            return Outcome(("sent",), channel_message_id=str(wamid)[:255])
        code, reason = _error(resp)
        outcome = outcome_of_error(code, reason, resp.status_code)
        if outcome.error and outcome.error.startswith("channel credentials refused"):
            self.note(job.channel_id, outcome.error)
        if outcome.retry and resp.headers.get("retry-after", "").isdigit():
            outcome = Outcome(
                retry=True, error=reason, retry_in_ms=int(resp.headers["retry-after"]) * 1000
            )
        return outcome


def verify_signature(body: bytes, header: str | None, app_secret: str) -> bool:
    """Whether ``X-Hub-Signature-256`` is Meta's HMAC-SHA256 of the raw body."""
    if not header or not header.startswith("sha256="):
        return False
    expected = hmac.new(app_secret.encode(), body, hashlib.sha256).hexdigest()
    given = header.removeprefix("sha256=").strip().lower()
    return hmac.compare_digest(expected.encode(), given.encode("utf-8", "replace"))


# --- incoming ---------------------------------------------------------------------------

_STATUS = {"sent": "sent", "delivered": "delivered", "read": "read", "failed": "failed"}


def _profile(contact: dict[str, Any] | None) -> ContactProfile | None:
    if not contact:
        return None
    name = str((contact.get("profile") or {}).get("name") or "").strip()
    if not name:
        return None
    first, _, last = name.partition(" ")
    return ContactProfile(first_name=first[:255], last_name=last[:255] or None)


def _errors_text(errors: Any) -> str | None:
    if not isinstance(errors, list) or not errors:
        return None
    parts = []
    for e in errors:
        if isinstance(e, dict):
            details = (e.get("error_data") or {}).get("details")
            text = str(e.get("message") or e.get("title") or "error")
            if isinstance(details, str) and details and details not in text:
                text = f"{text}: {details}"
            parts.append(f"{text} (WhatsApp error {e.get('code')})")
    return "; ".join(parts)[:MAX_REASON] or None


def _text(body: str) -> TextMessage:
    """Text as stored (never blank: a message's text must have a letter to be read back)."""
    body = body[:100_000]
    return TextMessage(text=body if body.strip() else "(empty message)")


def _content(m: dict[str, Any]) -> tuple[Message | None, MediaRef | None, str | None]:
    """(message, media to fetch, caption) of one incoming Graph message."""
    kind = m.get("type")
    if kind == "text":
        return _text(str((m.get("text") or {}).get("body") or "")), None, None
    if kind in ("image", "video", "audio", "document", "sticker", "voice"):
        media = m.get(kind) or {}
        attachment_type = {"document": "file", "sticker": "image", "voice": "audio"}.get(kind, kind)
        ref = MediaRef(
            kind=attachment_type,
            ref=str(media.get("id") or ""),
            content_type=media.get("mime_type"),
            file_name=media.get("filename"),
        )
        caption = media.get("caption")
        return None, ref, caption if isinstance(caption, str) and caption.strip() else None
    if kind == "interactive":
        inter = m.get("interactive") or {}
        reply = inter.get("button_reply") or inter.get("list_reply")
        if isinstance(reply, dict):
            return _text(str(reply.get("title") or reply.get("id") or "")), None, None
        flow = inter.get("nfm_reply") or {}  # a WhatsApp Flow's answer
        answer = flow.get("response_json") or flow.get("body") or json.dumps(inter)
        return _text(f"{flow.get('name') or 'form'}: {answer}"), None, None
    if kind == "button":
        button = m.get("button") or {}
        return _text(str(button.get("text") or button.get("payload") or "")), None, None
    if kind == "location":
        loc = m.get("location") or {}
        lat, lon = loc.get("latitude"), loc.get("longitude")
        words = " ".join(str(loc[k]) for k in ("name", "address") if loc.get(k))
        where = f"https://maps.google.com/?q={lat},{lon}"
        return _text(f"Location: {words + ' ' if words else ''}{where}"), None, None
    if kind == "contacts":
        names = []
        for c in m.get("contacts") or []:
            name = (c.get("name") or {}).get("formatted_name") or ""
            phones = ", ".join(str(p.get("phone")) for p in c.get("phones") or [] if p.get("phone"))
            names.append(f"{name} {phones}".strip())
        return _text("Contact: " + "; ".join(names)), None, None
    if kind == "reaction":
        return None, None, None  # a reaction is not a message
    if kind == "system":
        system = m.get("system") or {}
        return _text(f"[{system.get('type', 'system')}] {system.get('body', '')}"), None, None
    reason = _errors_text(m.get("errors")) or f"{kind} messages are not shown here"
    return _text(f"[unsupported message: {reason}]"), None, None


def parse(body: bytes, phone_number_id: str) -> list[Incoming | StatusReport]:
    """The messages and status reports for ``phone_number_id`` in a webhook POST (the rest
    belongs to other numbers)."""
    data = json.loads(body)
    found: list[Incoming | StatusReport] = []
    for entry in data.get("entry") or []:
        for change in entry.get("changes") or []:
            value = change.get("value") or {}
            if change.get("field") != "messages":
                continue
            number = str((value.get("metadata") or {}).get("phone_number_id"))
            if number != phone_number_id:
                # Meta's callback URL is the app's: another number of the same app posts here
                # too. Its channel has its own URL; nothing of it is stored under this one.
                log.warning(
                    "a webhook for phone number id %s came to channel of %s; ignored (give"
                    " each number's channel its own app, or its own callback URL)",
                    number[:32],
                    phone_number_id,
                )
                continue
            contacts = value.get("contacts") or []
            by_id: dict[str, dict[str, Any]] = {}
            for c in contacts:
                for key in ("wa_id", "user_id"):
                    if c.get(key):
                        by_id[str(c[key])] = c
            for m in value.get("messages") or []:
                found.extend(_incoming(m, by_id))
            for s in value.get("statuses") or []:
                report = _status(s)
                if report is not None:
                    found.append(report)
    return found


def _incoming(m: dict[str, Any], contacts: dict[str, dict[str, Any]]) -> list[Incoming]:
    wamid = str(m.get("id") or "")
    phone = m.get("from")
    user_id = m.get("from_user_id")
    contact = contacts.get(str(phone)) or contacts.get(str(user_id))
    if contact is not None:
        user_id = user_id or contact.get("user_id")
        phone = phone or contact.get("wa_id")
    if not wamid or not (phone or user_id):
        return []
    address = f"+{phone}" if phone else str(user_id)
    try:
        at_ms = int(m.get("timestamp") or 0) * 1000 or common.now_ms()
    except (TypeError, ValueError):
        at_ms = common.now_ms()
    message, media, caption = _content(m)
    if message is None and media is None:
        return []
    common_fields: dict[str, Any] = {
        "address": address,
        "at_ms": at_ms,
        "external_id": str(user_id) if user_id and phone else None,
        "profile": _profile(contact),
    }
    items = [Incoming(provider_id=wamid, message=message, media=media, **common_fields)]
    if caption:
        items.append(
            Incoming(provider_id=f"{wamid}:caption", message=_text(caption), **common_fields)
        )
    return items


def _status(s: dict[str, Any]) -> StatusReport | None:
    value = _STATUS.get(str(s.get("status")))
    wamid = s.get("id")
    if value is None or not wamid:
        return None  # "played" and the like add nothing to read
    try:
        at_ms = int(s.get("timestamp") or 0) * 1000 or common.now_ms()
    except (TypeError, ValueError):
        at_ms = common.now_ms()
    reason = _errors_text(s.get("errors")) if value == "failed" else None
    return StatusReport(str(wamid), value, at_ms, reason)  # type: ignore[arg-type]


async def fetch_media(
    pools: Pools, settings: dict[str, Any], ref: MediaRef, *, sealer: Sealer, limit: int
) -> tuple[bytes, str | None]:
    """A media id's bytes: its short-lived URL from the Graph API, then the file, both with
    the access token."""
    token = channel_settings.secret(settings, "whatsapp_cloud", sealer, "accessToken")
    headers = {"Authorization": f"Bearer {token}"}
    base = f"{settings['graphBaseUrl']}/{settings.get('graphVersion', 'v25.0')}"
    client, gate = pools.get(base)
    try:
        async with gate:
            resp = await client.get(f"{base}/{ref.ref}", headers=headers)
    except httpx.HTTPError as exc:
        raise MediaFailed(f"media lookup failed: {type(exc).__name__}", retry=True) from None
    if resp.status_code != 200:
        code, reason = _error(resp)
        retry = resp.status_code >= 500 or resp.status_code == 429 or code in _RETRY
        raise MediaFailed(f"media {ref.ref} could not be fetched: {reason}", retry=retry)
    try:
        info = resp.json()
        url = str(info["url"])
    except (ValueError, KeyError, TypeError):
        raise MediaFailed("the Graph API gave no media URL", retry=True) from None
    data, content_type = await download(pools, url, headers=headers, limit=limit)
    return data, info.get("mime_type") or content_type


def attachment(kind: str, url: str, file_name: str | None) -> AttachmentMessage:
    """An incoming file as respond.io shows one: a link (to openrespond's copy)."""
    return AttachmentMessage(
        attachment=Attachment(type=kind, url=url, file_name=file_name)  # type: ignore[arg-type]
    )


class TemplateSyncError(Exception):
    """The Graph API did not give the templates (the reason says why)."""


_TEMPLATE_FIELDS = "id,name,language,status,category,components,rejected_reason,quality_score"
MAX_TEMPLATE_PAGES = 50


async def fetch_templates(
    pools: Pools, settings: dict[str, Any], *, sealer: Sealer
) -> list[dict[str, Any]]:
    """Every template of the channel's WhatsApp Business Account, page after page (a
    ``next`` link is followed only to the Graph API base the channel names)."""
    waba = settings.get("businessAccountId")
    if not waba:
        raise TemplateSyncError("settings.businessAccountId is needed to read templates")
    try:
        token = channel_settings.secret(settings, "whatsapp_cloud", sealer, "accessToken")
    except SealError as exc:
        raise TemplateSyncError(f"access token unusable: {exc}") from None
    base = f"{settings['graphBaseUrl']}/{settings.get('graphVersion', 'v25.0')}"
    url: str | None = f"{base}/{waba}/message_templates?limit=100&fields={_TEMPLATE_FIELDS}"
    found: list[dict[str, Any]] = []
    client, gate = pools.get(base)
    for _ in range(MAX_TEMPLATE_PAGES):
        if url is None:
            return found
        if not url.startswith(settings["graphBaseUrl"] + "/"):
            raise TemplateSyncError("the Graph API's next page is elsewhere; not followed")
        try:
            async with gate:
                resp = await client.get(url, headers={"Authorization": f"Bearer {token}"})
        except httpx.HTTPError as exc:
            raise TemplateSyncError(f"Graph API unreachable: {type(exc).__name__}") from None
        if resp.status_code != 200:
            raise TemplateSyncError(_error(resp)[1])
        try:
            page = resp.json()
            found.extend(t for t in page.get("data") or [] if isinstance(t, dict))
            url = (page.get("paging") or {}).get("next")
        except (ValueError, AttributeError):
            raise TemplateSyncError("the Graph API answered something else than JSON") from None
    raise TemplateSyncError(f"more than {MAX_TEMPLATE_PAGES} pages of templates")
