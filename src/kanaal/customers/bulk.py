"""Bulk identity stitching (backfills, imports): connected components plus the Unify rules.

Identifiers are integers 0..n-1 with a type code each; events are rows of a (m, 2) array of
identifiers seen together (a single-identity event repeats its identifier), in arrival order.

Why this equals stitching event by event: a component whose final per-type counts are within
the limits never broke a limit on the way (counts only grow as customers merge, and every
intermediate customer is a subset of the component), so sequential stitching ends in exactly
that component. Only components that break a limit are replayed event by event, in order,
through `IdentityGraph`, which applies priority, drops and "different user ids never merge".
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence

import numpy as np
from numpy.typing import NDArray
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

from kanaal.customers.domain import Identity, IdentityGraph, IdentityRules


def stitch_bulk(
    n_identifiers: int,
    types: NDArray[np.int64],
    events: NDArray[np.int64],
    type_names: Sequence[str],
    rules: IdentityRules,
) -> tuple[NDArray[np.int64], int]:
    """A customer label per identifier, and how many components needed the exact replay."""
    graph = coo_matrix(
        (np.ones(len(events), dtype=np.int8), (events[:, 0], events[:, 1])),
        shape=(n_identifiers, n_identifiers),
    ).tocsr()
    n_components, labels = connected_components(graph, directed=False)
    labels = labels.astype(np.int64)
    n_types = len(type_names)
    counts = np.bincount(labels * n_types + types, minlength=n_components * n_types)
    limits = np.array([rules.limit(name) for name in type_names], dtype=np.int64)
    broken: NDArray[np.bool_] = np.asarray(
        (counts.reshape(n_components, n_types) > limits).any(axis=1)
    )
    if not broken.any():
        return labels, 0
    replay = events[broken[labels[events[:, 0]]]]
    numbers = itertools.count(1)
    exact = IdentityGraph(rules, lambda: f"c{next(numbers)}")
    names = list(type_names)
    for left, right in replay.tolist():
        identities = [Identity(names[types[left]], str(left))]
        if right != left:
            identities.append(Identity(names[types[right]], str(right)))
        exact.stitch(identities)
    relabel: dict[str, int] = {}
    for node in np.flatnonzero(broken[labels]).tolist():
        owner = exact.owner(Identity(names[types[node]], str(node)))
        key = owner if owner is not None else f"alone-{node}"
        labels[node] = relabel.setdefault(key, n_components + len(relabel))
    return labels, int(broken.sum())

