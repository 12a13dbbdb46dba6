"""Timeline features (follow-up, online browse, checkout errors) and caps. Pure."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from kanaal.decisions.caps import CapLimits, blocked_actions
from kanaal.decisions.domain import ActionType, FollowUp
from kanaal.decisions.features import history_features

NOW = datetime(2026, 1, 10, 12, 0, tzinfo=UTC)
A = ActionType


def event(name: str, hours_ago: float, channel: str = "web", **props: Any) -> dict[str, Any]:
    return {"id": name, "type": "track", "event": name, "channel": channel, "properties": props,
            "timestamp": NOW - timedelta(hours=hours_ago)}


def test_a_call_without_a_later_order_is_a_follow_up_with_the_quote() -> None:
    feats = history_features([event("Call Completed", 20, "phone", outcome="quote",
                                     quote="1200.00", queue="sales", agent_id="agt_1")],
                             now=NOW, product_sku=None)
    assert feats["follow_up"] == FollowUp(interaction="call", at=NOW - timedelta(hours=20),
                                          queue="sales", agent_id="agt_1", quote=1200.0)
    assert (feats["prior_contacts"], feats["prior_contact_converted"]) == (1, False)


def test_an_order_after_the_call_ends_the_follow_up() -> None:
    events = [event("Order Completed", 2), event("Chat Completed", 30, "chat")]
    feats = history_features(events, now=NOW, product_sku=None)
    assert feats["follow_up"] is None
    assert (feats["prior_contacts"], feats["prior_contact_converted"]) == (1, True)


def test_a_call_that_ended_in_a_sale_or_long_ago_needs_no_follow_up() -> None:
    sold = history_features([event("Call Completed", 5, "phone", outcome="sale")], now=NOW,
                            product_sku=None)
    old = history_features([event("Call Completed", 24 * 8, "phone", outcome="quote")],
                           now=NOW, product_sku=None)
    assert sold["follow_up"] is None and old["follow_up"] is None


def test_browsing_the_same_product_online_and_recent_checkout_errors() -> None:
    events = [event("Product Viewed", 50, sku="TV-55"), event("Product Viewed", 1, "store",
                                                               sku="TV-99"),
              event("Payment Failed", 0.5), event("Checkout Error", 3)]
    feats = history_features(events, now=NOW, product_sku="TV-55")
    assert feats["browsed_product_online"] is True
    assert feats["checkout_errors"] == 1
    assert history_features(events, now=NOW, product_sku="TV-99")["browsed_product_online"] is (
        False)


def test_caps_block_every_proposal_once_reached_and_dismissals_only_their_action() -> None:
    limits = CapLimits(per_session=2, per_day=4, dismissal_cooldown_minutes=60)
    now = NOW.timestamp()
    assert blocked_actions(0, 0, {}, now, limits) == {}
    session_full = blocked_actions(2, 2, {}, now, limits)
    assert set(session_full) == set(ActionType) - {A.NONE}
    assert session_full[A.OFFER] == "frequency cap: 2 proposals this session"
    assert blocked_actions(1, 4, {}, now, limits)[A.CALL_NOW] == (
        "frequency cap: 4 proposals today")
    dismissed = blocked_actions(0, 0, {"call_now": now + 1800, "offer": now - 1}, now, limits)
    assert dismissed == {A.CALL_NOW: "dismissed recently: not offered again for 30 minutes"}
