"""`kanaal qr create` and `kanaal qr sheet` on an embedded database."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from kanaal.cli import app, cli_context
from kanaal.stores import store
from tests.support.catalog import make_variant
from tests.support.inventory import make_location


@pytest.fixture
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("KANAAL_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("KANAAL_PUBLIC_BASE_URL", "https://shop.example")
    monkeypatch.delenv("KANAAL_DATABASE_URL", raising=False)
    return tmp_path


def test_create_writes_the_image_and_prints_the_short_link_then_sheet_writes_a_pdf(
    data_dir: Path
) -> None:
    ctx = cli_context()
    make_variant(ctx, "TV-55", cost_price="800.00")
    amsterdam = make_location(ctx, "Store Amsterdam", kind="store")
    image = data_dir / "tv.svg"
    made = CliRunner().invoke(app, ["qr", "create", "--sku", "TV-55", "--store", amsterdam.id,
                                    "--out", str(image)])
    assert made.exit_code == 0, made.output
    with ctx.db.reader() as session:
        [code] = store.codes_of_store(session, amsterdam.id)
    assert made.stdout.strip() == f"https://shop.example/q/{code.token}"
    assert image.read_bytes().startswith(b"<?xml version='1.0' encoding='UTF-8'?>\n<svg ")
    sheet = data_dir / "sheet.pdf"
    printed = CliRunner().invoke(app, ["qr", "sheet", "--store", amsterdam.id,
                                       "--out", str(sheet)])
    assert printed.exit_code == 0, printed.output
    assert sheet.read_bytes()[:5] == b"%PDF-"


def test_create_refuses_an_unknown_product_and_stores_nothing(data_dir: Path) -> None:
    ctx = cli_context()
    amsterdam = make_location(ctx, "Store Amsterdam", kind="store")
    result = CliRunner().invoke(app, ["qr", "create", "--sku", "NOPE", "--store", amsterdam.id])
    assert result.exit_code == 1
    assert "unknown_sku" in result.stdout
    with ctx.db.reader() as session:
        assert store.codes_of_store(session, amsterdam.id) == []
