"""Identity stitching rules (Segment Unify style). Pure: no database, no web framework.

An event carries identities (type, value). Stitching decides which customer the event lands
on: the customers its identities already point at are merged, unless a merge (or a new
identity) would push a per-type limit over its maximum; then the event's lowest-priority
identity is dropped and the rules run again. The event always lands.
"""

from __future__ import annotations

import hashlib
import re
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from functools import lru_cache
from typing import Any

from kanaal.core.errors import InvalidInput

USER_ID = "user_id"
ANONYMOUS_ID = "anonymous_id"
EMAIL = "email"
PHONE = "phone"
DEVICE_ID = "device_id"
LOYALTY_CARD = "loyalty_card"

# Highest priority first. External id types not listed rank between loyalty_card and device_id.
DEFAULT_PRIORITY: tuple[str, ...] = (USER_ID, EMAIL, PHONE, LOYALTY_CARD, DEVICE_ID, ANONYMOUS_ID)
DEFAULT_LIMITS: dict[str, int] = {
    USER_ID: 1,
    EMAIL: 5,
    PHONE: 5,
    LOYALTY_CARD: 3,
    DEVICE_ID: 20,
    ANONYMOUS_ID: 100,
}
DEFAULT_OTHER_LIMIT = 10
# Junk values that clients send when they have no real id; compared trimmed, case-insensitive.
BLOCKED_VALUES = frozenset({"", "null", "anonymous", "undefined", "0", "-1"})
MAX_IDENTITY_LENGTH = 255
_TYPE_PATTERN = re.compile(r"[a-z][a-z0-9_]{0,39}")


@dataclass(frozen=True, slots=True, order=True)
class Identity:
    """A (type, value) pair that points at exactly one customer."""

    type: str
    value: str


def identity_hash(identity: Identity) -> str:
    """SHA-256 of `type:value`, what a suppression record keeps instead of the identity."""
    return hashlib.sha256(f"{identity.type}:{identity.value}".encode()).hexdigest()


@lru_cache(maxsize=1024)
def valid_identity_type(name: str) -> bool:
    """Identity types are short lower-case snake_case names."""
    return _TYPE_PATTERN.fullmatch(name) is not None


@dataclass(frozen=True)
class IdentityRules:
    """Priority order, per-type limits and blocked values; user_id is always limited to 1."""

    priority: tuple[str, ...] = DEFAULT_PRIORITY
    limits: Mapping[str, int] = field(default_factory=lambda: dict(DEFAULT_LIMITS))
    other_limit: int = DEFAULT_OTHER_LIMIT
    blocked_patterns: tuple[re.Pattern[str], ...] = ()

    def __post_init__(self) -> None:
        object.__setattr__(self, "_ranks", {})

    def rank(self, identity_type: str) -> float:
        """Position in the priority order (lower is more important)."""
        ranks: dict[str, float] = self._ranks  # type: ignore[attr-defined]
        found = ranks.get(identity_type)
        if found is None:
            found = ranks[identity_type] = self._rank(identity_type)
        return found

    def _rank(self, identity_type: str) -> float:
        if identity_type in self.priority:
            return float(self.priority.index(identity_type))
        if LOYALTY_CARD in self.priority:
            return self.priority.index(LOYALTY_CARD) + 0.5
        return float(len(self.priority))

    def limit(self, identity_type: str) -> int:
        """How many identities of this type one customer may hold."""
        if identity_type == USER_ID:
            return 1
        return self.limits.get(identity_type, self.other_limit)

    def is_blocked(self, value: str) -> bool:
        """True for junk values (empty, 'null', 'anonymous', ...) and configured patterns."""
        if value.strip().lower() in BLOCKED_VALUES:
            return True
        for pattern in self.blocked_patterns:
            if pattern.fullmatch(value):
                return True
        return False


