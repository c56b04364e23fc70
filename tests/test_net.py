"""Outgoing connections: URL checks, the allowed networks, sealing of stored secrets."""

from __future__ import annotations

import asyncio
import ipaddress

import httpx
import pytest

from openrespond.errors import BadRequest
from openrespond.net import (
    ForbiddenAddress,
    Networks,
    check_host,
    check_url,
    guarded_client,
    parse_networks,
    resolve,
)
from openrespond.sealing import Sealer, SealError
from tests.webhooks.receiver import receiving


@pytest.mark.parametrize(
    "address",
    [
        "127.0.0.1",
        "10.0.0.1",
        "172.16.5.4",
        "192.168.0.1",
        "169.254.169.254",
        "100.64.0.1",
        "0.0.0.0",
        "224.0.0.1",
        "::1",
        "fe80::1",
        "fc00::1",
        "::ffff:127.0.0.1",
        "::ffff:10.0.0.1",
        # IPv6 forms that lead to a loopback or private IPv4 address
        "::127.0.0.1",  # IPv4-compatible
        "::10.0.0.1",
        "::ffff:0:7f00:1",  # IPv4-translated (SIIT)
        "64:ff9b::7f00:1",  # NAT64 of 127.0.0.1
        "64:ff9b::a9fe:a9fe",  # NAT64 of 169.254.169.254
        "64:ff9b:1::7f00:1",  # NAT64 local-use prefix: never public
        "2002:7f00:1::",  # 6to4 of 127.0.0.1
        "2002:c0a8:1::1",  # 6to4 of 192.168.0.1
        "2001:0:4136:e378:8000:63bf:80ff:fffe",  # Teredo
    ],
)
def test_non_public_addresses_are_refused_by_default(address: str) -> None:
    assert not Networks().permits(ipaddress.ip_address(address))


def test_embedding_forms_of_public_addresses_pass_and_allowed_networks_apply_inside() -> None:
    assert Networks().permits(ipaddress.ip_address("64:ff9b::808:808"))  # NAT64 of 8.8.8.8
    assert Networks().permits(ipaddress.ip_address("2002:808:808::1"))  # 6to4 of 8.8.8.8
    allowed = parse_networks("127.0.0.0/8")
    assert allowed.permits(ipaddress.ip_address("64:ff9b::7f00:1"))
    assert not allowed.permits(ipaddress.ip_address("64:ff9b::a00:1"))


@pytest.mark.parametrize(
    "host", ["a..com", "x." + "a" * 64 + ".com", "-" * 300, "exa mple.com", "bad\x01host"]
)
def test_host_names_no_resolver_can_take_are_refused_before_any_lookup(host: str) -> None:
    with pytest.raises(BadRequest, match="host name"):
        check_host(host, field="url")
    with pytest.raises(ForbiddenAddress, match="not a valid host name"):
        asyncio.run(resolve("a..com", 80, Networks()))
    with pytest.raises(BadRequest, match="url"):
        check_url("http://a..com/hook", field="url")


def test_the_guarded_client_refuses_an_ipv6_form_of_loopback() -> None:
    async def go() -> None:
        with receiving() as rx:
            port = rx.url.split(":")[-1].split("/")[0]
            async with guarded_client(Networks()) as client:
                for host in ("[::127.0.0.1]", "[64:ff9b::7f00:1]", "[2002:7f00:1::]"):
                    with pytest.raises(ForbiddenAddress):
                        await client.get(f"http://{host}:{port}/x")
            assert rx.requests == []

    asyncio.run(go())


def test_public_addresses_and_allowed_networks_pass() -> None:
    assert Networks().permits(ipaddress.ip_address("93.184.216.34"))
    assert Networks().permits(ipaddress.ip_address("2606:2800:220:1::1"))
    allowed = parse_networks("127.0.0.0/8, ::1")
    assert allowed.permits(ipaddress.ip_address("127.0.0.2"))
    assert allowed.permits(ipaddress.ip_address("::ffff:127.0.0.1"))
    assert not allowed.permits(ipaddress.ip_address("10.0.0.1"))
    assert parse_networks("*").permits(ipaddress.ip_address("10.0.0.1"))
    with pytest.raises(ValueError, match="not a network"):
        parse_networks("localhost")


@pytest.mark.parametrize(
    "url",
    [
        "",
        "example.com",
        "ftp://example.com/",
        "http://",
        "https://u:p@example.com/",
        "http://exa mple.com/",
        "http://example.com:99999/",
        "http://example.com:0/",
        "https://example.com/" + "a" * 2100,
    ],
)
def test_malformed_urls_are_refused(url: str) -> None:
    with pytest.raises(BadRequest, match="url"):
        check_url(url, field="url")


def test_the_guarded_client_refuses_loopback_unless_allowed() -> None:
    with receiving() as rx:

        async def go() -> None:
            async with guarded_client(Networks()) as strict:
                with pytest.raises(ForbiddenAddress):
                    await strict.post(rx.url, content=b"{}")
                # a name resolving to loopback is refused the same way
                with pytest.raises(ForbiddenAddress):
                    await strict.post(rx.url.replace("127.0.0.1", "localhost"), content=b"{}")
            assert rx.requests == []
            async with guarded_client(parse_networks("127.0.0.0/8")) as allowed:
                r = await allowed.post(rx.url, content=b"{}")
                assert r.status_code == 200
            assert len(rx.requests) == 1

        asyncio.run(go())


def test_the_guarded_client_does_not_follow_redirects() -> None:
    with receiving(script=[(302, {"Location": "http://10.0.0.1/"}, 0)]) as rx:

        async def go() -> None:
            async with guarded_client(parse_networks("127.0.0.0/8")) as client:
                r = await client.post(rx.url, content=b"{}")
                assert r.status_code == 302

        asyncio.run(go())
        assert len(rx.requests) == 1


def test_the_guarded_client_ignores_proxy_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HTTP_PROXY", "http://10.9.9.9:3128")
    monkeypatch.setenv("ALL_PROXY", "http://10.9.9.9:3128")
    with receiving() as rx:

        async def go() -> None:
            async with guarded_client(parse_networks("127.0.0.0/8"), timeout=2) as client:
                assert (await client.post(rx.url, content=b"{}")).status_code == 200

        asyncio.run(go())


def test_sealed_secrets_open_only_with_the_same_key_and_purpose() -> None:
    sealer = Sealer("server-secret-one-0123456789")
    sealed = sealer.seal("hunter2-password", purpose="smtp password")
    assert "hunter2" not in sealed
    assert sealed.startswith("v1:")
    assert sealed != sealer.seal("hunter2-password", purpose="smtp password")  # fresh nonce
    assert sealer.open(sealed, purpose="smtp password") == "hunter2-password"
    with pytest.raises(SealError):
        sealer.open(sealed, purpose="webhook signing key")
    with pytest.raises(SealError):
        Sealer("server-secret-two-0123456789").open(sealed, purpose="smtp password")
    with pytest.raises(SealError):
        sealer.open(sealed[:-4] + "AAAA", purpose="smtp password")
    with pytest.raises(SealError):
        sealer.open("plain text", purpose="smtp password")


def test_httpx_transport_errors_are_what_the_guard_raises() -> None:
    assert issubclass(ForbiddenAddress, httpx.TransportError)
