"""Capacity as a price: the shadow price of one agent minute of a queue, from live capacity."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from kanaal.decisions.domain import QUEUE_CHANNEL, ActionType, QueueView

INFINITE = math.inf


@dataclass(frozen=True, slots=True)
class PriceParams:
    """How steeply the price rises as the predicted wait nears the service-level target."""

    # Price of a minute when the predicted wait is half the target, in money per minute.
    half_target_price: float = 0.5
    # Below this share of the target the queue counts as idle (price zero).
    idle_ratio: float = 0.1
    # With this many agents idle now (and nobody waiting) a minute is free whatever the
    # 15-minute forecast says.
    free_agents: int = 2


def capacity_price(view: QueueView, params: PriceParams = PriceParams()) -> float:  # noqa: B008
    """Money per agent minute: ~0 while agents idle, rising near target, inf when over."""
    if view.over_target or view.predicted_wait_seconds is None:
        return INFINITE
    if view.spare_agent_minutes_15 <= 0:
        return INFINITE
    target = max(view.target_answer_seconds, 1.0)
    ratio = view.predicted_wait_seconds / target
    if ratio >= 1.0:
        return INFINITE
    if view.available_agents > 0 and view.queue_length == 0:
        # An agent is idle now and nobody waits: the minute costs (nearly) no capacity.
        # With one idle agent left it still carries a share of the forecast's price.
        if ratio <= params.idle_ratio or view.available_agents >= params.free_agents:
            return 0.0
        return params.half_target_price * ratio / (1.0 - ratio) / (1 + view.available_agents)
    # r / (1 - r) is 1 at half the target and grows without bound towards the target.
    return params.half_target_price * ratio / (1.0 - ratio)


def choose_queue(
    action: ActionType, views: dict[str, QueueView], configured: dict[str, str]
) -> QueueView | None:
    """The queue an assisted action uses: the configured one, else the first of its channel."""
    name = configured.get(action.value)
    if name is not None:
        return views.get(name)
    for channel in QUEUE_CHANNEL.get(action, ()):
        for view in views.values():
            if view.channel == channel:
                return view
    return None


def view_from(capacity: Any) -> QueueView:
    """Read a contact-center QueueCapacity (or any object with its fields) as a QueueView."""
    wait = capacity.predicted_wait_seconds
    return QueueView(
        queue=str(capacity.queue),
        channel=str(capacity.channel),
        available_agents=int(capacity.available_agents),
        queue_length=int(capacity.queue_length),
        handle_time_seconds=float(capacity.handle_time_seconds),
        predicted_wait_seconds=None if wait is None else float(wait),
        target_answer_seconds=float(capacity.target_answer_seconds),
        over_target=bool(capacity.over_target),
        spare_agent_minutes_15=float(capacity.spare_agent_minutes_15),
    )
