"""Pure channel rules: kinds, handles, validation, buffer and quota."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from kanaal.channels.domain import (
    SALES_KINDS,
    AllocationStrategy,
    Channel,
    offered_quantity,
    parse_kind,
    parse_strategy,
    validate_channel,
)
from kanaal.core.auth import ChannelKind
from kanaal.core.errors import InvalidInput


def channel(**changes: object) -> Channel:
    fields: dict[str, object] = {
        "id": "chn_1", "handle": "webshop-nl", "name": "Webshop", "kind": ChannelKind.WEB,
        "currency": "EUR", "price_list_id": None, "location_ids": ("loc_1", "loc_2"),
        "allocation_strategy": AllocationStrategy.PRIORITY, "stock_buffer": 0, "quota": None}
    fields.update(changes)
    return Channel(**fields)  # type: ignore[arg-type]


def test_the_ten_sales_kinds_parse_and_marketing_kinds_do_not() -> None:
    assert sorted(k.value for k in SALES_KINDS) == [
        "b2b", "chat", "marketplace", "mobile", "phone", "publisher", "shop_in_shop", "social",
        "store", "web"]
    for name in ("email", "sms", "fax"):
        with pytest.raises(InvalidInput) as refused:
            parse_kind(name)
        assert refused.value.code == "invalid_channel_kind"
    assert parse_strategy("fewest_splits") is AllocationStrategy.FEWEST_SPLITS


def test_validation_reports_every_problem() -> None:
    with pytest.raises(InvalidInput) as refused:
        validate_channel(channel(handle="Web Shop", currency="eur", name=" ",
                                 location_ids=("a", "a", " "), stock_buffer=-1, quota=-2))
    assert [d["loc"][0] for d in refused.value.details] == [
        "handle", "currency", "name", "location_ids", "location_ids", "stock_buffer", "quota"]
    assert validate_channel(channel()) == channel()


@pytest.mark.parametrize(("available", "buffer", "quota", "offered"), [
    (10, 0, None, 10), (10, 3, None, 7), (2, 3, None, 0), (10, 3, 5, 5), (4, 1, 5, 3),
    (-2, 0, None, 0), (10, 0, 0, 0)])
def test_offered_is_availability_less_buffer_capped_by_quota(
    available: int, buffer: int, quota: int | None, offered: int
) -> None:
    assert offered_quantity(available, stock_buffer=buffer, quota=quota) == offered
    assert channel(stock_buffer=buffer, quota=quota).offered(available) == offered


@given(st.integers(-100, 10_000), st.integers(0, 100), st.none() | st.integers(0, 1000))
def test_offered_is_never_negative_nor_above_quota_or_availability(
    available: int, buffer: int, quota: int | None
) -> None:
    offered = offered_quantity(available, stock_buffer=buffer, quota=quota)
    assert 0 <= offered <= max(available, 0)
    assert quota is None or offered <= quota
