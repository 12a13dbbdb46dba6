"""publishers_0002 on a database with data: campaign hours become the resource's shared
calendar, campaigns keep only the reference, appointments move to the shared table with a
link to their campaign; the slot they hold stays taken. On SQLite and PostgreSQL."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from alembic import command
from sqlalchemy import create_engine, select, text

from kanaal.calendars.store import calendar_appointments, calendars
from kanaal.core.db import Database
from kanaal.migrations.runner import alembic_config, pending_differences, upgrade
from kanaal.publishers.store import publisher_appointments, publisher_campaigns
from tests.conftest import PG_URL

NOW = datetime(2026, 1, 5, 9, tzinfo=UTC)
SLOT = datetime(2026, 1, 6, 10, tzinfo=UTC)


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def blank(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Database]:
    """An empty database (no migrations applied)."""
    if request.param == "sqlite":
        db = Database(f"sqlite:///{tmp_path / 'mig.db'}")
        yield db
        db.dispose()
        return
    schema = f"mig_{uuid.uuid4().hex[:10]}"
    try:
        db = Database(PG_URL, schema=schema)
        with db.engine.begin() as conn:
            conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    except Exception as exc:  # noqa: BLE001
        pytest.skip(f"PostgreSQL: {exc}")
    yield db
    db.dispose()
    engine = create_engine(PG_URL)
    with engine.begin() as conn:
        conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
    engine.dispose()


def _to(db: Database, revision: str) -> None:
    cfg = alembic_config()
    with db.engine.connect() as connection:
        cfg.attributes["connection"] = connection
        command.upgrade(cfg, revision)
        connection.commit()


def test_campaign_hours_and_appointments_move_to_the_shared_calendars(blank: Database) -> None:
    db = blank
    _to(db, "publishers_0001")
    _to(db, "calendars_0001")
    with db.engine.begin() as conn:
        conn.execute(publisher_campaigns.insert().values(
            id="pcm_1", handle="test-drive", name="Test drive the Volta EV", publisher="AutoWeek",
            sku=None, expected_value=2500, currency="EUR", headline="h", body="b",
            rules={"segments": [], "min_score": None, "page_types": [], "keywords": []},
            channels=[], cost_per_mille=0, cost_per_click=0, created_at=NOW,
            calendar={"resource_kind": "store", "resource_id": "loc_1", "slot_minutes": 60,
                      "opens": "09:00", "closes": "12:00", "weekdays": [0, 1, 2, 3, 4]}))
        conn.execute(text(
            "INSERT INTO appointments (id, campaign_id, resource_kind, resource_id, slot_start,"
            " slot_end, customer_id, name, email, phone, status, created_at) VALUES ('apt_1',"
            " 'pcm_1', 'store', 'loc_1', :start, :end, 'cus_1', 'Ann', 'ann@example.com', NULL,"
            " 'booked', :now)"), {"start": SLOT, "end": SLOT.replace(hour=11), "now": NOW}
            if not db.is_sqlite else {"start": "2026-01-06 10:00:00.000000",
                                      "end": "2026-01-06 11:00:00.000000",
                                      "now": "2026-01-05 09:00:00.000000"})
    upgrade(db)
    assert pending_differences(db) == []
    with db.engine.connect() as conn:
        [calendar] = conn.execute(select(calendars)).all()
        assert (calendar.resource_kind, calendar.resource_id, calendar.timezone,
                calendar.slot_minutes) == ("store", "loc_1", "UTC", 60)
        assert calendar.hours == [{"weekday": d, "opens": "09:00", "closes": "12:00"}
                                  for d in range(5)]
        campaign = conn.execute(select(publisher_campaigns.c.calendar)).scalar_one()
        assert campaign == {"resource_kind": "store", "resource_id": "loc_1"}
        [moved] = conn.execute(select(calendar_appointments)).all()
        assert (moved.id, moved.slot_start, moved.held_start, moved.status, moved.title,
                moved.source, moved.source_ref, moved.email) == (
            "apt_1", SLOT, SLOT, "booked", "Test drive the Volta EV", "publisher", "pcm_1",
            "ann@example.com")
        [link] = conn.execute(select(publisher_appointments)).all()
        assert (link.appointment_id, link.campaign_id, link.customer_id) == (
            "apt_1", "pcm_1", "cus_1")
