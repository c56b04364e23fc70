"""Screenshots of the inbox for the README, made from the demo data.

    .venv/bin/python scripts/screenshots.py [--browser /usr/bin/chromium]

Starts ``openrespond serve --demo`` on a scratch database, has the demo customers write in
through the sandbox, replies and comments as the demo owner, and saves
``docs/images/inbox.png`` and ``docs/images/conversation.png``; then makes a few API calls, one
refused, and saves the console's request log and that request (``console-requests.png``,
``console-request.png``).
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
from playwright.sync_api import sync_playwright

ROOT = Path(__file__).resolve().parent.parent
ADMIN = "screenshot-admin-token-0123"


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--browser", default=os.environ.get("OPENRESPOND_BROWSER"))
    args = parser.parse_args()
    browser = args.browser or shutil.which("chromium") or shutil.which("chromium-browser")
    if not browser:
        sys.exit("no Chromium: install Debian's chromium or pass --browser")
    out = ROOT / "docs" / "images"
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        port = _port()
        env = {
            **os.environ,
            "OPENRESPOND_DATABASE_URL": f"sqlite:///{tmp}/shots.db",
            "OPENRESPOND_PORT": str(port),
            "OPENRESPOND_ADMIN_TOKEN": ADMIN,
        }
        proc = subprocess.Popen(
            [sys.executable, "-m", "openrespond", "serve", "--demo"],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        try:
            assert proc.stdout is not None
            link = token = ""
            while not link:
                line = proc.stdout.readline()
                if not line:
                    sys.exit("the server stopped")
                if found := re.search(r"(http://\S+/app/link/\S+)", line):
                    link = found.group(1)
                if found := re.search(r"API token\s+(\S+)", line):
                    token = found.group(1)
            base = f"http://127.0.0.1:{port}"
            for _ in range(100):
                try:
                    httpx.get(f"{base}/openapi.json")
                    break
                except httpx.TransportError:
                    time.sleep(0.1)
            admin = httpx.Client(base_url=base, headers={"Authorization": f"Bearer {ADMIN}"})
            for address, text, name in (
                ("+60111111111", "Hi! Has my order #1042 shipped yet?", None),
                ("+60122222222", "Can I change the delivery address?", None),
                ("+60133333333", "Do you deliver to Penang?", {"firstName": "Aisyah"}),
                ("+60144444444", "Thanks, all sorted!", {"firstName": "Daniel", "lastName": "Tan"}),
            ):
                body: dict[str, object] = {
                    "channelId": 123,
                    "address": address,
                    "message": {"type": "text", "text": text},
                }
                if name:
                    body["contact"] = name
                admin.post("/control/workspaces/1/sandbox/incoming", json=body).raise_for_status()
            with sync_playwright() as p:
                chromium = p.chromium.launch(executable_path=browser, args=["--no-sandbox"])
                page = chromium.new_page(viewport={"width": 1280, "height": 720})
                page.goto(link)
                page.get_by_role("button", name="Sign in").click()
                page.wait_for_url(f"{base}/app/1/")
                page.goto(f"{base}/app/1/c/12345")
                page.get_by_label("Reply").fill(
                    "It left our warehouse this morning: https://example.com/track/1042"
                )
                page.get_by_role("button", name="Send").click()
                page.wait_for_timeout(800)
                page.get_by_label("Internal comment").fill(
                    "Customer asked twice; @[agent@example.com] please follow up tomorrow."
                )
                page.get_by_role("button", name="Add comment").click()
                page.wait_for_timeout(500)
                page.screenshot(path=str(out / "conversation.png"))
                page.goto(f"{base}/app/1/")
                page.wait_for_timeout(300)
                page.screenshot(path=str(out / "inbox.png"))
                # The console: an integration's calls, one of them refused.
                api = httpx.Client(
                    base_url=f"{base}/v2", headers={"Authorization": f"Bearer {token}"}
                )
                api.get("/contact/id:12345")
                api.post("/contact/list", json={"search": "", "filter": {"$and": []}})
                bad = api.post(
                    "/contact",
                    json={"firstName": "Mei", "email": "mei@example", "password": "s3cret"},
                )
                api.get("/contact/email:nobody@example.com")
                time.sleep(0.5)
                page.goto(f"{base}/app/1/console/requests")
                page.wait_for_timeout(300)
                page.screenshot(path=str(out / "console-requests.png"))
                page.locator("#requests tr", has_text=bad.headers["x-request-id"]).get_by_role(
                    "link"
                ).click()
                page.wait_for_timeout(300)
                page.screenshot(path=str(out / "console-request.png"))
                chromium.close()
        finally:
            proc.terminate()
            proc.wait(10)
    print(
        f"wrote inbox.png, conversation.png, console-requests.png and console-request.png in {out}"
    )


if __name__ == "__main__":
    main()
