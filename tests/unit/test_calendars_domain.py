"""Pure calendar rules: local opening hours to UTC slots (DST included), bookable slots,
free slots around taken ones, and calendars that are refused."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kanaal.calendars.domain import (
    Calendar,
    OpeningPeriod,
    Slot,
    check_calendar,
    check_day,
    check_slot,
    free_slots,
    local_label,
    slots_on,
    zone,
)
from kanaal.core.errors import InvalidInput

AMS = ZoneInfo("Europe/Amsterdam")
# Monday and Wednesday 09:00-12:00 plus a Monday afternoon, 45-minute slots, in Amsterdam
CAL = Calendar("store", "loc_1", "Europe/Amsterdam", 45,
               (OpeningPeriod(0, time(9), time(12)), OpeningPeriod(2, time(9), time(12)),
                OpeningPeriod(0, time(14), time(15, 30))),
               closed_dates=(date(2026, 1, 7),))
NOW = datetime(2026, 1, 5, 8, 30, tzinfo=UTC)  # Monday 09:30 in Amsterdam


def labels(slots: list[Slot], tz: ZoneInfo = AMS) -> list[str]:
    return [f"{s.start.astimezone(tz):%H:%M}" for s in slots]


def test_slots_follow_the_local_grid_within_each_period_on_open_days() -> None:
    monday = slots_on(CAL, date(2026, 1, 5))
    assert labels(monday) == ["09:00", "09:45", "10:30", "11:15", "14:00", "14:45"]
    assert monday[0] == Slot(datetime(2026, 1, 5, 8, tzinfo=UTC),
                             datetime(2026, 1, 5, 8, 45, tzinfo=UTC))
    assert slots_on(CAL, date(2026, 1, 6)) == []  # Tuesday: closed weekday
    assert slots_on(CAL, date(2026, 1, 7)) == []  # a closed date


def test_opening_hours_stay_local_across_daylight_saving_time() -> None:
    cal = Calendar("store", "s", "Europe/Amsterdam", 60, (OpeningPeriod(6, time(1), time(4)),))
    # 29 March 2026: clocks jump from 02:00 to 03:00; 02:00 local does not exist
    spring = slots_on(cal, date(2026, 3, 29))
    assert labels(spring) == ["01:00", "03:00"]
    assert [s.start.hour for s in spring] == [0, 1]  # 01:00 CET, 03:00 CEST in UTC
    summer = Calendar("store", "s", "Europe/Amsterdam", 60,
                      (OpeningPeriod(0, time(9), time(10)),))
    assert slots_on(summer, date(2026, 7, 6))[0].start == datetime(2026, 7, 6, 7, tzinfo=UTC)
    assert slots_on(summer, date(2026, 1, 5))[0].start == datetime(2026, 1, 5, 8, tzinfo=UTC)


def test_bookable_slots_are_on_the_grid_open_and_in_the_future() -> None:
    slot = check_slot(CAL, datetime(2026, 1, 5, 10, 30, tzinfo=AMS), NOW)
    assert slot.start == datetime(2026, 1, 5, 9, 30, tzinfo=UTC)
    assert check_slot(CAL, datetime(2026, 1, 5, 9, 30, tzinfo=UTC), NOW) == slot
    for bad, code in [(datetime(2026, 1, 5, 9, 0, tzinfo=AMS), "slot_in_past"),
                      (datetime(2026, 1, 5, 10, 0, tzinfo=AMS), "invalid_slot"),
                      (datetime(2026, 1, 5, 15, 30, tzinfo=AMS), "invalid_slot"),
                      (datetime(2026, 1, 6, 9, 0, tzinfo=AMS), "invalid_slot"),
                      (datetime(2026, 1, 7, 9, 0, tzinfo=AMS), "invalid_slot"),
                      (datetime(2026, 6, 1, 9, 0, tzinfo=AMS), "invalid_slot"),  # > 90 days
                      (datetime(2026, 1, 5, 10, 30), "invalid_slot")]:  # noqa: DTZ001
        with pytest.raises(InvalidInput) as refused:
            check_slot(CAL, bad, NOW)
        assert refused.value.code == code, bad


def test_free_slots_skip_the_past_and_any_overlap_with_taken_time() -> None:
    monday = slots_on(CAL, date(2026, 1, 5))
    # 11:00-11:30 local is taken: it overlaps both the 10:30 and the 11:15 slot
    taken = [(datetime(2026, 1, 5, 10, 0, tzinfo=UTC), datetime(2026, 1, 5, 10, 30, tzinfo=UTC))]
    assert labels(free_slots(monday, taken, NOW)) == ["09:45", "14:00", "14:45"]
    assert labels(free_slots(monday, [], NOW)) == ["09:45", "10:30", "11:15", "14:00", "14:45"]


def test_days_to_show_run_from_the_local_today_for_ninety_days() -> None:
    late = datetime(2026, 1, 4, 23, 30, tzinfo=UTC)  # already Monday in Amsterdam
    assert check_day(CAL, date(2026, 1, 5), late) == date(2026, 1, 5)
    for bad in (date(2026, 1, 4), date(2026, 4, 6)):
        with pytest.raises(InvalidInput) as refused:
            check_day(CAL, bad, late)
        assert refused.value.code == "invalid_day"


def test_labels_read_in_local_time_with_the_zone() -> None:
    start = datetime(2026, 7, 6, 7, tzinfo=UTC)
    assert local_label(CAL, start, start + timedelta(hours=1)) == (
        "Monday 06 July 2026, 09:00-10:00 CEST")


@pytest.mark.parametrize("bad", [
    Calendar("room", "x", "UTC", 30, (OpeningPeriod(0, time(9), time(17)),)),
    Calendar("store", "x", "Mars/Olympus", 30, (OpeningPeriod(0, time(9), time(17)),)),
    Calendar("store", "x", "UTC", 30, ()),
    Calendar("store", "x", "UTC", 2, (OpeningPeriod(0, time(9), time(17)),)),
    Calendar("store", "x", "UTC", 30, (OpeningPeriod(7, time(9), time(17)),)),
    Calendar("store", "x", "UTC", 30, (OpeningPeriod(0, time(17), time(9)),)),
    Calendar("store", "x", "UTC", 120, (OpeningPeriod(0, time(9), time(10)),)),
    Calendar("store", "x", "UTC", 30, (OpeningPeriod(0, time(9), time(13)),
                                       OpeningPeriod(0, time(12), time(17)))),
])
def test_calendars_without_sound_bookable_time_are_refused(bad: Calendar) -> None:
    with pytest.raises(InvalidInput):
        check_calendar(bad)


@pytest.mark.parametrize("name", ["", "CET", "Europe", "Europe/", "../../etc/passwd",
                                  "/etc/localtime", "Mars/Olympus"])
def test_only_iana_zone_names_are_time_zones(name: str) -> None:
    with pytest.raises(InvalidInput) as refused:
        zone(name)
    assert refused.value.code == "invalid_timezone"


@settings(deadline=None)
@given(st.integers(5, 240), st.integers(0, 22), st.integers(1, 23),
       st.sampled_from(["UTC", "Europe/Amsterdam", "America/New_York", "Asia/Kolkata"]),
       st.dates(date(2026, 1, 1), date(2027, 12, 31)))
def test_slots_are_on_the_grid_inside_opening_hours_and_never_overlap(
    minutes: int, opens: int, hours: int, tz: str, day: date
) -> None:
    closes = min(opens + hours, 23)
    cal = Calendar("store", "s", tz, minutes, tuple(
        OpeningPeriod(d, time(opens), time(closes)) for d in range(7)))
    slots = slots_on(cal, day)
    local = ZoneInfo(tz)
    for slot in slots:
        begin = slot.start.astimezone(local)
        assert begin.date() == day
        assert time(opens) <= begin.time()
        assert (begin.hour * 60 + begin.minute - opens * 60) % minutes == 0
        assert slot.end - slot.start == timedelta(minutes=minutes)
    assert all(a.end <= b.start for a, b in zip(slots, slots[1:], strict=False))
    for slot in slots[:1] + slots[-1:]:
        assert check_slot(cal, slot.start, slot.start - timedelta(seconds=1)) == slot
    assert len(slots) <= (closes - opens) * 60 // minutes
