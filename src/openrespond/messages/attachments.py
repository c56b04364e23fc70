"""Files attached from the composer: checked, stored with the contact, and served at an
unguessable link that the channel fetches (``/app/files/{token}/{name}``).

A file is accepted when it is at most ``MAX_BYTES`` and its first bytes say it is one of
``KINDS`` (what it claims to be does not count); text files must be UTF-8.
"""

from __future__ import annotations

import re
import secrets
from urllib.parse import quote

from openrespond import common
from openrespond.db import Connection, Row, Scope, Transaction
from openrespond.errors import BadRequest
from openrespond.messages import repository as repo

__all__ = ["KINDS", "MAX_BYTES", "Stored", "open_file", "sniff", "store_file"]

MAX_BYTES = 16 * 1024 * 1024

# (magic prefix, content type, attachment type)
_MAGIC: tuple[tuple[bytes, str, str], ...] = (
    (b"\xff\xd8\xff", "image/jpeg", "image"),
    (b"\x89PNG\r\n\x1a\n", "image/png", "image"),
    (b"GIF87a", "image/gif", "image"),
    (b"GIF89a", "image/gif", "image"),
    (b"%PDF-", "application/pdf", "file"),
    (b"ID3", "audio/mpeg", "audio"),
    (b"OggS", "audio/ogg", "audio"),
)
KINDS = (
    "JPEG, PNG, GIF and WebP images, MP4 video, MP3 and Ogg audio, PDF, and UTF-8 text (.txt, .csv)"
)
_TEXT = {".txt": "text/plain", ".csv": "text/csv"}
_NAME = re.compile(r"[^A-Za-z0-9._ -]+")


def sniff(data: bytes, name: str) -> tuple[str, str]:
    """(content type, attachment type) of a file by its first bytes; 400 naming ``file``
    when it is not one of ``KINDS``."""
    for magic, content_type, kind in _MAGIC:
        if data.startswith(magic):
            return content_type, kind
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp", "image"
    if data[4:8] == b"ftyp":
        return "video/mp4", "video"
    if data[:2] == b"\xff\xfb" or data[:2] == b"\xff\xf3":
        return "audio/mpeg", "audio"
    suffix = name[name.rfind(".") :].lower() if "." in name else ""
    if suffix in _TEXT:
        try:
            data.decode("utf-8")
        except UnicodeDecodeError:
            raise BadRequest("file: a text file must be UTF-8") from None
        return f"{_TEXT[suffix]}; charset=utf-8", "file"
    raise BadRequest(f"file: not a kind that can be sent; these can: {KINDS}")


class Stored:
    """A stored file: its link's path and what the message says of it."""

    __slots__ = ("content_type", "kind", "name", "path")

    def __init__(self, path: str, name: str, content_type: str, kind: str) -> None:
        self.path = path
        self.name = name
        self.content_type = content_type
        self.kind = kind


async def store_file(sc: Scope[Transaction], contact_id: int, *, name: str, data: bytes) -> Stored:
    """Check and keep a file for the contact's messages; 400 naming ``file`` when it cannot
    be sent."""
    if not data:
        raise BadRequest("file: the file is empty")
    if len(data) > MAX_BYTES:
        raise BadRequest(f"file: at most {MAX_BYTES // (1024 * 1024)} MiB")
    content_type, kind = sniff(data, name)
    clean = _NAME.sub("_", name.rsplit("/", 1)[-1].rsplit("\\", 1)[-1]).strip(" .")[:120]
    clean = clean or "file"
    token = secrets.token_urlsafe(32)
    await repo.insert_file(
        sc,
        contact_id,
        token=token,
        name=clean,
        content_type=content_type,
        data=data,
        now=common.now(),
    )
    return Stored(f"/app/files/{token}/{quote(clean)}", clean, content_type, kind)


async def open_file(conn: Connection, token: str) -> Row | None:
    """A stored file by its link's token."""
    if not 20 <= len(token) <= 64:
        return None
    return await repo.file_by_token(conn, token)
