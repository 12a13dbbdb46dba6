"""The `kanaal` command: serve, migrate, keys and the other operator tools."""

from __future__ import annotations

import importlib
import secrets
from typing import TYPE_CHECKING, Annotated

import typer

from kanaal.config import Settings

if TYPE_CHECKING:
    from kanaal.core.context import AppContext

app = typer.Typer(help="Kanaal omnichannel sales hub.", no_args_is_help=True)
keys_app = typer.Typer(help="Create, list and revoke API keys.", no_args_is_help=True)
webhooks_app = typer.Typer(help="Manage webhook subscriptions.", no_args_is_help=True)
dev_app = typer.Typer(help="Developer tools.", no_args_is_help=True)
app.add_typer(keys_app, name="keys")
app.add_typer(webhooks_app, name="webhooks")
app.add_typer(dev_app, name="dev")

# Feature command groups: (name, module); each module has a typer app called `app`.
FEATURE_CLIS: list[tuple[str, str]] = [
    ("catalog", "kanaal.catalog.cli"),
    ("feeds", "kanaal.catalog.feeds_cli"),
    ("segments", "kanaal.marketing.cli"),
    ("audiences", "kanaal.marketing.audiences_cli"),
    ("qr", "kanaal.stores.cli"),
    ("report", "kanaal.analytics.cli"),
]
for _name, _module in FEATURE_CLIS:
    app.add_typer(importlib.import_module(_module).app, name=_name)
# Top-level feature commands: (command name, module, function).
FEATURE_COMMANDS: list[tuple[str, str, str]] = [
    ("simulate", "kanaal.simulation.cli", "simulate"),
    ("demo", "kanaal.demo.cli", "demo"),
]
for _name, _module, _function in FEATURE_COMMANDS:
    app.command(_name)(getattr(importlib.import_module(_module), _function))


def cli_context() -> AppContext:
    """The context for a CLI command, with the database migrated when auto_migrate is on."""
    from kanaal.core.context import build_context
    from kanaal.migrations.runner import upgrade

    ctx = build_context(Settings())
    if ctx.settings.auto_migrate:
        upgrade(ctx.db)
    return ctx


@app.command()
def serve(
    host: Annotated[str | None, typer.Option(help="interface to bind")] = None,
    port: Annotated[int | None, typer.Option(help="TCP port")] = None,
    workers: Annotated[int, typer.Option(help="worker processes (needs PostgreSQL)")] = 1,
) -> None:
    """Run the HTTP API (and background workers)."""
    import uvicorn

    from kanaal.core.logs import configure_logging

    settings = Settings()
    configure_logging(settings.log_level)
    ctx = cli_context()
    _bootstrap_keys(ctx)
    ctx.db.dispose()
    uvicorn.run(
        "kanaal.app:create_app",
        factory=True,
        host=host or settings.host,
        port=port or settings.port,
        workers=workers,
        log_level="warning",
        access_log=False,
    )


def _bootstrap_keys(ctx: AppContext) -> None:
    """On a brand-new installation, issue a web write key and an admin key into a 0600 file."""
    from kanaal.core.auth import KeyKind, Scope, SourceKind
    from kanaal.core.keys import has_keys, issue_key

    if has_keys(ctx.db):
        return
    web = issue_key(ctx.db, source_name="web", source_kind=SourceKind.WEB, kind=KeyKind.WRITE,
                    scopes=frozenset(), ids=ctx.ids, clock=ctx.clock)
    admin = issue_key(ctx.db, source_name="admin", source_kind=SourceKind.SERVER,
                      kind=KeyKind.SECRET, scopes=frozenset({Scope.ADMIN}), ids=ctx.ids,
                      clock=ctx.clock)
    path = ctx.settings.data_dir / "first-run-keys.txt"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.touch(mode=0o600)
    path.write_text(f"web write key:    {web.raw}\nadmin secret key: {admin.raw}\n")
    typer.echo(f"first run: a web write key and an admin key were written to {path}")


@app.command()
def migrate() -> None:
    """Apply every pending database migration."""
    from kanaal.core.context import build_context
    from kanaal.migrations.runner import upgrade

    ctx = build_context(Settings())
    upgrade(ctx.db)
    typer.echo("database is up to date")


@keys_app.command("create")
def keys_create(
    source: Annotated[str, typer.Option(help="source name, created when new")],
    kind: Annotated[str, typer.Option(help="write or secret")] = "write",
    scope: Annotated[
        list[str] | None, typer.Option(help="read, write or admin (secret keys)")
    ] = None,
    source_kind: Annotated[
        str | None,
        typer.Option(help="web, mobile, server, pos, contact_center, partner or publisher"),
    ] = None,
) -> None:
    """Create a key and print it (only the key) on stdout; it is never shown again."""
    from kanaal.core.auth import KeyKind, SourceKind, parse_scopes
    from kanaal.core.errors import DomainError
    from kanaal.core.keys import issue_key

    ctx = cli_context()
    try:
        guessed = source_kind or (source if source in SourceKind._value2member_map_ else None)
        issued = issue_key(
            ctx.db,
            source_name=source,
            source_kind=SourceKind(guessed) if guessed else None,
            kind=KeyKind(kind),
            scopes=parse_scopes(scope or []),
            ids=ctx.ids,
            clock=ctx.clock,
        )
    except (DomainError, ValueError) as exc:
        typer.echo(f"error: {getattr(exc, 'message', exc)}", err=True)
        raise typer.Exit(2) from exc
    typer.echo(issued.raw)


@keys_app.command("list")
def keys_list() -> None:
    """List keys (id, source, kind, scopes, prefix); never the keys themselves."""
    from rich.console import Console
    from rich.table import Table

    from kanaal.core.keys import list_keys

    table = Table("id", "source", "kind", "scopes", "prefix", "revoked_at")
    for row in list_keys(cli_context().db):
        table.add_row(*(str(row[c] or "") for c in ("id", "source", "kind", "scopes", "prefix",
                                                    "revoked_at")))
    Console().print(table)


@keys_app.command("revoke")
def keys_revoke(key_id: str) -> None:
    """Revoke a key by id."""
    from kanaal.core.keys import revoke_key

    ctx = cli_context()
    revoke_key(ctx.db, key_id, clock=ctx.clock)
    typer.echo(f"revoked {key_id}")


@webhooks_app.command("add")
def webhooks_add(
    url: str,
    topic: Annotated[list[str], typer.Option(help="topic to receive; * for all")],
) -> None:
    """Subscribe a URL to topics; prints the endpoint id and its signing secret."""
    from kanaal.core.outbox import add_webhook_endpoint

    ctx = cli_context()
    secret = "whsec_" + secrets.token_urlsafe(24)
    endpoint_id = add_webhook_endpoint(
        ctx.db, ids=ctx.ids, clock=ctx.clock, url=url, topics=topic, secret=secret
    )
    typer.echo(f"{endpoint_id} {secret}")


@dev_app.command("draft-migration")
def draft_migration(
    branch: Annotated[str, typer.Argument(help="feature name, e.g. catalog")],
    tables: Annotated[list[str], typer.Argument(help="tables to create or alter")],
    message: Annotated[str, typer.Option("-m", help="what the revision does")] = "add tables",
) -> None:
    """Write a migration on a feature's branch from the tables defined in code."""
    from kanaal.migrations.runner import draft

    typer.echo(str(draft(branch, tables, message)))


if __name__ == "__main__":
    app()
