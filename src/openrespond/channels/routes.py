"""Where channels' other ends call in: ``POST /custom/channel/webhook/`` for custom-channel
bridges (authenticated by the channel's own token, not a workspace token), and
``/hooks/{provider}/{channelId}`` for providers (authenticated by their signatures), whose
requests are stored as they came and applied by the inbound worker."""

from __future__ import annotations

import hmac
import json
from typing import Any

from litestar import Request, Response
from litestar.enums import MediaType
from litestar.params import JSONBody

from openrespond import common
from openrespond.channels import provider_inbox, telegram, twilio, whatsapp
from openrespond.channels import settings as channel_settings
from openrespond.channels.inbound import InboundResult, InboundWebhook, receive
from openrespond.common import StatusMessage
from openrespond.db import Transaction
from openrespond.errors import BadRequest, Forbidden, Unauthorized
from openrespond.http.middleware import refuse_nul
from openrespond.http.pagination import public_base
from openrespond.http.routing import PathId, get, post
from openrespond.sealing import Sealer, SealError
from openrespond.space import repository as space_repo

__all__ = ["ROUTES"]

Req = Request[Any, Any, Any]


def _bearer(request: Req) -> str | None:
    value = request.headers.get("authorization", "")
    scheme, _, token = value.partition(" ")
    return token.strip() or None if scheme.lower() == "bearer" else None


@post(
    ["/custom/channel/webhook", "/custom/channel/webhook/"],
    tags=["Custom channel"],
    operation_id="customChannelWebhook",
    summary="Incoming events from a custom-channel bridge (bearer: the channel's token)",
    security=[{"channelToken": []}],
)
async def custom_channel_webhook(request: Req, data: JSONBody[InboundWebhook]) -> InboundResult:
    state = request.app.state
    refuse_nul(await request.body())
    token = _bearer(request)

    async def work(tx: Transaction) -> InboundResult:
        return await receive(tx, data, token=token, sealer=state.sealer)

    result: InboundResult = await state.db.retrying(work)
    return result


# -- providers' webhooks ---------------------------------------------------------------------


async def _provider_channel(
    request: Req, channel_id: int, driver: str
) -> tuple[Any, dict[str, Any]]:
    """The channel named in a provider's webhook URL, with its settings; None when there is
    no such channel of that driver (answered like a bad signature, so ids cannot be probed)."""
    row = await space_repo.channel_anywhere(request.app.state.db.reader(), channel_id)
    if row is None or row["driver"] != driver:
        return None, {}
    return row, json.loads(row["settings"] or "{}")


def _opened(settings: dict[str, Any], driver: str, name: str, sealer: Sealer) -> str | None:
    try:
        return channel_settings.secret(settings, driver, sealer, name)
    except SealError:
        return None


@get(
    "/hooks/whatsapp/{channelId:int}",
    tags=["Provider webhooks"],
    operation_id="whatsappVerify",
    summary="Meta's verification handshake for a WhatsApp Cloud channel's webhook",
    security=[],
    media_type=MediaType.TEXT,
    include_in_schema=False,
)
async def whatsapp_verify(request: Req, channelId: PathId) -> Response[str]:
    query = request.query_params
    row, settings = await _provider_channel(request, channelId, "whatsapp_cloud")
    expected = _opened(settings, "whatsapp_cloud", "verifyToken", request.app.state.sealer)
    given = query.get("hub.verify_token") or ""
    challenge = query.get("hub.challenge") or ""
    if (
        row is None
        or expected is None
        or query.get("hub.mode") != "subscribe"
        or not hmac.compare_digest(given.encode(), expected.encode())
    ):
        raise Forbidden("hub.verify_token is not this channel's verify token")
    if not challenge or len(challenge) > 256:
        raise BadRequest("hub.challenge is missing or too long")
    return Response(challenge, media_type=MediaType.TEXT)


