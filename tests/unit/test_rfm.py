"""RFM summary and scores, checked by hand and against `lifetimes` on the CDNOW data it ships."""

from __future__ import annotations

import os
from datetime import date
from decimal import Decimal

import pytest

from kanaal.marketing.rfm import CustomerValue, Purchase, rfm_scores, summarise


def test_summary_groups_purchases_per_day_and_ignores_the_first_day_for_value() -> None:
    purchases = [
        Purchase("a", date(2026, 1, 1), Decimal("10")),
        Purchase("a", date(2026, 1, 1), Decimal("5")),
        Purchase("a", date(2026, 1, 11), Decimal("20")),
        Purchase("a", date(2026, 1, 21), Decimal("40")),
        Purchase("a", date(2026, 3, 1), Decimal("99")),  # after the observation end
        Purchase("b", date(2026, 1, 30), Decimal("7")),
    ]
    summary = summarise(purchases, date(2026, 1, 31))
    assert summary["a"] == CustomerValue(
        "a", frequency=2, recency_days=20, age_days=30, monetary_value=Decimal("30"), orders=4,
        total_revenue=Decimal("75"), days_since_last=10,
    )
    assert summary["b"] == CustomerValue("b", 0, 0, 1, Decimal(0), 1, Decimal("7"), 1)


def test_rfm_scores_rank_recent_frequent_big_spenders_highest() -> None:
    end = date(2026, 1, 31)
    purchases = [
        Purchase(f"c{i}", date(2026, 1, 1 + i), Decimal(10 * (i + 1)))
        for i in range(10)
        for _ in range(i + 1)
    ]
    scores = rfm_scores(summarise(purchases, end))
    assert scores["c9"].code == "555"
    assert scores["c0"].code == "111"
    assert [scores[f"c{i}"].recency for i in range(10)] == [1, 1, 2, 2, 3, 3, 4, 4, 5, 5]


def test_summary_equals_lifetimes_on_the_cdnow_transactions() -> None:
    import lifetimes
    import pandas as pd
    from lifetimes.utils import summary_data_from_transaction_data

    path = os.path.join(os.path.dirname(lifetimes.__file__), "datasets", "CDNOW_master.txt")
    frame = pd.read_csv(path, sep=r"\s+", dtype={"customer_id": str, "date": str})
    frame["date"] = pd.to_datetime(frame["date"], format="%Y%m%d")
    end = date(1998, 6, 30)
    expected = summary_data_from_transaction_data(
        frame, "customer_id", "date", monetary_value_col="dollar_value",
        observation_period_end=end.isoformat(), freq="D",
    )
    ours = summarise(
        (
            Purchase(row.customer_id, row.date.date(), Decimal(str(row.dollar_value)))
            for row in frame.itertuples(index=False)
        ),
        end,
    )
    assert len(ours) == len(expected) == 23570
    for customer_id, row in expected.iterrows():
        mine = ours[str(customer_id)]
        assert mine.frequency == row["frequency"]
        assert mine.recency_days == row["recency"]
        assert mine.age_days == row["T"]
        assert float(mine.monetary_value) == pytest.approx(row["monetary_value"], abs=1e-9)
    assert sum(v.total_revenue for v in ours.values()) == Decimal(
        str(frame["dollar_value"].sum().round(2))
    )
