"""The smtp driver against real SMTP servers on loopback (aiosmtpd): what arrives, auth,
STARTTLS, attachments, refusals and deferrals."""

from __future__ import annotations

import asyncio
import contextlib
import datetime
import email
import email.policy
import socket
import ssl
import threading
import time
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from tests.conftest import Rows, Workspace
from tests.server_process import free_port
from tests.webhooks.receiver import receiving

USER, PASSWORD = "mailer", "s3cret-smtp-password"
# The plain test server takes AUTH without TLS on loopback; aiosmtpd warns about that.
pytestmark = pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")


class Inbox:
    """An aiosmtpd handler: refuses recipients on ``refuse`` (550) or ``defer`` (450, once
    per address), keeps every accepted message."""

    def __init__(self) -> None:
        self.messages: list[tuple[str, list[str], email.message.EmailMessage]] = []
        self.refuse: set[str] = set()
        self.defer: set[str] = set()
        self.lock = threading.Lock()

    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, options: Any
    ) -> str:
        if address in self.refuse:
            return "550 5.1.1 no such mailbox here"
        if address in self.defer:
            self.defer.discard(address)
            return "450 4.2.1 mailbox busy, try later"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        parsed = email.message_from_bytes(envelope.content, policy=email.policy.default)
        with self.lock:
            self.messages.append((envelope.mail_from, list(envelope.rcpt_tos), parsed))
        return "250 Message accepted"

    def wait(self, count: int, timeout: float = 10) -> list[tuple[str, list[str], Any]]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if len(self.messages) >= count:
                return self.messages
            time.sleep(0.02)
        raise AssertionError(f"expected {count} mail(s), got {len(self.messages)}")


def _auth(server: Any, session: Any, envelope: Any, mechanism: str, data: Any) -> AuthResult:
    ok = isinstance(data, LoginPassword) and (data.login, data.password) == (
        USER.encode(),
        PASSWORD.encode(),
    )
    return AuthResult(success=ok, handled=False)


@pytest.fixture
def smtp() -> Iterator[tuple[Inbox, int]]:
    inbox = Inbox()
    port = free_port()
    controller = Controller(
        inbox,
        hostname="127.0.0.1",
        port=port,
        authenticator=_auth,
        auth_required=True,
        auth_require_tls=False,
    )
    controller.start()
    try:
        yield inbox, port
    finally:
        controller.stop()


def _channel(ws: Workspace, port: int, **extra: Any) -> dict[str, Any]:
    settings = {
        "host": "127.0.0.1",
        "port": port,
        "security": "none",
        "username": USER,
        "password": PASSWORD,
        "from": "support@acme.example",
        "fromName": "Acme Support",
        **extra,
    }
    r = ws.control.post(
        f"/control/workspaces/{ws.wid}/channels",
        json={"name": "Mail", "source": "other_email", "driver": "smtp", "settings": settings},
    )
    assert r.status_code == 200, r.text
    channel: dict[str, Any] = r.json()
    return channel


def _send(ws: Workspace, contact: int, channel: int, message: dict[str, Any]) -> int:
    r = ws.api.post(
        f"/contact/id:{contact}/message", json={"channelId": channel, "message": message}
    )
    assert r.status_code == 200, r.text
    message_id: int = r.json()["messageId"]
    return message_id


def _wait_status(ws: Workspace, contact: int, message_id: int, value: str) -> dict[str, Any]:
    deadline = time.monotonic() + 10
    record: dict[str, Any] = {}
    while time.monotonic() < deadline:
        record = ws.api.get(f"/contact/id:{contact}/message/{message_id}").json()
        if record["status"][-1]["value"] == value:
            return record
        time.sleep(0.02)
    raise AssertionError(f"message {message_id} never got {value}: {record.get('status')}")


