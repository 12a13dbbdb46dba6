"""Next-best-channel decisions: actions, the decision context and the engine's answer. Pure."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum


class ActionType(StrEnum):
    """What a decision proposes (DESIGN.md glossary)."""

    NONE = "none"
    SHOW_PHONE = "show_phone"
    CALL_NOW = "call_now"
    CALLBACK_OFFER = "callback_offer"
    CHAT_INVITE = "chat_invite"
    OFFER = "offer"
    STORE_APPOINTMENT = "store_appointment"
    HOT_PROSPECT_ALERT = "hot_prospect_alert"


ALL_ACTIONS: tuple[ActionType, ...] = tuple(ActionType)

# Channels a decision may be asked for, and the actions that make sense on each by default.
DECISION_CHANNELS = ("web", "mobile", "store", "chat", "publisher", "shop_in_shop")
_A = ActionType
DEFAULT_ACTIONS: dict[str, frozenset[ActionType]] = {
    "web": frozenset({_A.SHOW_PHONE, _A.CALL_NOW, _A.CALLBACK_OFFER, _A.CHAT_INVITE, _A.OFFER,
                      _A.STORE_APPOINTMENT}),
    "mobile": frozenset({_A.SHOW_PHONE, _A.CALL_NOW, _A.CALLBACK_OFFER, _A.CHAT_INVITE,
                         _A.OFFER, _A.STORE_APPOINTMENT, _A.HOT_PROSPECT_ALERT}),
    "store": frozenset({_A.HOT_PROSPECT_ALERT, _A.OFFER, _A.CALL_NOW, _A.CALLBACK_OFFER}),
    # A chat starts the dialogue; a qualified prospect is handed over to phone or store.
    "chat": frozenset({_A.CALL_NOW, _A.CALLBACK_OFFER, _A.STORE_APPOINTMENT, _A.OFFER}),
    # Pretargeting: invite early in orientation to book e.g. a test drive by phone.
    "publisher": frozenset({_A.SHOW_PHONE, _A.CALLBACK_OFFER, _A.CHAT_INVITE,
                            _A.STORE_APPOINTMENT}),
    "shop_in_shop": frozenset({_A.SHOW_PHONE, _A.CALL_NOW, _A.CALLBACK_OFFER, _A.CHAT_INVITE}),
}

# The contact-center channel an assisted action consumes agent minutes of.
QUEUE_CHANNEL: dict[ActionType, tuple[str, ...]] = {
    _A.SHOW_PHONE: ("phone",),
    _A.CALL_NOW: ("phone",),
    _A.CALLBACK_OFFER: ("callback", "phone"),
    _A.CHAT_INVITE: ("chat",),
}

# Journey stages, from orientation to the moment of purchase.
STAGES = ("orientation", "browse", "product", "cart", "checkout", "stuck", "follow_up",
          "in_store")


@dataclass(frozen=True, slots=True)
class QueueView:
    """The decision engine's view of one contact-center queue's live capacity."""

    queue: str
    channel: str
    available_agents: int
    queue_length: int
    handle_time_seconds: float
    predicted_wait_seconds: float | None
    target_answer_seconds: float
    over_target: bool
    spare_agent_minutes_15: float


@dataclass(frozen=True, slots=True)
class FollowUp:
    """A recent call or chat of this customer not followed by an order."""

    interaction: str  # "call" or "chat"
    at: datetime
    queue: str | None = None
    agent_id: str | None = None
    agent_name: str | None = None
    quote: float | None = None  # the amount the agent quoted, in the cart currency
    discount_percent: float | None = None


@dataclass(frozen=True, slots=True)
class DecisionContext:
    """Everything the pure engine knows about the prospect, already resolved to plain values."""

    channel: str
    page_type: str = "other"
    pageviews: int = 1
    seconds_on_site: float = 0.0
    is_returning: bool = False
    cart_value: float = 0.0
    cart_items: int = 0
    margin: float = 0.0  # margin of the cart, or of the product viewed when the cart is empty
    currency: str = "EUR"
    product_sku: str | None = None
    checkout_errors: int = 0
    segment: str | None = None
    prior_contacts: int = 0
    prior_contact_converted: bool = False
    store_id: str | None = None
    browsed_product_online: bool = False
    follow_up: FollowUp | None = None
    allowed: frozenset[ActionType] = frozenset(ALL_ACTIONS)


@dataclass(slots=True)
class Estimate:
    """One candidate action, scored: probabilities and the expected money terms.

    incremental_margin = uplift_margin + upsell - contact_cost - discount_cost - capacity_cost
    """

    action: ActionType
    queue: str | None
    p_buy_nothing: float
    p_buy_action: float
    p_accept: float
    agent_minutes: float
    uplift_margin: float
    upsell: float
    contact_cost: float
    discount_cost: float
    capacity_cost: float
    capacity_price: float
    incremental_margin: float = 0.0

    @property
    def feasible(self) -> bool:
        """False when the queue behind it is a hard stop (infinite capacity price)."""
        return self.capacity_price != float("inf")


@dataclass(frozen=True, slots=True)
class Choice:
    """The engine's answer before it is stored: the action, its score and the reasons."""

    action: ActionType
    estimate: Estimate
    alternatives: tuple[Estimate, ...]
    reasons: tuple[str, ...]
    policy: str
    arm: str
    bucket: str
    explored: bool = False
    blocked: dict[str, str] = field(default_factory=dict)
