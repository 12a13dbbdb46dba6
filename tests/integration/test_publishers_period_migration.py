"""publishers_0003 on a database with a campaign: the campaign gets no start, no end and the
default attribution window of 30 days, and still runs. On SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from kanaal.core.db import Database
from kanaal.migrations.runner import pending_differences, upgrade
from kanaal.publishers import store
from kanaal.publishers.domain import period_miss
from kanaal.publishers.store import publisher_campaigns
from tests.integration.test_publishers_calendar_migration import (
    _to,
    blank,  # noqa: F401 - a fixture
)

NOW = datetime(2026, 1, 5, 9, tzinfo=UTC)


def test_existing_campaigns_get_no_period_and_the_default_window(
    blank: Database,  # noqa: F811
) -> None:
    db = blank
    _to(db, "publishers_0002")
    with db.engine.begin() as conn:
        conn.execute(publisher_campaigns.insert().values(
            id="pcm_1", handle="test-drive", name="Test drive", publisher="AutoWeek", sku=None,
            expected_value=2500, currency="EUR", headline="h", body="b",
            rules={"segments": [], "min_score": None, "page_types": [], "keywords": []},
            channels=[], cost_per_mille=0, cost_per_click=0, created_at=NOW,
            calendar={"resource_kind": "store", "resource_id": "loc_1"}))
    upgrade(db)
    assert pending_differences(db) == []
    with db.engine.connect() as conn:
        row = conn.execute(select(publisher_campaigns.c.starts_at, publisher_campaigns.c.ends_at,
                                  publisher_campaigns.c.attribution_days)).one()
    assert tuple(row) == (None, None, 30)
    with db.reader() as session:
        campaign = store.find_campaign(session, "test-drive")
    assert campaign is not None
    assert period_miss(campaign, NOW + timedelta(days=1000)) is None
