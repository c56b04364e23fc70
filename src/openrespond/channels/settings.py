"""Delivery settings of each driver: checked when a channel is created or changed, secrets
sealed before they are stored, and never shown again.

- ``sandbox``: no settings.
- ``custom_channel``: ``{apiBaseUrl, token?, idType?}`` — respond.io's Custom Channel: the
  bridge at ``apiBaseUrl`` receives ``POST /message`` with ``Authorization: Bearer <token>``
  and posts incoming events to ``/custom/channel/webhook/`` with the same token. Without
  ``token`` one is generated and shown once.
- ``smtp``: ``{host, port?, security?, username?, password?, from, fromName?, replyTo?,
  timeoutSeconds?, attachments?, maxAttachmentBytes?}``.
- ``whatsapp_cloud``: ``{phoneNumberId, accessToken, appSecret, verifyToken,
  businessAccountId?, graphBaseUrl?, graphVersion?}`` — Meta's WhatsApp Cloud API.
- ``telegram``: ``{botToken, webhookSecret?, mode?, apiBaseUrl?}`` — a Telegram bot; the
  webhook secret is generated unless given.
- ``twilio``: ``{accountSid, authToken, apiKeySid?, apiKeySecret?, from? | messagingServiceSid?,
  webhookSharedKey?, apiBaseUrl?}`` — Twilio Messaging, for SMS and WhatsApp.
- ``sandbox``: ``{customerServiceWindow?}`` — refuse free-form messages outside the 24-hour
  window as WhatsApp does (off unless set).
"""

from __future__ import annotations

import secrets
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit

import msgspec
from msgspec import Meta

from openrespond.errors import BadRequest
from openrespond.net import (
    Networks,
    check_destination,
    check_host,
    check_url,
    check_url_destination,
)
from openrespond.sealing import Sealer
from openrespond.validation import normalize_email, normalize_phone

__all__ = [
    "DRIVER_SOURCES",
    "PURPOSE",
    "CustomChannelSettings",
    "SmtpSettings",
    "TelegramSettings",
    "TwilioSettings",
    "WhatsappCloudSettings",
    "check_reachable",
    "prepare",
    "secret",
    "secret_fields",
    "webhook_url",
    "with_token",
]

PURPOSE = "channel secret"

# Which sources each driver can stand behind (None: any).
DRIVER_SOURCES: dict[str, tuple[str, ...] | None] = {
    "sandbox": None,
    "custom_channel": ("custom_channel",),
    "smtp": ("other_email", "gmail"),
    "whatsapp_cloud": ("whatsapp_cloud", "whatsapp"),
    "telegram": ("telegram",),
    "twilio": ("twilio", "twilio_whatsapp"),
}


class CustomChannelSettings(msgspec.Struct, rename="camel"):
    api_base_url: Annotated[str, Meta(max_length=2048)]
    token: Annotated[str, Meta(min_length=16, max_length=512)] | None = None
    id_type: Literal["phone", "custom"] = "phone"


class SmtpSettings(msgspec.Struct, rename="camel"):
    host: Annotated[str, Meta(min_length=1, max_length=255)]
    from_: Annotated[str, Meta(min_length=3, max_length=254)] = msgspec.field(name="from")
    port: Annotated[int, Meta(ge=1, le=65535)] = 587
    security: Literal["starttls", "tls", "none"] = "starttls"
    username: Annotated[str, Meta(max_length=255)] | None = None
    password: Annotated[str, Meta(max_length=1024)] | None = None
    from_name: Annotated[str, Meta(max_length=255)] | None = None
    reply_to: Annotated[str, Meta(max_length=254)] | None = None
    timeout_seconds: Annotated[int, Meta(ge=1, le=300)] = 30
    attachments: Literal["link", "attach"] = "link"
    max_attachment_bytes: Annotated[int, Meta(ge=1, le=50 * 1024 * 1024)] = 10 * 1024 * 1024


class WhatsappCloudSettings(msgspec.Struct, rename="camel"):
    phone_number_id: Annotated[str, Meta(min_length=1, max_length=64, pattern=r"^[0-9]+$")]
    access_token: Annotated[str, Meta(min_length=8, max_length=4096)] | None = None
    app_secret: Annotated[str, Meta(min_length=8, max_length=512)] | None = None
    verify_token: Annotated[str, Meta(min_length=8, max_length=512)] | None = None
    business_account_id: (
        Annotated[str, Meta(min_length=1, max_length=64, pattern=r"^[0-9]+$")] | None
    ) = None
    graph_base_url: Annotated[str, Meta(max_length=2048)] = "https://graph.facebook.com"
    graph_version: Annotated[str, Meta(pattern=r"^v[0-9]{1,3}\.[0-9]{1,2}$")] = "v25.0"


