"""The ``telegram`` driver: the Telegram Bot API.

Outgoing: ``POST {apiBaseUrl}/bot<token>/<method>`` — ``sendMessage`` for text,
``sendPhoto``/``sendVideo``/``sendAudio``/``sendDocument`` for attachments (Telegram fetches
the link), quick replies as a one-time reply keyboard, and a custom payload as a Bot API call
``{"method": ..., params}``. The chat id and Telegram's message id, unique only within its
chat, are kept as ``<chat_id>:<message_id>``. ``sent`` is final: Telegram tells bots nothing
of delivery or reading. A 403 (the user never started the bot, or blocked it) fails the
message with Telegram's words; 429 waits ``retry_after``; an invalid token fails it and is
kept on the channel.

Incoming: updates posted to the channel's webhook with ``X-Telegram-Bot-Api-Secret-Token``
(registered by openrespond with ``setWebhook``), or fetched with ``getUpdates`` long polling on
machines without a public HTTPS address. A contact is a chat: no phone number unless the user
shares it.
"""

from __future__ import annotations

import hmac
import json
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
from openrespond.messages.schemas import ContactProfile, TextMessage
from openrespond.net import ForbiddenAddress
from openrespond.sealing import Sealer, SealError
from openrespond.validation import LANGUAGE_CODES

__all__ = [
    "ALLOWED_UPDATES",
    "MAX_DOWNLOAD",
    "TelegramDriver",
    "api_call",
    "check_secret",
    "error_of",
    "fetch_media",
    "parse",
    "parse_update",
    "scrub",
    "token_of",
]

ALLOWED_UPDATES = ["message", "my_chat_member"]
_SEND_METHOD = re.compile(r"send[A-Z][A-Za-z]{1,40}")
MAX_DOWNLOAD = 20 * 1024 * 1024  # bots download files up to 20 MB
_SEND_MEDIA = {
    "image": ("sendPhoto", "photo"),
    "video": ("sendVideo", "video"),
    "audio": ("sendAudio", "audio"),
    "file": ("sendDocument", "document"),
}


def _base(settings: dict[str, Any]) -> str:
    return str(settings.get("apiBaseUrl") or "https://api.telegram.org").rstrip("/")


def token_of(settings: dict[str, Any], sealer: Sealer) -> str | None:
    return channel_settings.secret(settings, "telegram", sealer, "botToken")


def scrub(text: str, token: str | None) -> str:
    """Never let the bot token (it is in every URL) reach a reason or a log line."""
    return text.replace(token, "<bot token>") if token else text


async def api_call(
    pools: Pools, settings: dict[str, Any], token: str, method: str, params: dict[str, Any]
) -> httpx.Response:
    """One Bot API call (JSON body)."""
    url = f"{_base(settings)}/bot{token}/{method}"
    client, gate = pools.get(url)
    async with gate:
        return await client.post(url, json=params)


def outgoing_call(job: Job) -> tuple[str, dict[str, Any]]:
    """The Bot API method and parameters for ``job``."""
    content: dict[str, Any] = json.loads(job.content)
    address = job.address or ""
    chat: int | str = int(address) if address.lstrip("-").isdigit() else address
    kind = content["type"]
    if kind == "text":
        return "sendMessage", {"chat_id": chat, "text": content["text"]}
    if kind == "attachment":
        attachment = content["attachment"]
        method, field = _SEND_MEDIA[attachment["type"]]
        return method, {"chat_id": chat, field: attachment["url"]}
    if kind == "quick_reply":
        keyboard = [[{"text": reply}] for reply in content["replies"]]
        return "sendMessage", {
            "chat_id": chat,
            "text": content["title"],
            "reply_markup": {
                "keyboard": keyboard,
                "one_time_keyboard": True,
                "resize_keyboard": True,
            },
        }
    if kind == "custom_payload":
        payload = dict(content["payload"])
        method = str(payload.pop("method", "") or "")
        # Only a send method, by name: the method is part of the URL.
        if not _SEND_METHOD.fullmatch(method):
            raise ValueError("a Telegram custom payload names a send method: {method, ...}")
        return method, {**payload, "chat_id": chat}
    raise ValueError(f"Telegram cannot carry {kind} messages")


