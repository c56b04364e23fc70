"""Outgoing HTTP that cannot be pointed at the server's own network.

Webhook URLs and custom-channel bridges are chosen by API users, so every connection the
server opens for them goes through :class:`GuardedBackend`: the host name is resolved once,
each address is checked against the allowed networks, and the connection is made to the
checked address (a DNS answer that changes between check and connect cannot slip through).
Addresses that are not globally routable — loopback, private, link-local, carrier-grade NAT,
multicast, reserved — are refused unless configuration allows their network. Redirects are
never followed.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from collections.abc import Iterable, Sequence
from typing import Any
from urllib.parse import urlsplit

import httpcore
import httpx

from openrespond.errors import BadRequest

__all__ = [
    "ForbiddenAddress",
    "GuardedBackend",
    "Networks",
    "check_url",
    "guarded_client",
    "parse_networks",
]

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
MAX_URL = 2048


class ForbiddenAddress(httpx.TransportError):
    """A connection was refused before it was made: the host resolves to a forbidden address."""


class Networks:
    """Which non-public addresses outgoing connections may reach (none by default)."""

    __slots__ = ("allow_all", "networks")

    def __init__(self, networks: Iterable[IPNetwork] = (), *, allow_all: bool = False) -> None:
        self.networks = tuple(networks)
        self.allow_all = allow_all

    def permits(self, ip: IPAddress) -> bool:
        if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
            ip = ip.ipv4_mapped
        if self.allow_all:
            return True
        if any(ip in net for net in self.networks):
            return True
        return ip.is_global and not ip.is_multicast

    def __repr__(self) -> str:
        return "Networks(*)" if self.allow_all else f"Networks({list(map(str, self.networks))})"


def parse_networks(raw: str) -> Networks:
    """``*`` (anything), or a comma-separated list of networks such as ``127.0.0.0/8,::1``."""
    raw = raw.strip()
    if raw == "*":
        return Networks(allow_all=True)
    nets = []
    for part in filter(None, (p.strip() for p in raw.split(","))):
        try:
            nets.append(ipaddress.ip_network(part, strict=False))
        except ValueError:
            raise ValueError(f"{part!r} is not a network (e.g. 127.0.0.0/8 or ::1)") from None
    return Networks(nets)


def check_url(url: str, *, field: str) -> str:
    """An absolute http(s) URL without credentials; 400 naming ``field`` otherwise."""
    if not isinstance(url, str) or not url or len(url) > MAX_URL:
        raise BadRequest(f"{field}: must be an http(s) URL of at most {MAX_URL} characters")
    if any(c.isspace() or ord(c) < 32 for c in url):
        raise BadRequest(f"{field}: must not contain spaces or control characters")
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        raise BadRequest(f"{field}: is not a valid URL") from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise BadRequest(f"{field}: must be an absolute http:// or https:// URL")
    if parts.username is not None or parts.password is not None:
        raise BadRequest(f"{field}: must not carry credentials")
    if port == 0:
        raise BadRequest(f"{field}: port 0 is not allowed")
    return url


async def resolve(host: str, port: int, networks: Networks) -> list[str]:
    """The permitted addresses of ``host``; ForbiddenAddress when it has none."""
    try:
        literal: IPAddress | None = ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        literal = None
    if literal is not None:
        if not networks.permits(literal):
            raise ForbiddenAddress(f"{host} is not a public address")
        return [str(literal)]
    loop = asyncio.get_running_loop()
    try:
        infos = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except OSError as exc:
        raise httpx.ConnectError(f"{host} does not resolve: {exc}") from None
    addresses = list(dict.fromkeys(str(info[4][0]) for info in infos))
    allowed = [a for a in addresses if networks.permits(ipaddress.ip_address(a.split("%")[0]))]
    if not allowed or len(allowed) != len(addresses):
        # One forbidden answer taints the name: it is refused as a whole.
        raise ForbiddenAddress(f"{host} resolves to an address that is not public")
    return allowed


class GuardedBackend(httpcore.AsyncNetworkBackend):
    """Connects only to addresses ``networks`` permits, by address, never by name."""

    def __init__(self, networks: Networks) -> None:
        self.networks = networks
        self._inner = httpcore.AnyIOBackend()

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        error: Exception | None = None
        for address in await resolve(host, port, self.networks):
            try:
                return await self._inner.connect_tcp(
                    address,
                    port,
                    timeout=timeout,
                    local_address=local_address,
                    socket_options=socket_options,
                )
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as exc:
                error = exc
        assert error is not None
        raise error

    async def connect_unix_socket(
        self, path: str, timeout: float | None = None, socket_options: Any = None
    ) -> httpcore.AsyncNetworkStream:
        raise ForbiddenAddress("unix sockets are not reachable")

    async def sleep(self, seconds: float) -> None:
        await self._inner.sleep(seconds)


def guarded_client(
    networks: Networks,
    *,
    timeout: float = 10.0,
    max_connections: int = 100,
    headers: Sequence[tuple[str, str]] = (),
) -> httpx.AsyncClient:
    """An httpx client for user-chosen URLs: guarded connections, no redirects, no proxies
    from the environment."""
    transport = httpx.AsyncHTTPTransport(trust_env=False)
    limits = httpx.Limits(
        max_connections=max_connections, max_keepalive_connections=max_connections
    )
    transport._pool = httpcore.AsyncConnectionPool(
        ssl_context=httpx.create_ssl_context(trust_env=False),
        max_connections=limits.max_connections,
        max_keepalive_connections=limits.max_keepalive_connections,
        keepalive_expiry=limits.keepalive_expiry,
        network_backend=GuardedBackend(networks),
    )
    return httpx.AsyncClient(
        transport=transport,
        timeout=timeout,
        follow_redirects=False,
        trust_env=False,
        headers=list(headers),
    )
