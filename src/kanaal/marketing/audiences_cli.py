"""`kanaal audiences export ...`."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

app = typer.Typer(help="Export segments as ad-platform customer lists.", no_args_is_help=True)


@app.command("export")
def export(
    segment_id: str,
    out: Annotated[Path, typer.Option(help="CSV file to write")],
    platform: Annotated[str, typer.Option(help="google or meta")] = "google",
) -> None:
    """Write a segment as a hashed Customer Match (google) or Custom Audience (meta) CSV."""
    from kanaal.cli import cli_context
    from kanaal.marketing.audience_service import export_audience

    if platform not in {"google", "meta"}:
        typer.echo("error: --platform is google or meta", err=True)
        raise typer.Exit(2)
    out.write_text(export_audience(cli_context(), segment_id, platform))
    typer.echo(str(out))
