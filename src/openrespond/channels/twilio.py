"""The ``twilio`` driver: Twilio Programmable Messaging, for SMS/MMS (source ``twilio``) and
WhatsApp through Twilio (source ``twilio_whatsapp``).

Outgoing: ``POST {apiBaseUrl}/2010-04-01/Accounts/{accountSid}/Messages.json`` (a form, HTTP
Basic auth with the account SID and auth token, or an API key), ``To``/``From`` (or
``MessagingServiceSid``), ``Body``, ``MediaUrl``, and for WhatsApp templates ``ContentSid`` +
``ContentVariables`` (Twilio refuses free-form bodies outside the 24-hour window, 63016). The
message's ``sid`` is its ``channelMessageId``; with a public address, ``StatusCallback`` asks
Twilio to report ``sent``/``delivered``/``read``/``undelivered``/``failed`` back.

Incoming: form posts, signed with ``X-Twilio-Signature`` exactly as twilio-python's
``RequestValidator`` checks it (HMAC-SHA1 of the URL Twilio requested plus the sorted
parameters, keyed with the auth token; the URL with and without its port; ``bodySHA256`` for
JSON bodies; HMAC-SHA256 with a webhook SharedKey when Twilio says so).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
from collections.abc import Iterable
from typing import Any
from urllib.parse import parse_qs, parse_qsl, urlencode, urlsplit, urlunsplit

import httpx

from openrespond import common
from openrespond.channels import provider_channels
from openrespond.channels import settings as channel_settings
from openrespond.channels.drivers import Job, Outcome
from openrespond.channels.providers import (
    MAX_REASON,
    Incoming,
    MediaFailed,
    MediaRef,
    Pools,
    ProviderDriver,
    StatusReport,
    download,
)
from openrespond.db import Database
from openrespond.messages.schemas import ContactProfile, TextMessage
from openrespond.net import ForbiddenAddress, Networks
from openrespond.sealing import Sealer, SealError

__all__ = [
    "TwilioDriver",
    "compute_signature",
    "fetch_media",
    "parse",
    "valid_signature",
]

# https://www.twilio.com/docs/api/errors (codes named in the research notes)
_RETRY = {20429, 20500, 20503}
_CREDENTIALS = {20003, 20005, 20006}
_STATUS = {
    "sent": "sent",
    "delivered": "delivered",
    "read": "read",
    "undelivered": "failed",
    "failed": "failed",
    "canceled": "failed",
}
_WA = "whatsapp:"
_PLACEHOLDER = re.compile(r"\{\{\s*(\d+)\s*\}\}")


def _base(settings: dict[str, Any]) -> str:
    return str(settings.get("apiBaseUrl") or "https://api.twilio.com").rstrip("/")


def _auth(settings: dict[str, Any], sealer: Sealer) -> tuple[str, str]:
    """HTTP Basic credentials: the API key when one is set, else the account's."""
    if settings.get("apiKeySid"):
        secret = channel_settings.secret(settings, "twilio", sealer, "apiKeySecret")
        if secret:
            return str(settings["apiKeySid"]), secret
    token = channel_settings.secret(settings, "twilio", sealer, "authToken")
    return str(settings["accountSid"]), token or ""


def _whatsapp(job_source: str) -> bool:
    return job_source == "twilio_whatsapp"


def _address(address: str, whatsapp: bool) -> str:
    return f"{_WA}{address}" if whatsapp and not address.startswith(_WA) else address


def content_variables(template: dict[str, Any]) -> dict[str, str]:
    """respond.io's template parameters as Twilio's ``ContentVariables``: the body's text
    parameters numbered from 1 (``{{1}}``, ``{{2}}``…), then the header's and buttons'."""
    variables: dict[str, str] = {}
    n = 0
    for component in template.get("components") or []:
        params = component.get("parameters") or []
        for button in component.get("buttons") or []:
            params = [*params, *(button.get("parameters") or [])]
        for param in params:
            if isinstance(param, dict) and param.get("type") == "text":
                n += 1
                variables[str(n)] = str(param.get("text", ""))
    return variables


