"""What each respond.io channel source can carry and how it addresses a contact."""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from typing import Any, Literal

__all__ = ["Capabilities", "capabilities_of", "channel_capabilities"]

Addressing = Literal["phone", "email", "platform"]

_CHAT = frozenset({"text", "attachment", "quick_reply", "custom_payload"})
_WHATSAPP = ("whatsapp", "whatsapp_cloud", "360dialog_whatsapp", "twilio_whatsapp")
_WHATSAPP_MORE = ("message_bird_whatsapp", "nexmo_whatsapp")


@dataclass(frozen=True, slots=True)
class Capabilities:
    """A source's addressing (what a contact's address on it is), message types, text limit."""

    addressing: Addressing
    types: frozenset[str]
    max_text: int


_TABLE: dict[str, Capabilities] = {
    **{
        s: Capabilities("phone", _CHAT | {"whatsapp_template"}, 4096)
        for s in (*_WHATSAPP, *_WHATSAPP_MORE)
    },
    **{
        s: Capabilities("phone", frozenset({"text", "attachment", "custom_payload"}), 1600)
        for s in ("twilio", "message_bird", "nexmo")
    },
    **{
        s: Capabilities("email", frozenset({"email", "text", "attachment"}), 100_000)
        for s in ("gmail", "other_email")
    },
    "facebook": Capabilities("platform", _CHAT | {"facebook_template"}, 2000),
    "instagram": Capabilities("platform", _CHAT, 1000),
    "telegram": Capabilities("platform", _CHAT, 4096),
    "line": Capabilities("platform", _CHAT, 5000),
    "viber": Capabilities("phone", _CHAT, 7000),
    "twitter": Capabilities("platform", _CHAT, 10_000),
    "wechat": Capabilities("platform", _CHAT, 2048),
    # respond.io's Custom Channel addresses contacts by phone number (its default setting).
    "custom_channel": Capabilities("phone", _CHAT, 4096),
}


def capabilities_of(source: str) -> Capabilities:
    """The capabilities of ``source`` (one of respond.io's channel sources)."""
    return _TABLE[source]


def channel_capabilities(channel: Any) -> Capabilities:
    """A channel's capabilities: its source's, except that a custom channel set to custom
    ids (``idType: custom``) addresses contacts by the bridge's own ids, not by phone."""
    caps = _TABLE[channel["source"]]
    if channel["source"] == "custom_channel":
        settings = channel["settings"]
        if isinstance(settings, str):
            settings = json.loads(settings or "{}")
        if settings.get("idType") == "custom":
            return replace(caps, addressing="platform")
    return caps
