"""Pacing: invitations expected to be accepted per minute never exceed a queue's spare capacity.

One token is one accepted contact. A queue's bucket refills at the rate its spare agent minutes
can absorb contacts (spare minutes over 15 minutes / handle time) and an invitation takes
P(accept) tokens. The bucket lives in the live store, so with Redis every worker draws from
the same budget.
"""

from __future__ import annotations

from dataclasses import dataclass

from kanaal.core.live import LiveStore
from kanaal.decisions.domain import QueueView

WINDOW_SECONDS = 15 * 60.0


def contacts_per_second(view: QueueView, default_handle_seconds: float = 480.0) -> float:
    """Accepted contacts per second the queue's spare capacity can take."""
    handle = view.handle_time_seconds if view.handle_time_seconds > 0 else default_handle_seconds
    spare_contacts = max(0.0, view.spare_agent_minutes_15) / (handle / 60.0)
    return spare_contacts / WINDOW_SECONDS


@dataclass
class Pacer:
    """Token buckets per queue in the live store."""

    live: LiveStore
    burst_seconds: float = 300.0
    prefix: str = "decisions:pace"

    def budget(self, view: QueueView) -> tuple[float, float]:
        """(rate in contacts per second, burst in contacts) for a queue right now."""
        rate = contacts_per_second(view)
        return rate, max(1.0, rate * self.burst_seconds)

    def allow(self, view: QueueView, expected_contacts: float) -> bool:
        """Take `expected_contacts` tokens from the queue's budget; False when it is spent."""
        rate, burst = self.budget(view)
        if rate <= 0.0:
            return False
        allowed, _ = self.live.take_tokens(f"{self.prefix}:{view.queue}", rate=rate, burst=burst,
                                           cost=max(expected_contacts, 1e-6))
        return allowed

    def left(self, view: QueueView) -> float:
        """Tokens (expected accepted contacts) left in the queue's budget."""
        rate, burst = self.budget(view)
        return self.live.tokens_left(f"{self.prefix}:{view.queue}", rate=rate, burst=burst)
