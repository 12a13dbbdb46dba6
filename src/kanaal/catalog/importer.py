"""Catalog CSV import and export: validate every row, then upsert in batches, all or nothing."""

from __future__ import annotations

import csv
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, TextIO

from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from kanaal.catalog.csv_rows import (
    COLUMNS,
    ImportRow,
    RowError,
    check_consistency,
    check_header,
    export_cells,
    parse_row,
    refuse,
)
from kanaal.catalog.store import amount, count_rows, existing_skus, gtin_owners, products, variants
from kanaal.core.context import AppContext
from kanaal.core.errors import Conflict, InvalidInput
from kanaal.core.outbox import publish_event

# Called as progress(phase, done, total) with phase "validate", "write" or "export";
# total is 0 while validation has not reached the end of the file.
Progress = Callable[[str, int, int], None]
BATCH_SIZE = 2000


@dataclass(frozen=True, slots=True)
class ImportReport:
    """What an import did: rows read, products touched, variants created and updated."""

    rows: int
    products: int
    created: int
    updated: int


def read_rows(source: TextIO, progress: Progress | None = None) -> list[ImportRow]:
    """Parse and validate a whole file; InvalidInput invalid_import lists every problem."""
    reader = csv.DictReader(source)
    try:
        return _read_rows(reader, progress)
    except csv.Error as exc:
        line = reader.line_num + 1  # the record being read when the parser gave up
        raise InvalidInput(f"line {line}: the file is not valid CSV ({exc})",
                           code="malformed_csv",
                           details=[{"line": line, "message": str(exc)}]) from exc
    except UnicodeDecodeError as exc:
        raise InvalidInput(f"line {reader.line_num + 1}: the file is not UTF-8 text",
                           code="invalid_encoding",
                           details=[{"line": reader.line_num + 1, "message": str(exc)}]) from exc


def _read_rows(reader: csv.DictReader[str], progress: Progress | None) -> list[ImportRow]:
    errors = check_header(reader.fieldnames)
    refuse(errors)
    rows: list[ImportRow] = []
    seen = 0
    end_of_previous = 1
    for raw in reader:
        # A quoted cell may span lines: report the line where the record starts.
        row, found = parse_row(end_of_previous + 1, raw)
        end_of_previous = reader.line_num
        errors += found
        if row is not None:
            rows.append(row)
        seen += 1
        if progress is not None and seen % BATCH_SIZE == 0:
            progress("validate", seen, 0)
    if seen == 0:
        errors.append(RowError(2, "*", "empty_file", "the file has no rows"))
    errors += check_consistency(rows)
    refuse(errors)
    if progress is not None:
        progress("validate", seen, seen)
    return rows


def _insert(session: Session) -> Any:
    dialect = session.get_bind().dialect.name
    return postgresql.insert if dialect == "postgresql" else sqlite.insert


def _check_gtins(session: Session, rows: list[ImportRow]) -> None:
    """A gtin stored for another sku that the file does not also change is a clash."""
    in_file = {row.sku for row in rows}
    owners = gtin_owners(session, [row.gtin for row in rows if row.gtin])
    refuse([
        RowError(row.line, "gtin", "duplicate_gtin",
                 f"gtin {row.gtin} belongs to sku {owners[row.gtin]!r}")
        for row in rows
        if row.gtin in owners and owners[row.gtin] != row.sku and owners[row.gtin] not in in_file
    ])


