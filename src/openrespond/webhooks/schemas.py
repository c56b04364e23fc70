"""Wire models of the webhook control API."""

from __future__ import annotations

from typing import Annotated, Literal

import msgspec
from msgspec import Meta

from openrespond.common import Pagination
from openrespond.outbox import EventName

__all__ = [
    "Attempt",
    "Delivery",
    "DeliveryDetail",
    "DeliveryPage",
    "EventType",
    "Webhook",
    "WebhookCreate",
    "WebhookCreated",
    "WebhookList",
    "WebhookUpdate",
]

# The event types of API.md §7; "*" subscribes to all of them.
EventType = Literal["*", EventName]
Url = Annotated[
    str,
    Meta(
        min_length=10,
        max_length=2048,
        pattern=r"^[Hh][Tt][Tt][Pp][Ss]?://[^\s/?#@]+",
        description="An http(s) URL without credentials; its host must not be a private,"
        " loopback or link-local address unless the server allows that network",
    ),
]
Description = Annotated[str, Meta(max_length=512)]
SigningKey = Annotated[str, Meta(min_length=16, max_length=256, pattern=r"^[\x21-\x7e]+$")]


class WebhookCreate(msgspec.Struct):
    """``events`` defaults to every type (``["*"]``). ``signingKey`` keeps a key a receiver
    already checks (16 to 256 printable characters); otherwise one is generated."""

    url: Url
    events: Annotated[list[EventType], Meta(min_length=1, max_length=16)] = msgspec.field(
        default_factory=lambda: ["*"]
    )
    description: Description | None = None
    enabled: bool = True
    signing_key: SigningKey | None = msgspec.field(default=None, name="signingKey")


class WebhookUpdate(msgspec.Struct):
    """Absent fields stay as they are; enabling clears the reason it was disabled."""

    url: Url | None = None
    events: Annotated[list[EventType], Meta(min_length=1, max_length=16)] | None = None
    description: Description | None = None
    enabled: bool | None = None


class Webhook(msgspec.Struct):
    id: int
    url: str
    events: list[str]
    description: str | None
    enabled: bool
    disabled_reason: str | None = msgspec.field(name="disabledReason")
    created_at: int
    updated_at: int


class WebhookCreated(Webhook):
    """The subscription and its signing key — shown this once."""

    signing_key: str = msgspec.field(name="signingKey")


class WebhookList(msgspec.Struct):
    items: list[Webhook]


class Attempt(msgspec.Struct):
    attempt: int
    started_ms: int = msgspec.field(name="startedMs")
    latency_ms: int = msgspec.field(name="latencyMs")
    status_code: int | None = msgspec.field(name="statusCode")
    error: str | None
    worker: str
    # What was sent (signatures of both schemes included) and the start of the answer;
    # absent for attempts made before these were kept.
    request_headers: dict[str, str] | None = msgspec.field(default=None, name="requestHeaders")
    response_excerpt: str | None = msgspec.field(default=None, name="responseExcerpt")


class Delivery(msgspec.Struct):
    id: int
    webhook_id: int = msgspec.field(name="webhookId")
    event_id: str = msgspec.field(name="eventId")
    event_type: str = msgspec.field(name="eventType")
    status: Literal["pending", "delivered", "failed"]
    attempts: int
    next_attempt_ms: int | None = msgspec.field(name="nextAttemptMs")
    last_status_code: int | None = msgspec.field(name="lastStatusCode")
    last_error: str | None = msgspec.field(name="lastError")
    queued_ms: int = msgspec.field(name="queuedMs")
    delivered_ms: int | None = msgspec.field(name="deliveredMs")


class DeliveryDetail(Delivery):
    """A delivery with every attempt and the event body as posted."""

    attempt_log: list[Attempt] = msgspec.field(name="attemptLog")
    payload: msgspec.Raw


class DeliveryPage(msgspec.Struct):
    items: list[Delivery]
    pagination: Pagination
