"""``openrespond contacts import|export``: bulk load and dump a workspace's contacts."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from openrespond.cli.tools import Workspace, console, err, run
from openrespond.contacts import bulk
from openrespond.db import Database, Scope
from openrespond.settings import Settings
from openrespond.space import workspaces as space_workspaces

__all__ = ["contacts_app"]

contacts_app = typer.Typer(
    no_args_is_help=True, help="Bulk import and export of a workspace's contacts."
)

Format = Annotated[
    str | None,
    typer.Option("--format", "-f", help="jsonl or csv (default: from the file name)"),
]


def _progress(show: bool) -> Progress:
    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[rate]}"),
        TimeRemainingColumn(),
        console=err,
        transient=False,
        disable=not show,
    )


def _lines(path: Path) -> int:
    count = 0
    with path.open("rb") as f:
        while chunk := f.read(1 << 20):
            count += chunk.count(b"\n")
    return count


@contacts_app.command("import")
def import_(
    file: Annotated[Path, typer.Argument(help="A .jsonl or .csv file ('-' reads stdin)")],
    workspace: Workspace,
    fmt: Format = None,
    batch: Annotated[int, typer.Option(min=1, max=100_000, help="Contacts per transaction")] = 2000,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress bar")] = False,
) -> None:
    """Create a contact for each row; rows that break the API's rules, or whose email or phone
    another contact has, are skipped and reported with their line number."""
    stdin = str(file) == "-"
    try:
        kind = bulk.format_of(str(file), fmt)
    except ValueError as exc:
        err.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(2) from None
    if kind not in bulk.FORMATS:
        err.print(f"[red]error:[/red] unknown format {kind!r}: use jsonl or csv")
        raise typer.Exit(2)
    if not stdin and not file.is_file():
        err.print(f"[red]error:[/red] no such file: {file}")
        raise typer.Exit(2)
    total = None if stdin else max(0, _lines(file) - (1 if kind == "csv" else 0))

    async def work(db: Database, _: Settings) -> bulk.ImportReport:
        async with db.transaction() as tx:
            await space_workspaces.existing(Scope(tx, workspace))
        stream = sys.stdin if stdin else file.open(encoding="utf-8-sig", newline="")
        try:
            with _progress(not quiet) as bar:
                task = bar.add_task("importing", total=total, rate="")
                done = 0
                started = bar.get_time()

                def advance(n: int) -> None:
                    nonlocal done
                    done += n
                    elapsed = max(bar.get_time() - started, 1e-9)
                    bar.update(task, advance=n, rate=f"{done / elapsed:,.0f}/s")

                return await bulk.import_contacts(
                    db, workspace, rows=bulk.read_rows(stream, kind), batch=batch, progress=advance
                )
        finally:
            if not stdin:
                stream.close()

    report = run(work)
    rate = report.created / report.seconds if report.seconds else 0.0
    console.print(
        f"imported {report.created} contact(s) of {report.read} row(s) in"
        f" {report.seconds:.1f} s ({rate:,.0f}/s); skipped {report.skipped}"
    )
    for line, reason in report.errors[:20]:
        err.print(f"  line {line}: {reason}")
    if report.skipped > 20:
        err.print(f"  … and {report.skipped - 20} more")
    if report.skipped:
        raise typer.Exit(1)


@contacts_app.command("export")
def export(
    workspace: Workspace,
    fmt: Annotated[str, typer.Option("--format", "-f", help="jsonl or csv")] = "jsonl",
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="File to write (default: stdout)")
    ] = None,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress bar")] = False,
) -> None:
    """Write every contact of the workspace, oldest first, in a form `import` reads back."""
    if fmt not in bulk.FORMATS:
        err.print(f"[red]error:[/red] unknown format {fmt!r}: use jsonl or csv")
        raise typer.Exit(2)

    async def work(db: Database, _: Settings) -> int:
        async with db.transaction() as tx:
            await space_workspaces.existing(Scope(tx, workspace))
        total = await db.reader().fetch_val(
            "SELECT COUNT(*) FROM contacts WHERE workspace_id = ?", workspace
        )
        out = sys.stdout if output is None else output.open("w", encoding="utf-8", newline="")
        written = 0
        try:
            # Progress goes to stderr; shown when the contacts go to a file.
            with _progress(not quiet and output is not None) as bar:
                task = bar.add_task("exporting", total=total, rate="")
                async for chunk, rows in bulk.export_contacts(db, workspace, fmt=fmt):
                    out.write(chunk)
                    written += rows
                    bar.update(task, advance=rows)
        finally:
            if output is not None:
                out.close()
            else:
                out.flush()
        return written

    written = run(work)
    if output is not None:
        console.print(f"exported {written} contact(s) to {output}")
