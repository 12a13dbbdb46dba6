"""Channel listings from CSV: a whole channel priced in one go, all or nothing."""

from __future__ import annotations

import csv
import io
from decimal import Decimal
from pathlib import Path

import pytest
from typer.testing import CliRunner

from kanaal.catalog.importer import import_csv
from kanaal.catalog.listing_import import export_listings, import_listings
from kanaal.catalog.listing_service import get_listing
from kanaal.catalog.service import unit_price_in
from kanaal.catalog.store import channel_listings, count_rows
from kanaal.channels.domain import Channel
from kanaal.cli import app
from kanaal.core.context import AppContext
from kanaal.core.errors import InvalidInput
from kanaal.core.money import Money
from tests.support.catalog import catalog_rows, make_channel

HEADER = ["sku", "title", "description", "price", "currency", "published", "url"]


def _csv(rows: list[list[str]]) -> io.StringIO:
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n").writerows(rows)
    buffer.seek(0)
    return buffer


def _listing_rows(count: int, price: str = "12.5000") -> list[list[str]]:
    skus = [row[4] for row in catalog_rows(products=count // 2, variants_per_product=2)[1:]]
    return [HEADER] + [[sku, f"Title {sku}", "Soft, warm", price, "EUR",
                        "true" if n % 3 else "false", f"https://shop.example.com/{sku}"]
                       for n, sku in enumerate(skus)]


@pytest.fixture
def webshop(ctx: AppContext) -> Channel:
    """A EUR channel over a catalog of 200 variants."""
    import_csv(ctx, _csv(catalog_rows(products=100, variants_per_product=2)))
    return make_channel(ctx, "webshop-nl")


def _count(ctx: AppContext) -> int:
    with ctx.db.reader() as session:
        return count_rows(session, channel_listings)


def test_a_channel_is_listed_from_csv_and_exports_the_same_file(
    ctx: AppContext, webshop: Channel
) -> None:
    rows = _listing_rows(200)
    report = import_listings(ctx, "webshop-nl", _csv(rows))
    assert (report.rows, report.created, report.updated) == (200, 200, 0)
    sku = rows[2][0]
    with ctx.db.reader() as session:
        assert unit_price_in(session, channel=webshop, sku=sku, quantity=1) == Money(
            Decimal("12.5000"), "EUR")
    assert get_listing(ctx, "webshop-nl", rows[1][0]).published is False
    exported = io.StringIO()
    assert export_listings(ctx, "webshop-nl", exported) == 200
    by_sku = [HEADER, *sorted(rows[1:], key=lambda r: r[0])]
    assert exported.getvalue() == _csv(by_sku).getvalue()
    again = import_listings(ctx, webshop.id, _csv(_listing_rows(200, "9.9900")))
    assert (again.created, again.updated) == (0, 200)
    assert get_listing(ctx, "webshop-nl", sku).price == Decimal("9.9900")


def test_a_bad_listing_file_reports_every_problem_and_changes_nothing(
    ctx: AppContext, webshop: Channel
) -> None:
    import_listings(ctx, "webshop-nl", _csv(_listing_rows(10)))
    rows = _listing_rows(10, "7.0000")
    rows[1][0] = "NO-SUCH-SKU"
    rows[2][4] = "USD"
    rows[3][3] = "-1"
    rows[4][0] = rows[5][0]
    rows[6][5] = "maybe"
    rows[7][6] = "ftp://x"
    with pytest.raises(InvalidInput) as refused:
        import_listings(ctx, "webshop-nl", _csv(rows))
    assert [(d["line"], d["column"], d["code"]) for d in refused.value.details] == [
        (3, "currency", "currency_mismatch"), (4, "price", "negative_amount"),
        (6, "sku", "duplicate_sku"), (7, "published", "invalid_published"),
        (8, "url", "invalid_url")]
    only_unknown = _listing_rows(10, "7.0000")
    only_unknown[1][0] = "NO-SUCH-SKU"
    with pytest.raises(InvalidInput) as unknown:
        import_listings(ctx, "webshop-nl", _csv(only_unknown))
    assert [(d["line"], d["code"]) for d in unknown.value.details] == [(2, "unknown_sku")]
    assert _count(ctx) == 10
    assert {get_listing(ctx, "webshop-nl", r[0]).price for r in rows[8:]} == {Decimal("12.5")}


def test_the_cli_lists_a_channel_from_csv(
    ctx: AppContext, webshop: Channel, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("KANAAL_DATABASE_URL", ctx.settings.sqlalchemy_url())
    if ctx.settings.database_schema:
        monkeypatch.setenv("KANAAL_DATABASE_SCHEMA", ctx.settings.database_schema)
    monkeypatch.setenv("KANAAL_AUTO_MIGRATE", "false")
    source = tmp_path / "listings.csv"
    rows = _listing_rows(20)
    source.write_text(_csv([HEADER, *sorted(rows[1:], key=lambda r: r[0])]).getvalue())
    result = CliRunner().invoke(app, ["catalog", "import-listings", webshop.handle, str(source)])
    assert result.exit_code == 0, result.output
    assert "listed 20 variants on webshop-nl (20 new, 0 updated)" in result.stdout
    out = tmp_path / "out.csv"
    exported = CliRunner().invoke(app, ["catalog", "export-listings", webshop.handle, str(out)])
    assert exported.exit_code == 0, exported.output
    assert out.read_text() == source.read_text()
    missing = CliRunner().invoke(app, ["catalog", "import-listings", "nowhere", str(source)])
    assert missing.exit_code == 1 and "unknown_channel" in missing.output
