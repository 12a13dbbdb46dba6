"""Bulk stitching gives exactly the partition that stitching event by event gives."""

from __future__ import annotations

import itertools

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from kanaal.customers.bulk import stitch_bulk
from kanaal.customers.domain import DEFAULT_LIMITS, Identity, IdentityGraph, IdentityRules

NAMES = ["anonymous_id", "user_id", "email"]


def _partition(labels: list[int]) -> set[frozenset[int]]:
    groups: dict[int, set[int]] = {}
    for node, label in enumerate(labels):
        groups.setdefault(label, set()).add(node)
    return {frozenset(g) for g in groups.values()}


def _sequential(n: int, types: list[int], events: list[tuple[int, int]],
                rules: IdentityRules) -> list[int]:
    numbers = itertools.count(1)
    graph = IdentityGraph(rules, lambda: f"c{next(numbers)}")
    for left, right in events:
        ids = [Identity(NAMES[types[left]], str(left))]
        if right != left:
            ids.append(Identity(NAMES[types[right]], str(right)))
        graph.stitch(ids)
    seen: dict[str, int] = {}
    return [seen.setdefault(graph.owner(Identity(NAMES[types[node]], str(node)))
                            or f"alone-{node}", len(seen)) for node in range(n)]


@settings(max_examples=200, deadline=None)
@given(data=st.data(), n=st.integers(1, 14), email_limit=st.integers(1, 3))
def test_bulk_equals_event_by_event(data: st.DataObject, n: int, email_limit: int) -> None:
    types = data.draw(st.lists(st.integers(0, 2), min_size=n, max_size=n))
    events = data.draw(st.lists(st.tuples(st.integers(0, n - 1), st.integers(0, n - 1)),
                                max_size=25))
    events += [(node, node) for node in range(n)]  # every identifier is seen at least once
    rules = IdentityRules(limits={**DEFAULT_LIMITS, "email": email_limit})
    labels, _ = stitch_bulk(n, np.array(types, dtype=np.int64),
                            np.array(events, dtype=np.int64).reshape(-1, 2), NAMES, rules)
    assert _partition(labels.tolist()) == _partition(_sequential(n, types, events, rules))


def test_components_within_limits_need_no_replay() -> None:
    events = np.array([[0, 1], [1, 2], [3, 3]], dtype=np.int64)
    labels, replayed = stitch_bulk(4, np.array([0, 1, 2, 0], dtype=np.int64), events, NAMES,
                                   IdentityRules())
    assert replayed == 0
    assert _partition(labels.tolist()) == {frozenset({0, 1, 2}), frozenset({3})}


def test_two_user_ids_in_one_component_are_split_by_replay() -> None:
    # anon 0 is seen with user 1, then with user 2: the second pairing drops the anonymous id.
    events = np.array([[0, 1], [0, 2]], dtype=np.int64)
    labels, replayed = stitch_bulk(3, np.array([0, 1, 1], dtype=np.int64), events, NAMES,
                                   IdentityRules())
    assert replayed == 1
    assert _partition(labels.tolist()) == {frozenset({0, 1}), frozenset({2})}