class TelegramSettings(msgspec.Struct, rename="camel"):
    bot_token: (
        Annotated[
            str, Meta(min_length=20, max_length=256, pattern=r"^[0-9]{3,20}:[A-Za-z0-9_-]{20,200}$")
        ]
        | None
    ) = None
    webhook_secret: (
        Annotated[str, Meta(min_length=16, max_length=256, pattern=r"^[A-Za-z0-9_-]+$")] | None
    ) = None
    # auto: a webhook when the server has a public HTTPS address, else long polling.
    mode: Literal["auto", "webhook", "polling"] = "auto"
    api_base_url: Annotated[str, Meta(max_length=2048)] = "https://api.telegram.org"


class TwilioSettings(msgspec.Struct, rename="camel"):
    account_sid: Annotated[str, Meta(pattern=r"^AC[0-9a-fA-F]{32}$")]
    auth_token: Annotated[str, Meta(min_length=16, max_length=256)] | None = None
    api_key_sid: Annotated[str, Meta(pattern=r"^SK[0-9a-fA-F]{32}$")] | None = None
    api_key_secret: Annotated[str, Meta(min_length=16, max_length=256)] | None = None
    from_: Annotated[str, Meta(max_length=64)] | None = msgspec.field(default=None, name="from")
    messaging_service_sid: Annotated[str, Meta(pattern=r"^MG[0-9a-fA-F]{32}$")] | None = None
    webhook_shared_key: Annotated[str, Meta(min_length=16, max_length=256)] | None = None
    api_base_url: Annotated[str, Meta(max_length=2048)] = "https://api.twilio.com"


class SandboxSettings(msgspec.Struct, rename="camel"):
    customer_service_window: bool = False


_SECRET_FIELDS: dict[str, tuple[str, ...]] = {
    "custom_channel": ("token",),
    "smtp": ("password",),
    "whatsapp_cloud": ("accessToken", "appSecret", "verifyToken"),
    "telegram": ("botToken", "webhookSecret"),
    "twilio": ("authToken", "apiKeySecret", "webhookSharedKey"),
}
# Secrets a channel cannot work without (given now, or kept from before).
_REQUIRED_SECRETS: dict[str, tuple[str, ...]] = {
    "custom_channel": ("token",),
    "whatsapp_cloud": ("accessToken", "appSecret", "verifyToken"),
    "telegram": ("botToken",),
    "twilio": ("authToken",),
}
_PROVIDERS = ("whatsapp_cloud", "telegram", "twilio")


def _origin(url: Any) -> str:
    parts = urlsplit(str(url or ""))
    return f"{parts.scheme}://{parts.netloc}".lower()


# Where each driver's provider is, checked under the network rules like a webhook's URL.
_URL_FIELDS = {
    "custom_channel": "apiBaseUrl",
    "whatsapp_cloud": "graphBaseUrl",
    "telegram": "apiBaseUrl",
    "twilio": "apiBaseUrl",
}


def _convert(raw: dict[str, Any], kind: type[Any], driver: str) -> Any:
    try:
        return msgspec.convert(raw, kind)
    except msgspec.ValidationError as exc:
        raise BadRequest(f"settings ({driver}): {exc}") from None


def secret_fields(driver: str) -> tuple[str, ...]:
    """The settings of ``driver`` that are secrets (sealed, never shown)."""
    return _SECRET_FIELDS.get(driver, ())


def webhook_url(driver: str, channel_id: int, base: str) -> str | None:
    """Where the channel's other end sends what it receives (``base``: the server's public
    address): a bridge's events, a provider's webhooks."""
    if driver == "custom_channel":
        return f"{base}/custom/channel/webhook/"
    if driver == "whatsapp_cloud":
        return f"{base}/hooks/whatsapp/{channel_id}"
    if driver == "telegram":
        return f"{base}/hooks/telegram/{channel_id}"
    if driver == "twilio":
        return f"{base}/hooks/twilio/{channel_id}"
    return None


def with_token(driver: str, raw: dict[str, Any] | None) -> tuple[dict[str, Any], str | None]:
    """For a new custom channel without a token: the settings with a generated one, and that
    token (to be shown once). Other settings come back as they are."""
    raw = dict(raw or {})
    if driver != "custom_channel" or raw.get("token") is not None:
        return raw, None
    raw["token"] = secrets.token_urlsafe(32)
    return raw, raw["token"]


