"""CSV import and export: thousands of rows in one go, all or nothing, and a lossless round trip."""

from __future__ import annotations

import csv
import io
from decimal import Decimal
from pathlib import Path

import pytest
from typer.testing import CliRunner

from kanaal.catalog.csv_rows import COLUMNS
from kanaal.catalog.importer import export_csv, import_csv
from kanaal.catalog.service import get_product, get_variant
from kanaal.catalog.store import count_rows, products, variants
from kanaal.cli import app
from kanaal.core.context import AppContext
from kanaal.core.errors import InvalidInput
from tests.support.catalog import catalog_rows, make_variant


def _csv(rows: list[list[str]]) -> io.StringIO:
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n").writerows(rows)
    buffer.seek(0)
    return buffer


def _counts(ctx: AppContext) -> tuple[int, int]:
    with ctx.db.reader() as session:
        return count_rows(session, products), count_rows(session, variants)


def test_a_generated_file_of_thousands_of_rows_imports_and_exports_unchanged(
    ctx: AppContext,
) -> None:
    rows = catalog_rows(products=1000, variants_per_product=4)
    phases: list[tuple[str, int, int]] = []
    report = import_csv(ctx, _csv(rows), progress=lambda *p: phases.append(p))
    assert (report.rows, report.products, report.created, report.updated) == (4000, 1000, 4000, 0)
    assert _counts(ctx) == (1000, 4000)
    assert phases[-1] == ("write", 4000, 4000) and ("validate", 4000, 4000) in phases
    variant = get_variant(ctx, "SKU-000123-M")
    assert (variant.title, variant.brand, variant.gtin, variant.cost_price,
            variant.attributes) == (
        "Product 123 M", "Brand 12", "2000000004938", Decimal("44.9300"), {"size": "M"})
    product, items = get_product(ctx, variant.product_id)
    assert product.handle == "product-000123"
    assert [v.sku for v in items] == ["SKU-000123-L", "SKU-000123-M", "SKU-000123-S",
                                      "SKU-000123-XL"]
    exported = io.StringIO()
    assert export_csv(ctx, exported) == 4000
    assert exported.getvalue() == _csv(rows).getvalue()


def test_importing_again_updates_in_place(ctx: AppContext) -> None:
    rows = catalog_rows(products=50, variants_per_product=2)
    import_csv(ctx, _csv(rows))
    cost = COLUMNS.index("cost_price")
    title = COLUMNS.index("product_title")
    changed = [rows[0]] + [[*r[:cost], "9.9900", *r[cost + 1:]] for r in rows[1:]]
    changed[1][title] = changed[2][title] = "Renamed"
    report = import_csv(ctx, _csv(changed), batch_size=7)
    assert (report.rows, report.created, report.updated) == (100, 0, 100)
    assert _counts(ctx) == (50, 100)
    variant = get_variant(ctx, changed[1][COLUMNS.index("sku")])
    assert variant.cost_price == Decimal("9.9900")
    assert get_product(ctx, variant.product_id)[0].title == "Renamed"


def test_a_file_with_errors_reports_every_line_and_column_and_writes_nothing(
    ctx: AppContext,
) -> None:
    make_variant(ctx, "KEEP-1", gtin="4006381333931")
    rows = catalog_rows(products=10, variants_per_product=2)
    col = {c: i for i, c in enumerate(COLUMNS)}
    rows[3][col["gtin"]] = "4006381333932"
    rows[5][col["cost_price"]] = "-1"
    rows[7][col["sku"]] = rows[6][col["sku"]]
    rows[9][col["currency"]] = "euro"
    rows[11][col["attributes"]] = "[1, 2]"
    rows[12][col["condition"]] = "broken"
    rows[13][col["product_title"]] = "Other title"
    rows[16][col["images"]] = "img.example.com/no-scheme.jpg"
    with pytest.raises(InvalidInput) as refused:
        import_csv(ctx, _csv(rows))
    assert refused.value.code == "invalid_import"
    assert [(d["line"], d["column"], d["code"]) for d in refused.value.details] == [
        (4, "gtin", "invalid_gtin"),
        (6, "cost_price", "negative_amount"),
        (8, "sku", "duplicate_sku"),
        (10, "currency", "invalid_currency"),
        (12, "attributes", "invalid_attributes"),
        (13, "condition", "invalid_condition"),
        (15, "product_title", "product_conflict"),  # line 14 is its product's first row
        (17, "images", "invalid_image"),
    ]
    assert _counts(ctx) == (1, 1)


