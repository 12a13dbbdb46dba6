"""Hypothesis over the real store: any identify/alias/track sequence, resent at random, keeps
one customer per identity, one stored event per accepted messageId, and user ids apart."""

from __future__ import annotations

import itertools
import json
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from kanaal.collect.service import collect
from kanaal.core.auth import KeyKind, SourceKind
from kanaal.core.context import AppContext
from kanaal.core.keys import issue_key
from kanaal.customers import ingest
from kanaal.customers.store import customer_events, customer_identities, customers
from tests.support.collect import basic

_run = itertools.count()
pool = st.sampled_from(["p", "q", "r", "s"])
emails = pool.map(lambda v: f"{v}@x.nl")
message_st = st.one_of(
    st.fixed_dictionaries({"type": st.just("identify"), "userId": pool,
                           "anonymousId": st.none() | pool,
                           "traits": st.fixed_dictionaries({"email": emails})}),
    st.fixed_dictionaries({"type": st.just("alias"), "userId": pool, "previousId": pool}),
    st.fixed_dictionaries({"type": st.just("track"), "event": st.just("Viewed"),
                           "anonymousId": pool, "userId": st.none() | pool}),
)
# Each step is a batch of messages, each optionally a resend of an earlier messageId.
step_st = st.lists(st.tuples(message_st, st.booleans()), min_size=1, max_size=6)


def _namespaced(message: dict[str, Any], ns: str) -> dict[str, Any]:
    out = dict(message)
    for key in ("userId", "anonymousId", "previousId"):
        if out.get(key) is not None:
            out[key] = f"{ns}-{out[key]}"
    if "traits" in out:
        out["traits"] = {"email": f"{ns}.{out['traits']['email']}"}
    return out


@settings(max_examples=25, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(steps=st.lists(step_st, min_size=1, max_size=6))
def test_stitching_and_dedupe_invariants_hold_on_the_database(
    ctx: AppContext, steps: list[list[tuple[dict[str, Any], bool]]],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    ns = f"n{next(_run)}"
    # The batch's prefetch of identity counts covers every customer the rules ask about:
    # the one-customer fallback query is never needed.
    on_demand: list[str] = []
    monkeypatch.setattr(ingest, "_counts_on_demand",
                        lambda _session, customer_id: on_demand.append(customer_id) or {})
    key = issue_key(ctx.db, source_name=f"web-{ns}", source_kind=SourceKind.WEB,
                    kind=KeyKind.WRITE, scopes=frozenset(), ids=ctx.ids, clock=ctx.clock)
    sent: list[str] = []
    for step in steps:
        batch = []
        for message, resend in step:
            message_id = sent[len(sent) // 2] if resend and sent else f"{ns}-m{len(sent)}"
            sent.append(message_id)
            batch.append({**_namespaced(message, ns), "messageId": message_id})
        collect(ctx, "batch", json.dumps({"batch": batch}).encode(),
                authorization=basic(key.raw)["Authorization"], content_encoding=None)
    with ctx.db.reader() as session:
        stored = session.execute(
            select(customer_events.c.message_id, customer_events.c.customer_id)
            .where(customer_events.c.source == key.source.id)
        ).all()
        identities = session.execute(
            select(customer_identities.c.type, customer_identities.c.value,
                   customer_identities.c.customer_id)
            .where(customer_identities.c.value.like(f"%{ns}%"))
        ).all()
        live = {row[0] for row in session.execute(
            select(customers.c.id).where(customers.c.merged_into.is_(None)))}
    # The events across all customers equal the accepted unique messageIds.
    assert sorted(row[0] for row in stored) == sorted(set(sent))
    assert all(row[1] in live for row in stored)
    # Every identity maps to exactly one live customer (type, value is the primary key).
    assert all(row[2] in live for row in identities)
    # Different user ids never share a customer.
    users = [row[2] for row in identities if row[0] == "user_id"]
    assert len(users) == len(set(users))
    assert on_demand == []