def prepare(
    driver: str,
    source: str,
    raw: dict[str, Any] | None,
    *,
    sealer: Sealer | None,
    current: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """The settings to store for ``driver``, checked, with secrets sealed. On a change, a
    secret left out keeps its current value."""
    allowed = DRIVER_SOURCES.get(driver)
    if allowed is not None and source not in allowed:
        raise BadRequest(f"driver {driver!r} serves sources {', '.join(allowed)}, not {source!r}")
    raw = dict(raw or {})
    if driver == "sandbox":
        _convert(raw, SandboxSettings, driver)  # checks what it knows, keeps the rest
        return raw
    assert sealer is not None, "channels with secrets need the server's sealer"
    fields = _SECRET_FIELDS[driver]
    kept = {f: (current or {}).get(f) for f in fields}
    for f in fields:
        given = raw.get(f)
        if isinstance(given, str) and given.startswith("v1:"):
            raise BadRequest(f"settings.{f}: give the secret itself")
    if driver == "custom_channel":
        settings = _convert(raw, CustomChannelSettings, driver)
        check_url(settings.api_base_url, field="settings.apiBaseUrl")
    elif driver == "whatsapp_cloud":
        settings = _convert(raw, WhatsappCloudSettings, driver)
        check_url(settings.graph_base_url, field="settings.graphBaseUrl")
        settings.graph_base_url = settings.graph_base_url.rstrip("/")
    elif driver == "telegram":
        settings = _convert(raw, TelegramSettings, driver)
        check_url(settings.api_base_url, field="settings.apiBaseUrl")
        settings.api_base_url = settings.api_base_url.rstrip("/")
        if settings.webhook_secret is None and kept["webhookSecret"] is None:
            # Telegram repeats it on every webhook call; nobody else needs to know it.
            settings.webhook_secret = secrets.token_urlsafe(32)
    elif driver == "twilio":
        settings = _convert(raw, TwilioSettings, driver)
        check_url(settings.api_base_url, field="settings.apiBaseUrl")
        settings.api_base_url = settings.api_base_url.rstrip("/")
        if settings.from_ is not None:
            number = settings.from_.removeprefix("whatsapp:")
            settings.from_ = normalize_phone(number, field="settings.from")
        if (settings.from_ is None) == (settings.messaging_service_sid is None):
            raise BadRequest("settings.from: give the sender's number, or messagingServiceSid")
        if settings.api_key_sid and not (settings.api_key_secret or kept["apiKeySecret"]):
            raise BadRequest("settings.apiKeySecret: give it with apiKeySid")
    else:
        settings = _convert(raw, SmtpSettings, driver)
        check_host(settings.host, field="settings.host")
        settings.from_ = normalize_email(settings.from_, field="settings.from")
        if settings.reply_to:
            settings.reply_to = normalize_email(settings.reply_to, field="settings.replyTo")
        if settings.password is not None and settings.username is None:
            raise BadRequest("settings.password: give username too")
    stored: dict[str, Any] = msgspec.to_builtins(settings)
    url_field = _URL_FIELDS.get(driver)
    if driver in _PROVIDERS and current and url_field:
        before, after = _origin(current.get(url_field)), _origin(stored.get(url_field))
        if before != after:
            # Kept secrets would be sent to the new address: they must be given again.
            for f in fields:
                if raw.get(f) is None and kept[f] is not None and f != "webhookSecret":
                    raise BadRequest(
                        f"settings.{f}: give it again when settings.{url_field} moves to"
                        " another host (the stored one is not sent to a new address)"
                    )
    for f in fields:
        secret = stored.pop(f, None)
        if secret is not None:
            stored[f] = sealer.seal(secret, purpose=PURPOSE)
        elif kept[f] is not None:
            stored[f] = kept[f]
        elif f in _REQUIRED_SECRETS.get(driver, ()):
            what = "a custom channel needs its token" if driver == "custom_channel" else "required"
            raise BadRequest(f"settings.{f}: {what}")
    return stored


async def check_reachable(
    driver: str, settings: dict[str, Any] | None, networks: Networks | None, *, lookup: bool
) -> None:
    """400 naming the setting when the channel's bridge URL or SMTP host is (or, with
    ``lookup``, resolves to) an address ``networks`` forbids: the webhooks' rule, checked when
    the channel is created or changed, and again at every connection. ``settings`` as sent
    (a malformed value is left to ``prepare``); look names up before the write transaction
    begins, since that can take seconds."""
    if driver not in ("custom_channel", "smtp", *_URL_FIELDS) or not settings:
        return
    if networks is None:
        raise RuntimeError(f"a {driver} channel is checked against the allowed networks")
    url_field = _URL_FIELDS.get(driver)
    if url_field is not None:
        base = settings.get(url_field)
        if isinstance(base, str):
            await check_url_destination(
                base, networks, field=f"settings.{url_field}", lookup=lookup
            )
        return
    host, port = settings.get("host"), settings.get("port", 587)
    if isinstance(host, str) and isinstance(port, int) and 0 < port < 65536:
        await check_destination(host, port, networks, field="settings.host", lookup=lookup)


def secret(
    settings: dict[str, Any], driver: str, sealer: Sealer, name: str | None = None
) -> str | None:
    """One of the channel's secrets (its only one when ``name`` is not given), opened."""
    sealed = settings.get(name or _SECRET_FIELDS.get(driver, ("",))[0])
    return None if sealed is None else sealer.open(sealed, purpose=PURPOSE)
