"""Stitch 1,000,000 identifiers of 300,000 customers: bulk stitching beside networkx.

    .venv/bin/python -m bench.identity [--identifiers 1000000] [--customers 300000] [--seed 7]

The synthetic graph: every customer has an anonymous id, the other identifiers are user ids
(at most one per customer), emails, phones, devices and more anonymous ids; events carry two
identifiers of one customer (a chain per customer, arriving shuffled). 0.3% of events are
"shared browser" events that pair one customer's anonymous id with another customer's user
id, so the Unify rules (different user ids never merge, limits) must split those components.

Timed on the same event array in the same run:
1. networkx: build the graph and take connected components (no Unify rules at all);
2. kanaal bulk (`kanaal.customers.bulk.stitch_bulk`): scipy connected components, per-type
   limits checked vectorised, rule-breaking components replayed event by event;
3. kanaal per-event (`IdentityGraph.stitch` for every event, the intake engine), which also
   checks that the bulk result is the same partition.
Goal: bulk >= 5x faster than networkx.
"""

from __future__ import annotations

import argparse
import time

import networkx as nx
import numpy as np
from numpy.typing import NDArray

from kanaal.customers.bulk import stitch_bulk
from kanaal.customers.domain import Identity, IdentityGraph, IdentityRules

TYPES = ["anonymous_id", "user_id", "email", "phone", "device_id"]
EXTRA_P = [0.20, 0.30, 0.25, 0.12, 0.13]  # type mix of identifiers beyond the first


def synthetic(n_ids: int, n_customers: int, seed: int
              ) -> tuple[NDArray[np.int64], NDArray[np.int64]]:
    """Identifier types and the event array (rows of two identifiers), shuffled."""
    rng = np.random.default_rng(seed)
    owner = np.concatenate([np.arange(n_customers),
                            rng.integers(0, n_customers, n_ids - n_customers)])
    types = np.concatenate([np.zeros(n_customers, dtype=np.int64),
                            rng.choice(len(TYPES), n_ids - n_customers, p=EXTRA_P)])
    # At most one user id per customer: later ones become anonymous ids.
    users = np.flatnonzero(types == 1)
    _, first = np.unique(owner[users], return_index=True)
    extra = np.setdiff1d(users, users[first])
    types[extra] = 0
    order = np.argsort(owner, kind="stable")
    same = owner[order][1:] == owner[order][:-1]
    chain = np.stack([order[:-1][same], order[1:][same]], axis=1)
    alone = np.setdiff1d(np.arange(n_ids), chain.ravel())
    singles = np.stack([alone, alone], axis=1)
    user_ids = np.flatnonzero(types == 1)
    n_shared = int(len(chain) * 0.003)
    shared = np.stack([rng.integers(0, n_customers, n_shared),
                       rng.choice(user_ids, n_shared)], axis=1)
    events = np.concatenate([chain, singles, shared])
    return types, events[rng.permutation(len(events))]


def canonical(labels: NDArray[np.int64]) -> NDArray[np.int64]:
    """Relabel groups by their smallest member so two partitions compare with ==."""
    smallest = np.full(labels.max() + 1, len(labels), dtype=np.int64)
    np.minimum.at(smallest, labels, np.arange(len(labels)))
    return smallest[labels]


def per_event(n_ids: int, types: NDArray[np.int64], events: NDArray[np.int64],
              rules: IdentityRules) -> NDArray[np.int64]:
    """Stitch every event through IdentityGraph (the intake engine); label per identifier."""
    counter = iter(range(1, 10**9))
    graph = IdentityGraph(rules, lambda: f"c{next(counter)}")
    for left, right in events.tolist():
        ids = [Identity(TYPES[types[left]], str(left))]
        if right != left:
            ids.append(Identity(TYPES[types[right]], str(right)))
        graph.stitch(ids)
    labels = np.empty(n_ids, dtype=np.int64)
    numbers: dict[str, int] = {}
    for node in range(n_ids):
        owner = graph.owner(Identity(TYPES[types[node]], str(node)))
        labels[node] = numbers.setdefault(owner or f"alone-{node}", len(numbers))
    return labels


def main() -> None:
    """Build the graph, time the three stitchers, check agreement and print the ratios."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--identifiers", type=int, default=1_000_000)
    parser.add_argument("--customers", type=int, default=300_000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--skip-per-event", action="store_true")
    args = parser.parse_args()
    types, events = synthetic(args.identifiers, args.customers, args.seed)
    rules = IdentityRules()

    started = time.perf_counter()
    graph = nx.Graph()
    graph.add_nodes_from(range(args.identifiers))
    graph.add_edges_from(events.tolist())
    built = time.perf_counter()
    components = list(nx.connected_components(graph))
    nx_seconds, nx_cc_seconds = time.perf_counter() - started, time.perf_counter() - built
    del graph

    started = time.perf_counter()
    labels, replayed = stitch_bulk(args.identifiers, types, events, TYPES, rules)
    bulk_seconds = time.perf_counter() - started

    print(f"identifiers: {args.identifiers:,}; customers generated: {args.customers:,}; "
          f"events: {len(events):,}")
    print(f"networkx build + connected components: {nx_seconds:7.2f} s "
          f"(components alone {nx_cc_seconds:.2f} s; {len(components):,} components, "
          "no Unify rules)")
    print(f"kanaal bulk stitch (Unify rules):       {bulk_seconds:7.2f} s "
          f"({labels.max() + 1:,} customers; {replayed:,} components replayed by the rules)")
    print(f"bulk speed-up over networkx:            {nx_seconds / bulk_seconds:7.1f}x "
          "(goal >= 5x)")
    if not args.skip_per_event:
        started = time.perf_counter()
        exact = per_event(args.identifiers, types, events, rules)
        seconds = time.perf_counter() - started
        same = bool((canonical(exact) == canonical(labels)).all())
        print(f"kanaal per-event IdentityGraph:         {seconds:7.2f} s "
              f"({len(events) / seconds:,.0f} events/s); same partition as bulk: {same}")
        if not same:
            raise SystemExit("bulk and per-event stitching disagree")


if __name__ == "__main__":
    main()
