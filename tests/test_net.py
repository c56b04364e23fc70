"""Outgoing connections: URL checks, the allowed networks, sealing of stored secrets."""

from __future__ import annotations

import asyncio
import ipaddress

import httpx
import pytest

from openrespond.errors import BadRequest
from openrespond.net import ForbiddenAddress, Networks, check_url, guarded_client, parse_networks
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
    ],
)
def test_non_public_addresses_are_refused_by_default(address: str) -> None:
    assert not Networks().permits(ipaddress.ip_address(address))


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
    assert "hunter2" not in sealed and sealed.startswith("v1:")
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