def test_an_email_arrives_as_sent_and_the_password_stays_sealed(
    ws: Workspace, smtp: tuple[Inbox, int], db_rows: Rows
) -> None:
    inbox, port = smtp
    channel = _channel(ws, port)
    contact = ws.contact("Ada", email="ada@example.com")
    message_id = _send(
        ws,
        contact,
        channel["id"],
        {
            "type": "email",
            "subject": "Your order",
            "text": "It has shipped.",
            "cc": ["cc@example.com"],
            "bcc": ["audit@example.com"],
            "attachments": [
                {
                    "type": "file",
                    "url": "https://files.example.com/inv-7.pdf",
                    "fileName": "invoice.pdf",
                }
            ],
        },
    )
    ((sender, rcpts, mail),) = inbox.wait(1)
    record = _wait_status(ws, contact, message_id, "sent")
    assert sender == "support@acme.example"
    assert sorted(rcpts) == ["ada@example.com", "audit@example.com", "cc@example.com"]
    assert mail["From"] == "Acme Support <support@acme.example>"
    assert mail["To"] == "ada@example.com"
    assert mail["Cc"] == "cc@example.com"
    assert mail["Bcc"] is None
    assert mail["Subject"] == "Your order"
    body = mail.get_content()
    assert "It has shipped." in body
    assert "invoice.pdf: https://files.example.com/inv-7.pdf" in body
    assert record["channelMessageId"] == mail["Message-ID"]
    (settings,) = db_rows("SELECT settings FROM channels WHERE id = ?", channel["id"])
    assert PASSWORD not in settings[0]
    assert PASSWORD not in ws.control.get(f"/control/workspaces/{ws.wid}/channels").text


def test_attachments_can_be_fetched_and_attached_within_a_size_cap(
    ws: Workspace, smtp: tuple[Inbox, int]
) -> None:
    inbox, port = smtp
    pdf = b"%PDF-1.4 tiny test file"
    with receiving(body=pdf, script=[(200, {"content-type": "application/pdf"}, 0)] * 2) as files:
        channel = _channel(ws, port, attachments="attach", maxAttachmentBytes=100)
        contact = ws.contact("Bo", email="bo@example.com")
        message_id = _send(
            ws,
            contact,
            channel["id"],
            {
                "type": "attachment",
                "attachment": {"type": "file", "url": files.url, "fileName": "terms.pdf"},
            },
        )
        ((_, _, mail),) = inbox.wait(1)
        _wait_status(ws, contact, message_id, "sent")
        (part,) = list(mail.iter_attachments())
        assert part.get_filename() == "terms.pdf"
        assert part.get_content_type() == "application/pdf"
        assert part.get_content() == pdf
        small = _channel(ws, port, attachments="attach", maxAttachmentBytes=10)
        failed = _send(
            ws,
            contact,
            small["id"],
            {"type": "attachment", "attachment": {"type": "file", "url": files.url}},
        )
        record = _wait_status(ws, contact, failed, "failed")
        assert "larger than 10 bytes" in record["status"][-1]["message"]
        assert len(inbox.messages) == 1


def test_refused_recipients_fail_and_deferred_ones_are_retried(
    ws: Workspace, smtp: tuple[Inbox, int]
) -> None:
    inbox, port = smtp
    inbox.refuse.add("gone@example.com")
    inbox.defer.add("busy@example.com")
    channel = _channel(ws, port)
    gone = ws.contact("Gone", email="gone@example.com")
    busy = ws.contact("Busy", email="busy@example.com")
    failed = _send(ws, gone, channel["id"], {"type": "text", "text": "hello"})
    later = _send(ws, busy, channel["id"], {"type": "text", "text": "hello"})
    record = _wait_status(ws, gone, failed, "failed")
    assert "550" in record["status"][-1]["message"]
    assert "no such mailbox" in record["status"][-1]["message"]
    _wait_status(ws, busy, later, "sent")
    assert [rcpts for _, rcpts, _ in inbox.wait(1)] == [["busy@example.com"]]


def test_wrong_credentials_fail_the_message(ws: Workspace, smtp: tuple[Inbox, int]) -> None:
    _, port = smtp
    channel = _channel(ws, port, password="not-the-password")
    contact = ws.contact("Cy", email="cy@example.com")
    record = _wait_status(
        ws, contact, _send(ws, contact, channel["id"], {"type": "text", "text": "x"}), "failed"
    )
    assert "535" in record["status"][-1]["message"]


@pytest.mark.parametrize(
    ("settings", "word"),
    [
        ({"port": 25}, "host"),
        ({"host": "mail.example.com"}, "from"),
        ({"host": "mail.example.com", "from": "not-an-email"}, "from"),
        ({"host": "mail.example.com", "from": "a@b.io", "security": "ssl3"}, "security"),
        ({"host": "mail.example.com", "from": "a@b.io", "password": "x"}, "username"),
        ({"host": "mail.example.com", "from": "a@b.io", "port": 0}, "port"),
    ],
)
def test_bad_smtp_settings_are_refused(ws: Workspace, settings: dict[str, Any], word: str) -> None:
    r = ws.control.post(
        f"/control/workspaces/{ws.wid}/channels",
        json={"name": "Mail", "source": "other_email", "driver": "smtp", "settings": settings},
    )
    assert r.status_code == 400, r.text
    assert word in r.json()["message"], r.text
    r = ws.control.post(
        f"/control/workspaces/{ws.wid}/channels",
        json={
            "name": "Mail",
            "source": "whatsapp_cloud",
            "driver": "smtp",
            "settings": {"host": "h", "from": "a@b.io"},
        },
    )
    assert r.status_code == 400
    assert "source" in r.json()["message"]


