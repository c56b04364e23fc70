"""One place that turns every failure into ``{"code": status, "message": ...}``."""

from __future__ import annotations

import logging
from typing import Any

from litestar import MediaType, Request, Response
from litestar.exceptions import ClientException, HTTPException, ValidationException

from openrespond.db import IntegrityError, TransientError
from openrespond.errors import ApiError
from openrespond.http.context import STATE_KEY, RequestState

__all__ = ["exception_handlers"]

log = logging.getLogger("openrespond.http")

_DEFAULT_MESSAGES = {
    400: "bad request",
    401: "unauthorized",
    403: "forbidden",
    404: "not found",
    405: "method not allowed",
    413: "request body too large",
    415: "unsupported media type",
    429: "too many requests",
}


def _response(
    status: int, body: dict[str, Any], headers: dict[str, str] | None = None
) -> Response[Any]:
    return Response(body, status_code=status, media_type=MediaType.JSON, headers=headers)


def _validation_message(exc: ValidationException) -> str:
    parts = []
    for item in exc.extra if isinstance(exc.extra, list) else []:
        if not isinstance(item, dict):
            continue
        message = str(item.get("message", "invalid value"))
        key = item.get("key")
        source = getattr(item.get("source"), "value", item.get("source"))
        if key == "data" and message == "'data'":
            parts.append("a JSON request body is required")
        elif key == "data":
            parts.append(f"request body: {message}")
        elif key and source == "body":
            parts.append(f"body field {key}: {message}")
        elif key:
            parts.append(f"{source or 'parameter'} parameter {key}: {message}")
        else:
            parts.append(message)
    return "; ".join(parts) or str(exc.detail)


def _api_error(_: Request[Any, Any, Any], exc: ApiError) -> Response[Any]:
    return _response(exc.status, exc.body(), exc.headers)


def _http_error(request: Request[Any, Any, Any], exc: HTTPException) -> Response[Any]:
    status = exc.status_code
    if isinstance(exc, ValidationException):
        message = _validation_message(exc)
    elif status == 404:
        message = f"no route for {request.method} {request.url.path}"
    elif status == 405:
        message = f"method {request.method} is not allowed on {request.url.path}"
    elif status == 413:
        limit = request.app.state.settings.max_body_bytes
        message = f"request body exceeds the limit of {limit} bytes"
    elif status >= 500:
        log.error("server error on %s %s: %s", request.method, request.url.path, exc.detail)
        message = "internal error"
    elif type(exc) is ClientException and status == 400:
        # Litestar raises a bare ClientException when the body does not decode.
        message = f"request body is not valid JSON: {exc.detail}"
    else:
        detail = str(exc.detail or "")
        message = (
            detail if detail and detail != "Bad Request" else _DEFAULT_MESSAGES.get(status, "error")
        )
    headers = {k: v for k, v in (exc.headers or {}).items() if k.lower() == "allow"}
    return _response(status, {"code": status, "message": message}, headers)


def _mark_transient(request: Request[Any, Any, Any]) -> None:
    state: RequestState | None = request.scope.get(STATE_KEY)  # type: ignore[assignment]
    if state is not None:
        state.transient = True


def _transient(request: Request[Any, Any, Any], exc: TransientError) -> Response[Any]:
    """A deadlock or serialization failure: the API middleware runs the request again; if
    it was the last attempt (or outside the middleware), the client is told to retry."""
    _mark_transient(request)
    log.info("transient database failure on %s %s: %s", request.method, request.url.path, exc)
    return _response(
        503,
        {"code": 503, "message": "the database is busy; the change was not saved, retry"},
        {"Retry-After": "1"},
    )


def _integrity(request: Request[Any, Any, Any], exc: IntegrityError) -> Response[Any]:
    """A constraint no service check caught: another request changed the same rows at the
    same moment (a contact deleted while a tag was being added to it). The middleware runs
    the request again, when it sees the world as it now is; if that keeps failing, 409."""
    _mark_transient(request)
    log.info("constraint refused %s %s: %s", request.method, request.url.path, exc)
    return _response(
        409,
        {"code": 409, "message": "the request conflicts with a concurrent change; retry"},
    )


def _too_deep(request: Request[Any, Any, Any], exc: RecursionError) -> Response[Any]:
    """Input nested past what a decoder can follow (the API middleware refuses such bodies
    before this; other routes meet it here). Logged with its stack, in case it was not the
    input that recursed."""
    log.warning("recursion on %s %s (answered 400)", request.method, request.url.path, exc_info=exc)
    return _response(400, {"code": 400, "message": "request body: JSON nested too deeply"})


def _unexpected(request: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
    log.exception("unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
    return _response(500, {"code": 500, "message": "internal error"})


exception_handlers: dict[type[Exception], Any] = {
    ApiError: _api_error,
    HTTPException: _http_error,
    TransientError: _transient,
    IntegrityError: _integrity,
    RecursionError: _too_deep,
    Exception: _unexpected,
}
