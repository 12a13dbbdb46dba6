"""The catalog CSV format: columns, row parsing and validation. Pure; no database."""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from kanaal.catalog.domain import (
    Condition,
    check_attributes,
    check_currency,
    check_gtin,
    check_handle,
    check_images,
    check_sku,
    parse_amount,
)
from kanaal.core.errors import InvalidInput

REQUIRED = ("product_handle", "product_title", "sku", "variant_title", "cost_price", "currency")
OPTIONAL = ("product_description", "brand", "gtin", "mpn", "condition", "attributes", "images")
COLUMNS = REQUIRED[:2] + ("product_description", "brand") + REQUIRED[2:4] + (
    "gtin", "mpn", "condition") + REQUIRED[4:] + ("attributes", "images")
IMAGE_SEPARATOR = "|"
MAX_ERRORS = 1000


@dataclass(frozen=True, slots=True)
class RowError:
    """A problem in one cell: `line` is the file's line number (the header is line 1)."""

    line: int
    column: str
    code: str
    message: str


def refuse(errors: list[RowError]) -> None:
    """Refuse a whole file with every problem (line and column, first ones first); nothing of
    it is imported. No errors: nothing happens."""
    if not errors:
        return
    errors.sort(key=lambda e: (e.line, e.column))
    first = errors[0]
    raise InvalidInput(
        f"{len(errors)} problem(s) in the file, nothing was imported; line {first.line} "
        f"column {first.column}: {first.message}", code="invalid_import",
        details=[{"line": e.line, "column": e.column, "code": e.code, "message": e.message}
                 for e in errors[:MAX_ERRORS]],
    )


@dataclass(frozen=True, slots=True)
class ImportRow:
    """One valid CSV row: a variant and the product it belongs to."""

    line: int
    product_handle: str
    product_title: str
    product_description: str
    brand: str | None
    sku: str
    variant_title: str
    gtin: str | None
    mpn: str | None
    condition: Condition
    cost_price: Decimal
    currency: str
    attributes: dict[str, Any]
    images: tuple[str, ...]


def check_header(header: Iterable[str] | None) -> list[RowError]:
    """Problems with the header row: missing required or unknown columns."""
    names = list(header or [])
    problems = [RowError(1, c, "missing_column", f"column {c!r} is required")
                for c in REQUIRED if c not in names]
    problems += [RowError(1, c, "unknown_column", f"column {c!r} is not one of {list(COLUMNS)}")
                 for c in names if c not in COLUMNS]
    problems += [RowError(1, c, "duplicate_column", f"column {c!r} appears twice")
                 for c in sorted({c for c in names if names.count(c) > 1})]
    return problems


def _errors(line: int, column: str, found: list[dict[str, Any]]) -> list[RowError]:
    return [RowError(line, column, p["code"], p["message"]) for p in found]


def _attributes(line: int, raw: str) -> tuple[dict[str, Any], list[RowError]]:
    if not raw.strip():
        return {}, []
    try:
        value = json.loads(raw)
    except json.JSONDecodeError as exc:
        return {}, [RowError(line, "attributes", "invalid_attributes", f"not JSON: {exc.msg}")]
    if not isinstance(value, dict):
        return {}, [RowError(line, "attributes", "invalid_attributes", "must be a JSON object")]
    return value, []


def parse_row(line: int, raw: dict[str, str | None]) -> tuple[ImportRow | None, list[RowError]]:
    """Validate one CSV row; returns the row or every problem found in it."""
    cell = {k: (v or "").strip() for k, v in raw.items() if k is not None}
    if None in raw:
        return None, [RowError(line, "*", "extra_cells", "the row has more cells than columns")]
    problems: list[RowError] = []
    for column in REQUIRED:
        if column not in ("cost_price",) and not cell.get(column):
            problems.append(RowError(line, column, "required", f"{column} is required"))
    handle, sku = cell.get("product_handle", ""), cell.get("sku", "")
    if handle:
        problems += _errors(line, "product_handle", check_handle(handle, []))
    if sku:
        problems += _errors(line, "sku", check_sku(sku, []))
    gtin = cell.get("gtin") or None
    problems += _errors(line, "gtin", check_gtin(gtin, []))
    if cell.get("currency"):
        problems += _errors(line, "currency", check_currency(cell["currency"], []))
    cost, found = parse_amount(cell.get("cost_price", ""), [])
    problems += _errors(line, "cost_price", found)
    try:
        condition = Condition(cell.get("condition") or "new")
    except ValueError:
        condition = Condition.NEW
        problems.append(RowError(line, "condition", "invalid_condition",
                                 "condition must be new, refurbished or used"))
    attributes, found_attributes = _attributes(line, cell.get("attributes", ""))
    problems += found_attributes
    images = tuple(u.strip() for u in cell.get("images", "").split(IMAGE_SEPARATOR) if u.strip())
    problems += [RowError(line, "images", p["code"], p["message"])
                 for p in check_images(images, [])]
    problems += _errors(line, "attributes", check_attributes(attributes, []))
    if problems or cost is None:
        return None, problems
    return ImportRow(
        line=line, product_handle=handle, product_title=cell["product_title"],
        product_description=cell.get("product_description", ""),
        brand=cell.get("brand") or None, sku=sku, variant_title=cell["variant_title"],
        gtin=gtin, mpn=cell.get("mpn") or None, condition=condition, cost_price=cost,
        currency=cell["currency"], attributes=attributes, images=images,
    ), []


def check_consistency(rows: list[ImportRow]) -> list[RowError]:
    """Problems between rows: repeated skus or gtins, one handle with two titles or brands."""
    problems: list[RowError] = []
    sku_line: dict[str, int] = {}
    gtin_line: dict[str, int] = {}
    product: dict[str, ImportRow] = {}
    for row in rows:
        if row.sku in sku_line:
            problems.append(RowError(row.line, "sku", "duplicate_sku",
                                     f"sku {row.sku!r} is already on line {sku_line[row.sku]}"))
        sku_line.setdefault(row.sku, row.line)
        if row.gtin is not None:
            if row.gtin in gtin_line:
                problems.append(RowError(row.line, "gtin", "duplicate_gtin",
                                         f"gtin {row.gtin} is already on line "
                                         f"{gtin_line[row.gtin]}"))
            gtin_line.setdefault(row.gtin, row.line)
        first = product.setdefault(row.product_handle, row)
        for column in ("product_title", "product_description", "brand"):
            if getattr(row, column) != getattr(first, column):
                problems.append(RowError(row.line, column, "product_conflict",
                                         f"differs from line {first.line} of the same product"))
    return problems


def export_cells(row: dict[str, Any]) -> Iterator[str]:
    """The CSV cells of one exported variant, in COLUMNS order."""
    for column in COLUMNS:
        value = row[column]
        if column == "attributes":
            yield json.dumps(value, sort_keys=True, ensure_ascii=False) if value else ""
        elif column == "images":
            yield IMAGE_SEPARATOR.join(value)
        elif value is None:
            yield ""
        else:
            yield str(value)