def error_of(resp: httpx.Response) -> tuple[str, int | None]:
    """Telegram's description and ``retry_after`` (seconds) from an error answer."""
    try:
        data = resp.json()
    except ValueError:
        data = None
    if not isinstance(data, dict):
        text = resp.text.strip()[:200]
        return f"HTTP {resp.status_code}" + (f": {text}" if text else ""), None
    description = str(data.get("description") or f"HTTP {resp.status_code}")[:MAX_REASON]
    params = data.get("parameters") or {}
    retry_after = params.get("retry_after") if isinstance(params, dict) else None
    return description, retry_after if isinstance(retry_after, int) else None


class TelegramDriver(ProviderDriver):
    """Sends through the Bot API."""

    async def send(self, job: Job) -> Outcome:
        if job.address is None:
            return Outcome(("failed",), error="the contact has no chat on this channel")
        try:
            token = token_of(job.settings, self.sealer)
        except SealError as exc:
            return Outcome(("failed",), error=f"bot token unusable: {exc}")
        if token is None:
            return Outcome(("failed",), error="the channel has no bot token")
        try:
            method, params = outgoing_call(job)
        except (ValueError, KeyError) as exc:
            return Outcome(("failed",), error=str(exc)[:MAX_REASON])
        try:
            resp = await api_call(self.pools, job.settings, token, method, params)
        except ForbiddenAddress as exc:
            return Outcome(("failed",), error=f"Bot API address refused: {exc}")
        except httpx.TimeoutException:
            return Outcome(retry=True, error="the Bot API gave no answer in time")
        except httpx.HTTPError as exc:
            reason = scrub(f"Bot API unreachable: {type(exc).__name__}: {exc}", token)
            return Outcome(retry=True, error=reason[:MAX_REASON])
        if resp.status_code == 200:
            try:
                result = resp.json()["result"]
                provider_id = f"{result['chat']['id']}:{result['message_id']}"
            except (ValueError, KeyError, TypeError):
                return Outcome(retry=True, error="the Bot API answered without a message")
            self.note(job.channel_id, None)
            return Outcome(("sent",), channel_message_id=provider_id)
        description, retry_after = error_of(resp)
        description = scrub(description, token)
        if resp.status_code == 429 or retry_after is not None:
            return Outcome(
                retry=True,
                error=description,
                retry_in_ms=(retry_after or 1) * 1000,
            )
        if resp.status_code >= 500:
            return Outcome(retry=True, error=description)
        if resp.status_code in (401, 404):
            reason = f"bot token refused: {description}"
            self.note(job.channel_id, reason)
            return Outcome(("failed",), error=reason)
        return Outcome(("failed",), error=description)


def check_secret(header: str | None, expected: str) -> bool:
    """Whether ``X-Telegram-Bot-Api-Secret-Token`` is the channel's webhook secret."""
    return header is not None and hmac.compare_digest(
        header.encode("utf-8", "replace"), expected.encode()
    )


def _profile(sender: dict[str, Any]) -> ContactProfile | None:
    first = str(sender.get("first_name") or sender.get("username") or "").strip()
    if not first:
        return None
    last = str(sender.get("last_name") or "").strip() or None
    # Telegram gives IETF tags (en, pt-br, ckb); contacts take ISO 639-1 codes only.
    tag = str(sender.get("language_code") or "").split("-")[0].lower()
    language = tag if tag in LANGUAGE_CODES else None
    return ContactProfile(first_name=first[:255], last_name=last and last[:255], language=language)


