"""Received files kept in OPENRESPOND_MEDIA_DIR instead of the database: written before the
message is stored, served from there, and swept once no message uses them."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from urllib.parse import urlsplit

import httpx

from openrespond.app import create_app
from openrespond.messages.attachments import MediaDirectory
from tests.backend import open_test_database, query
from tests.channels.fake_meta import channel_settings, envelope, fake_meta, post_webhook
from tests.conftest import ServerThread, make_settings, new_workspace
from tests.waiting import until


def test_files_in_the_media_directory(tmp_path: Path) -> None:
    media = tmp_path / "media"
    media.mkdir()
    db = tmp_path / "media.db"
    app = create_app(make_settings(db, media_dir=str(media)))
    png = b"\x89PNG\r\n\x1a\n" + b"\x02" * 300
    with fake_meta() as meta, ServerThread(app) as base, new_workspace(base) as ws:
        meta.media["PIC"] = (png, "image/png")
        r = ws.control.post(
            f"/control/workspaces/{ws.wid}/channels",
            json={
                "name": "WA",
                "source": "whatsapp_cloud",
                "driver": "whatsapp_cloud",
                "settings": channel_settings(meta),
            },
        )
        channel = r.json()["id"]
        payload = envelope(
            contacts=[{"profile": {"name": "Mo"}, "wa_id": "60123459001"}],
            messages=[
                {
                    "from": "60123459001",
                    "id": "wamid.PIC",
                    "timestamp": str(int(time.time())),
                    "type": "image",
                    "image": {"id": "PIC", "mime_type": "image/png"},
                }
            ],
        )
        assert post_webhook(base, channel, payload).status_code == 200
        contact = until(
            lambda: (
                (r := ws.api.get("/contact/phone:+60123459001")).status_code == 200
                and r.json()["id"]
            ),
            "the contact",
        )
        (message,) = until(
            lambda: ws.api.get(f"/contact/id:{contact}/message/list").json()["items"], "message"
        )
        url = message["message"]["attachment"]["url"]
        assert httpx.get(base + urlsplit(url).path).content == png
        ((size, data, location),) = query(db, "SELECT size, data, location FROM files")
        assert (size, bytes(data)) == (len(png), b"")
        assert (media / location).read_bytes() == png
        # a file no row names is swept; the contact's file goes with the contact
        (media / ("0" * 32)).write_bytes(b"left over")
        assert ws.api.delete(f"/contact/id:{contact}").status_code == 200
        assert httpx.get(base + urlsplit(url).path).status_code == 404

    async def sweep() -> int:
        database = open_test_database(db)
        await database.connect()
        try:
            return await MediaDirectory(media, grace_seconds=0).sweep(database.reader())
        finally:
            await database.close()

    assert asyncio.run(sweep()) == 2
    assert list(media.iterdir()) == []
