"""Files attached from the composer: checked, stored with the contact, and served at an
unguessable link that the channel fetches (``/app/files/{token}/{name}``).

A file is accepted when it is at most ``MAX_BYTES`` and its first bytes say it is one of
``KINDS`` (what it claims to be does not count); text files must be UTF-8.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import secrets
import time
from pathlib import Path
from urllib.parse import quote

from openrespond import common
from openrespond.db import Connection, Row, Scope, Transaction
from openrespond.errors import BadRequest
from openrespond.messages import repository as repo

__all__ = ["KINDS", "MAX_BYTES", "MediaDirectory", "Stored", "open_file", "sniff", "store_file"]

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


class MediaDirectory:
    """Files kept in a directory every process shares (``OPENRESPOND_MEDIA_DIR``) instead of
    the database. A file is written and synced before the row naming it is committed; files
    no row names (their contact deleted or merged away, a write that never committed) are
    swept once they are ``grace_seconds`` old (a day: far longer than any batch of the
    inbound worker takes between writing a file and committing its row)."""

    def __init__(self, path: str | Path, *, grace_seconds: float = 86_400) -> None:
        self.path = Path(path)
        self.grace_seconds = grace_seconds

    async def write(self, data: bytes) -> str:
        """Keep ``data``; the name to store as the file's location."""
        name = secrets.token_hex(16)
        await asyncio.to_thread(self._write, name, data)
        return name

    def _write(self, name: str, data: bytes) -> None:
        part = self.path / f".{name}.part"
        with open(part, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(part, self.path / name)
        fd = os.open(self.path, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)

    async def read(self, name: str) -> bytes | None:
        """A kept file's bytes (None when it is gone)."""
        if not re.fullmatch(r"[0-9a-f]{32}", name):
            return None
        try:
            return await asyncio.to_thread((self.path / name).read_bytes)
        except FileNotFoundError:
            return None

    async def sweep(self, conn: Connection) -> int:
        """Remove files no row names any more; how many."""
        cutoff = time.time() - self.grace_seconds
        old = [p for p in self.path.iterdir() if p.is_file() and p.stat().st_mtime < cutoff]
        names = [p.name for p in old if not p.name.startswith(".")]
        known: set[str] = set()
        for i in range(0, len(names), 500):
            known |= await repo.known_locations(conn, names[i : i + 500])
        removed = 0
        for p in old:
            if p.name not in known:
                with contextlib.suppress(FileNotFoundError):
                    p.unlink()
                    removed += 1
        return removed


class Stored:
    """A stored file: its link's path and what the message says of it."""

    __slots__ = ("content_type", "kind", "name", "path")

    def __init__(self, path: str, name: str, content_type: str, kind: str) -> None:
        self.path = path
        self.name = name
        self.content_type = content_type
        self.kind = kind


async def store_file(
    sc: Scope[Transaction],
    contact_id: int,
    *,
    name: str,
    data: bytes,
    media: MediaDirectory | None = None,
) -> Stored:
    """Check and keep a file for the contact's messages (in ``media`` when given, else in
    the database); 400 naming ``file`` when it cannot be sent."""
    if not data:
        raise BadRequest("file: the file is empty")
    if len(data) > MAX_BYTES:
        raise BadRequest(f"file: at most {MAX_BYTES // (1024 * 1024)} MiB")
    content_type, kind = sniff(data, name)
    clean = _NAME.sub("_", name.rsplit("/", 1)[-1].rsplit("\\", 1)[-1]).strip(" .")[:120]
    clean = clean or "file"
    token = secrets.token_urlsafe(32)
    location = await media.write(data) if media is not None else None
    await repo.insert_file(
        sc,
        contact_id,
        token=token,
        name=clean,
        content_type=content_type,
        data=b"" if location else data,
        now=common.now(),
        location=location,
        size=len(data),
    )
    return Stored(f"/app/files/{token}/{quote(clean)}", clean, content_type, kind)


async def open_file(conn: Connection, token: str) -> Row | None:
    """A stored file by its link's token."""
    if not 20 <= len(token) <= 64:
        return None
    return await repo.file_by_token(conn, token)
