"""`kanaal report`: write the analytics report as one self-contained HTML file."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import typer

app = typer.Typer(help="Analytics report (journeys, attribution, experiments).",
                  invoke_without_command=True)


@app.callback()
def report(
    out: Path = typer.Option(Path("kanaal-report.html"), "--out", "-o", help="file to write"),
    since: datetime | None = typer.Option(None, help="events from (UTC)"),
    until: datetime | None = typer.Option(None, help="events until (UTC)"),
) -> None:
    """Write journeys, attribution and experiment results to a self-contained HTML file."""
    from datetime import UTC

    from kanaal.analytics.report import build_report
    from kanaal.cli import cli_context

    def aware(value: datetime | None) -> datetime | None:
        return None if value is None or value.tzinfo else value.replace(tzinfo=UTC)

    ctx = cli_context()
    try:
        document = build_report(ctx, since=aware(since), until=aware(until))
    finally:
        ctx.db.dispose()
    out.write_text(document, encoding="utf-8")
    typer.echo(f"wrote {out} ({len(document) // 1024} KiB)")
