"""Versioned schema migrations: ``migrations/NNNN_name.sql``, applied in order, once each."""

from __future__ import annotations

import re
import time
from dataclasses import dataclass
from importlib import resources

from openrespond.db._base import Database

__all__ = ["Migration", "applied_versions", "available", "migrate", "pending"]

_FILE = re.compile(r"^(\d{4})_(\w+)\.sql$")


@dataclass(frozen=True, slots=True)
class Migration:
    """One schema step: its version, name and statements."""

    version: int
    name: str
    statements: tuple[str, ...]


def _split(sql: str) -> tuple[str, ...]:
    """Statements separated by ``;``; a ``CREATE TRIGGER`` runs on to its ``END``."""
    lines = [line for line in sql.splitlines() if not line.lstrip().startswith("--")]
    statements: list[str] = []
    pending = ""
    for part in "\n".join(lines).split(";"):
        pending = f"{pending};{part}" if pending else part.strip()
        if not pending:
            continue
        words = pending.split(None, 2)
        in_trigger = [w.upper() for w in words[:2]] == ["CREATE", "TRIGGER"]
        if in_trigger and not re.search(r"\bEND\s*$", pending, re.IGNORECASE):
            continue
        statements.append(pending.strip())
        pending = ""
    if pending.strip():
        statements.append(pending.strip())
    return tuple(statements)


def available() -> list[Migration]:
    """Every migration shipped with the package, oldest first."""
    folder = resources.files("openrespond.db") / "migrations"
    found = []
    for entry in folder.iterdir():
        if m := _FILE.match(entry.name):
            found.append(Migration(int(m[1]), m[2], _split(entry.read_text("utf-8"))))
    return sorted(found, key=lambda mig: mig.version)


async def applied_versions(db: Database) -> set[int]:
    """Versions already recorded in the database."""
    async with db.transaction() as tx:
        await tx.execute(
            "CREATE TABLE IF NOT EXISTS schema_migrations ("
            " version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at INTEGER NOT NULL)"
        )
        rows = await tx.fetch_all("SELECT version FROM schema_migrations")
    return {row[0] for row in rows}


async def pending(db: Database) -> list[Migration]:
    """Migrations not applied yet."""
    done = await applied_versions(db)
    return [m for m in available() if m.version not in done]


async def migrate(db: Database) -> list[Migration]:
    """Apply every pending migration, each in its own transaction; return what was applied."""
    applied = []
    for mig in await pending(db):
        async with db.transaction() as tx:
            # Re-check inside the write lock: another process may have just applied it.
            if await tx.fetch_val("SELECT 1 FROM schema_migrations WHERE version = ?", mig.version):
                continue
            for statement in mig.statements:
                await tx.execute(statement)
            await tx.execute(
                "INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)",
                mig.version,
                mig.name,
                int(time.time()),
            )
        applied.append(mig)
    return applied