def rules_from_config(config: Mapping[str, Any]) -> IdentityRules:
    """Build rules from the `[identity]` table of kanaal.toml (priority, limits, patterns)."""
    priority = tuple(config.get("priority", DEFAULT_PRIORITY))
    if len(set(priority)) != len(priority) or not all(
        isinstance(p, str) and valid_identity_type(p) for p in priority
    ):
        raise InvalidInput("identity.priority must list distinct identity types",
                           code="invalid_identity_config")
    limits = dict(DEFAULT_LIMITS)
    for name, value in dict(config.get("limits", {})).items():
        if not isinstance(value, int) or value < 1:
            raise InvalidInput(f"identity.limits.{name} must be a positive integer",
                               code="invalid_identity_config")
        limits[name] = value
    other = config.get("other_limit", DEFAULT_OTHER_LIMIT)
    if not isinstance(other, int) or other < 1:
        raise InvalidInput("identity.other_limit must be a positive integer",
                           code="invalid_identity_config")
    try:
        patterns = tuple(re.compile(p) for p in config.get("blocked_patterns", []))
    except (re.error, TypeError) as exc:
        raise InvalidInput(f"identity.blocked_patterns: {exc}",
                           code="invalid_identity_config") from exc
    return IdentityRules(priority=priority, limits=limits, other_limit=other,
                         blocked_patterns=patterns)


@dataclass(frozen=True, slots=True)
class Resolution:
    """Where an event lands: an existing customer (or None for a new one), what merges into it,
    which identities are new for it, and which of the event's identities were dropped."""

    customer_id: str | None
    merged: tuple[str, ...]
    attach: tuple[Identity, ...]
    dropped: tuple[Identity, ...]


def order_by_priority(identities: Iterable[Identity], rules: IdentityRules) -> list[Identity]:
    """Distinct identities, highest priority first (stable within a type)."""
    unique = list(dict.fromkeys(identities))
    return sorted(unique, key=lambda identity: rules.rank(identity.type))


def resolve(
    identities: Sequence[Identity],
    *,
    owner: Callable[[Identity], str | None],
    counts: Callable[[str], Mapping[str, int]],
    rules: IdentityRules,
    anchor: str | None = None,
) -> Resolution:
    """Apply the stitching rules to one event's identities against the current graph.

    `owner` gives the customer an identity points at, `counts` a customer's identities per type.
    `anchor` is a customer the event must land on (internal producers that know the customer).
    """
    kept = order_by_priority(identities, rules)
    dropped: list[Identity] = []
    while True:
        owners = [owner(identity) for identity in kept]
        matched: list[str] = [anchor] if anchor is not None else []
        for customer in owners:
            if customer is not None and customer not in matched:
                matched.append(customer)
        new = [identity for identity, found in zip(kept, owners, strict=True) if found is None]
        if not _breaks_limit(matched, new, counts, rules) or not kept:
            break
        dropped.append(kept.pop())
    target = matched[0] if matched else None
    if target is None:
        new = kept
    return Resolution(target, tuple(matched[1:]), tuple(new), tuple(dropped))


def _breaks_limit(
    matched: Sequence[str],
    new: Sequence[Identity],
    counts: Callable[[str], Mapping[str, int]],
    rules: IdentityRules,
) -> bool:
    """True when landing here raises some type over its limit (existing excess is tolerated)."""
    total: Counter[str] = Counter()
    largest: Counter[str] = Counter()
    for customer in matched:
        for identity_type, count in counts(customer).items():
            total[identity_type] += count
            largest[identity_type] = max(largest[identity_type], count)
    total.update(identity.type for identity in new)
    return any(
        count > rules.limit(identity_type) and count > largest[identity_type]
        for identity_type, count in total.items()
    )


@dataclass(frozen=True, slots=True)
class Merge:
    """One customer folded into another, and the event that caused it."""

    survivor: str
    merged: str
    message_id: str | None


@dataclass(frozen=True, slots=True)
class Stitched:
    """The outcome of stitching one event: its customer, merges done, identities dropped."""

    customer_id: str
    created: bool
    merged: tuple[str, ...]
    dropped: tuple[Identity, ...]


