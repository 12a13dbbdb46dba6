"""`kanaal segments ...`."""

from __future__ import annotations

import typer
from rich.progress import Progress

app = typer.Typer(help="Segments: refresh memberships in bulk.", no_args_is_help=True)


@app.command("refresh")
def refresh() -> None:
    """Recompute RFM scores and every segment membership, with a progress bar."""
    from kanaal.cli import cli_context
    from kanaal.marketing.segments import refresh_all

    ctx = cli_context()
    with Progress() as progress:
        task = progress.add_task("customers", total=None)

        def advance(done: int, total: int) -> None:
            progress.update(task, completed=done, total=total)

        changes = refresh_all(ctx, advance)
    typer.echo(f"entered {len(changes.entered)}, exited {len(changes.exited)}")
