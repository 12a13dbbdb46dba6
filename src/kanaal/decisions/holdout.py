"""Persistent holdout and experiment arms: deterministic per customer, by hashing. Pure."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Any

HOLDOUT_ARM = "holdout"
POLICY_NAMES = ("kanaal", "never", "always", "capacity_only", "propensity_only")


def unit_hash(salt: str, subject: str) -> float:
    """A number in [0, 1) that depends only on (salt, subject): the same every time."""
    digest = hashlib.blake2b(f"{salt}\x00{subject}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") / 2.0**64


@dataclass(frozen=True)
class Experiment:
    """A named experiment: a holdout share and the policies its other customers are split over."""

    name: str = "default"
    holdout_share: float = 0.10
    arms: tuple[tuple[str, float], ...] = (("kanaal", 1.0),)

    @classmethod
    def from_config(cls, raw: dict[str, Any] | None) -> Experiment:
        """Build from `decisions.experiment` ({"name", "holdout_share", "arms": {policy: w}})."""
        if not raw:
            return cls()
        arms = raw.get("arms") or {raw.get("policy", "kanaal"): 1.0}
        for policy in arms:
            if policy not in POLICY_NAMES:
                raise ValueError(f"unknown policy {policy!r}; use one of {POLICY_NAMES}")
        share = float(raw.get("holdout_share", 0.10))
        if not 0.0 <= share < 1.0:
            raise ValueError("holdout_share must be in [0, 1)")
        return cls(name=str(raw.get("name", "default")), holdout_share=share,
                   arms=tuple((str(k), float(v)) for k, v in arms.items()))

    def arm_for(self, subject: str) -> str:
        """The arm of a customer: the holdout, or one of the policies by weight."""
        if unit_hash(f"{self.name}:holdout", subject) < self.holdout_share:
            return HOLDOUT_ARM
        total = sum(weight for _, weight in self.arms)
        point = unit_hash(f"{self.name}:arm", subject) * total
        for policy, weight in self.arms:
            point -= weight
            if point < 0:
                return policy
        return self.arms[-1][0]


@dataclass
class Assignment:
    """Which experiment and arm a decision ran under."""

    experiment: str
    arm: str
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def policy(self) -> str:
        """The policy that decides for this arm (the holdout always gets nothing)."""
        return "never" if self.arm == HOLDOUT_ARM else self.arm
