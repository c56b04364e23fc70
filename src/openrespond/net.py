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
    "check_destination",
    "check_host",
    "check_url",
    "check_url_destination",
    "embedded_ipv4",
    "guarded_client",
    "parse_networks",
]

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
MAX_URL = 2048


class ForbiddenAddress(httpx.TransportError):
    """A connection was refused before it was made: the host resolves to a forbidden address."""


# NAT64's well-known prefix carries an IPv4 address in its last 32 bits (RFC 6052); the
# local-use prefix (RFC 8215) is a network's own, never public.
_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")
_NAT64_LOCAL = ipaddress.IPv6Network("64:ff9b:1::/48")


def embedded_ipv4(ip: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 address leads to, by any standard embedding: IPv4-mapped
    (``::ffff:a.b.c.d``), IPv4-compatible (``::a.b.c.d``), IPv4-translated
    (``::ffff:0:a.b.c.d``), NAT64 (``64:ff9b::a.b.c.d``), 6to4 (``2002:aabb:ccdd::``) and
    Teredo (the client's address)."""
    if ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    value = int(ip)
    if value >> 32 == 0 and value > 1:  # ::a.b.c.d (:: and ::1 are themselves)
        return ipaddress.IPv4Address(value)
    if value >> 32 == 0xFFFF0000:  # SIIT's IPv4-translated ::ffff:0:a.b.c.d
        return ipaddress.IPv4Address(value & 0xFFFFFFFF)
    if ip in _NAT64:
        return ipaddress.IPv4Address(value & 0xFFFFFFFF)
    if ip.sixtofour is not None:
        return ip.sixtofour
    if ip.teredo is not None:
        return ip.teredo[1]
    return None


class Networks:
    """Which non-public addresses outgoing connections may reach (none by default)."""

    __slots__ = ("allow_all", "networks")

    def __init__(self, networks: Iterable[IPNetwork] = (), *, allow_all: bool = False) -> None:
        self.networks = tuple(networks)
        self.allow_all = allow_all

    def permits(self, ip: IPAddress) -> bool:
        """Whether connecting to ``ip`` is allowed. An IPv6 address that embeds an IPv4 one
        is judged by both: a NAT64 or 6to4 address of a loopback or private IPv4 address is
        as forbidden as that address."""
        if self.allow_all:
            return True
        if isinstance(ip, ipaddress.IPv6Address):
            inner = embedded_ipv4(ip)
            if inner is not None:
                if ip.ipv4_mapped is not None:
                    return self._permits(inner)  # the IPv4 host itself
                return self._permits(inner) and self._permits(ip)
        return self._permits(ip)

    def _permits(self, ip: IPAddress) -> bool:
        if any(ip.version == net.version and ip in net for net in self.networks):
            return True
        if isinstance(ip, ipaddress.IPv6Address) and ip in _NAT64_LOCAL:
            return False
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
    check_host(parts.hostname, field=field)
    return url


def check_host(host: str, *, field: str) -> str:
    """A host name (or IP address) that can be looked up; 400 naming ``field`` otherwise:
    labels of 1-63 characters, at most 253 in all, encodable for DNS (IDNA)."""
    literal = host[1:-1] if host.startswith("[") and host.endswith("]") else host
    try:
        ipaddress.ip_address(literal)
        return host
    except ValueError:
        pass
    if not host or len(host) > 253 or any(c.isspace() or ord(c) < 32 for c in host):
        raise BadRequest(f"{field}: {host[:64]!r} is not a valid host name")
    try:
        encoded = host.rstrip(".").encode("idna")
    except UnicodeError:
        raise BadRequest(
            f"{field}: {host[:64]!r} is not a valid host name (each label 1-63 characters)"
        ) from None
    if (
        not encoded
        or len(encoded) > 253
        or any(not 0 < len(label) <= 63 for label in encoded.split(b"."))
    ):
        raise BadRequest(
            f"{field}: {host[:64]!r} is not a valid host name (each label 1-63 characters)"
        )
    return host


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
    except UnicodeError:
        # No resolver can look this name up (an empty label, one over 63 characters).
        raise ForbiddenAddress(f"{host[:64]!r} is not a valid host name") from None
    except OSError as exc:
        raise httpx.ConnectError(f"{host} does not resolve: {exc}") from None
    addresses = list(dict.fromkeys(str(info[4][0]) for info in infos))
    allowed = [a for a in addresses if networks.permits(ipaddress.ip_address(a.split("%")[0]))]
    if not allowed or len(allowed) != len(addresses):
        # One forbidden answer taints the name: it is refused as a whole.
        raise ForbiddenAddress(f"{host} resolves to an address that is not public")
    return allowed


RESOLVE_SECONDS = 3.0


async def check_destination(
    host: str, port: int, networks: Networks, *, field: str, lookup: bool = True
) -> None:
    """400 naming ``field`` when ``host`` is not a valid name or is (or, with ``lookup``,
    resolves to) an address ``networks`` forbids. A name that does not resolve now (DNS down,
    not yet published) is accepted, since every connection checks again.

    A lookup can take seconds: do it before a write transaction begins (``lookup=False``
    inside one checks addresses written as such, which needs no DNS)."""
    check_host(host, field=field)
    if not lookup and not _is_address(host):
        return
    try:
        await asyncio.wait_for(resolve(host, port, networks), RESOLVE_SECONDS)
    except ForbiddenAddress as exc:
        raise BadRequest(
            f"{field}: {exc}; a private, loopback or link-local address is reached only when"
            " OPENRESPOND_ALLOW_PRIVATE_NETWORKS allows its network"
        ) from None
    except (httpx.ConnectError, TimeoutError):
        pass


def _is_address(host: str) -> bool:
    try:
        ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return False
    return True


async def check_url_destination(
    url: str, networks: Networks, *, field: str, lookup: bool = True
) -> str:
    """``check_url``, then ``check_destination`` for its host and port."""
    check_url(url, field=field)
    parts = urlsplit(url)
    port = parts.port or (443 if parts.scheme == "https" else 80)
    await check_destination(parts.hostname or "", port, networks, field=field, lookup=lookup)
    return url


class GuardedBackend(httpcore.AsyncNetworkBackend):
    """Connects only to addresses ``networks`` permits, by address, never by name."""

    def __init__(self, networks: Networks) -> None:
        self.networks = networks
        self._inner = httpcore.AnyIOBackend()

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,  # noqa: ASYNC109 (httpcore names it)
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
        self,
        path: str,
        timeout: float | None = None,  # noqa: ASYNC109 (httpcore names it)
        socket_options: Any = None,
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
    follow_redirects: bool = False,
) -> httpx.AsyncClient:
    """An httpx client for user-chosen URLs: guarded connections (a redirect's target
    included), no redirects unless asked, no proxies from the environment."""
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
        follow_redirects=follow_redirects,
        max_redirects=5,
        trust_env=False,
        headers=list(headers),
    )
