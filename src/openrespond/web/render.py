"""What templates need beyond Jinja2: names, times, message previews, safe links, mentions.

Everything here escapes what it is given; the only markup it returns is its own.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from typing import Any
from urllib.parse import urlsplit

from markupsafe import Markup, escape

__all__ = [
    "FILTERS",
    "contact_name",
    "linkify",
    "mentions",
    "snippet",
    "when",
]

_URL = re.compile(r"https?://[^\s<>\"']+", re.IGNORECASE)
_MENTION = re.compile(r"\{\{@user\.(\d+)\}\}|@\[([^\]\s]{1,254})\]")


def contact_name(row: Any) -> str:
    first = row["first_name"] or ""
    last = row["last_name"] or ""
    return f"{first} {last}".strip() or row["email"] or row["phone"] or f"Contact {row['id']}"


def when(ts: int | None, now: int | None = None) -> str:
    """A short time: hh:mm today, else the date."""
    if not ts:
        return ""
    at = dt.datetime.fromtimestamp(ts, dt.UTC)
    today = dt.datetime.fromtimestamp(now, dt.UTC) if now else dt.datetime.now(dt.UTC)
    if at.date() == today.date():
        return at.strftime("%H:%M")
    if at.year == today.year:
        return at.strftime("%d %b")
    return at.strftime("%d %b %Y")


def iso(ts: int | None) -> str:
    return dt.datetime.fromtimestamp(ts or 0, dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def snippet(kind: str | None, content: str | dict[str, Any] | None, limit: int = 90) -> str:
    """One line of text for a message (plain text: the template escapes it)."""
    if not kind or not content:
        return ""
    doc = json.loads(content) if isinstance(content, str) else content
    text: str
    if kind == "text":
        text = doc.get("text", "")
    elif kind == "attachment":
        att = doc.get("attachment", {})
        text = (
            f"[{att.get('type', 'file')}] {att.get('fileName') or _file_name(att.get('url', ''))}"
        )
    elif kind == "email":
        text = doc.get("subject") or doc.get("text") or doc.get("message") or ""
    elif kind == "quick_reply":
        text = doc.get("title", "")
    elif kind in ("whatsapp_template", "facebook_template"):
        text = f"[template] {doc.get('template', {}).get('name', '')}"
    else:
        text = f"[{kind}]"
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _file_name(url: str) -> str:
    try:
        path = urlsplit(url).path
    except ValueError:  # e.g. "http://[::1": stored as given, shown as given
        return url
    return path.rsplit("/", 1)[-1] or url


def file_name(att: dict[str, Any]) -> str:
    return str(att.get("fileName") or _file_name(str(att.get("url", ""))))


def safe_url(url: Any) -> str | None:
    """``url`` when it is http(s), else None (no javascript: or data: links)."""
    if not isinstance(url, str):
        return None
    try:
        scheme = urlsplit(url).scheme.lower()
    except ValueError:  # not a URL a browser would follow as meant
        return None
    return url if scheme in ("http", "https") else None


def linkify(text: str | None) -> Markup:
    """Escaped text with its http(s) URLs made links (opened apart from the app)."""
    if not text:
        return Markup("")
    out: list[str] = []
    pos = 0
    for m in _URL.finditer(text):
        url = m.group(0).rstrip(".,;:!?)")
        end = m.start() + len(url)
        out.append(str(escape(text[pos : m.start()])))
        out.append(
            f'<a href="{escape(url)}" rel="noopener noreferrer nofollow" target="_blank">'
            f"{escape(url)}</a>"
        )
        pos = end
    out.append(str(escape(text[pos:])))
    return Markup("".join(out))


def mentions(text: str | None, users: dict[int, str], emails: dict[str, str]) -> Markup:
    """Escaped comment text with its mentions shown as the users' names."""
    if not text:
        return Markup("")
    out: list[str] = []
    pos = 0
    for m in _MENTION.finditer(text):
        out.append(str(linkify(text[pos : m.start()])))
        name = users.get(int(m.group(1))) if m.group(1) else emails.get(m.group(2).lower())
        out.append(f'<span class="mention">@{escape(name or m.group(0))}</span>')
        pos = m.end()
    out.append(str(linkify(text[pos:])))
    return Markup("".join(out))


def template_text(components: list[dict[str, Any]], params: list[dict[str, Any]] | None) -> str:
    """A template's header, body and footer with ``{{n}}`` filled from the message's
    parameters (by component type)."""
    given: dict[str, list[str]] = {}
    for comp in params or []:
        values = [
            str(p.get("text", p.get(p.get("type", ""), ""))) for p in comp.get("parameters", [])
        ]
        given[str(comp.get("type", "")).lower()] = values
    lines = []
    for comp in components:
        kind = str(comp.get("type", "")).lower()
        text = comp.get("text")
        if not isinstance(text, str):
            continue
        values = given.get(kind, [])

        def fill(m: re.Match[str], values: list[str] = values) -> str:
            i = int(m.group(1)) - 1
            return values[i] if 0 <= i < len(values) else m.group(0)

        lines.append(re.sub(r"\{\{(\d+)\}\}", fill, text))
    return "\n".join(lines)


def iso_ms(ms: int | None) -> str:
    """Milliseconds since the epoch as an ISO 8601 UTC time to the millisecond."""
    if ms is None:
        return ""
    return (
        dt.datetime.fromtimestamp(ms / 1000, dt.UTC).strftime("%Y-%m-%dT%H:%M:%S")
        + f".{ms % 1000:03d}Z"
    )


def age(seconds: float | None) -> str:
    """A duration as a person reads it: 850 ms, 12 s, 5 min, 3 h, 2 d; "—" for none."""
    if seconds is None:
        return "—"
    if seconds < 1:
        return f"{seconds * 1000:.0f} ms"
    if seconds < 90:
        return f"{seconds:.0f} s"
    if seconds < 90 * 60:
        return f"{seconds / 60:.0f} min"
    if seconds < 36 * 3600:
        return f"{seconds / 3600:.0f} h"
    return f"{seconds / 86400:.0f} d"


FILTERS = {
    "iso_ms": iso_ms,
    "age": age,
    "contact_name": contact_name,
    "when": when,
    "iso": iso,
    "snippet": snippet,
    "linkify": linkify,
    "file_name": file_name,
    "safe_url": safe_url,
}
