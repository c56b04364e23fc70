"""``POST /custom/channel/webhook/``: where custom-channel bridges post incoming events,
authenticated by the channel's own token (not a workspace token)."""

from __future__ import annotations

from typing import Any

from litestar import Request
from litestar.params import JSONBody

from openrespond.channels.inbound import InboundResult, InboundWebhook, receive
from openrespond.db import Transaction
from openrespond.http.middleware import refuse_nul
from openrespond.http.routing import post

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


ROUTES = [custom_channel_webhook]
