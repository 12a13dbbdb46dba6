"""Channel listing CSV import and export: set prices for a whole channel, all or nothing."""

from __future__ import annotations

import csv
from dataclasses import dataclass
from typing import TextIO

from kanaal.catalog import store_pricing
from kanaal.catalog.csv_rows import RowError, refuse
from kanaal.catalog.importer import BATCH_SIZE, Progress
from kanaal.catalog.listing_csv import (
    LISTING_COLUMNS,
    ListingRow,
    check_listing_header,
    parse_listing_row,
)
from kanaal.catalog.store import existing_skus
from kanaal.channels.domain import Channel
from kanaal.channels.service import get_channel_in
from kanaal.core.context import AppContext
from kanaal.core.errors import Conflict, InvalidInput
from kanaal.core.outbox import publish_event


@dataclass(frozen=True, slots=True)
class ListingImportReport:
    """What a listing import did."""

    channel: str
    rows: int
    created: int
    updated: int


def _read(source: TextIO, channel: Channel) -> list[ListingRow]:
    reader = csv.DictReader(source)
    try:
        errors = check_listing_header(list(reader.fieldnames or []))
        refuse(errors)
        rows: list[ListingRow] = []
        first_line: dict[str, int] = {}
        end_of_previous = 1
        for raw in reader:
            row, found = parse_listing_row(end_of_previous + 1, dict(raw), channel.currency)
            end_of_previous = reader.line_num
            errors += found
            if row is None:
                continue
            if row.sku in first_line:
                errors.append(RowError(row.line, "sku", "duplicate_sku",
                                       f"sku {row.sku!r} is already on line "
                                       f"{first_line[row.sku]}"))
            first_line.setdefault(row.sku, row.line)
            rows.append(row)
    except (csv.Error, UnicodeDecodeError) as exc:
        raise InvalidInput(f"line {reader.line_num + 1}: the file is not UTF-8 CSV ({exc})",
                           code="malformed_csv") from exc
    if end_of_previous == 1:
        errors.append(RowError(2, "*", "empty_file", "the file has no rows"))
    refuse(errors)
    return rows


def import_listings(ctx: AppContext, channel_ref: str, source: TextIO, *,
                    progress: Progress | None = None) -> ListingImportReport:
    """Create or replace a channel's listings from CSV; every row is checked (known sku, the
    channel's currency, price ≥ 0) before one transaction writes them all."""
    with ctx.db.reader() as session:
        channel = get_channel_in(session, channel_ref)
    rows = _read(source, channel)
    if progress is not None:
        progress("validate", len(rows), len(rows))
    with ctx.db.transaction() as session:
        if get_channel_in(session, channel.id).currency != channel.currency:
            raise Conflict("the channel's currency changed during the import",
                           code="currency_mismatch")
        skus = [row.sku for row in rows]
        refuse(_unknown(rows, existing_skus(session, skus)))
        known = {listing.sku for listing in store_pricing.listings_of(session, channel.id)}
        now = ctx.clock.now()
        for start in range(0, len(rows), BATCH_SIZE):
            store_pricing.upsert_listings(session, [
                {"channel_id": channel.id, "sku": r.sku, "title": r.title,
                 "description": r.description, "price": r.price, "currency": channel.currency,
                 "published": r.published, "url": r.url, "updated_at": now}
                for r in rows[start:start + BATCH_SIZE]])
            if progress is not None:
                progress("write", min(start + BATCH_SIZE, len(rows)), len(rows))
        updated = sum(1 for sku in skus if sku in known)
        publish_event(session, ids=ctx.ids, clock=ctx.clock, topic="listings.imported",
                      data={"channel": channel.handle, "rows": len(rows),
                            "created": len(rows) - updated, "updated": updated})
    return ListingImportReport(channel.handle, len(rows), len(rows) - updated, updated)


def _unknown(rows: list[ListingRow], stored: set[str]) -> list[RowError]:
    return [RowError(row.line, "sku", "unknown_sku", f"no variant with sku {row.sku!r}")
            for row in rows if row.sku not in stored]


def export_listings(ctx: AppContext, channel_ref: str, target: TextIO) -> int:
    """Write a channel's listings as CSV in the import format; returns the row count."""
    writer = csv.writer(target, lineterminator="\n")
    writer.writerow(LISTING_COLUMNS)
    count = 0
    with ctx.db.reader() as session:
        channel = get_channel_in(session, channel_ref)
        for listing in store_pricing.listings_of(session, channel.id):
            writer.writerow([listing.sku, listing.title, listing.description, listing.price,
                             listing.currency, "true" if listing.published else "false",
                             listing.url or ""])
            count += 1
    return count
