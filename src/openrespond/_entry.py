"""The ``openrespond`` command. ``openrespond api …`` needs only the client and the CLI
extras; every other command needs the server's."""

from __future__ import annotations

import sys

__all__ = ["main"]


def main() -> None:
    try:
        if sys.argv[1:2] == ["api"]:
            from openrespond.client.cli import api_app

            api_app(args=sys.argv[2:], prog_name="openrespond api")
            return
        from openrespond.cli import main as server_main
    except ImportError as exc:
        extra = "cli" if sys.argv[1:2] == ["api"] else "server"
        sys.exit(
            f"openrespond: the module {exc.name!r} is missing; install it with"
            f" pip install 'openrespond[{extra}]'"
        )
    server_main()
