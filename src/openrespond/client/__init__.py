"""A Python client for the respond.io Developer API v2, for respond.io itself and for any
openrespond server.

    from openrespond.client import Client, by_email

    with Client(base_url="http://127.0.0.1:8000/v2", token="…") as api:
        contact = api.get_contact(by_email("ada@example.com"))
        api.send_message(contact.id, "Hello, Ada")

``AsyncClient`` has the same methods, awaitable. Without ``base_url`` the client talks to
``https://api.respond.io/v2`` (or ``$RESPONDIO_BASE_URL``); the token comes from ``token=`` or
``$RESPONDIO_API_TOKEN``.
"""

from __future__ import annotations

from openrespond.client._async import AsyncClient
from openrespond.client._base import DEFAULT_BASE_URL
from openrespond.client._sync import Client
from openrespond.client.errors import (
    APIConnectionError,
    APIError,
    APITimeoutError,
    AuthenticationError,
    BadRequestError,
    ConflictError,
    InvalidRequestError,
    NotFoundError,
    PermissionDeniedError,
    RateLimit,
    RateLimitError,
    ResponseDecodeError,
    ServerError,
    UnprocessableError,
)
from openrespond.client.identifiers import by_email, by_id, by_phone, identifier
from openrespond.client.models import (
    Channel,
    ClosingNote,
    Comment,
    Contact,
    ContactChannel,
    ContactCreated,
    ContactId,
    CustomField,
    CustomFieldValue,
    MessageId,
    MessageRecord,
    MessageStatus,
    Page,
    Status,
    Tag,
    Template,
    User,
)
from openrespond.client.webhooks import SignatureError, verify_webhook

__all__ = [  # noqa: RUF022 (in plain sorted order, which a test holds it to)
    "APIConnectionError",
    "APIError",
    "APITimeoutError",
    "AsyncClient",
    "AuthenticationError",
    "BadRequestError",
    "Channel",
    "Client",
    "ClosingNote",
    "Comment",
    "ConflictError",
    "Contact",
    "ContactChannel",
    "ContactCreated",
    "ContactId",
    "CustomField",
    "CustomFieldValue",
    "DEFAULT_BASE_URL",
    "InvalidRequestError",
    "MessageId",
    "MessageRecord",
    "MessageStatus",
    "NotFoundError",
    "Page",
    "PermissionDeniedError",
    "RateLimit",
    "RateLimitError",
    "ResponseDecodeError",
    "ServerError",
    "SignatureError",
    "Status",
    "Tag",
    "Template",
    "UnprocessableError",
    "User",
    "by_email",
    "by_id",
    "by_phone",
    "identifier",
    "verify_webhook",
]