def _write_batch(session: Session, ctx: AppContext, batch: list[ImportRow],
                 product_ids: dict[str, str]) -> None:
    insert = _insert(session)
    now = ctx.clock.now()
    new_handles = {row.product_handle: row for row in batch if row.product_handle not in
                   product_ids}
    if new_handles:
        stmt = insert(products)
        stmt = stmt.on_conflict_do_update(index_elements=[products.c.handle], set_={
            "title": stmt.excluded.title, "description": stmt.excluded.description,
            "brand": stmt.excluded.brand, "updated_at": stmt.excluded.updated_at})
        session.execute(stmt, [
            {"id": ctx.ids.new("prd"), "handle": handle, "title": row.product_title,
             "description": row.product_description, "brand": row.brand, "attributes": {},
             "images": [], "created_at": now, "updated_at": now}
            for handle, row in new_handles.items()])
        found = session.execute(select(products.c.handle, products.c.id)
                                .where(products.c.handle.in_(list(new_handles))))
        product_ids.update({r.handle: r.id for r in found})
    stmt = insert(variants)
    changed = ("product_id", "title", "gtin", "mpn", "condition", "attributes", "images",
               "cost_price", "currency", "updated_at")
    stmt = stmt.on_conflict_do_update(index_elements=[variants.c.sku],
                                      set_={c: stmt.excluded[c] for c in changed})
    session.execute(stmt, [
        {"sku": r.sku, "product_id": product_ids[r.product_handle], "title": r.variant_title,
         "gtin": r.gtin, "mpn": r.mpn, "condition": r.condition.value,
         "attributes": r.attributes, "images": list(r.images), "cost_price": r.cost_price,
         "currency": r.currency, "created_at": now, "updated_at": now}
        for r in batch])


def import_csv(ctx: AppContext, source: TextIO, *, progress: Progress | None = None,
               batch_size: int = BATCH_SIZE) -> ImportReport:
    """Import products and variants from CSV: every row is checked first, then all rows are
    upserted by sku (products by handle) in one transaction, so a file lands whole or not at all.
    """
    rows = read_rows(source, progress)
    product_ids: dict[str, str] = {}
    try:
        with ctx.db.transaction() as session:
            _check_gtins(session, rows)
            known = existing_skus(session, [row.sku for row in rows])
            for start in range(0, len(rows), batch_size):
                _write_batch(session, ctx, rows[start:start + batch_size], product_ids)
                if progress is not None:
                    progress("write", min(start + batch_size, len(rows)), len(rows))
            # One event per import, not per row: subscribers re-read what they need.
            publish_event(session, ids=ctx.ids, clock=ctx.clock, topic="catalog.imported",
                          data={"rows": len(rows), "products": len(product_ids),
                                "created": len(rows) - len(known), "updated": len(known)})
    except IntegrityError as exc:
        raise Conflict("the file clashes with stored variants (a gtin used twice); nothing was "
                       "imported", code="import_conflict") from exc
    return ImportReport(rows=len(rows), products=len(product_ids),
                        created=len(rows) - len(known), updated=len(known))


def _export_rows(session: Session) -> Iterator[dict[str, Any]]:
    query = (
        select(products.c.handle.label("product_handle"), products.c.title.label("product_title"),
               products.c.description.label("product_description"), products.c.brand,
               variants.c.sku, variants.c.title.label("variant_title"), variants.c.gtin,
               variants.c.mpn, variants.c.condition, variants.c.cost_price, variants.c.currency,
               variants.c.attributes, variants.c.images)
        .join(products, products.c.id == variants.c.product_id)
        .order_by(products.c.handle, variants.c.sku)
        .execution_options(yield_per=BATCH_SIZE)
    )
    for row in session.execute(query):
        values = row._asdict()
        values["cost_price"] = amount(values["cost_price"])
        yield values


def export_csv(ctx: AppContext, target: TextIO, *, progress: Progress | None = None) -> int:
    """Write every variant as a catalog CSV row (the import format); returns the row count."""
    writer = csv.writer(target, lineterminator="\n")
    writer.writerow(COLUMNS)
    count = 0
    with ctx.db.reader() as session:
        total = count_rows(session, variants)
        for values in _export_rows(session):
            writer.writerow(list(export_cells(values)))
            count += 1
            if progress is not None and count % BATCH_SIZE == 0:
                progress("export", count, total)
    if progress is not None:
        progress("export", count, count)
    return count
