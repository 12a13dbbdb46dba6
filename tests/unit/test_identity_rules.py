"""Identity stitching rules: examples for each rule and hypothesis invariants over sequences."""

from __future__ import annotations

import itertools
import re
from collections import Counter

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kanaal.core.errors import InvalidInput
from kanaal.customers.domain import (
    DEFAULT_LIMITS,
    Identity,
    IdentityGraph,
    IdentityRules,
    resolve,
    rules_from_config,
)
from kanaal.customers.normalize import make_identity

RULES = IdentityRules()


def _graph(rules: IdentityRules = RULES) -> IdentityGraph:
    counter = itertools.count(1)
    return IdentityGraph(rules, lambda: f"cus_{next(counter)}")


def uid(value: str) -> Identity:
    return Identity("user_id", value)


def anon(value: str) -> Identity:
    return Identity("anonymous_id", value)


def email(value: str) -> Identity:
    return Identity("email", value)


def test_a_new_identity_makes_a_new_customer_and_a_known_one_finds_it() -> None:
    graph = _graph()
    first = graph.stitch([anon("a1")])
    again = graph.stitch([anon("a1"), email("ann@x.nl")])
    assert (first.customer_id, first.created) == ("cus_1", True)
    assert (again.customer_id, again.created, again.merged) == ("cus_1", False, ())
    assert graph.owner(email("ann@x.nl")) == "cus_1"


def test_an_event_linking_two_customers_merges_them_into_the_higher_priority_match() -> None:
    graph = _graph()
    graph.stitch([anon("a1")])
    graph.stitch([email("ann@x.nl")])
    linked = graph.stitch([anon("a1"), email("ann@x.nl")], message_id="m9")
    assert (linked.customer_id, linked.merged) == ("cus_2", ("cus_1",))
    assert graph.owner(anon("a1")) == graph.owner(email("ann@x.nl")) == "cus_2"
    assert [(m.survivor, m.merged, m.message_id) for m in graph.merges] == [
        ("cus_2", "cus_1", "m9")]
    assert graph.find("cus_1") == "cus_2"


def test_two_user_ids_never_merge_the_lowest_priority_identity_is_dropped() -> None:
    graph = _graph()
    graph.stitch([uid("u1"), anon("a1")])
    second = graph.stitch([uid("u2"), anon("a1")])
    assert second.customer_id == "cus_2" and second.dropped == (anon("a1"),)
    assert graph.owner(anon("a1")) == "cus_1"
    assert graph.merges == []


def test_a_customer_with_a_user_id_never_takes_a_second_one() -> None:
    graph = _graph()
    graph.stitch([uid("u1")])
    landed = graph.stitch([uid("u2"), email("x@y.nl")])
    assert landed.customer_id == "cus_2" and landed.dropped == ()
    other = _graph()
    other.stitch([uid("u1"), email("x@y.nl")])
    split = other.stitch([uid("u2"), email("x@y.nl")])
    assert (split.customer_id, split.dropped) == ("cus_2", (email("x@y.nl"),))


def test_a_limit_drops_the_new_lowest_priority_identity_and_the_event_still_lands() -> None:
    rules = IdentityRules(limits={**DEFAULT_LIMITS, "email": 2})
    graph = _graph(rules)
    graph.stitch([uid("u1"), email("a@x.nl")])
    graph.stitch([uid("u1"), email("b@x.nl")])
    third = graph.stitch([uid("u1"), email("c@x.nl")])
    assert (third.customer_id, third.dropped) == ("cus_1", (email("c@x.nl"),))
    assert graph.owner(email("c@x.nl")) is None
    assert graph.counts["cus_1"] == Counter({"user_id": 1, "email": 2})


def test_an_anchor_customer_always_receives_the_event() -> None:
    graph = _graph()
    graph.stitch([uid("u1")])
    graph.stitch([uid("u2")])
    landed = graph.stitch([uid("u2")], anchor="cus_1")
    assert (landed.customer_id, landed.dropped) == ("cus_1", (uid("u2"),))
    assert graph.stitch([], anchor="cus_1").customer_id == "cus_1"


def test_no_identities_lands_on_a_new_customer() -> None:
    graph = _graph()
    assert graph.stitch([]).customer_id == "cus_1"
    assert graph.stitch([]).customer_id == "cus_2"


def test_existing_excess_is_tolerated_but_not_increased() -> None:
    counts = {"cus_1": {"email": 7}}
    resolution = resolve([email("a@x.nl")], owner=lambda _i: "cus_1",
                         counts=lambda c: counts[c], rules=RULES)
    assert resolution == type(resolution)("cus_1", (), (), ())


