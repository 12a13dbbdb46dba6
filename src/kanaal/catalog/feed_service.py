"""Feed use cases: a channel's published listings with availability from the inventory ledger."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from kanaal.catalog import store_pricing
from kanaal.catalog.feeds import MEDIA_TYPES, FeedFormat, SkippedEntry, feed_items, render
from kanaal.channels.service import get_channel_in
from kanaal.core.context import AppContext
from kanaal.core.errors import NotFound
from kanaal.inventory.service import available_many_in


@dataclass(frozen=True, slots=True)
class Feed:
    """A rendered feed file and what was left out of it."""

    channel_handle: str
    format: FeedFormat
    body: bytes
    media_type: str
    items: int
    skipped: tuple[SkippedEntry, ...]


def parse_format(extension: str) -> FeedFormat:
    """The feed format for a file extension (xml, tsv, csv); NotFound unknown_feed_format."""
    try:
        return FeedFormat(extension)
    except ValueError as exc:
        raise NotFound(f"no feed format {extension!r}; use xml, tsv or csv",
                       code="unknown_feed_format") from exc


def build_feed(ctx: AppContext, channel_ref: str, fmt: FeedFormat) -> Feed:
    """The channel's feed in `fmt`, with each sku's availability for that channel."""
    with ctx.db.reader() as session:
        channel = get_channel_in(session, channel_ref)
        entries = store_pricing.feed_entries(session, channel.id)
        availability = available_many_in(session, skus=[e.sku for e in entries],
                                         channel=channel)
    items, skipped = feed_items(entries, availability)
    body = render(fmt, items, title=channel.name,
                  description=f"Products offered on {channel.name} ({channel.handle})")
    return Feed(channel.handle, fmt, body, MEDIA_TYPES[fmt], len(items), tuple(skipped))


def export_feeds(ctx: AppContext, channel_ref: str, directory: Path,
                 formats: list[FeedFormat]) -> list[tuple[Path, Feed]]:
    """Write the channel's feeds to `directory` as <handle>.<ext>; returns what was written."""
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for fmt in formats:
        feed = build_feed(ctx, channel_ref, fmt)
        path = directory / f"{feed.channel_handle}.{fmt.value}"
        tmp = path.with_suffix(path.suffix + ".tmp")
        tmp.write_bytes(feed.body)
        tmp.replace(path)  # readers (a web server) never see half a file
        written.append((path, feed))
    return written
