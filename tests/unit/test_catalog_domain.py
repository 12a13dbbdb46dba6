"""Pure catalog rules: GTIN check digits, amounts, skus and B2B tier choice."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from kanaal.catalog.domain import (
    PriceTier,
    check_sku,
    check_tiers,
    choose_tier,
    gtin_check_digit,
    gtin_is_valid,
    parse_amount,
)


@pytest.mark.parametrize("code", ["4006381333931", "036000291452", "96385074", "00012345600012",
                                  "5901234123457"])
def test_published_gtins_are_valid(code: str) -> None:
    assert gtin_is_valid(code)


@pytest.mark.parametrize("code", ["4006381333932", "036000291453", "96385075", "123",
                                  "40063813339311", "400638133393a", "", "１２３４５６７８"])
def test_wrong_check_digits_lengths_and_characters_are_invalid(code: str) -> None:
    assert not gtin_is_valid(code)


@given(st.sampled_from([7, 11, 12, 13]).flatmap(
    lambda n: st.text(alphabet="0123456789", min_size=n, max_size=n)))
def test_the_computed_check_digit_makes_a_valid_gtin(body: str) -> None:
    assert gtin_is_valid(body + gtin_check_digit(body))


@given(st.text(alphabet="0123456789", min_size=12, max_size=12), st.integers(0, 12),
       st.integers(1, 9))
def test_changing_one_digit_breaks_the_check_digit(body: str, position: int, shift: int) -> None:
    code = body + gtin_check_digit(body)
    changed = code[:position] + str((int(code[position]) + shift) % 10) + code[position + 1:]
    assert not gtin_is_valid(changed)


def test_amounts_must_be_non_negative_finite_with_four_decimals_at_most() -> None:
    assert parse_amount("12.50", ["p"]) == (Decimal("12.50"), [])
    assert parse_amount(0.1, ["p"]) == (Decimal("0.1"), [])
    codes = {raw: parse_amount(raw, ["p"])[1][0]["code"]
             for raw in ("-0.01", "abc", "NaN", "Infinity", "1.00001", "1e12")}
    assert codes == {"-0.01": "negative_amount", "abc": "invalid_amount", "NaN": "invalid_amount",
                     "Infinity": "invalid_amount", "1.00001": "invalid_amount",
                     "1e12": "invalid_amount"}


def test_skus_are_short_plain_tokens() -> None:
    assert [bool(check_sku(s, ["sku"])) for s in ("TEE-RED-M", "a.b_c/d", "-x", "a b", "",
                                                  "x" * 65)] == [
        False, False, True, True, True, True]


def tier(quantity: int, price: str, group: str | None = None, sku: str = "A") -> PriceTier:
    return PriceTier(sku=sku, customer_group=group, min_quantity=quantity,
                     unit_price=Decimal(price))


def test_tier_choice_by_quantity_and_group() -> None:
    tiers = [tier(1, "10"), tier(10, "9"), tier(10, "8", "gold"), tier(100, "7"),
             tier(1, "1", sku="B")]
    chosen = [choose_tier(tiers, sku="A", quantity=q, customer_group=g)
              for q, g in ((1, None), (9, None), (10, None), (10, "gold"), (100, "gold"),
                           (5, "silver"))]
    assert [t.unit_price if t else None for t in chosen] == [
        Decimal(10), Decimal(10), Decimal(9), Decimal(8), Decimal(7), Decimal(10)]
    assert choose_tier(tiers, sku="C", quantity=5, customer_group=None) is None
    assert choose_tier([tier(10, "9")], sku="A", quantity=9, customer_group=None) is None


def test_bad_tiers_are_reported_each_with_a_code() -> None:
    problems = check_tiers([tier(0, "1"), tier(1, "-1"), tier(5, "2"), tier(5, "3")])
    assert [(p["loc"], p["code"]) for p in problems] == [
        (["tiers", 0, "min_quantity"], "invalid_quantity"),
        (["tiers", 1, "unit_price"], "negative_amount"),
        (["tiers", 3], "duplicate_tier"),
    ]


tiers_strategy = st.lists(st.builds(
    PriceTier, sku=st.sampled_from(["A", "B"]), customer_group=st.sampled_from([None, "g", "h"]),
    min_quantity=st.integers(1, 50),
    unit_price=st.decimals(min_value=0, max_value=100, places=2)), max_size=12)


@given(tiers_strategy, st.integers(1, 60), st.sampled_from([None, "g", "h"]))
def test_the_chosen_tier_applies_and_is_never_dearer_than_another_that_applies(
    tiers: list[PriceTier], quantity: int, group: str | None
) -> None:
    applicable = [t for t in tiers if t.sku == "A" and t.min_quantity <= quantity
                  and t.customer_group in (None, group)]
    chosen = choose_tier(tiers, sku="A", quantity=quantity, customer_group=group)
    if not applicable:
        assert chosen is None
    else:
        assert chosen in applicable
        assert all(chosen.unit_price <= t.unit_price for t in applicable)
