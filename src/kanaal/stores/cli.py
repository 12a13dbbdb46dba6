"""`kanaal qr`: create QR codes for products in stores and write their images and sheets."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from kanaal.core.errors import DomainError

app = typer.Typer(help="QR codes on products in stores.", no_args_is_help=True)
console = Console()


def _fail(exc: DomainError) -> None:
    console.print(f"[red]{exc.code}[/red]: {exc.message}")
    raise typer.Exit(1)


def _utc(moment: datetime | None) -> datetime | None:
    """A naive time from the command line is UTC."""
    if moment is None or moment.tzinfo is not None:
        return moment
    return moment.replace(tzinfo=UTC)


@app.command("create")
def create(
    sku: Annotated[str, typer.Option(help="the product variant's sku")],
    store: Annotated[str, typer.Option(help="the store's location id")],
    out: Annotated[Path | None, typer.Option(help="write the image here (.png or .svg)")] = None,
    label: Annotated[str | None, typer.Option(help="words printed under the code")] = None,
    expires: Annotated[datetime | None, typer.Option(help="expiry, ISO 8601 UTC")] = None,
) -> None:
    """Create a code for a product in a store and print its short link."""
    from kanaal.cli import cli_context
    from kanaal.stores import service

    ctx = cli_context()
    try:
        code = service.create_code(ctx, sku=sku, store_id=store, label=label,
                                   expires_at=_utc(expires))
        if out is not None:
            kind = "svg" if out.suffix.lower() == ".svg" else "png"
            out.write_bytes(service.code_image(ctx, code.token, kind))
    except DomainError as exc:
        _fail(exc)
        return
    console.print(service.code_json(ctx, code)["url"])


@app.command("sheet")
def sheet(
    store: Annotated[str, typer.Option(help="the store's location id")],
    out: Annotated[Path, typer.Option(help="the file to write (.pdf or .png)")],
) -> None:
    """Write the printable sheet of every code of a store (PDF, or PNG of the first page)."""
    from kanaal.cli import cli_context
    from kanaal.stores import service

    ctx = cli_context()
    kind = "png" if out.suffix.lower() == ".png" else "pdf"
    try:
        out.write_bytes(service.store_sheet(ctx, store, kind))
    except DomainError as exc:
        _fail(exc)
    console.print(f"wrote {out}")
