"""The demo workspace of the contract (API.md §4), created once and kept."""

from __future__ import annotations

from openrespond import common
from openrespond.accounts import service as accounts
from openrespond.contacts import repository as contacts_repo
from openrespond.db import Connection, Database, Scope, Transaction
from openrespond.identifiers import Identifier
from openrespond.settings import Settings
from openrespond.space import api_tokens as space_tokens
from openrespond.space import catalogue as space_catalogue
from openrespond.space import channels as space_channels
from openrespond.space import repository as repo
from openrespond.space import templates as space_templates
from openrespond.space import users as space_users
from openrespond.space import workspaces as space_workspaces

__all__ = [
    "DEMO_CHANNEL_ID",
    "DEMO_EMAIL_CHANNEL_ID",
    "DEMO_OWNER",
    "demo_sign_in",
    "ensure_demo",
    "seed_demo",
]

DEMO_OWNER = "owner@example.com"

DEMO_CHANNEL_ID = 123
DEMO_EMAIL_CHANNEL_ID = 124
LIFECYCLE = ("New Lead", "Hot Lead", "Payment", "Customer", "Cold Lead")
CLOSING_NOTES = (
    ("Resolved", "The customer's request was resolved"),
    ("Follow-up needed", "The conversation needs another touch later"),
    ("Spam", "Unwanted or abusive messages"),
)
DEMO_CONTACTS = (
    (12345, "Priya", "Primary", "priya@example.com", "+60111111111"),
    (67890, "Sam", "Secondary", "sam@example.com", "+60122222222"),
)
HELLO_WORLD = [
    {"type": "header", "format": "text", "text": "Hello"},
    {"type": "body", "text": "Hello {{1}}, welcome and congratulations!"},
    {"type": "footer", "text": "openrespond demo"},
]


async def seed_demo(sc: Scope[Transaction]) -> None:
    """Give workspace ``ws`` whatever of the demo data it lacks (fixed ids where still free)."""
    now = common.now()
    channels = {row["name"]: row for row in await repo.all_channels(sc)}
    whatsapp = channels.get("Sandbox WhatsApp") or await space_channels.create_channel(
        sc,
        name="Sandbox WhatsApp",
        source="whatsapp_cloud",
        driver="sandbox",
        channel_id=await _free(sc.conn, "channels", DEMO_CHANNEL_ID),
    )
    if "Sandbox Email" not in channels:
        await space_channels.create_channel(
            sc,
            name="Sandbox Email",
            source="other_email",
            driver="sandbox",
            channel_id=await _free(sc.conn, "channels", DEMO_EMAIL_CHANNEL_ID),
        )
    if not any(t["name"] == "hello_world" for t in await repo.all_templates(sc, whatsapp["id"])):
        await space_templates.create_template(
            sc,
            channel_id=whatsapp["id"],
            name="hello_world",
            language_code="en",
            category="UTILITY",
            components=HELLO_WORLD,
        )
    users = {row["email"] for row in await repo.all_users(sc)}
    if "agent@example.com" not in users:
        await space_users.create_user(
            sc,
            first_name="Alex",
            last_name="Agent",
            email="agent@example.com",
            role="agent",
            team="Support",
        )
    if DEMO_OWNER not in users:
        await space_users.create_user(
            sc, first_name="Olivia", last_name="Owner", email=DEMO_OWNER, role="owner"
        )
    stages = {row["name"] for row in await repo.list_lifecycle_stages(sc)}
    for stage in LIFECYCLE:
        if stage not in stages:
            await space_catalogue.add_lifecycle_stage(sc, stage)
    notes = {row["category"] for row in await repo.all_closing_notes(sc)}
    for category, description in CLOSING_NOTES:
        if category not in notes:
            await space_catalogue.add_closing_note(sc, category=category, description=description)
    for contact_id, first, last, email, phone in DEMO_CONTACTS:
        if await contacts_repo.find_id(sc, Identifier("email", email)) is None:
            await contacts_repo.insert(
                sc,
                {"first_name": first, "last_name": last, "email": email, "phone": phone},
                now=now,
                contact_id=await _free(sc.conn, "contacts", contact_id),
            )


async def _free(conn: Connection, table: str, wanted: int) -> int | None:
    """``wanted`` if no row of ``table`` has that id yet (ids are unique across workspaces)."""
    return None if await repo.id_taken(conn, table, row_id=wanted) else wanted


async def ensure_demo(db: Database, settings: Settings, secret: str) -> tuple[int, str]:
    """The demo workspace's id and token, creating and seeding it on first use."""
    async with db.transaction() as tx:
        row = await repo.find_demo_workspace(tx)
        created = row is None
        wid = (
            await space_workspaces.create_workspace(tx, name="Demo", is_demo=True)
            if row is None
            else row["id"]
        )
    if created:
        async with db.transaction() as tx:
            await seed_demo(Scope(tx, wid))
    async with db.transaction() as tx:
        if settings.demo_token:
            await space_tokens.ensure_static_token(
                Scope(tx, wid), token=settings.demo_token, name="OPENRESPOND_DEMO_TOKEN"
            )
            token = settings.demo_token
        else:
            token = await space_tokens.demo_token(Scope(tx, wid), secret=secret)
    return wid, token


async def demo_sign_in(sc: Scope[Transaction]) -> str:
    """A one-time sign-in link token for the demo workspace's owner."""
    owner = await accounts.user_by_email(sc, DEMO_OWNER)
    token, _ = await accounts.issue_link(sc, owner, purpose="signin")
    return token
