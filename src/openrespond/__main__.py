"""``python -m openrespond`` runs the command line."""

from openrespond.cli import main

main()
