"""Export a segment as an ad-platform customer list."""

from __future__ import annotations

from kanaal.core.context import AppContext
from kanaal.customers import feed
from kanaal.marketing.audiences import Contact, Platform, audience_csv
from kanaal.marketing.segments import BULK_CHUNK, segment_member_ids


def export_audience(ctx: AppContext, segment_id: str, platform: str) -> str:
    """CSV of normalised, SHA-256 hashed identifiers of the segment's members."""
    members = segment_member_ids(ctx, segment_id, limit=10_000_000)
    contacts: list[Contact] = []
    with ctx.db.reader() as session:
        for start in range(0, len(members), BULK_CHUNK):
            chunk = members[start:start + BULK_CHUNK]
            snaps = feed.snapshots(session, chunk, since=None, event_names=frozenset())
            for cid in chunk:
                points = feed.contact_points(session, cid)
                traits = snaps[cid].traits
                emails: list[str | None] = list(points["email"]) or [None]
                phones: list[str | None] = list(points["phone"]) or [None]
                for index in range(max(len(emails), len(phones))):
                    contacts.append(Contact(
                        email=emails[index] if index < len(emails) else None,
                        phone=phones[index] if index < len(phones) else None,
                        first_name=traits.get("first_name") or traits.get("firstName"),
                        last_name=traits.get("last_name") or traits.get("lastName"),
                        country=(traits.get("address") or {}).get("country")
                        if isinstance(traits.get("address"), dict) else traits.get("country"),
                        zip_code=(traits.get("address") or {}).get("postal_code")
                        if isinstance(traits.get("address"), dict) else traits.get("zip"),
                    ))
    return audience_csv(contacts, Platform(platform), region=ctx.settings.default_phone_region)