def test_a_gtin_of_another_stored_sku_is_refused_and_nothing_changes(ctx: AppContext) -> None:
    make_variant(ctx, "KEEP-1", gtin="4006381333931")
    rows = catalog_rows(products=3, variants_per_product=1)
    rows[2][COLUMNS.index("gtin")] = "4006381333931"
    with pytest.raises(InvalidInput) as refused:
        import_csv(ctx, _csv(rows))
    assert [(d["line"], d["code"]) for d in refused.value.details] == [(3, "duplicate_gtin")]
    assert _counts(ctx) == (1, 1)


def test_a_bad_header_is_refused(ctx: AppContext) -> None:
    with pytest.raises(InvalidInput) as refused:
        import_csv(ctx, io.StringIO("sku,title,colour\nA,B,C\n"))
    assert [(d["line"], d["column"], d["code"]) for d in refused.value.details] == [
        (1, "colour", "unknown_column"), (1, "cost_price", "missing_column"),
        (1, "currency", "missing_column"), (1, "product_handle", "missing_column"),
        (1, "product_title", "missing_column"), (1, "title", "unknown_column"),
        (1, "variant_title", "missing_column"),
    ]
    assert _counts(ctx) == (0, 0)


def test_the_cli_imports_and_exports_with_a_progress_bar(
    ctx: AppContext, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("KANAAL_DATABASE_URL", ctx.settings.sqlalchemy_url())
    if ctx.settings.database_schema:
        monkeypatch.setenv("KANAAL_DATABASE_SCHEMA", ctx.settings.database_schema)
    monkeypatch.setenv("KANAAL_AUTO_MIGRATE", "false")
    source = tmp_path / "in.csv"
    source.write_text(_csv(catalog_rows(products=30, variants_per_product=3)).getvalue())
    imported = CliRunner().invoke(app, ["catalog", "import", str(source)])
    assert imported.exit_code == 0, imported.output
    assert "imported 90 variants of 30 products (90 new, 0 updated)" in imported.stdout
    exported = CliRunner().invoke(app, ["catalog", "export", str(tmp_path / "out.csv")])
    assert exported.exit_code == 0, exported.output
    assert (tmp_path / "out.csv").read_text() == source.read_text()
    bad = tmp_path / "bad.csv"
    bad.write_text(source.read_text().replace("SKU-000001-L", "bad sku"))
    refused = CliRunner().invoke(app, ["catalog", "import", str(bad)])
    assert refused.exit_code == 1
    assert "invalid_import" in refused.output and "invalid_sku" in refused.output
    assert _counts(ctx) == (30, 90)


def test_files_that_are_not_csv_or_not_utf8_are_refused(ctx: AppContext, tmp_path: Path) -> None:
    header = ",".join(COLUMNS)
    huge = io.StringIO(f"{header}\n" + "x" * 200_000 + "\n")
    with pytest.raises(InvalidInput) as malformed:
        import_csv(ctx, huge)
    assert (malformed.value.code, malformed.value.details[0]["line"]) == ("malformed_csv", 2)
    latin = tmp_path / "latin1.csv"
    latin.write_bytes(f"{header}\n".encode() + "p,Caf\xe9,,,S,V,,,,1,EUR,,\n".encode("latin-1"))
    with latin.open(encoding="utf-8") as source, pytest.raises(InvalidInput) as encoding:
        import_csv(ctx, source)
    assert encoding.value.code == "invalid_encoding"
    assert _counts(ctx) == (0, 0)
