"""Feed endpoints: GET /v1/feeds/{channel}.{xml,tsv,csv}."""

from __future__ import annotations

from fastapi import APIRouter, Response

from kanaal.catalog.feed_service import build_feed, parse_format
from kanaal.core.errors import NotFound
from kanaal.core.http import Ctx, ReadKey

router = APIRouter(prefix="/v1/feeds", tags=["feeds"])


@router.get("/{filename}", response_class=Response,
            responses={200: {"content": {"application/rss+xml": {}, "text/csv": {},
                                         "text/tab-separated-values": {}}}})
def get_feed(filename: str, ctx: Ctx, _principal: ReadKey) -> Response:
    """A channel's Google (xml, tsv) or Meta (csv) product feed; availability from the ledger."""
    channel, dot, extension = filename.rpartition(".")
    if not dot or not channel:
        raise NotFound("ask for <channel>.xml, .tsv or .csv", code="unknown_feed_format")
    feed = build_feed(ctx, channel, parse_format(extension))
    return Response(feed.body, media_type=feed.media_type, headers={
        "Kanaal-Feed-Items": str(feed.items), "Kanaal-Feed-Skipped": str(len(feed.skipped))})
