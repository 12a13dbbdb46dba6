"""Pure rules of QR codes and store presence."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from kanaal.core.errors import Forbidden, InvalidInput, NotFound
from kanaal.stores.domain import (
    QrCode,
    QrTokenExpired,
    check_presence,
    check_token_shape,
    check_usable,
    cookie_anonymous_id,
    has_tracking_consent,
    product_page_path,
    sheet_cells,
    short_link,
)

NOW = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)


def code(expires_at: datetime | None) -> QrCode:
    return QrCode("tok123abc", "TV-55", "loc_1", "TV", NOW - timedelta(days=1), expires_at)


def test_a_code_is_usable_until_it_expires() -> None:
    assert check_usable(code(None), NOW).token == "tok123abc"
    assert check_usable(code(NOW + timedelta(seconds=1)), NOW).sku == "TV-55"
    with pytest.raises(QrTokenExpired) as expired:
        check_usable(code(NOW), NOW)
    assert (expired.value.code, expired.value.status) == ("expired_qr_token", 410)
    with pytest.raises(NotFound):
        check_usable(None, NOW)


@pytest.mark.parametrize("token", ["", "abc", "a" * 33, "../etc", "tok en12", "tök123abc"])
def test_malformed_tokens_are_unknown(token: str) -> None:
    with pytest.raises(NotFound) as refused:
        check_token_shape(token)
    assert refused.value.code == "unknown_qr_token"


def test_links_and_the_landing_page_carry_the_store() -> None:
    assert short_link("https://kanaal.example/", "tok123abc") == (
        "https://kanaal.example/q/tok123abc")
    assert product_page_path("TV-55", "loc_1", "qrs_1") == "/m/p/TV-55?store=loc_1&scan=qrs_1"


def test_only_plausible_cookie_values_are_used_as_anonymous_ids() -> None:
    assert cookie_anonymous_id("3f2a-77b1") == "3f2a-77b1"
    assert cookie_anonymous_id("") is None
    assert cookie_anonymous_id("<script>") is None
    assert cookie_anonymous_id("x" * 101) is None


def test_an_explicit_consent_flag_wins_over_traits() -> None:
    granted = {"consent": {"tracking": True}}
    assert has_tracking_consent(granted, None) is True
    assert has_tracking_consent(granted, False) is False
    assert has_tracking_consent({}, True) is True
    assert has_tracking_consent({"consent": {"tracking": "yes"}}, None) is False
    assert has_tracking_consent({"consent": True}, None) is False


def test_presence_needs_a_known_event_source_and_consent() -> None:
    check_presence("Store Entered", "wifi_portal", True)
    with pytest.raises(Forbidden) as refused:
        check_presence("Store Left", "app", False)
    assert refused.value.code == "consent_required"
    with pytest.raises(InvalidInput):
        check_presence("Store Visited", "app", True)
    with pytest.raises(InvalidInput):
        check_presence("Store Left", "beacon", True)


@given(st.integers(min_value=0, max_value=200), st.integers(1, 5), st.integers(1, 6))
def test_sheet_cells_fill_each_grid_position_once_in_order(count: int, columns: int,
                                                           rows: int) -> None:
    cells = sheet_cells(count, columns=columns, rows=rows)
    assert len(cells) == len(set(cells)) == count
    assert all(0 <= c < columns and 0 <= r < rows for _, c, r in cells)
    assert cells == sorted(cells, key=lambda cell: (cell[0], cell[2], cell[1]))
