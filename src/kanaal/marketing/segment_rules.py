"""Segment rules: a small JSON language over traits, identities and behaviour. Pure rules.

A rule is one of
  {"all": [rule, ...]}  {"any": [rule, ...]}  {"not": rule}
  {"trait": "country", "op": "eq", "value": "NL"}          ops: eq ne in gt gte lt lte exists
  {"identity": "email"}                                     the customer has such an identity
  {"event": "Product Viewed", "where": {"category": "tv"}, "count": {"gte": 3},
   "within_days": 14}                                       counts of matching events
  {"channel_used": "store", "within_days": 90}              any event on that channel
  {"generation": "millennial"}                              from the birth_year trait
  {"consent": "email"}                                      traits.consent.email is true
  {"rfm": {"recency": {"gte": 4}, "monetary": {"gte": 4}}}  RFM quintile scores

Parsing validates everything and reports each problem with its path (e.g. `all[1].count.gte`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from kanaal.core.errors import InvalidInput

COMPARISONS = ("eq", "ne", "in", "gt", "gte", "lt", "lte", "exists")
COUNT_OPS = ("eq", "gt", "gte", "lt", "lte")
GENERATIONS: dict[str, tuple[int, int]] = {
    "silent": (1928, 1945),
    "boomer": (1946, 1964),
    "gen_x": (1965, 1980),
    "millennial": (1981, 1996),
    "gen_z": (1997, 2012),
    "gen_alpha": (2013, 2030),
}
RFM_PARTS = ("recency", "frequency", "monetary")
IDENTITY_TYPES = ("user_id", "anonymous_id", "email", "phone", "device_id", "loyalty_card")
CHANNELS = (
    "web", "mobile", "store", "phone", "chat", "publisher", "marketplace", "social", "b2b",
    "shop_in_shop", "email", "sms",
)


@dataclass(frozen=True, slots=True)
class EventRecord:
    """What a behaviour rule needs of one event."""

    name: str | None
    channel: str
    timestamp: datetime
    properties: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Profile:
    """Everything a rule may look at for one customer."""

    traits: Mapping[str, Any]
    identity_types: frozenset[str]
    events: Sequence[EventRecord]
    rfm: Mapping[str, int] | None = None


@dataclass(frozen=True, slots=True)
class Rule:
    """A parsed, validated rule tree (kind plus its arguments)."""

    kind: str
    args: Mapping[str, Any]
    children: tuple[Rule, ...] = ()

    def lookback_days(self) -> float:
        """The longest event window the rule reads (inf when it reads all history)."""
        own = 0.0
        if self.kind in {"event", "channel_used"}:
            within = self.args.get("within_days")
            own = float("inf") if within is None else float(within)
        return max([own, *(child.lookback_days() for child in self.children)])

    def event_names(self) -> frozenset[str]:
        """Event names the rule counts (to load only those events)."""
        own = {self.args["event"]} if self.kind == "event" else set()
        for child in self.children:
            own |= child.event_names()
        return frozenset(own)

    def reads_channels(self) -> bool:
        """Whether any part of the rule looks at events of every name (channel_used)."""
        return self.kind == "channel_used" or any(c.reads_channels() for c in self.children)


class _Errors:
    def __init__(self) -> None:
        self.items: list[dict[str, Any]] = []

    def add(self, path: str, message: str) -> None:
        self.items.append({"loc": path, "message": message})


def _keys(node: Mapping[str, Any], allowed: set[str], path: str, errors: _Errors) -> None:
    for key in node:
        if key not in allowed:
            errors.add(f"{path}.{key}" if path else key, f"unknown field {key!r}")


def _non_negative_int(value: Any, path: str, errors: _Errors) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        errors.add(path, "must be a non-negative integer")


def _parse_count(node: Any, path: str, errors: _Errors) -> dict[str, int]:
    if node is None:
        return {"gte": 1}
    if not isinstance(node, dict) or not node:
        errors.add(path, f"must be an object with one of {', '.join(COUNT_OPS)}")
        return {}
    _keys(node, set(COUNT_OPS), path, errors)
    for op, value in node.items():
        _non_negative_int(value, f"{path}.{op}", errors)
    return dict(node)


def _window(node: Mapping[str, Any], path: str, errors: _Errors) -> None:
    within = node.get("within_days")
    if within is not None and (
        isinstance(within, bool) or not isinstance(within, int | float) or within <= 0
    ):
        errors.add(f"{path}.within_days" if path else "within_days", "must be a positive number")


def _parse(node: Any, path: str, errors: _Errors) -> Rule:
    here = path or "rule"
    if not isinstance(node, dict):
        errors.add(here, "a rule must be an object")
        return Rule("invalid", {})

    def join(key: str) -> str:
        return f"{path}.{key}" if path else key

    for combinator in ("all", "any"):
        if combinator in node:
            _keys(node, {combinator}, path, errors)
            items = node[combinator]
            if not isinstance(items, list) or not items:
                errors.add(join(combinator), "must be a non-empty list of rules")
                return Rule(combinator, {})
            children = tuple(
                _parse(item, f"{join(combinator)}[{i}]", errors) for i, item in enumerate(items)
            )
            return Rule(combinator, {}, children)
    if "not" in node:
        _keys(node, {"not"}, path, errors)
        return Rule("not", {}, (_parse(node["not"], join("not"), errors),))
    if "trait" in node:
        _keys(node, {"trait", "op", "value"}, path, errors)
        op = node.get("op", "eq")
        if op not in COMPARISONS:
            errors.add(join("op"), f"unknown operator {op!r}; use one of {', '.join(COMPARISONS)}")
        if op != "exists" and "value" not in node:
            errors.add(join("value"), "is required for this operator")
        if op == "in" and not isinstance(node.get("value"), list):
            errors.add(join("value"), "must be a list for 'in'")
        if not isinstance(node["trait"], str) or not node["trait"]:
            errors.add(join("trait"), "must be a trait name")
        return Rule("trait", {"trait": node["trait"], "op": op, "value": node.get("value")})
    if "identity" in node:
        _keys(node, {"identity"}, path, errors)
        if node["identity"] not in IDENTITY_TYPES:
            errors.add(join("identity"), f"unknown identity type {node['identity']!r}")
        return Rule("identity", {"identity": node["identity"]})
    if "event" in node:
        _keys(node, {"event", "where", "count", "within_days"}, path, errors)
        if not isinstance(node["event"], str) or not node["event"]:
            errors.add(join("event"), "must be an event name")
        where = node.get("where", {})
        if not isinstance(where, dict):
            errors.add(join("where"), "must be an object of property values")
            where = {}
        _window(node, path, errors)
        count = _parse_count(node.get("count"), join("count"), errors)
        return Rule("event", {"event": node["event"], "where": where, "count": count,
                              "within_days": node.get("within_days")})
    if "channel_used" in node:
        _keys(node, {"channel_used", "within_days"}, path, errors)
        if node["channel_used"] not in CHANNELS:
            errors.add(join("channel_used"), f"unknown channel {node['channel_used']!r}")
        _window(node, path, errors)
        return Rule("channel_used", {"channel": node["channel_used"],
                                     "within_days": node.get("within_days")})
    if "generation" in node:
        _keys(node, {"generation"}, path, errors)
        if node["generation"] not in GENERATIONS:
            names = ", ".join(GENERATIONS)
            errors.add(join("generation"), f"unknown generation; use one of {names}")
        return Rule("generation", {"generation": node["generation"]})
    if "consent" in node:
        _keys(node, {"consent"}, path, errors)
        if node["consent"] not in {"email", "sms", "ads", "tracking"}:
            errors.add(join("consent"), "consent is one of email, sms, ads, tracking")
        return Rule("consent", {"purpose": node["consent"]})
    if "rfm" in node:
        _keys(node, {"rfm"}, path, errors)
        spec = node["rfm"]
        if not isinstance(spec, dict) or not spec:
            errors.add(join("rfm"), "must name recency, frequency and/or monetary bounds")
            return Rule("rfm", {})
        _keys(spec, set(RFM_PARTS), join("rfm"), errors)
        bounds = {}
        for part, bound in spec.items():
            bounds[part] = _parse_count(bound, f"{join('rfm')}.{part}", errors)
        return Rule("rfm", {"bounds": bounds})
    errors.add(here, "unknown rule; expected all, any, not, trait, identity, event, channel_used,"
                     " generation, consent or rfm")
    return Rule("invalid", {})


def parse_rule(node: Any) -> Rule:
    """Validate and parse a rule; InvalidInput lists every problem with its path."""
    errors = _Errors()
    rule = _parse(node, "", errors)
    if errors.items:
        first = errors.items[0]
        raise InvalidInput(
            f"invalid segment rule at {first['loc']}: {first['message']}",
            code="invalid_rule",
            details=errors.items,
        )
    return rule


def _compare(actual: Any, op: str, expected: Any) -> bool:
    if op == "exists":
        return actual is not None
    if actual is None:
        return op == "ne"
    try:
        if op == "eq":
            return bool(actual == expected)
        if op == "ne":
            return bool(actual != expected)
        if op == "in":
            return actual in expected
        if op == "gt":
            return bool(actual > expected)
        if op == "gte":
            return bool(actual >= expected)
        if op == "lt":
            return bool(actual < expected)
        if op == "lte":
            return bool(actual <= expected)
    except TypeError:
        return False
    raise AssertionError(op)


def _count_ok(count: int, bounds: Mapping[str, int]) -> bool:
    return all(_compare(count, op, value) for op, value in bounds.items())


def _trait(traits: Mapping[str, Any], dotted: str) -> Any:
    node: Any = traits
    for part in dotted.split("."):
        if not isinstance(node, Mapping) or part not in node:
            return None
        node = node[part]
    return node


def _in_window(event: EventRecord, within: float | None, now: datetime) -> bool:
    return event.timestamp <= now and (
        within is None or event.timestamp > now - timedelta(days=within)
    )


def evaluate(rule: Rule, profile: Profile, now: datetime) -> bool:
    """Whether `profile` is in the segment at time `now`."""
    kind, args = rule.kind, rule.args
    if kind == "all":
        return all(evaluate(child, profile, now) for child in rule.children)
    if kind == "any":
        return any(evaluate(child, profile, now) for child in rule.children)
    if kind == "not":
        return not evaluate(rule.children[0], profile, now)
    if kind == "trait":
        return _compare(_trait(profile.traits, args["trait"]), args["op"], args["value"])
    if kind == "identity":
        return args["identity"] in profile.identity_types
    if kind == "event":
        where = args["where"]
        count = sum(
            1
            for e in profile.events
            if e.name == args["event"]
            and _in_window(e, args["within_days"], now)
            and all(e.properties.get(k) == v for k, v in where.items())
        )
        return _count_ok(count, args["count"])
    if kind == "channel_used":
        return any(
            e.channel == args["channel"] and _in_window(e, args["within_days"], now)
            for e in profile.events
        )
    if kind == "generation":
        year = profile.traits.get("birth_year")
        low, high = GENERATIONS[args["generation"]]
        return isinstance(year, int) and not isinstance(year, bool) and low <= year <= high
    if kind == "consent":
        return _trait(profile.traits, f"consent.{args['purpose']}") is True
    if kind == "rfm":
        if profile.rfm is None:
            return False
        return all(
            _count_ok(profile.rfm.get(part, 0), bounds) for part, bounds in args["bounds"].items()
        )
    raise AssertionError(kind)


def _window_edges(rule: Rule, profile: Profile, now: datetime) -> list[datetime]:
    edges: list[datetime] = []
    if rule.kind in {"event", "channel_used"}:
        within = rule.args.get("within_days")
        for e in profile.events:
            if rule.kind == "event" and e.name != rule.args["event"]:
                continue
            if rule.kind == "channel_used" and e.channel != rule.args["channel"]:
                continue
            if e.timestamp > now:
                edges.append(e.timestamp)  # enters the window when the clock reaches it
            elif within is not None and e.timestamp + timedelta(days=within) > now:
                edges.append(e.timestamp + timedelta(days=within))  # leaves the window
    for child in rule.children:
        edges += _window_edges(child, profile, now)
    return edges


def next_change(rules: Sequence[Rule], profile: Profile, now: datetime) -> datetime | None:
    """The earliest moment after `now` when time alone (no new event) can change a result."""
    edges = [edge for rule in rules for edge in _window_edges(rule, profile, now)]
    return min(edges) if edges else None
