"""What a client call raises: one exception type per kind of failure, all carrying what the
server said (status, code, message) and its rate-limit headers."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

__all__ = [
    "APIConnectionError",
    "APIError",
    "APITimeoutError",
    "AuthenticationError",
    "BadRequestError",
    "ConflictError",
    "InvalidRequestError",
    "NotFoundError",
    "PermissionDeniedError",
    "RateLimit",
    "RateLimitError",
    "ResponseDecodeError",
    "ServerError",
    "UnprocessableError",
]


@dataclass(frozen=True, slots=True)
class RateLimit:
    """``X-RateLimit-Limit`` / ``-Remaining`` and ``Retry-After`` of a response (None when
    the server did not send them)."""

    limit: int | None
    remaining: int | None
    retry_after: float | None


class InvalidRequestError(ValueError):
    """The call was refused before any request: an identifier or payload that cannot be
    valid."""


class APIConnectionError(Exception):
    """No answer: the server could not be reached or the connection broke."""


class APITimeoutError(APIConnectionError):
    """No answer within the timeout."""


class APIError(Exception):
    """The server answered with an error status: ``status`` (HTTP), ``code`` and ``message``
    from its ``{code, message}`` body, ``rate_limit`` from its headers, ``body`` as decoded."""

    def __init__(
        self,
        status: int,
        message: str,
        *,
        code: Any = None,
        rate_limit: RateLimit | None = None,
        body: Any = None,
    ) -> None:
        super().__init__(f"{status}: {message}")
        self.status = status
        self.code = status if code is None else code
        self.message = message
        self.rate_limit = rate_limit or RateLimit(None, None, None)
        self.body = body


class BadRequestError(APIError):
    """400: the server named what is wrong in ``message``."""


class AuthenticationError(APIError):
    """401: missing, unknown or revoked token."""


class PermissionDeniedError(APIError):
    """403."""


class NotFoundError(APIError):
    """404: nothing of that identifier in the token's workspace."""


class ConflictError(APIError):
    """409: for a duplicate contact, ``contact_id`` is the contact that has the email or
    phone already."""

    @property
    def contact_id(self) -> int | None:
        value = self.body.get("contactId") if isinstance(self.body, dict) else None
        return value if isinstance(value, int) else None


class UnprocessableError(APIError):
    """422: for example an ``Idempotency-Key`` reused with another request."""


class RateLimitError(APIError):
    """429, after the retries the client was allowed; ``rate_limit.retry_after`` says when
    to come back."""


class ServerError(APIError):
    """5xx, after the retries the client was allowed."""


class ResponseDecodeError(APIError):
    """The answer was not the JSON it should be (not JSON, truncated, or another shape)."""


_BY_STATUS: dict[int, type[APIError]] = {
    400: BadRequestError,
    401: AuthenticationError,
    403: PermissionDeniedError,
    404: NotFoundError,
    409: ConflictError,
    422: UnprocessableError,
    429: RateLimitError,
}


def error_for(status: int) -> type[APIError]:
    """The exception class for an error status."""
    if status >= 500:
        return ServerError
    return _BY_STATUS.get(status, APIError)