def test_priority_puts_external_ids_after_loyalty_card_and_before_devices() -> None:
    assert [RULES.rank(t) for t in ("user_id", "email", "phone", "loyalty_card")] == [0, 1, 2, 3]
    assert RULES.rank("loyalty_card") < RULES.rank("crm_id") < RULES.rank("device_id")
    assert RULES.limit("user_id") == 1 and RULES.limit("crm_id") == 10


def test_rules_from_config_reads_limits_priority_and_patterns() -> None:
    rules = rules_from_config({"limits": {"email": 2, "user_id": 9}, "other_limit": 3,
                               "priority": ["email", "user_id", "anonymous_id"],
                               "blocked_patterns": [r"test-.*"]})
    assert (rules.limit("email"), rules.limit("user_id"), rules.limit("crm")) == (2, 1, 3)
    assert rules.rank("email") < rules.rank("user_id")
    assert rules.is_blocked("test-123") and not rules.is_blocked("prod-123")
    for bad in ({"limits": {"email": 0}}, {"priority": ["email", "email"]},
                {"blocked_patterns": ["("]}, {"other_limit": "many"}):
        with pytest.raises(InvalidInput) as caught:
            rules_from_config(bad)
        assert caught.value.code == "invalid_identity_config"


@pytest.mark.parametrize("junk", ["", "  ", "null", "NULL", "anonymous", "undefined", "0", "-1"])
def test_junk_values_are_blocked(junk: str) -> None:
    assert make_identity("anonymous_id", junk, rules=RULES, region="NL") is None
    assert make_identity("user_id", junk, rules=RULES, region="NL") is None


def test_values_are_normalised() -> None:
    def norm(kind: str, value: object) -> Identity | None:
        return make_identity(kind, value, rules=RULES, region="NL")

    assert norm("email", "  Ann.De.Vries@Example.COM ") == email("ann.de.vries@example.com")
    assert norm("email", "not-an-email") is None
    assert norm("phone", "06-1234 5678") == Identity("phone", "+31612345678")
    assert norm("phone", "+44 20 7946 0958") == Identity("phone", "+442079460958")
    assert norm("phone", "12345") is None
    assert norm("user_id", 42) == uid("42")
    assert norm("user_id", True) is None
    assert norm("user_id", "x" * 256) is None
    assert norm("Bad Type", "v") is None
    patterned = IdentityRules(blocked_patterns=(re.compile(r"test-\d+"),))
    assert make_identity("user_id", "test-1", rules=patterned, region="NL") is None
    assert make_identity("phone", "612345678", rules=RULES, region="BE") is None


# ---------------------------------------------------------------- invariants

TYPES = ("user_id", "email", "phone", "anonymous_id", "device_id")
identity_st = st.builds(Identity, st.sampled_from(TYPES), st.sampled_from("abcdef"))
event_st = st.lists(identity_st, min_size=1, max_size=4)
small_limits = st.fixed_dictionaries({t: st.integers(1, 3) for t in TYPES})


@settings(max_examples=300, deadline=None)
@given(events=st.lists(event_st, max_size=40), limits=small_limits)
def test_every_identity_maps_to_one_customer_within_limits(
    events: list[list[Identity]], limits: dict[str, int]
) -> None:
    graph = _graph(IdentityRules(limits=limits))
    landed = [graph.stitch(ids, message_id=str(n)) for n, ids in enumerate(events)]
    live = {graph.find(c) for c in graph.created}
    holders: dict[str, list[Identity]] = {}
    for identity, customer in graph.owners.items():
        assert graph.owner(identity) in live
        holders.setdefault(graph.find(customer), []).append(identity)
    for customer in live:
        held = Counter(i.type for i in holders.get(customer, []))
        assert held == +graph.counts[customer]
        assert all(n <= IdentityRules(limits=limits).limit(t) for t, n in held.items())
    # Every event landed on a live customer, holding all of its identities that were not dropped.
    for stitched, ids in zip(landed, events, strict=True):
        assert graph.find(stitched.customer_id) in live
        for identity in set(ids) - set(stitched.dropped):
            assert graph.owner(identity) == graph.find(stitched.customer_id)


@settings(max_examples=300, deadline=None)
@given(events=st.lists(event_st, max_size=40))
def test_customers_with_different_user_ids_never_merge(events: list[list[Identity]]) -> None:
    graph = _graph()
    user_of: dict[str, str] = {}
    for n, ids in enumerate(events):
        done = len(graph.merges)
        graph.stitch(ids, message_id=str(n))
        for merge in graph.merges[done:]:
            a, b = user_of.get(merge.survivor), user_of.get(merge.merged)
            assert a is None or b is None or a == b
        for identity, customer in graph.owners.items():
            if identity.type == "user_id":
                user_of[graph.find(customer)] = identity.value
    users = [graph.owner(i) for i in graph.owners if i.type == "user_id"]
    assert len(users) == len(set(users))
