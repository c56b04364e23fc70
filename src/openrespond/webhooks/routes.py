"""Webhook subscriptions and their delivery log under ``/control/workspaces/{wid}/webhooks``."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from litestar import Request
from litestar.params import JSONBody, QueryParameter

from openrespond.common import StatusMessage
from openrespond.db.paging import parse_cursor
from openrespond.http.context import reading, writing
from openrespond.http.pagination import page_links
from openrespond.http.routing import CursorId, Limit, PathId, delete, get, post, put
from openrespond.net import Networks
from openrespond.sealing import Sealer
from openrespond.webhooks import service
from openrespond.webhooks.schemas import (
    DeliveryDetail,
    DeliveryPage,
    Webhook,
    WebhookCreate,
    WebhookCreated,
    WebhookList,
    WebhookUpdate,
)

__all__ = ["ROUTES"]

Req = Request[Any, Any, Any]
H = "/control/workspaces/{wid:int}/webhooks"
T = ["Webhooks"]
StatusFilter = Annotated[
    Literal["pending", "delivered", "failed"] | None,
    QueryParameter(description="Only deliveries in this state", required=False),
]


def _sealer(request: Req) -> Sealer:
    sealer: Sealer = request.app.state.sealer
    return sealer


def _networks(request: Req) -> Networks:
    networks: Networks = request.app.state.settings.networks
    return networks


@post(
    H,
    tags=T,
    operation_id="controlCreateWebhook",
    summary="Subscribe a URL to events; the answer shows the signing key, this once",
)
async def create_webhook(
    request: Req, wid: PathId, data: JSONBody[WebhookCreate]
) -> WebhookCreated:
    await service.check_destination(data.url, _networks(request))  # before the transaction
    return await service.create(
        await writing(request), data, sealer=_sealer(request), networks=_networks(request)
    )


@get(H, tags=T, operation_id="controlListWebhooks", summary="List webhook subscriptions")
async def list_webhooks(request: Req, wid: PathId) -> WebhookList:
    return WebhookList(items=await service.list_all(reading(request)))


@get(H + "/{webhookId:int}", tags=T, operation_id="controlGetWebhook", summary="Get a webhook")
async def get_webhook(request: Req, wid: PathId, webhookId: PathId) -> Webhook:
    return await service.get(reading(request), webhookId)


@put(
    H + "/{webhookId:int}",
    tags=T,
    operation_id="controlUpdateWebhook",
    summary="Change a webhook's URL, events or description, or enable/disable it",
)
async def update_webhook(
    request: Req, wid: PathId, webhookId: PathId, data: JSONBody[WebhookUpdate]
) -> Webhook:
    await service.check_destination(data.url, _networks(request))  # before the transaction
    return await service.update(
        await writing(request), webhookId, body=data, networks=_networks(request)
    )


@delete(
    H + "/{webhookId:int}",
    tags=T,
    operation_id="controlDeleteWebhook",
    summary="Delete a webhook and its delivery log",
)
async def delete_webhook(request: Req, wid: PathId, webhookId: PathId) -> StatusMessage:
    await service.delete(await writing(request), webhookId)
    return StatusMessage(code=200, message=f"webhook {webhookId} deleted")


@post(
    H + "/{webhookId:int}/rotate",
    tags=T,
    operation_id="controlRotateWebhookKey",
    summary="Replace the signing key; the answer shows the new key, this once",
)
async def rotate_key(request: Req, wid: PathId, webhookId: PathId) -> WebhookCreated:
    return await service.rotate(await writing(request), webhookId, sealer=_sealer(request))


@post(
    H + "/{webhookId:int}/test",
    tags=T,
    operation_id="controlTestWebhook",
    summary="Queue a signed webhook.test event for this subscription only",
)
async def test_webhook(request: Req, wid: PathId, webhookId: PathId) -> DeliveryDetail:
    return await service.send_test(await writing(request), webhookId)


@get(
    H + "/{webhookId:int}/deliveries",
    tags=T,
    operation_id="controlListWebhookDeliveries",
    summary="The delivery log, newest first",
)
async def list_deliveries(
    request: Req,
    wid: PathId,
    webhookId: PathId,
    status: StatusFilter = None,
    limit: Limit = None,
    cursorId: CursorId = None,
) -> DeliveryPage:
    cur = parse_cursor(limit, cursorId)
    items, page = await service.deliveries(reading(request), webhookId, cursor=cur, status=status)
    return DeliveryPage(items=items, pagination=page_links(request, page, cur.limit))


@get(
    H + "/{webhookId:int}/deliveries/{deliveryId:int}",
    tags=T,
    operation_id="controlGetWebhookDelivery",
    summary="One delivery with every attempt and the payload as posted",
)
async def get_delivery(
    request: Req, wid: PathId, webhookId: PathId, deliveryId: PathId
) -> DeliveryDetail:
    return await service.delivery(reading(request), webhookId, delivery_id=deliveryId)


@post(
    H + "/{webhookId:int}/deliveries/{deliveryId:int}/replay",
    tags=T,
    operation_id="controlReplayWebhookDelivery",
    summary="Post the event again now (same webhook-id)",
)
async def replay_delivery(
    request: Req, wid: PathId, webhookId: PathId, deliveryId: PathId
) -> DeliveryDetail:
    return await service.replay(await writing(request), webhookId, delivery_id=deliveryId)


ROUTES = [
    test_webhook,
    create_webhook,
    list_webhooks,
    get_webhook,
    update_webhook,
    delete_webhook,
    rotate_key,
    list_deliveries,
    get_delivery,
    replay_delivery,
]
