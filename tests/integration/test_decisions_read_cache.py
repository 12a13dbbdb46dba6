"""Bounded staleness of the engine's cached reads of identities and timelines."""

from __future__ import annotations

from typing import Any

from kanaal.collect.service import record_event
from kanaal.core.context import AppContext
from kanaal.decisions.domain import QueueView
from kanaal.decisions.service import make_decision

IN_STORE = {"anonymousId": "anon-9", "channel": "store",
            "context": {"store_id": "loc_amsterdam", "product": {"sku": "TV-55"},
                        "cart": {"value": "1300", "currency": "EUR"}}}


class NoQueues:
    """A contact center without queues: only store staff can act."""

    def snapshot(self, _ctx: AppContext) -> dict[str, QueueView]:
        return {}


def configured(ctx: AppContext, seconds: float) -> AppContext:
    ctx.business["decisions"] = {"explore": False, "experiment": {"holdout_share": 0.0},
                                 "read_cache_seconds": seconds}
    ctx.state["decisions.capacity"] = NoQueues()
    return ctx


def browse_online(ctx: AppContext) -> str:
    with ctx.db.transaction() as session:
        return record_event(session, ctx, event="Product Viewed",
                            identities={"anonymous_id": "anon-9"}, channel="web", source="web",
                            properties={"sku": "TV-55", "price": "1300"})


def action(ctx: AppContext) -> Any:
    return make_decision(ctx, IN_STORE)["action"]["type"]


def test_an_unknown_visitor_who_becomes_known_is_seen_after_the_ttl(ctx: AppContext) -> None:
    configured(ctx, 5.0)
    assert action(ctx) == "none"
    browse_online(ctx)
    assert action(ctx) == "none"  # "no customer" is still cached
    ctx.clock.advance(seconds=4)  # type: ignore[attr-defined]
    assert action(ctx) == "none"
    ctx.clock.advance(seconds=1)  # type: ignore[attr-defined]
    assert action(ctx) == "hot_prospect_alert"


def test_a_new_event_on_a_known_timeline_counts_after_the_ttl(ctx: AppContext) -> None:
    configured(ctx, 5.0)
    with ctx.db.transaction() as session:
        record_event(session, ctx, event="Page Viewed", identities={"anonymous_id": "anon-9"},
                     channel="web", source="web")
    assert action(ctx) == "none"
    browse_online(ctx)
    assert action(ctx) == "none"  # the cached timeline has no product view yet
    ctx.clock.advance(seconds=5)  # type: ignore[attr-defined]
    assert action(ctx) == "hot_prospect_alert"


def test_without_a_cache_every_decision_reads_the_timeline(ctx: AppContext) -> None:
    configured(ctx, 0.0)
    assert action(ctx) == "none"
    browse_online(ctx)
    assert action(ctx) == "hot_prospect_alert"


def test_events_through_intake_reach_a_running_engine_at_once(
    ctx: AppContext, make_client: Any, keys: Any
) -> None:
    import base64

    configured(ctx, 300.0)
    client = make_client(ctx)
    basic = {"Authorization": "Basic " + base64.b64encode(f"{keys.write}:".encode()).decode()}
    assert action(ctx) == "none"  # caches "no customer yet" for five minutes
    response = client.post("/v1/track", headers=basic, json={
        "anonymousId": "anon-9", "event": "Product Viewed",
        "properties": {"sku": "TV-55", "price": "1300"},
    })
    assert response.status_code == 200
    # Intake announced the visitor, so the engine does not wait out its cache.
    assert action(ctx) == "hot_prospect_alert"


def test_without_the_database_a_cache_miss_refuses_before_anything_changes(
    ctx: AppContext,
) -> None:
    """The endpoint answers on the event loop only what the caches hold: a miss raises
    NeedsDatabase with nothing logged or counted, and the same request then runs normally;
    once cached, the loop path decides on its own."""
    import pytest

    from kanaal.decisions.read_cache import NeedsDatabase
    from kanaal.decisions.service import runtime

    configured(ctx, 5.0)
    browse_online(ctx)
    with pytest.raises(NeedsDatabase):
        make_decision(ctx, IN_STORE, database=False)
    assert len(runtime(ctx).log) == 0
    assert make_decision(ctx, IN_STORE)["action"]["type"] == "hot_prospect_alert"
    assert len(runtime(ctx).log) == 1
    again = make_decision(ctx, {**IN_STORE, "channel": "web"}, database=False)
    assert again["decision_id"] and len(runtime(ctx).log) == 2
    ctx.clock.advance(seconds=5)  # type: ignore[attr-defined]
    with pytest.raises(NeedsDatabase):  # expired entries must be read again
        make_decision(ctx, IN_STORE, database=False)
    assert len(runtime(ctx).log) == 2


def test_the_key_cache_answers_only_fresh_valid_keys(ctx: AppContext) -> None:
    from kanaal.core.auth import KeyKind, SourceKind
    from kanaal.core.errors import Unauthenticated
    from kanaal.core.keys import issue_key

    raw = issue_key(ctx.db, source_name="web", source_kind=SourceKind.WEB, kind=KeyKind.WRITE,
                    scopes=frozenset(), ids=ctx.ids, clock=ctx.clock).raw
    assert ctx.keys.cached(raw) is None  # not asked yet: the caller must authenticate
    principal = ctx.keys.authenticate(raw)
    assert ctx.keys.cached(raw) == principal
    try:
        ctx.keys.authenticate("kn_w_not-a-key")
    except Unauthenticated:
        pass
    assert ctx.keys.cached("kn_w_not-a-key") is None  # a cached refusal is not a principal
