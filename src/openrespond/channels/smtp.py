"""The ``smtp`` driver: email through a real SMTP server (aiosmtplib).

``email`` messages keep their subject, cc and bcc; ``text`` messages become a plain email;
``attachment`` messages and an email's attachments are sent as links in the body, or, with
``attachments: "attach"``, fetched (through the same address guard as webhooks, up to
``maxAttachmentBytes`` each) and attached. The SMTP server's host is checked against the
allowed networks like any other destination. The ``Message-ID`` becomes the message's
``channelMessageId``.

Faults: a 5xx answer (recipient refused, authentication failed, message rejected) fails
the message with the server's words; a 4xx answer, a timeout or a connection error is
retried with backoff until the delivery deadline.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import json
import mimetypes
import socket
import ssl
from email.message import EmailMessage
from email.utils import formataddr, formatdate, make_msgid
from typing import Any
from urllib.parse import urlsplit

import aiosmtplib
import httpx
import msgspec

from openrespond import __version__
from openrespond.channels import settings as channel_settings
from openrespond.channels.drivers import Job, Outcome
from openrespond.channels.settings import SmtpSettings
from openrespond.db import Connection
from openrespond.net import ForbiddenAddress, Networks, guarded_client, resolve
from openrespond.sealing import Sealer, SealError

__all__ = ["SmtpDriver"]


class _TooLarge(Exception):
    pass


async def _connect(host: str, port: int, networks: Networks, seconds: float) -> socket.socket:
    """A TCP connection to the first permitted address of ``host``."""
    loop = asyncio.get_running_loop()
    error: Exception | None = None
    for address in await resolve(host, port, networks):
        ip = ipaddress.ip_address(address)
        sock = socket.socket(socket.AF_INET6 if ip.version == 6 else socket.AF_INET)
        sock.setblocking(False)
        try:
            await asyncio.wait_for(loop.sock_connect(sock, (address, port)), seconds)
            return sock
        except (OSError, TimeoutError) as exc:
            sock.close()
            error = exc
    assert error is not None
    raise error


class SmtpDriver:
    """Sends email through the channel's SMTP server."""

    inline = False

    def __init__(
        self,
        sealer: Sealer,
        networks: Networks,
        *,
        tls_context: ssl.SSLContext | None = None,
    ) -> None:
        self.sealer = sealer
        self.networks = networks
        self.tls_context = tls_context
        self._http: httpx.AsyncClient | None = None

    async def close(self) -> None:
        if self._http is not None:
            await self._http.aclose()
            self._http = None

    async def send(self, job: Job) -> Outcome:
        if job.address is None:
            return Outcome(("failed",), error="the contact has no email address on this channel")
        try:
            cfg = msgspec.convert(
                {k: v for k, v in job.settings.items() if k != "password"}, SmtpSettings
            )
            password = channel_settings.secret(job.settings, "smtp", self.sealer)
        except (msgspec.ValidationError, SealError) as exc:
            return Outcome(("failed",), error=f"channel settings unusable: {exc}")
        try:
            mail = await self._compose(job, cfg)
        except _TooLarge as exc:
            return Outcome(("failed",), error=str(exc))
        except ForbiddenAddress as exc:
            return Outcome(("failed",), error=f"attachment refused: {exc}")
        except httpx.HTTPStatusError as exc:
            code = exc.response.status_code
            error = f"attachment {exc.request.url} answered {code}"
            if 400 <= code < 500 and code not in (408, 429):
                return Outcome(("failed",), error=error)
            return Outcome(retry=True, error=error)
        except httpx.HTTPError as exc:
            return Outcome(retry=True, error=f"attachment not fetched: {type(exc).__name__}: {exc}")
        try:
            sock = await _connect(cfg.host, cfg.port, self.networks, cfg.timeout_seconds)
        except ForbiddenAddress as exc:
            # Refused by the network rules: trying again would be refused again.
            return Outcome(("failed",), error=f"SMTP server address refused: {exc}")
        except (httpx.ConnectError, OSError, TimeoutError) as exc:
            return Outcome(
                retry=True, error=f"SMTP server unreachable: {type(exc).__name__}: {exc}"
            )
        # Connected to the checked address; TLS still verifies the configured host name.
        client = aiosmtplib.SMTP(
            hostname=cfg.host,
            sock=sock,
            username=cfg.username,
            password=password,
            use_tls=cfg.security == "tls",
            start_tls=cfg.security == "starttls",
            tls_context=self.tls_context,
            timeout=cfg.timeout_seconds,
        )
        try:
            await client.connect()
            await client.send_message(mail)
            with contextlib.suppress(aiosmtplib.SMTPException):
                await client.quit()
        except aiosmtplib.SMTPRecipientsRefused as exc:
            codes = [r.code for r in exc.recipients]
            reason = "; ".join(f"{r.recipient}: {r.code} {r.message}" for r in exc.recipients)
            if all(400 <= c < 500 for c in codes):
                return Outcome(retry=True, error=f"recipients deferred: {reason}"[:500])
            return Outcome(("failed",), error=f"recipients refused: {reason}"[:500])
        except aiosmtplib.SMTPResponseException as exc:
            reason = f"SMTP {exc.code} {exc.message}"[:500]
            if 400 <= exc.code < 500:
                return Outcome(retry=True, error=reason)
            return Outcome(("failed",), error=reason)
        except (aiosmtplib.SMTPException, OSError) as exc:
            return Outcome(
                retry=True, error=f"SMTP server unreachable: {type(exc).__name__}: {exc}"[:500]
            )
        finally:
            # The socket belongs to the client's transport now: closing the transport closes
            # it (after TLS has said goodbye). Closing it here as well would free its file
            # descriptor under a transport the event loop still watches.
            client.close()
        return Outcome(("sent",), channel_message_id=mail["Message-ID"])

    async def _compose(self, job: Job, cfg: SmtpSettings) -> EmailMessage:
        content: dict[str, Any] = json.loads(job.content)
        kind = content.get("type")
        mail = EmailMessage()
        mail["From"] = formataddr((cfg.from_name or "", cfg.from_))
        mail["To"] = job.address
        if cfg.reply_to:
            mail["Reply-To"] = cfg.reply_to
        mail["Date"] = formatdate(localtime=False)
        mail["Message-ID"] = make_msgid(domain=cfg.from_.rpartition("@")[2])
        mail["X-Mailer"] = f"openrespond/{__version__}"
        attachments: list[dict[str, Any]] = []
        if kind == "email":
            body = content.get("text") or content.get("message") or ""
            mail["Subject"] = content.get("subject") or ""
            if content.get("cc"):
                mail["Cc"] = ", ".join(content["cc"])
            if content.get("bcc"):
                mail["Bcc"] = ", ".join(content["bcc"])
            attachments = list(content.get("attachments") or [])
        elif kind == "attachment":
            body = ""
            mail["Subject"] = content["attachment"].get("fileName") or "Attachment"
            attachments = [content["attachment"]]
        else:
            body = content.get("text") or json.dumps(content)
            mail["Subject"] = ""
        links = []
        fetched: list[tuple[bytes, str, str]] = []
        for item in attachments:
            name = item.get("fileName") or urlsplit(item["url"]).path.rsplit("/", 1)[-1] or "file"
            if cfg.attachments == "attach":
                data, mime = await self._fetch(item["url"], cfg.max_attachment_bytes)
                fetched.append((data, mime, name))
            else:
                links.append(f"{name}: {item['url']}")
        if links:
            body = (body + "\n\n" if body else "") + "\n".join(links)
        mail.set_content(body or " ")
        for data, mime, name in fetched:
            maintype, _, subtype = mime.partition("/")
            mail.add_attachment(
                data, maintype=maintype, subtype=subtype or "octet-stream", filename=name
            )
        return mail

    async def _fetch(self, url: str, cap: int) -> tuple[bytes, str]:
        if self._http is None:
            self._http = guarded_client(self.networks, timeout=30)
        async with self._http.stream("GET", url) as resp:
            resp.raise_for_status()
            data = b""
            async for chunk in resp.aiter_bytes():
                data += chunk
                if len(data) > cap:
                    raise _TooLarge(f"attachment {url[:200]} is larger than {cap} bytes")
            mime = resp.headers.get("content-type", "").split(";")[0].strip()
        if "/" not in mime:
            mime = mimetypes.guess_type(url)[0] or "application/octet-stream"
        return data, mime

    async def record(
        self, tx: Connection, done: list[tuple[Job, Outcome]], *, worker: str, now: int
    ) -> None:
        """Nothing beyond the message itself."""
