"""Queries of the campaign report (never commits); the tables live in publishers/store.py."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from kanaal.publishers.store import publisher_events


def funnel_counts(session: Session, campaign_id: str) -> dict[str, int]:
    """Impressions, clicks and contacts of one campaign.

    A click on the tracked number is a click, not a contact: calls that reach the number are
    counted from the contact center's call records instead (older rows that stored such a
    click as a contact are left out so that no call counts twice).
    """
    events = publisher_events.c
    rows = session.execute(select(events.kind, func.count()).where(
        events.campaign_id == campaign_id,
        or_(events.kind != "contact", events.channel.is_(None), events.channel != "phone"),
    ).group_by(events.kind))
    return {kind: int(n) for kind, n in rows}


def first_reaches(session: Session, campaign_id: str) -> dict[str, datetime]:
    """Each reached customer's first event of the campaign: an impression, a click or a
    contact (an appointment may name a customer the impression did not, once stitched)."""
    events = publisher_events.c
    rows = session.execute(select(events.customer_id, func.min(events.at)).where(
        events.campaign_id == campaign_id,
        events.customer_id.is_not(None)).group_by(events.customer_id))
    return {str(customer): at for customer, at in rows}