class IdentityGraph:
    """A slice of the identity graph held in memory while a batch is stitched.

    Load the identities and per-type counts the batch touches, stitch each event in order,
    then write `created`, `attached` and `merges` back. `find` follows merges to the survivor.
    """

    def __init__(
        self, rules: IdentityRules, new_customer_id: Callable[[], str],
        fetch_counts: Callable[[str], Mapping[str, int]] | None = None,
    ) -> None:
        self.rules = rules
        self._new_id = new_customer_id
        # Counts of a stored customer that was not loaded up front (None: it holds none).
        self._fetch_counts = fetch_counts
        self.owners: dict[Identity, str] = {}
        self.counts: dict[str, Counter[str]] = {}
        self.merged_into: dict[str, str] = {}
        self.created: list[str] = []
        self.attached: list[tuple[Identity, str]] = []
        self.merges: list[Merge] = []

    def load(self, identity: Identity, customer_id: str) -> None:
        """Record an identity already stored for `customer_id`."""
        self.owners[identity] = customer_id

    def load_counts(self, customer_id: str, counts: Mapping[str, int]) -> None:
        """Record how many identities of each type a stored customer holds."""
        self.counts[customer_id] = Counter(counts)

    def _counts_of(self, customer_id: str) -> Mapping[str, int]:
        found = self.counts.get(customer_id)
        if found is None:
            fetched = {} if self._fetch_counts is None else self._fetch_counts(customer_id)
            found = self.counts[customer_id] = Counter(fetched)
        return found

    def find(self, customer_id: str) -> str:
        """The surviving customer for `customer_id` after the merges made so far."""
        while customer_id in self.merged_into:
            customer_id = self.merged_into[customer_id]
        return customer_id

    def owner(self, identity: Identity) -> str | None:
        """The (surviving) customer an identity points at, if any."""
        found = self.owners.get(identity)
        return None if found is None else self.find(found)

    def stitch(
        self, identities: Sequence[Identity], *, message_id: str | None = None,
        anchor: str | None = None,
    ) -> Stitched:
        """Land one event: merge, attach, create as the rules say; returns its customer.

        An event without identities or anchor lands on a new customer of its own.
        """
        anchor = None if anchor is None else self.find(anchor)
        if anchor is None and identities:
            # Fast path (most events): every identity already points at the same customer.
            first = self.owner(identities[0])
            if first is not None and all(self.owner(i) == first for i in identities[1:]):
                return Stitched(first, False, (), ())
        resolution = resolve(
            identities, owner=self.owner, counts=self._counts_of, rules=self.rules,
            anchor=anchor,
        )
        created = resolution.customer_id is None
        if resolution.customer_id is None:
            target = self._new_id()
            self.created.append(target)
            self.counts[target] = Counter()
        else:
            target = resolution.customer_id
        for merged in resolution.merged:
            self.merged_into[merged] = target
            self.counts.setdefault(target, Counter()).update(self.counts.pop(merged, Counter()))
            self.merges.append(Merge(target, merged, message_id))
        for identity in resolution.attach:
            self.owners[identity] = target
            self.attached.append((identity, target))
            self.counts.setdefault(target, Counter())[identity.type] += 1
        return Stitched(target, created, resolution.merged, resolution.dropped)


@dataclass(slots=True)
class IncomingEvent:
    """A validated event ready to be stitched and stored (from intake or an internal producer).

    `traits` holds only the traits sent; a None value removes that trait.
    """

    type: str
    message_id: str
    source: str
    channel: str
    timestamp: datetime
    received_at: datetime
    identities: list[Identity]
    event: str | None = None
    name: str | None = None
    properties: dict[str, Any] = field(default_factory=dict)
    traits: dict[str, Any] = field(default_factory=dict)
    context: dict[str, Any] = field(default_factory=dict)
    user_id: str | None = None
    anonymous_id: str | None = None
    customer_id: str | None = None
    consent: bool = False
    # Intake drops an event carrying an erased identity; internal producers only strip it.
    drop_if_suppressed: bool = True
