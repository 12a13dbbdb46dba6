"""The simulated world: scenarios, visitors with hidden types, and how they respond. Pure.

A visitor's *type* is hidden from every policy except the oracle:

* ``sure_thing`` buys online anyway; an agent adds only the upsell (and costs a contact),
* ``persuadable`` rarely buys alone but often does after talking to an agent,
* ``lost_cause`` hardly ever buys, whatever happens,
* ``do_not_disturb`` buys alone fairly often and less when interrupted by an invitation.

Policies only see what a real touchpoint sends: channel, page, engagement and the cart. The
types are correlated with those signals (persuadables research longer and fill carts), which
is what a learning engine can pick up.
"""

from __future__ import annotations

import math
import random
import tomllib
from dataclasses import dataclass, field, replace
from importlib import resources
from pathlib import Path
from typing import Any

TYPES = ("sure_thing", "persuadable", "lost_cause", "do_not_disturb")
STAGES = ("browse", "product", "cart", "checkout")
CHANNELS = ("web", "mobile", "chat", "publisher", "store")
# Actions the simulated contact center can carry out (and the queue each one uses).
ACTION_QUEUE = {"show_phone": "phone", "call_now": "phone", "callback_offer": "phone",
                "chat_invite": "chat"}
SIM_ACTIONS = tuple(ACTION_QUEUE)
SCENARIOS = ("normal_day", "peak_day", "understaffed", "low_margin", "high_upsell", "cold_start")


@dataclass(frozen=True)
class TypeBehaviour:
    """How one hidden type buys and responds to invitations."""

    self_buy: float  # P(buy) with no invitation
    assisted_buy: float  # P(buy) after talking to a phone agent
    chat_buy: float  # P(buy) after a chat
    accept: float  # P(accept a call-now / callback invitation)
    annoyed_buy: float  # P(buy) after dismissing an invitation
    returning: float  # P(returning visitor)
    pageviews: float  # mean pageviews
    seconds: float  # mean seconds on site


DEFAULT_BEHAVIOUR: dict[str, dict[str, float]] = {
    "sure_thing": {"self_buy": 0.85, "assisted_buy": 0.88, "chat_buy": 0.86, "accept": 0.10,
                   "annoyed_buy": 0.85, "returning": 0.6, "pageviews": 7, "seconds": 300},
    "persuadable": {"self_buy": 0.03, "assisted_buy": 0.32, "chat_buy": 0.18, "accept": 0.22,
                    "annoyed_buy": 0.03, "returning": 0.5, "pageviews": 6, "seconds": 360},
    "lost_cause": {"self_buy": 0.004, "assisted_buy": 0.02, "chat_buy": 0.01, "accept": 0.04,
                   "annoyed_buy": 0.004, "returning": 0.15, "pageviews": 2, "seconds": 60},
    "do_not_disturb": {"self_buy": 0.35, "assisted_buy": 0.10, "chat_buy": 0.10,
                       "accept": 0.02, "annoyed_buy": 0.25, "returning": 0.4, "pageviews": 4,
                       "seconds": 150},
}
DEFAULT_STAGE_SHARE = {"browse": 0.45, "product": 0.30, "cart": 0.17, "checkout": 0.08}
DEFAULT_TYPE_MIX: dict[str, dict[str, float]] = {
    "browse": {"sure_thing": 0.02, "persuadable": 0.08, "lost_cause": 0.85,
               "do_not_disturb": 0.05},
    "product": {"sure_thing": 0.05, "persuadable": 0.20, "lost_cause": 0.68,
                "do_not_disturb": 0.07},
    "cart": {"sure_thing": 0.20, "persuadable": 0.45, "lost_cause": 0.25,
             "do_not_disturb": 0.10},
    "checkout": {"sure_thing": 0.75, "persuadable": 0.10, "lost_cause": 0.05,
                 "do_not_disturb": 0.10},
}
DEFAULT_CHANNEL_SHARE = {"web": 0.55, "mobile": 0.25, "chat": 0.05, "publisher": 0.05,
                         "store": 0.10}
# Visitors per hour (relative), from midnight; the shop is busiest in the evening.
DEFAULT_PROFILE = [0.2, 0.1, 0.05, 0.05, 0.05, 0.1, 0.3, 0.6, 0.9, 1.0, 1.0, 1.0,
                   1.1, 1.0, 0.9, 0.9, 1.0, 1.1, 1.2, 1.4, 1.5, 1.3, 0.9, 0.5]


