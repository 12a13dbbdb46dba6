"""The channel listing CSV format: columns and row validation. Pure; no database."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from kanaal.catalog.csv_rows import RowError
from kanaal.catalog.domain import check_sku, parse_amount

LISTING_REQUIRED = ("sku", "title", "price", "currency")
LISTING_COLUMNS = ("sku", "title", "description", "price", "currency", "published", "url")
_TRUE = {"", "true", "yes", "1"}
_FALSE = {"false", "no", "0"}


@dataclass(frozen=True, slots=True)
class ListingRow:
    """One valid listing row."""

    line: int
    sku: str
    title: str
    description: str
    price: Decimal
    published: bool
    url: str | None


def check_listing_header(header: list[str] | None) -> list[RowError]:
    """Problems with the header row: missing required or unknown columns."""
    names = list(header or [])
    problems = [RowError(1, c, "missing_column", f"column {c!r} is required")
                for c in LISTING_REQUIRED if c not in names]
    return problems + [RowError(1, c, "unknown_column",
                                f"column {c!r} is not one of {list(LISTING_COLUMNS)}")
                       for c in names if c not in LISTING_COLUMNS]


def parse_listing_row(line: int, raw: dict[str | None, str | None], currency: str
                      ) -> tuple[ListingRow | None, list[RowError]]:
    """Validate one listing row for a channel selling in `currency`."""
    if None in raw:
        return None, [RowError(line, "*", "extra_cells", "the row has more cells than columns")]
    cell = {str(k): (v or "").strip() for k, v in raw.items()}
    problems = [RowError(line, c, "required", f"{c} is required")
                for c in ("sku", "title", "currency") if not cell.get(c)]
    if cell.get("sku"):
        problems += [RowError(line, "sku", p["code"], p["message"])
                     for p in check_sku(cell["sku"], [])]
    price, found = parse_amount(cell.get("price", ""), [])
    problems += [RowError(line, "price", p["code"], p["message"]) for p in found]
    if cell.get("currency") and cell["currency"] != currency:
        problems.append(RowError(line, "currency", "currency_mismatch",
                                 f"the channel sells in {currency}, not {cell['currency']}"))
    published = cell.get("published", "").lower()
    if published not in _TRUE | _FALSE:
        problems.append(RowError(line, "published", "invalid_published",
                                 "published must be true or false"))
    url = cell.get("url") or None
    if url is not None and not url.startswith(("https://", "http://")):
        problems.append(RowError(line, "url", "invalid_url", "url must be http(s)"))
    if problems or price is None:
        return None, problems
    return ListingRow(line=line, sku=cell["sku"], title=cell["title"],
                      description=cell.get("description", ""), price=price,
                      published=published in _TRUE, url=url), []