class TwilioDriver(ProviderDriver):
    """Sends through Twilio's Messages API."""

    def __init__(
        self,
        sealer: Sealer,
        networks: Networks,
        *,
        public_url: str | None,
        db: Database | None = None,
        timeout_seconds: float = 10,
    ) -> None:
        super().__init__(sealer, networks, timeout_seconds=timeout_seconds)
        self.public_url = public_url.rstrip("/") if public_url else None
        self.db = db  # where templates' Content SIDs (HX…) are looked up

    async def form(self, job: Job) -> list[tuple[str, str]]:
        """The Messages API form for ``job``."""
        content: dict[str, Any] = json.loads(job.content)
        whatsapp = _whatsapp(job.source)
        settings = job.settings
        form: list[tuple[str, str]] = [("To", _address(job.address or "", whatsapp))]
        if settings.get("messagingServiceSid"):
            form.append(("MessagingServiceSid", str(settings["messagingServiceSid"])))
        else:
            form.append(("From", _address(str(settings["from"]), whatsapp)))
        kind = content["type"]
        if kind == "text":
            form.append(("Body", content["text"]))
        elif kind == "attachment":
            form.append(("MediaUrl", content["attachment"]["url"]))
        elif kind == "quick_reply":
            choices = "\n".join(f"{i}. {r}" for i, r in enumerate(content["replies"], 1))
            form.append(("Body", f"{content['title']}\n{choices}"))
        elif kind == "whatsapp_template":
            template = content["template"]
            sid = None
            if self.db is not None:
                sid = await provider_channels.template_provider_id(
                    self.db.reader(),
                    job.channel_id,
                    name=template["name"],
                    language_code=template["languageCode"],
                )
            if sid is None and re.fullmatch(r"HX[0-9a-fA-F]{32}", template["name"]):
                sid = template["name"]
            if sid is None:
                raise ValueError(
                    f"template {template['name']!r} has no Twilio Content SID (HX…): add it"
                    " with the control API's providerId, or name the template by its SID"
                )
            form.append(("ContentSid", sid))
            variables = content_variables(template)
            if variables:
                form.append(("ContentVariables", json.dumps(variables)))
        elif kind == "custom_payload":
            for key, value in content["payload"].items():
                if key in ("To", "From", "MessagingServiceSid", "StatusCallback"):
                    continue
                values = value if isinstance(value, list) else [value]
                form.extend((str(key), str(v)) for v in values)
        else:
            raise ValueError(f"Twilio cannot carry {kind} messages")
        if self.public_url:
            form.append(("StatusCallback", f"{self.public_url}/hooks/twilio/{job.channel_id}"))
        return form

    async def send(self, job: Job) -> Outcome:
        if job.address is None:
            return Outcome(("failed",), error="the contact has no phone number on this channel")
        try:
            user, password = _auth(job.settings, self.sealer)
        except SealError as exc:
            return Outcome(("failed",), error=f"channel credentials unusable: {exc}")
        try:
            form = await self.form(job)
        except (ValueError, KeyError) as exc:
            return Outcome(("failed",), error=str(exc)[:MAX_REASON])
        url = (
            f"{_base(job.settings)}/2010-04-01/Accounts/{job.settings['accountSid']}/Messages.json"
        )
        client, gate = self.pools.get(url)
        try:
            async with gate:
                resp = await client.post(
                    url,
                    content=urlencode(form).encode(),
                    headers={"Content-Type": "application/x-www-form-urlencoded"},
                    auth=(user, password),
                )
        except ForbiddenAddress as exc:
            return Outcome(("failed",), error=f"Twilio address refused: {exc}")
        except httpx.TimeoutException:
            return Outcome(retry=True, error="Twilio gave no answer in time")
        except httpx.HTTPError as exc:
            return Outcome(retry=True, error=f"Twilio unreachable: {type(exc).__name__}")
        if resp.status_code in (200, 201):
            try:
                sid = str(resp.json()["sid"])
            except (ValueError, KeyError, TypeError):
                return Outcome(retry=True, error="Twilio answered without a message sid")
            self.note(job.channel_id, None)
            return Outcome(("sent",), channel_message_id=sid[:255])
        code, reason = _error(resp)
        if code in _RETRY or resp.status_code == 429 or resp.status_code >= 500:
            retry_after = resp.headers.get("retry-after", "")
            wait = int(retry_after) * 1000 if retry_after.isdigit() else None
            return Outcome(retry=True, error=reason, retry_in_ms=wait)
        if code in _CREDENTIALS or resp.status_code in (401, 403):
            reason = f"channel credentials refused: {reason}"[:MAX_REASON]
            self.note(job.channel_id, reason)
        return Outcome(("failed",), error=reason)


def _error(resp: httpx.Response) -> tuple[int | None, str]:
    """Twilio's error code and message (both the classic and the RFC 9457 shape)."""
    try:
        data = resp.json()
    except ValueError:
        data = None
    if not isinstance(data, dict):
        text = resp.text.strip()[:200]
        return None, f"HTTP {resp.status_code}" + (f": {text}" if text else "")
    code = data.get("code")
    code = code if isinstance(code, int) and not isinstance(code, bool) else None
    message = str(data.get("message") or data.get("detail") or data.get("title") or "error")
    return code, f"{message} (Twilio error {code})"[:MAX_REASON]


# --- signatures ---------------------------------------------------------------------------


