"""The shape of the code that keeps tenants apart, checked on the source itself.

Every function that reads or writes a workspace's data takes a ``Scope`` (the connection and
the workspace id together) as its first argument, and uses the scope's workspace in what it
runs; the few functions that work across workspaces are named here, each with the reason.
The import layers are `lint-imports` contracts in pyproject.toml (run by `make lint`).
"""

from __future__ import annotations

import ast
from pathlib import Path

SRC = Path(__file__).resolve().parents[1] / "src" / "openrespond"

# Modules that run SQL on workspace data.
DATA_MODULES = sorted(
    [
        *SRC.glob("*/repository.py"),
        *SRC.glob("*/events.py"),
        SRC / "channels" / "delivery_queue.py",
        SRC / "channels" / "sandbox_deliveries.py",
        SRC / "outbox.py",
    ]
)

# Work across workspaces, by design: module-relative name -> why it takes no scope.
GLOBAL = {
    "apilog/repository.py": {
        **{
            name: "the recorder writes every workspace's requests in one batch; the rows"
            " carry their workspace"
            for name in ("known_workspaces", "insert_requests", "batch_written")
        },
        "purge": "retention runs over every workspace's requests",
    },
    "accounts/repository.py": {
        **{
            name: "sign-in comes before any workspace: by email (one person may be a user of"
            " several workspaces) or by a token's hash, which is the key"
            for name in ("users_by_email", "find_link", "use_link", "find_session")
        },
        **{
            name: "a browser session belongs to a person, not to one workspace; it holds"
            " the users it signed in"
            for name in (
                "signed_in_users",
                "insert_session",
                "touch_session",
                "delete_session",
            )
        },
        **{
            name: "sign-in throttling counts by account and by client, before any workspace"
            for name in ("record_failure", "count_failures", "clear_failures")
        },
    },
    "contacts/repository.py": {
        name: "the import queue is shared by all workspaces' workers; a job carries its"
        " workspace, and the claim says whose the job is"
        for name in ("claim_import", "import_progress", "finish_import")
    },
    "outbox.py": {
        "statuses_changed": "the delivery worker's batches cross workspaces; the rows carry"
        " their workspace",
        "deliveries_changed": "the webhook worker's batches cross workspaces; the rows carry"
        " their workspace",
    },
    "channels/delivery_queue.py": {
        name: "the delivery queue is shared by all workspaces; jobs carry their workspace"
        for name in (
            "due_channels",
            "adopt",
            "claim",
            "due",
            "jobs_for",
            "finish_many",
            "retry",
            "release",
            "queue_stats",
        )
    },
    "channels/sandbox_deliveries.py": {
        "record_deliveries": "a worker's batch across workspaces; each row carries its own",
    },
    "messages/repository.py": {
        "record_deliveries": "a worker's batch across workspaces (rows carry their message)",
        "taken_channel_ids": "a worker's batch across workspaces",
        "by_channel_message": "keyed by a channel (of one workspace) and the channel's own id",
        "stash_early_status": "keyed by a channel and the channel's own message id",
        "stranded_early_statuses": "kept reports of every channel, matched with messages",
        "known_locations": "the media directory is shared by every workspace: which of its"
        " files rows still name",
        "apply_early_statuses_many": "a worker's batch; each message's scope is its own",
        "apply_early_statuses": "keyed by a channel; the message found names its workspace",
        "file_by_token": "a file's link is fetched by the channel, with no credentials: its"
        " 256-bit token is the key",
    },
    "space/repository.py": {
        "channel_anywhere": "a custom channel's webhook: its token decides the workspace",
        "insert_workspace": "makes a workspace",
        "find_demo_workspace": "finds which workspace is the demo",
        "list_workspaces": "the administrator's list of workspaces",
        "token_by_hash": "authentication: the token decides the workspace",
        "get_meta": "server settings, not workspace data",
        "set_meta": "server settings, not workspace data",
        "id_taken": "ids are unique across workspaces",
        "delivery_channels": "`doctor` checks every channel's destination",
    },
    "webhooks/repository.py": {
        name: "the webhook queue is shared by all workspaces; deliveries carry their workspace"
        for name in (
            "due",
            "due_endpoints",
            "claim",
            "claimed",
            "held",
            "record_attempts",
            "set_outcomes",
            "disable",
            "release",
            "purge",
            "queue_stats",
            "endpoints",
        )
    },
}


