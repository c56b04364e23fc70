"""``Client`` and ``AsyncClient``: every operation of the respond.io Developer API v2.

The async client's source is the sync client's with ``async``/``await`` added
(``scripts/gen_async_client.py``); the operations themselves live in ``_calls``.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from types import TracebackType
from typing import Any, TypeVar

import httpx

from openrespond.client import _calls
from openrespond.client._base import BaseClient, Call
from openrespond.client._calls import contact_fields
from openrespond.client.errors import APIConnectionError, APITimeoutError
from openrespond.client.models import (
    Channel,
    ClosingNote,
    Comment,
    Contact,
    ContactChannel,
    ContactCreated,
    ContactId,
    CustomField,
    MessageId,
    MessageRecord,
    Page,
    Status,
    Tag,
    Template,
    User,
)

__all__ = ["Client"]

T = TypeVar("T")


class Client(BaseClient):
    """A blocking client (``with Client(token=...) as api: api.get_contact("id:1")``)."""

    def __init__(self, *, http_client: httpx.Client | None = None, **options: Any) -> None:
        super().__init__(**options)
        self._http = http_client or httpx.Client(timeout=self.timeout)

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> Client:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def _run(self, call: Call[T]) -> T:
        key = self._idempotency_key(call)
        attempt = 0
        while True:
            attempt += 1
            request = self._request(call, key)
            try:
                response = self._http.send(request)
            except httpx.TimeoutException as exc:
                wait = self._delay(attempt, None)
                if wait is None:
                    raise APITimeoutError(f"{call.method} {request.url}: timed out") from exc
            except httpx.TransportError as exc:
                wait = self._delay(attempt, None)
                if wait is None:
                    raise APIConnectionError(f"{call.method} {request.url}: {exc}") from exc
            else:
                wait = self._delay(attempt, response) if response.status_code >= 400 else None
                if wait is None:
                    return self._answer(call, response)
            time.sleep(wait)

    def _pages(self, call: Call[Page[T]]) -> Iterator[T]:
        while True:
            page = self._run(call)
            yield from page.items
            if not page.pagination.next or not page.items:
                return
            call = _calls.next_page(call, page.pagination.next)

    # -- contacts ---------------------------------------------------------------------------

    def create_contact(
        self,
        identifier: str | None = None,
        *,
        custom_fields: dict[str, Any] | None = None,
        **fields: Any,
    ) -> ContactCreated:
        """Create a contact (``first_name`` required); ``identifier`` (email: or phone:)
        supplies that field. A duplicate email or phone raises ``ConflictError`` whose
        ``contact_id`` is the existing contact."""
        return self._run(_calls.create_contact(identifier, contact_fields(fields, custom_fields)))

    def create_or_update_contact(
        self, identifier: str, *, custom_fields: dict[str, Any] | None = None, **fields: Any
    ) -> ContactId:
        return self._run(
            _calls.create_or_update_contact(identifier, contact_fields(fields, custom_fields))
        )

    def get_contact(self, identifier: str | int) -> Contact:
        return self._run(_calls.get_contact(identifier))

    def update_contact(
        self, identifier: str | int, *, custom_fields: dict[str, Any] | None = None, **fields: Any
    ) -> ContactId:
        """Change the fields given (None clears one); custom fields merge by name."""
        return self._run(_calls.update_contact(identifier, contact_fields(fields, custom_fields)))

    def delete_contact(self, identifier: str | int) -> ContactId:
        return self._run(_calls.delete_contact(identifier))

    def list_contacts(
        self,
        *,
        search: str | None = None,
        filter: dict[str, Any] | None = None,
        timezone: str | None = None,
        limit: int | None = None,
        cursor_id: int | None = None,
    ) -> Page[Contact]:
        return self._run(
            _calls.list_contacts(
                search=search, filter=filter, timezone=timezone, limit=limit, cursor_id=cursor_id
            )
        )

    def iter_contacts(
        self,
        *,
        search: str | None = None,
        filter: dict[str, Any] | None = None,
        timezone: str | None = None,
        page_size: int = 100,
    ) -> Iterator[Contact]:
        """Every matching contact, page after page (following ``pagination.next``)."""
        return self._pages(
            _calls.list_contacts(search=search, filter=filter, timezone=timezone, limit=page_size)
        )

    def merge_contacts(
        self,
        primary: int,
        secondary: int,
        *,
        custom_fields: dict[str, Any] | None = None,
        **fields: Any,
    ) -> ContactId:
        """Merge ``secondary`` into ``primary`` (ids); fields given override both."""
        return self._run(
            _calls.merge_contacts(primary, secondary, contact_fields(fields, custom_fields))
        )

    def list_contact_channels(
        self, identifier: str | int, *, limit: int | None = None
    ) -> Page[ContactChannel]:
        return self._run(_calls.contact_channels(identifier, limit=limit))

    def set_lifecycle(self, identifier: str | int, name: str | None) -> Status:
        return self._run(_calls.set_lifecycle(identifier, name))

    def add_tags(self, identifier: str | int, tags: list[str]) -> ContactId:
        return self._run(_calls.add_tags(identifier, tags))

    def remove_tags(self, identifier: str | int, tags: list[str]) -> ContactId:
        return self._run(_calls.remove_tags(identifier, tags))

    # -- messages ---------------------------------------------------------------------------

    def send_message(
        self,
        identifier: str | int,
        message: dict[str, Any] | str,
        *,
        channel_id: int | None = None,
    ) -> MessageId:
        """Send ``message`` (a message object, or a string for a text); without
        ``channel_id`` the contact's last interacted channel is used."""
        return self._run(_calls.send_message(identifier, message, channel_id))

    def get_message(self, identifier: str | int, message_id: int) -> MessageRecord:
        return self._run(_calls.get_message(identifier, message_id))

    def list_messages(
        self, identifier: str | int, *, limit: int | None = None, cursor_id: int | None = None
    ) -> Page[MessageRecord]:
        return self._run(_calls.list_messages(identifier, limit=limit, cursor_id=cursor_id))

    def iter_messages(
        self, identifier: str | int, *, page_size: int = 100
    ) -> Iterator[MessageRecord]:
        """Every message of the contact, newest first."""
        return self._pages(_calls.list_messages(identifier, limit=page_size))

    # -- conversations ----------------------------------------------------------------------

    def set_conversation_status(
        self,
        identifier: str | int,
        status: str,
        *,
        category: str | None = None,
        summary: str | None = None,
    ) -> ContactId:
        return self._run(_calls.set_conversation_status(identifier, status, category, summary))

    def assign(self, identifier: str | int, assignee: int | str | None) -> ContactId:
        """Assign the conversation to a user (id or email); None unassigns."""
        return self._run(_calls.assign(identifier, assignee))

    def add_comment(self, identifier: str | int, text: str) -> Comment:
        return self._run(_calls.comment(identifier, text))

    # -- the workspace ----------------------------------------------------------------------

    def create_tag(self, name: str, **attrs: Any) -> Tag:
        """``description``, ``color_code``, ``emoji`` as keywords."""
        return self._run(_calls.create_tag(name, **attrs))

    def update_tag(self, current_name: str, **attrs: Any) -> Tag:
        return self._run(_calls.update_tag(current_name, **attrs))

    def delete_tag(self, name: str) -> Status:
        return self._run(_calls.delete_tag(name))

    def list_tags(self, *, limit: int | None = None) -> Page[Tag]:
        return self._run(_calls.list_tags(limit=limit))

    def list_custom_fields(self, *, limit: int | None = None) -> Page[CustomField]:
        return self._run(_calls.list_custom_fields(limit=limit))

    def get_custom_field(self, field_id: int) -> CustomField:
        return self._run(_calls.get_custom_field(field_id))

    def create_custom_field(self, name: str, data_type: str, **attrs: Any) -> CustomField:
        """``slug``, ``description``, ``allowed_values`` as keywords."""
        return self._run(_calls.create_custom_field(name, data_type, **attrs))

    def list_users(self, *, limit: int | None = None) -> Page[User]:
        return self._run(_calls.list_users(limit=limit))

    def get_user(self, user_id: int) -> User:
        return self._run(_calls.get_user(user_id))

    def list_channels(self, *, limit: int | None = None) -> Page[Channel]:
        return self._run(_calls.list_channels(limit=limit))

    def list_closing_notes(self, *, limit: int | None = None) -> Page[ClosingNote]:
        return self._run(_calls.list_closing_notes(limit=limit))

    def list_templates(self, channel_id: int, *, limit: int | None = None) -> Page[Template]:
        return self._run(_calls.list_templates(channel_id, limit=limit))