@dataclass(frozen=True)
class QueueSetup:
    """One contact-center queue: staffing per hour, handle times and patience."""

    name: str
    channel: str  # phone or chat
    staffing: tuple[int, ...]  # agents on duty per hour of the day (24 values)
    inbound_per_hour: float  # background inbound contacts per hour at profile 1.0
    inbound_handle_seconds: float
    sales_handle_seconds: float
    handle_cv: float = 0.5
    patience_seconds: float = 120.0
    target_answer_seconds: float = 20.0
    target_service_level: float = 0.8
    concurrency: int = 1  # chats an agent handles at once
    # What a background contact who hangs up costs the retailer. None: the contact comes
    # back as a repeat contact and takes one more inbound handle time at the cost per minute.
    abandon_cost: float | None = None

    def abandon_cost_at(self, cost_per_minute: float) -> float:
        """The service cost of one abandoned background contact."""
        if self.abandon_cost is not None:
            return self.abandon_cost
        return self.inbound_handle_seconds / 60.0 / self.concurrency * cost_per_minute


@dataclass(frozen=True)
class Scenario:
    """One simulated setting: visitors, behaviour, catalog economics and the contact center."""

    name: str
    description: str
    visitors: int  # visitors per day
    days: int = 1
    seed: int = 7
    margin_rate: float = 0.25
    cart_mean: float = 250.0
    cart_sigma: float = 0.6
    upsell_share: float = 0.12  # extra margin share an agent adds to an assisted purchase
    cost_per_minute: float = 0.75
    callback_answer: float = 0.85  # P(the prospect picks up when called back)
    profile: tuple[float, ...] = tuple(DEFAULT_PROFILE)
    stage_share: dict[str, float] = field(default_factory=lambda: dict(DEFAULT_STAGE_SHARE))
    type_mix: dict[str, dict[str, float]] = field(
        default_factory=lambda: {k: dict(v) for k, v in DEFAULT_TYPE_MIX.items()})
    channel_share: dict[str, float] = field(default_factory=lambda: dict(DEFAULT_CHANNEL_SHARE))
    behaviour: dict[str, TypeBehaviour] = field(default_factory=lambda: {
        k: TypeBehaviour(**v) for k, v in DEFAULT_BEHAVIOUR.items()})
    queues: tuple[QueueSetup, ...] = ()
    engine: dict[str, Any] = field(default_factory=dict)  # decisions.* parameters
    warm_start: bool = True  # the engine has learned from earlier days before the run
    checked: bool = True  # the Must-show figures apply to this scenario

    def window(self, start_hour: int, end_hour: int) -> Scenario:
        """The same scenario over fewer hours of the day (a shorter run at full intensity).

        Visitors and background calls arrive only in [start_hour, end_hour); the staffing
        and the rates per hour stay as they are, so the contact center behaves as on the
        full day.
        """
        if not 0 <= start_hour < end_hour <= 24:
            raise ValueError("the window needs 0 <= start < end <= 24")
        profile = tuple(w if start_hour <= h < end_hour else 0.0
                        for h, w in enumerate(self.profile))
        share = sum(profile) / sum(self.profile)
        return replace(self, profile=profile, visitors=max(1, round(self.visitors * share)))

    def queue(self, channel: str) -> QueueSetup | None:
        """The queue of a channel (phone or chat)."""
        return next((q for q in self.queues if q.channel == channel), None)


@dataclass(frozen=True)
class Visitor:
    """One prospect: what a touchpoint sees, the hidden type and the random draws it uses."""

    id: str
    day: int
    at: float  # seconds since the start of the run
    channel: str
    stage: str
    kind: str  # hidden type
    pageviews: int
    seconds_on_site: float
    is_returning: bool
    cart_value: float
    margin: float
    u_self: float  # the counterfactual draw: buys alone when u_self < P(self buy)
    u_buy: float  # the draw for the purchase that actually happens
    u_accept: float
    u_patience: float
    u_callback: float

    def request(self, allowed: tuple[str, ...] = SIM_ACTIONS) -> dict[str, Any]:
        """The decision request a touchpoint would send for this visitor."""
        page = {"browse": "category", "product": "product", "cart": "cart",
                "checkout": "checkout"}[self.stage]
        context: dict[str, Any] = {
            "page": {"type": page},
            "session": {"pageviews": self.pageviews, "seconds_on_site": self.seconds_on_site,
                        "is_returning": self.is_returning},
        }
        if self.stage in {"cart", "checkout"}:
            context["cart"] = {"value": f"{self.cart_value:.2f}", "currency": "EUR",
                               "items": [{"sku": f"SIM-{self.id}", "quantity": 1,
                                          "price": f"{self.cart_value:.2f}"}]}
        elif self.stage == "product":
            # The product in view: its price stands in for the cart the visitor would fill.
            context["product"] = {"sku": f"SIM-{self.id}"}
            context["cart"] = {"value": f"{self.cart_value:.2f}", "currency": "EUR"}
        return {"anonymousId": self.id, "channel": self.channel, "context": context,
                "allowed_actions": list(allowed)}