def _functions(path: Path) -> list[ast.AsyncFunctionDef | ast.FunctionDef]:
    tree = ast.parse(path.read_text("utf-8"))
    return [
        node
        for node in tree.body
        if isinstance(node, ast.AsyncFunctionDef | ast.FunctionDef)
        and not node.name.startswith("_")
    ]


def _first_annotation(fn: ast.AsyncFunctionDef | ast.FunctionDef) -> str:
    args = fn.args.args
    return ast.unparse(args[0].annotation) if args and args[0].annotation is not None else ""


def _uses_scope(fn: ast.AsyncFunctionDef | ast.FunctionDef) -> bool:
    """Whether the body bounds its work by the scope: reads ``sc.ws`` or hands ``sc`` on."""
    for node in ast.walk(fn):
        if (
            isinstance(node, ast.Attribute)
            and node.attr == "ws"
            and isinstance(node.value, ast.Name)
            and node.value.id == "sc"
        ):
            return True
        if isinstance(node, ast.Call) and any(
            isinstance(a, ast.Name) and a.id == "sc" for a in node.args
        ):
            return True
    return False


def test_data_functions_take_a_scope_unless_they_are_named_global() -> None:
    unscoped, unbounded, stale = [], [], []
    for path in DATA_MODULES:
        rel = path.relative_to(SRC).as_posix()
        allowed = GLOBAL.get(rel, {})
        names = set()
        for fn in _functions(path):
            if not isinstance(fn, ast.AsyncFunctionDef):
                continue  # SQL builders and row mappers run nothing
            names.add(fn.name)
            if _first_annotation(fn).startswith("Scope["):
                if not _uses_scope(fn):
                    unbounded.append(f"{rel}:{fn.name}")
            elif fn.name not in allowed:
                unscoped.append(f"{rel}:{fn.name}")
        stale += [f"{rel}:{name}" for name in allowed if name not in names]
    assert not unscoped, f"take a Scope first, or add to GLOBAL with the reason: {unscoped}"
    assert not unbounded, f"take a Scope but never use its workspace: {unbounded}"
    assert not stale, f"GLOBAL names functions that are gone: {stale}"


def test_no_function_takes_a_connection_and_a_workspace_id_apart() -> None:
    """``(conn, ws)`` pairs are how a workspace id gets mixed up; a Scope carries both."""
    found = []
    for path in sorted(SRC.rglob("*.py")):
        if "client" in path.parts:
            continue
        for node in ast.walk(ast.parse(path.read_text("utf-8"))):
            if isinstance(node, ast.AsyncFunctionDef | ast.FunctionDef):
                names = [a.arg for a in node.args.args[:2]]
                if len(names) == 2 and names[0] in ("conn", "tx") and names[1] == "ws":
                    found.append(f"{path.relative_to(SRC)}:{node.name}")
    assert not found, found


def test_the_count_of_global_data_functions_is_what_this_file_names() -> None:
    # Sessions and sign-in failures belong to a person, not to a workspace: not counted.
    counted = sum(len(names) for rel, names in GLOBAL.items() if rel != "accounts/repository.py")
    scoped = sum(
        1
        for path in DATA_MODULES
        for fn in _functions(path)
        if isinstance(fn, ast.AsyncFunctionDef) and _first_annotation(fn).startswith("Scope[")
    )
    # Figures for the record (see the docstring): most data functions are scoped.
    assert scoped > 3 * counted, (scoped, counted)


def test_operations_take_at_most_two_arguments_by_position() -> None:
    """``create_contact(sc, fields, ident)`` against ``create_or_update(sc, ident, fields)``
    is a trap: past the scope and one subject, arguments are passed by name."""
    modules = [
        *SRC.glob("*/service.py"),
        *SRC.glob("*/repository.py"),
        *SRC.glob("*/events.py"),
        *(p for p in SRC.glob("space/*.py") if p.name not in ("routes.py", "schemas.py")),
        *DATA_MODULES,
    ]
    found = set()
    for path in modules:
        for fn in _functions(path):
            positional = fn.args.posonlyargs + fn.args.args
            if len(positional) > 2:
                found.add(f"{path.relative_to(SRC)}:{fn.name}")
    assert not found, sorted(found)
