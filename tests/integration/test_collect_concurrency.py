"""Concurrent batches that share identities and force merges keep every invariant."""

from __future__ import annotations

import json
import random
from concurrent.futures import ThreadPoolExecutor

import pytest
from sqlalchemy import select

from kanaal.collect.service import collect
from kanaal.core.context import AppContext
from kanaal.customers.store import customer_events, customer_identities, customers
from tests.conftest import Keys
from tests.support.collect import basic


@pytest.mark.slow
def test_concurrent_batches_lose_no_event_and_never_split_an_identity(
    ctx: AppContext, keys: Keys
) -> None:
    ctx.settings.rate_limit_per_second = ctx.settings.rate_limit_burst = 1e6
    rng = random.Random(5)
    batches = []
    for b in range(48):
        batch = []
        for n in range(20):
            person = rng.randrange(12)
            message = {"type": "track", "event": "Viewed", "messageId": f"m{b}-{n}",
                       "anonymousId": f"a{rng.randrange(30)}"}
            if rng.random() < 0.3:
                message.update(type="identify", userId=f"u{person}",
                               traits={"email": f"p{person}@x.nl"})
            batch.append(message)
        batch.append(dict(batch[0]))  # a resend inside the batch
        batches.append(json.dumps({"batch": batch}).encode())
    auth = basic(keys.write)["Authorization"]

    def send(body: bytes) -> None:
        collect(ctx, "batch", body, authorization=auth, content_encoding=None)

    with ThreadPoolExecutor(max_workers=6) as pool:
        list(pool.map(send, batches + batches[:6]))  # some whole batches arrive twice
    with ctx.db.reader() as session:
        events = session.execute(select(customer_events.c.message_id,
                                        customer_events.c.customer_id)).all()
        identities = session.execute(select(customer_identities)).all()
        live = {row[0] for row in session.execute(
            select(customers.c.id).where(customers.c.merged_into.is_(None)))}
    assert sorted(e[0] for e in events) == sorted(f"m{b}-{n}" for b in range(48)
                                                  for n in range(20))
    assert {e[1] for e in events} <= live
    assert {i.customer_id for i in identities} <= live
    users = [i.customer_id for i in identities if i.type == "user_id"]
    assert len(users) == len(set(users))
    assert {i.customer_id for i in identities} >= {e[1] for e in events}