def _load_toml(raw: dict[str, Any]) -> Scenario:
    """A scenario from a parsed TOML table (unknown keys are refused)."""
    base = Scenario(name="", description="", visitors=1)
    known = set(Scenario.__dataclass_fields__)
    extra = set(raw) - known
    if extra:
        raise ValueError(f"unknown scenario keys: {', '.join(sorted(extra))}")
    values = dict(raw)
    behaviour = {k: dict(v) for k, v in DEFAULT_BEHAVIOUR.items()}
    for kind, overrides in (raw.get("behaviour") or {}).items():
        if kind not in TYPES:
            raise ValueError(f"unknown visitor type {kind!r}")
        behaviour[kind].update(overrides)
    values["behaviour"] = {k: TypeBehaviour(**v) for k, v in behaviour.items()}
    mix = {k: dict(v) for k, v in DEFAULT_TYPE_MIX.items()}
    for stage, overrides in (raw.get("type_mix") or {}).items():
        mix[stage] = {**mix[stage], **overrides}
    values["type_mix"] = mix
    values["queues"] = tuple(QueueSetup(**{**q, "staffing": tuple(q["staffing"])})
                             for q in raw.get("queues") or [])
    if "profile" in raw:
        values["profile"] = tuple(float(x) for x in raw["profile"])
    scenario = replace(base, **values)
    _validate(scenario)
    return scenario


def _validate(s: Scenario) -> None:
    if not s.name or s.visitors < 1 or s.days < 1:
        raise ValueError("a scenario needs a name, visitors >= 1 and days >= 1")
    if len(s.profile) != 24 or any(q.staffing and len(q.staffing) != 24 for q in s.queues):
        raise ValueError("profile and staffing need 24 hourly values")
    for stage in STAGES:
        if abs(sum(s.type_mix[stage].values()) - 1.0) > 1e-6:
            raise ValueError(f"type_mix.{stage} must sum to 1")
    if {q.channel for q in s.queues} - {"phone", "chat"}:
        raise ValueError("queues are phone or chat")


def load_scenario(name_or_path: str) -> Scenario:
    """A shipped scenario by name (normal_day, ...) or a TOML file by path."""
    path = Path(name_or_path)
    if path.suffix == ".toml" and path.exists():
        with path.open("rb") as handle:
            return _load_toml(tomllib.load(handle))
    if name_or_path not in SCENARIOS:
        raise ValueError(f"unknown scenario {name_or_path!r}; shipped: {', '.join(SCENARIOS)}")
    text = resources.files("kanaal.simulation").joinpath(
        f"scenarios/{name_or_path}.toml").read_text(encoding="utf-8")
    return _load_toml(tomllib.loads(text))


def _pick(rng: random.Random, shares: dict[str, float]) -> str:
    point = rng.random() * sum(shares.values())
    for key, share in shares.items():
        point -= share
        if point < 0:
            return key
    return next(reversed(shares))


def _arrival_times(rng: random.Random, s: Scenario, count: int) -> list[float]:
    """`count` arrival times within one day, following the hourly profile."""
    total = sum(s.profile)
    times = []
    for _ in range(count):
        point = rng.random() * total
        hour = 0
        while point >= s.profile[hour] and hour < 23:
            point -= s.profile[hour]
            hour += 1
        times.append(hour * 3600.0 + rng.random() * 3600.0)
    return sorted(times)


def generate_visitors(s: Scenario, seed: int | None = None) -> list[Visitor]:
    """Every visitor of the run, reproducible from the seed."""
    rng = random.Random(s.seed if seed is None else seed)
    visitors: list[Visitor] = []
    for day in range(s.days):
        for n, at in enumerate(_arrival_times(rng, s, s.visitors)):
            stage = _pick(rng, s.stage_share)
            kind = _pick(rng, s.type_mix[stage])
            b = s.behaviour[kind]
            cart = math.exp(math.log(s.cart_mean) - s.cart_sigma**2 / 2
                            + rng.gauss(0.0, s.cart_sigma))
            visitors.append(Visitor(
                id=f"v{day}-{n:05d}", day=day, at=day * 86400.0 + at,
                channel=_pick(rng, s.channel_share), stage=stage, kind=kind,
                pageviews=max(1, int(rng.expovariate(1.0 / b.pageviews)) + 1),
                seconds_on_site=round(rng.expovariate(1.0 / b.seconds), 1),
                is_returning=rng.random() < b.returning,
                cart_value=round(cart, 2), margin=round(cart * s.margin_rate, 2),
                u_self=rng.random(), u_buy=rng.random(), u_accept=rng.random(),
                u_patience=rng.random(), u_callback=rng.random()))
    return visitors


def accept_probability(b: TypeBehaviour, action: str) -> float:
    """P(the visitor takes up the action): a visible phone number is taken up less."""
    if action == "show_phone":
        return b.accept * 0.5
    if action == "chat_invite":
        return min(1.0, b.accept * 1.2)
    return b.accept
