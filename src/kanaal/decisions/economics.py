"""Economics: the expected incremental margin of each candidate action. Pure.

incremental(a) = (P(buy|a) - P(buy|nothing)) x margin + P(assisted buy|a) x upsell(a)
                 - P(accept|a) x agent minutes x cost per minute      (contact cost)
                 - P(buy|a) x discount(a)                             (offers)
                 - capacity price x P(accept|a) x agent minutes       (queue scarcity)

P(assisted buy|a) = P(buy|a) - (1 - P(accept|a)) x P(buy|nothing): only prospects who took
up the contact buy more from an agent. Figures are expectations, not amounts that change
hands, so they are floats here and are rounded to cents only where they leave the engine.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from kanaal.decisions.domain import ActionType, DecisionContext, Estimate, QueueView

_A = ActionType


@dataclass(frozen=True)
class EconomicParams:
    """Costs and upsell assumptions, from `decisions.economics` in kanaal.toml."""

    # Fully loaded cost of one agent / store-staff minute.
    cost_per_minute: dict[str, float] = field(default_factory=lambda: {
        "phone": 0.75, "callback": 0.75, "chat": 0.75, "store": 0.50})
    # Expected extra margin per purchase made after the action, as a share of the cart margin.
    upsell_share: dict[str, float] = field(default_factory=lambda: {
        "show_phone": 0.10, "call_now": 0.12, "callback_offer": 0.10, "chat_invite": 0.03,
        "offer": 0.0, "store_appointment": 0.15, "hot_prospect_alert": 0.10})
    # Staff minutes of actions that do not go through a contact-center queue.
    staff_minutes: dict[str, float] = field(default_factory=lambda: {
        "store_appointment": 20.0, "hot_prospect_alert": 5.0})
    # Agents handle several chats at once, so a chat costs handle time / concurrency.
    chat_concurrency: float = 3.0
    # Discount of an offer, as a share of the cart value.
    offer_discount_share: float = 0.05
    # Handle time assumed when a queue reports none.
    default_handle_seconds: float = 480.0

    @classmethod
    def from_config(cls, raw: dict[str, Any] | None) -> EconomicParams:
        """Build from a config table, keeping defaults for anything not given."""
        base = cls()
        if not raw:
            return base
        return cls(
            cost_per_minute={**base.cost_per_minute, **raw.get("cost_per_minute", {})},
            upsell_share={**base.upsell_share, **raw.get("upsell_share", {})},
            staff_minutes={**base.staff_minutes, **raw.get("staff_minutes", {})},
            chat_concurrency=float(raw.get("chat_concurrency", base.chat_concurrency)),
            offer_discount_share=float(raw.get("offer_discount_share",
                                               base.offer_discount_share)),
            default_handle_seconds=float(raw.get("default_handle_seconds",
                                                 base.default_handle_seconds)),
        )


def agent_minutes(action: ActionType, queue: QueueView | None, params: EconomicParams) -> float:
    """Agent (or staff) minutes one accepted action takes."""
    if action in (_A.NONE, _A.OFFER):
        return 0.0
    if queue is None:
        return params.staff_minutes.get(action.value, 0.0)
    handle = queue.handle_time_seconds if queue.handle_time_seconds > 0 else (
        params.default_handle_seconds)
    minutes = handle / 60.0
    if queue.channel == "chat":
        minutes /= max(params.chat_concurrency, 1.0)
    return minutes


def cost_channel(queue: QueueView | None) -> str:
    """Which cost-per-minute rate applies: the queue's channel, else store staff."""
    return queue.channel if queue is not None else "store"


def discount_of(action: ActionType, ctx: DecisionContext, params: EconomicParams) -> float:
    """Discount given away when an offer is used (a follow-up uses the agent's discount)."""
    if action is not _A.OFFER:
        return 0.0
    share = params.offer_discount_share
    if ctx.follow_up is not None and ctx.follow_up.discount_percent is not None:
        share = ctx.follow_up.discount_percent / 100.0
    base = ctx.follow_up.quote if ctx.follow_up and ctx.follow_up.quote else ctx.cart_value
    return max(0.0, base) * share


def estimate(
    action: ActionType,
    ctx: DecisionContext,
    *,
    p_nothing: float,
    p_action: float,
    p_accept: float,
    queue: QueueView | None,
    price: float,
    params: EconomicParams,
    p_assisted: float | None = None,
) -> Estimate:
    """Score one candidate action for this context with the given probabilities.

    `p_assisted` is P(accept and buy after accepting) when the model knows it; otherwise it
    is taken as P(buy|a) - (1 - P(accept)) x P(buy|nothing)."""
    if action is _A.NONE:
        return Estimate(action, None, p_nothing, p_nothing, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0,
                        0.0, 0.0, 0.0)
    minutes = agent_minutes(action, queue, params)
    expected_minutes = p_accept * minutes
    rate = params.cost_per_minute.get(cost_channel(queue), 0.0)
    assisted_buy = p_action - (1.0 - p_accept) * p_nothing if p_assisted is None else p_assisted
    # StrEnum members hash as their value, so the action is its own config key.
    upsell = (assisted_buy if assisted_buy > 0.0 else 0.0) * params.upsell_share.get(
        action, 0.0) * ctx.margin
    capacity_cost = 0.0 if expected_minutes == 0.0 else price * expected_minutes
    uplift = (p_action - p_nothing) * ctx.margin
    contact_cost = expected_minutes * rate
    discount = p_action * discount_of(action, ctx, params) if action is _A.OFFER else 0.0
    return Estimate(action, None if queue is None else queue.queue, p_nothing, p_action,
                    p_accept, minutes, uplift, upsell, contact_cost, discount, capacity_cost,
                    price, uplift + upsell - contact_cost - discount - capacity_cost)
