"""`kanaal keys create` and the first-run keys of `kanaal serve`, on an embedded database."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest
from typer.testing import CliRunner

from kanaal.cli import _bootstrap_keys, app, cli_context
from kanaal.core.auth import KeyKind, Scope, SourceKind
from kanaal.core.errors import Unauthenticated
from kanaal.core.keys import list_keys


@pytest.fixture
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("KANAAL_DATA_DIR", str(tmp_path))
    monkeypatch.delenv("KANAAL_DATABASE_URL", raising=False)
    return tmp_path


def test_keys_create_prints_only_the_key_and_it_authenticates(data_dir: Path) -> None:
    result = CliRunner().invoke(
        app, ["keys", "create", "--source", "pos", "--kind", "secret", "--scope", "write"]
    )
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert len(lines) == 1
    assert lines[0].startswith("sk_")
    ctx = cli_context()
    principal = ctx.keys.authenticate(lines[0])
    assert principal.source_name == "pos"
    assert principal.source_kind is SourceKind.POS
    assert principal.key_kind is KeyKind.SECRET
    assert principal.scopes == frozenset({Scope.WRITE})


def test_keys_create_refuses_an_unknown_scope_and_stores_nothing(data_dir: Path) -> None:
    result = CliRunner().invoke(
        app, ["keys", "create", "--source", "web", "--kind", "secret", "--scope", "root"]
    )
    assert result.exit_code == 2
    assert result.stdout == ""
    assert list_keys(cli_context().db) == []


def test_first_run_writes_two_keys_once_to_a_private_file(data_dir: Path) -> None:
    ctx = cli_context()
    _bootstrap_keys(ctx)
    path = data_dir / "first-run-keys.txt"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    raw = [line.split(":", 1)[1].strip() for line in path.read_text().splitlines()]
    assert ctx.keys.authenticate(raw[0]).key_kind is KeyKind.WRITE
    assert ctx.keys.authenticate(raw[1]).scopes == frozenset({Scope.ADMIN})
    _bootstrap_keys(ctx)
    assert len(list_keys(ctx.db)) == 2
    with pytest.raises(Unauthenticated):
        ctx.keys.authenticate(raw[0] + "x")