def _certificate(tmp: Path) -> tuple[Path, Path]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName("localhost")]), critical=False)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = tmp / "cert.pem", tmp / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_path, key_path


@contextlib.contextmanager
def _tls_listener(context: ssl.SSLContext) -> Iterator[int]:
    """A TCP listener that starts TLS on every connection with ``context`` and closes it."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(4)
    sock.settimeout(0.1)
    stop = threading.Event()

    def serve() -> None:
        while not stop.is_set():
            try:
                conn, _ = sock.accept()
            except TimeoutError:
                continue
            conn.settimeout(5)
            try:
                with context.wrap_socket(conn, server_side=True):
                    pass
            except (ssl.SSLError, OSError):
                pass
            finally:
                conn.close()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield sock.getsockname()[1]
    finally:
        stop.set()
        thread.join(5)
        sock.close()


def test_starttls_is_used_and_the_certificate_checked(tmp_path: Path) -> None:
    """A server that requires STARTTLS, with a certificate for "localhost": the driver
    upgrades, verifies the certificate against the configured host name, and delivers."""
    from openrespond.channels.drivers import Job, Outcome
    from openrespond.channels.settings import PURPOSE
    from openrespond.channels.smtp import SmtpDriver
    from openrespond.net import parse_networks
    from openrespond.sealing import Sealer

    cert, key = _certificate(tmp_path)
    server_tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server_tls.load_cert_chain(cert, key)
    inbox, port = Inbox(), free_port()
    controller = Controller(
        inbox, hostname="127.0.0.1", port=port, tls_context=server_tls, require_starttls=True
    )
    controller.start()
    sealer = Sealer("test-server-secret-0123456789")
    job = Job(
        job_id=1,
        attempts=1,
        queued_ms=0,
        message_id=1,
        workspace_id=1,
        contact_id=1,
        channel_id=1,
        type="text",
        content='{"type":"text","text":"over TLS"}',
        driver="smtp",
        source="other_email",
        settings={
            "host": "localhost",
            "port": port,
            "security": "starttls",
            "from": "a@acme.example",
        },
        address="ada@example.com",
    )
    trusting = ssl.create_default_context(cafile=str(cert))

    async def sends() -> list[Outcome]:
        # several in a row on one event loop, as a worker sends them (each connection's
        # descriptor is released by its transport, never under it)
        driver = SmtpDriver(sealer, loopback, tls_context=trusting)
        outcomes = [await driver.send(job) for _ in range(5)]
        assert [o.statuses for o in outcomes] == [("sent",)] * 5, outcomes
        outcomes = outcomes[:1]
        # with the system's trust store the self-signed certificate is refused (against a
        # bare TLS listener, since aiosmtpd leaks its side of a failed handshake)
        with _tls_listener(server_tls) as tls_port:
            implicit = replace(job, settings={**job.settings, "port": tls_port, "security": "tls"})
            outcomes.append(await SmtpDriver(sealer, loopback).send(implicit))
        # a server on a network that is not allowed is not contacted at all
        outcomes.append(await SmtpDriver(sealer, parse_networks("")).send(job))
        await asyncio.sleep(0.3)  # TLS connections finish closing before the loop ends
        return outcomes

    loopback = parse_networks("127.0.0.0/8")
    try:
        sent, untrusted, forbidden = asyncio.run(sends())
        assert sent.statuses == ("sent",), sent
        (_, rcpts, mail) = inbox.wait(5)[0]
        assert rcpts == ["ada@example.com"]
        assert "over TLS" in mail.get_content()
        assert untrusted.retry
        assert "certificate" in (untrusted.error or "").lower()
        # refused by the network rules: failed at once, never retried
        assert not forbidden.retry
        assert forbidden.statuses == ("failed",)
        assert "refused" in (forbidden.error or "")
        assert len(inbox.messages) == 5
        assert sealer.open(sealer.seal("x", purpose=PURPOSE), purpose=PURPOSE) == "x"
    finally:
        controller.stop()