def compute_signature(
    url: str, params: Iterable[tuple[str, str]], key: str, *, sha256: bool = False
) -> str:
    """Twilio's signature of a request: the URL, then each parameter name followed by its
    values, names and values sorted (a repeated pair counted once), HMAC-SHA1 (or SHA-256
    for a SharedKey) with ``key``, base64."""
    by_name: dict[str, set[str]] = {}
    for name, value in params:
        by_name.setdefault(name, set()).add(value)
    text = url + "".join(
        name + value for name in sorted(by_name) for value in sorted(by_name[name])
    )
    digest = hmac.new(key.encode(), text.encode(), hashlib.sha256 if sha256 else hashlib.sha1)
    return base64.b64encode(digest.digest()).decode()


def _with_port(url: str) -> str:
    parts = urlsplit(url)
    if parts.port:
        return url
    port = 443 if parts.scheme == "https" else 80
    return urlunsplit(parts._replace(netloc=f"{parts.netloc}:{port}"))


def _without_port(url: str) -> str:
    parts = urlsplit(url)
    if not parts.port:
        return url
    return urlunsplit(parts._replace(netloc=parts.netloc.rsplit(":", 1)[0]))


def valid_signature(
    url: str,
    body: bytes,
    content_type: str,
    signature: str | None,
    key: str,
    *,
    sha256: bool = False,
) -> bool:
    """Whether ``signature`` is Twilio's for this request (as ``RequestValidator.validate``
    decides: the URL with or without its port; a JSON body by its ``bodySHA256``)."""
    if not signature:
        return False
    body_ok = True
    params: list[tuple[str, str]] = []
    query = parse_qs(urlsplit(url).query)
    if "bodySHA256" in query and not content_type.startswith("application/x-www-form-urlencoded"):
        expected = hashlib.sha256(body).hexdigest()
        body_ok = hmac.compare_digest(
            expected.encode(), query["bodySHA256"][0].encode("utf-8", "replace")
        )
    else:
        params = parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True)
    good = False
    for candidate in (_without_port(url), _with_port(url)):
        computed = compute_signature(candidate, params, key, sha256=sha256)
        good |= hmac.compare_digest(computed.encode(), signature.strip().encode("utf-8", "replace"))
    return body_ok and good


# --- incoming -----------------------------------------------------------------------------


def _e164(raw: str) -> str:
    return raw.removeprefix(_WA).strip()


def parse(body: bytes) -> list[Incoming | StatusReport]:
    """An inbound message (with its media) or a status callback, from Twilio's form."""
    form: dict[str, str] = dict(parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True))
    sid = form.get("MessageSid") or form.get("SmsMessageSid") or form.get("SmsSid")
    if not sid:
        return []
    if "Body" not in form and "NumMedia" not in form:
        value = _STATUS.get(form.get("MessageStatus") or form.get("SmsStatus") or "")
        if value is None:
            return []  # queued, sending, accepted…: nothing to show yet
        reason = None
        if value == "failed":
            code = form.get("ErrorCode") or "?"
            reason = (
                f"{form.get('ErrorMessage') or form.get('MessageStatus')} (Twilio error {code})"
            )
        return [StatusReport(sid, value, common.now_ms(), reason)]  # type: ignore[arg-type]
    address = _e164(form.get("From", ""))
    if not address:
        return []
    name = (form.get("ProfileName") or "").strip()
    first, _, last = name.partition(" ")
    profile = ContactProfile(first_name=first[:255], last_name=last[:255] or None) if name else None
    base: dict[str, Any] = {"address": address, "at_ms": common.now_ms(), "profile": profile}
    items: list[Incoming | StatusReport] = []
    text = form.get("Body") or form.get("ButtonText") or ""
    if text.strip():
        items.append(Incoming(provider_id=sid, message=TextMessage(text[:100_000]), **base))
    try:
        count = min(int(form.get("NumMedia") or 0), 10)
    except ValueError:
        count = 0
    for n in range(count):
        url = form.get(f"MediaUrl{n}")
        if not url:
            continue
        content_type = form.get(f"MediaContentType{n}") or ""
        kind = content_type.split("/", 1)[0]
        media = MediaRef(
            kind={"image": "image", "video": "video", "audio": "audio"}.get(kind, "file"),
            ref=url,
            content_type=content_type or None,
        )
        provider_id = sid if not items else f"{sid}:{n}"
        items.append(Incoming(provider_id=provider_id, media=media, **base))
    return items


async def fetch_media(
    pools: Pools, settings: dict[str, Any], ref: MediaRef, *, sealer: Sealer, limit: int
) -> tuple[bytes, str | None]:
    """A MediaUrl's bytes, with the account's credentials (Twilio's media is not public;
    it redirects to storage, where the credentials are not sent on)."""
    if not ref.ref.startswith(_base(settings) + "/"):
        raise MediaFailed("the media link is not on the channel's Twilio API")
    user, password = _auth(settings, sealer)
    auth = base64.b64encode(f"{user}:{password}".encode()).decode()
    data, content_type = await download(
        pools, ref.ref, headers={"Authorization": f"Basic {auth}"}, limit=limit
    )
    return data, ref.content_type or content_type
