"""`kanaal feeds export`: write a channel's Google and Meta feeds to files."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from kanaal.core.errors import DomainError

app = typer.Typer(help="Product feeds for Google Merchant Center and Meta.",
                  no_args_is_help=True)


@app.command("export")
def export_command(
    channel: Annotated[str, typer.Argument(help="channel id or handle")],
    out: Annotated[Path, typer.Option(help="directory to write <handle>.<ext> into")] = Path(),
    fmt: Annotated[list[str] | None, typer.Option(
        "--format", help="xml (Google RSS), tsv (Google) or csv (Meta); repeat; default all")
    ] = None,
) -> None:
    """Write the channel's feeds with availability from the inventory ledger."""
    from kanaal.catalog.feed_service import export_feeds
    from kanaal.catalog.feeds import FeedFormat
    from kanaal.cli import cli_context

    try:
        formats = [FeedFormat(f) for f in fmt] if fmt else list(FeedFormat)
    except ValueError as exc:
        typer.echo(f"error: unknown format in {fmt}; use xml, tsv or csv", err=True)
        raise typer.Exit(2) from exc
    try:
        written = export_feeds(cli_context(), channel, out, formats)
    except DomainError as exc:
        typer.echo(f"error: {exc.code}: {exc.message}", err=True)
        raise typer.Exit(1) from exc
    for path, feed in written:
        typer.echo(f"{path}: {feed.items} items, {len(feed.skipped)} skipped")
        for entry in feed.skipped:
            typer.echo(f"  skipped {entry.sku}: {entry.reason}", err=True)