@post(
    "/hooks/whatsapp/{channelId:int}",
    tags=["Provider webhooks"],
    operation_id="whatsappWebhook",
    summary="Messages and statuses from Meta for a WhatsApp Cloud channel",
    security=[],
    include_in_schema=False,
)
async def whatsapp_webhook(request: Req, channelId: PathId) -> StatusMessage:
    state = request.app.state
    body = await request.body()
    row, settings = await _provider_channel(request, channelId, "whatsapp_cloud")
    secret = _opened(settings, "whatsapp_cloud", "appSecret", state.sealer)
    signature = request.headers.get("x-hub-signature-256")
    if row is None or secret is None or not whatsapp.verify_signature(body, signature, secret):
        raise Unauthorized("X-Hub-Signature-256 is missing or is not this channel's signature")
    await _store(request, channelId, body)
    return StatusMessage(code=200, message="stored")


@post(
    "/hooks/telegram/{channelId:int}",
    tags=["Provider webhooks"],
    operation_id="telegramWebhook",
    summary="Updates from Telegram for a bot's channel",
    security=[],
    include_in_schema=False,
)
async def telegram_webhook(request: Req, channelId: PathId) -> StatusMessage:
    state = request.app.state
    body = await request.body()
    row, settings = await _provider_channel(request, channelId, "telegram")
    secret = _opened(settings, "telegram", "webhookSecret", state.sealer)
    given = request.headers.get("x-telegram-bot-api-secret-token")
    if row is None or secret is None or not telegram.check_secret(given, secret):
        raise Unauthorized(
            "X-Telegram-Bot-Api-Secret-Token is missing or is not this channel's secret"
        )
    await _store(request, channelId, body)
    return StatusMessage(code=200, message="stored")


_TWIML = '<?xml version="1.0" encoding="UTF-8"?><Response/>'


@post(
    "/hooks/twilio/{channelId:int}",
    tags=["Provider webhooks"],
    operation_id="twilioWebhook",
    summary="Incoming messages and status callbacks from Twilio for a channel",
    security=[],
    include_in_schema=False,
)
async def twilio_webhook(request: Req, channelId: PathId) -> Response[str]:
    state = request.app.state
    body = await request.body()
    row, settings = await _provider_channel(request, channelId, "twilio")
    algorithm = request.headers.get("x-twilio-webhooks-signature-settings", "")
    sha256 = "HMAC_SHA256" in algorithm.upper()
    key = _opened(settings, "twilio", "webhookSharedKey" if sha256 else "authToken", state.sealer)
    content_type = request.headers.get("content-type", "")
    query = request.scope.get("query_string", b"").decode("latin-1")
    url = public_base(request) + request.scope["path"] + (f"?{query}" if query else "")
    signature = request.headers.get("x-twilio-signature")
    if (
        row is None
        or key is None
        or not twilio.valid_signature(url, body, content_type, signature, key, sha256=sha256)
    ):
        raise Unauthorized("X-Twilio-Signature is missing or is not this channel's signature")
    form = content_type.startswith("application/x-www-form-urlencoded")
    await _store(request, channelId, body, content_type="form" if form else "json")
    return Response(_TWIML, media_type="text/xml")


async def _store(request: Req, channel_id: int, body: bytes, *, content_type: str = "json") -> None:
    """Keep a provider's request (JSON, or a form) for the inbound worker; answered once
    committed."""
    try:
        text = body.decode()
        if content_type == "json":
            json.loads(text)
    except (UnicodeDecodeError, ValueError):
        raise BadRequest(
            f"the body is not {'JSON' if content_type == 'json' else 'UTF-8'}"
        ) from None
    # A NUL in a customer's text cannot be stored: it becomes U+FFFD, rather than the whole
    # request (and every message the provider batched in it) being refused. The signature
    # was checked on the body as sent.
    text = text.replace("\x00", "\ufffd")
    text = text.replace("\\u0000", "\\ufffd") if content_type == "json" else text
    text = text.replace("%00", "%EF%BF%BD") if content_type != "json" else text
    kind = "application/json" if content_type == "json" else "application/x-www-form-urlencoded"

    async def work(tx: Transaction) -> None:
        await provider_inbox.put(
            tx, channel_id, content_type=kind, body=text, now_ms=common.now_ms()
        )

    await request.app.state.db.retrying(work)


ROUTES = [
    custom_channel_webhook,
    whatsapp_verify,
    whatsapp_webhook,
    telegram_webhook,
    twilio_webhook,
]