def parse_update(update: dict[str, Any]) -> list[Incoming | StatusReport]:
    """What one Update holds for openrespond: a message from a private chat (others, and
    edits, member changes and button presses, are not stored)."""
    message = update.get("message")
    if not isinstance(message, dict):
        return []
    chat = message.get("chat") or {}
    if chat.get("type") not in (None, "private") or chat.get("id") is None:
        return []
    sender = message.get("from") or {}
    provider_id = f"{chat['id']}:{message.get('message_id')}"
    try:
        at_ms = int(message.get("date") or 0) * 1000 or common.now_ms()
    except (TypeError, ValueError):
        at_ms = common.now_ms()
    base: dict[str, Any] = {
        "address": str(chat["id"]),
        "at_ms": at_ms,
        "profile": _profile(sender),
    }
    items: list[Incoming | StatusReport] = []
    media = _media(message)
    caption = message.get("caption")
    if media is not None:
        items.append(Incoming(provider_id=provider_id, media=media, **base))
        if isinstance(caption, str) and caption.strip():
            items.append(
                Incoming(provider_id=f"{provider_id}:caption", message=TextMessage(caption), **base)
            )
        return items
    text = message.get("text")
    if not (isinstance(text, str) and text.strip()):
        text = _describe(message)
    shared = message.get("contact")
    own_phone = None
    if isinstance(shared, dict) and shared.get("user_id") == sender.get("id"):
        number = str(shared.get("phone_number") or "").strip()
        own_phone = number if number.startswith("+") else f"+{number}" if number else None
    if text:
        items.append(
            Incoming(
                provider_id=provider_id,
                message=TextMessage(text[:100_000]),
                shared_phone=own_phone,
                **base,
            )
        )
    return items


def _media(message: dict[str, Any]) -> MediaRef | None:
    photos = message.get("photo")
    if isinstance(photos, list) and photos:
        largest = max(photos, key=lambda p: (p.get("file_size") or 0, p.get("width") or 0))
        return MediaRef(kind="image", ref=str(largest.get("file_id")), content_type="image/jpeg")
    for key, kind in (
        ("document", "file"),
        ("video", "video"),
        ("voice", "audio"),
        ("audio", "audio"),
        ("video_note", "video"),
        ("sticker", "image"),
        ("animation", "video"),
    ):
        found = message.get(key)
        if isinstance(found, dict) and found.get("file_id"):
            return MediaRef(
                kind=kind,
                ref=str(found["file_id"]),
                content_type=found.get("mime_type"),
                file_name=found.get("file_name"),
            )
    return None


def _describe(message: dict[str, Any]) -> str | None:
    """Readable text for what is not text: a location, a shared contact."""
    location = message.get("location")
    if isinstance(location, dict):
        lat, lon = location.get("latitude"), location.get("longitude")
        return f"Location: https://maps.google.com/?q={lat},{lon}"
    contact = message.get("contact")
    if isinstance(contact, dict):
        name = " ".join(str(contact[k]) for k in ("first_name", "last_name") if contact.get(k))
        return f"Contact: {name} {contact.get('phone_number', '')}".strip()
    return None


def parse(body: bytes) -> list[Incoming | StatusReport]:
    """A webhook POST: one Update."""
    update = json.loads(body)
    return parse_update(update) if isinstance(update, dict) else []


async def fetch_media(
    pools: Pools, settings: dict[str, Any], ref: MediaRef, *, sealer: Sealer, limit: int
) -> tuple[bytes, str | None]:
    """A file id's bytes: ``getFile`` for its path, then the download link."""
    token = token_of(settings, sealer)
    if token is None:
        raise MediaFailed("the channel has no bot token")
    try:
        resp = await api_call(pools, settings, token, "getFile", {"file_id": ref.ref})
    except httpx.HTTPError as exc:
        raise MediaFailed(f"getFile failed: {type(exc).__name__}", retry=True) from None
    if resp.status_code != 200:
        description, _ = error_of(resp)
        retry = resp.status_code >= 500 or resp.status_code == 429
        raise MediaFailed(f"getFile: {scrub(description, token)}", retry=retry)
    try:
        path = str(resp.json()["result"]["file_path"])
    except (ValueError, KeyError, TypeError):
        raise MediaFailed("getFile gave no file path (a file over 20 MB?)") from None
    try:
        data, content_type = await download(
            pools,
            f"{_base(settings)}/file/bot{token}/{path}",
            headers={},
            limit=min(limit, MAX_DOWNLOAD),
        )
    except MediaFailed as exc:
        raise MediaFailed(scrub(str(exc), token), retry=exc.retry) from None
    return data, ref.content_type or content_type
