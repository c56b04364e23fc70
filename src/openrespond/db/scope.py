"""The workspace scope: everything done inside one workspace is done through a ``Scope``.

A ``Scope`` pairs the connection (a reader, or a transaction for writes) with the workspace
id that bounds every statement run through it. Repository and service functions that read
or write a workspace's data take a scope as their first argument, so none can be called
without naming the workspace; a ``Scope[Connection]`` (a read) cannot be passed where a
``Scope[Transaction]`` (a write) is required. Scopes are made in few places: by the HTTP
layer from the caller's credentials (``http.context.reading`` / ``writing``), by the CLI
from ``--workspace``, and by workers from the job they hold.

Work across workspaces (the delivery and webhook queues, token lookup by hash, retention,
the workspace list itself) takes a bare connection and says so in its docstring.
"""

from __future__ import annotations

from typing import Final, Generic, TypeVar

from openrespond.db._base import Connection

__all__ = ["Scope"]

C = TypeVar("C", bound=Connection, covariant=True)


class Scope(Generic[C]):
    """Work inside workspace ``ws`` through ``conn``. Made once per request (or command, or
    job), so it is a plain slotted object: cheaper to make than a frozen dataclass; the type
    checker refuses assignments to its attributes (``Final``)."""

    __slots__ = ("conn", "ws")

    def __init__(self, conn: C, ws: int) -> None:
        self.conn: Final = conn
        self.ws: Final = ws

    def __repr__(self) -> str:
        return f"Scope(ws={self.ws}, conn={self.conn!r})"
