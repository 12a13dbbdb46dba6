"""`kanaal catalog import FILE.csv` and `kanaal catalog export FILE.csv`."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
)
from rich.table import Table

from kanaal.core.errors import DomainError

app = typer.Typer(help="Import and export the product catalog as CSV.", no_args_is_help=True)
_PHASES = {"validate": "checking rows", "write": "writing variants", "export": "exporting"}


def _progress_bar(console: Console) -> Progress:
    return Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                    TimeElapsedColumn(), console=console, transient=False)


@app.command("import")
def import_command(
    path: Annotated[Path, typer.Argument(exists=True, dir_okay=False, readable=True,
                                         help="CSV file in the catalog format")],
) -> None:
    """Import products and variants: every row is checked first, then all land or none."""
    from kanaal.catalog.importer import import_csv
    from kanaal.cli import cli_context

    console = Console(stderr=True)
    ctx = cli_context()
    started = time.perf_counter()
    with _progress_bar(console) as bar, path.open(newline="", encoding="utf-8-sig") as source:
        tasks: dict[str, TaskID] = {}

        def progress(phase: str, done: int, total: int) -> None:
            if phase not in tasks:
                tasks[phase] = bar.add_task(_PHASES[phase], total=total or None)
            bar.update(tasks[phase], completed=done, total=total or None)

        try:
            report = import_csv(ctx, source, progress=progress)
        except DomainError as exc:
            bar.stop()
            _print_errors(console, exc)
            raise typer.Exit(1) from exc
    seconds = time.perf_counter() - started
    typer.echo(f"imported {report.rows} variants of {report.products} products "
               f"({report.created} new, {report.updated} updated) in {seconds:.1f}s")


def _print_errors(console: Console, exc: DomainError) -> None:
    console.print(f"[red]error[/red] {exc.code}: {exc.message}")
    if exc.details:
        table = Table("line", "column", "code", "message")
        for detail in exc.details:
            table.add_row(str(detail.get("line", "")), str(detail.get("column", "")),
                          str(detail.get("code", "")), str(detail.get("message", "")))
        console.print(table)


@app.command("export")
def export_command(
    path: Annotated[Path, typer.Argument(dir_okay=False, help="CSV file to write")],
) -> None:
    """Write every variant to a CSV file in the import format."""
    from kanaal.catalog.importer import export_csv
    from kanaal.cli import cli_context

    console = Console(stderr=True)
    ctx = cli_context()
    with _progress_bar(console) as bar, path.open("w", newline="", encoding="utf-8") as target:
        task = bar.add_task(_PHASES["export"], total=None)

        def progress(_phase: str, done: int, total: int) -> None:
            bar.update(task, completed=done, total=total or None)

        count = export_csv(ctx, target, progress=progress)
    typer.echo(f"exported {count} variants to {path}")


@app.command("import-listings")
def import_listings_command(
    channel: Annotated[str, typer.Argument(help="channel id or handle")],
    path: Annotated[Path, typer.Argument(exists=True, dir_okay=False, readable=True,
                                         help="CSV: sku,title,description,price,currency,"
                                              "published,url")],
) -> None:
    """Create or replace a channel's listings: every row is checked first, then all land."""
    from kanaal.catalog.listing_import import import_listings
    from kanaal.cli import cli_context

    console = Console(stderr=True)
    with path.open(newline="", encoding="utf-8-sig") as source:
        try:
            report = import_listings(cli_context(), channel, source)
        except DomainError as exc:
            _print_errors(console, exc)
            raise typer.Exit(1) from exc
    typer.echo(f"listed {report.rows} variants on {report.channel} "
               f"({report.created} new, {report.updated} updated)")


@app.command("export-listings")
def export_listings_command(
    channel: Annotated[str, typer.Argument(help="channel id or handle")],
    path: Annotated[Path, typer.Argument(dir_okay=False, help="CSV file to write")],
) -> None:
    """Write a channel's listings to CSV in the import-listings format."""
    from kanaal.catalog.listing_import import export_listings
    from kanaal.cli import cli_context

    try:
        with path.open("w", newline="", encoding="utf-8") as target:
            count = export_listings(cli_context(), channel, target)
    except DomainError as exc:
        _print_errors(Console(stderr=True), exc)
        raise typer.Exit(1) from exc
    typer.echo(f"exported {count} listings to {path}")
