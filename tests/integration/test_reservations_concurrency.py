"""No overselling under load: 32 concurrent HTTP clients race 1,000 reservation attempts for
the last 10 units, spread over two locations, on SQLite and on PostgreSQL."""

from __future__ import annotations

import threading
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest

from kanaal.app import create_app
from kanaal.core.context import AppContext
from kanaal.inventory import store
from tests.conftest import Keys, bearer
from tests.support.inventory import count_rows, ledger_problems, ledger_rows, stocked_world
from tests.support.server import live_server

CLIENTS = 32
ATTEMPTS = 1_000


@pytest.mark.slow
def test_exactly_the_last_ten_units_are_reserved_by_32_clients(
    ctx: AppContext, keys: Keys
) -> None:
    world = stocked_world(ctx, sku="LAST-TEN", first=6, second=4)
    body = {"sku": world.sku, "quantity": 1, "channel": world.channel.handle,
            "ttl_seconds": 600}
    start = threading.Barrier(CLIENTS)
    per_client = [ATTEMPTS // CLIENTS + (1 if i < ATTEMPTS % CLIENTS else 0)
                  for i in range(CLIENTS)]

    with live_server(create_app(ctx=ctx)) as base_url:

        def client_run(attempts: int) -> list[tuple[int, str]]:
            answers: list[tuple[int, str]] = []
            with httpx.Client(base_url=base_url, headers=bearer(keys.writer),
                              timeout=60) as http:
                start.wait()
                for _ in range(attempts):
                    response = http.post("/v1/reservations", json=body)
                    payload = response.json()
                    code = payload["id"] if response.status_code == 201 \
                        else payload["error"]["code"]
                    answers.append((response.status_code, code))
            return answers

        with ThreadPoolExecutor(CLIENTS) as pool:
            results = [answer for answers in pool.map(client_run, per_client)
                       for answer in answers]

    assert sum(per_client) == len(results) == ATTEMPTS
    statuses = Counter(status for status, _ in results)
    assert statuses == {201: 10, 409: 990}
    assert {code for status, code in results if status == 409} == {"insufficient_stock"}
    assert len({code for status, code in results if status == 201}) == 10
    rows = ledger_rows(ctx, world.sku)
    assert [(rows[loc.id].on_hand, rows[loc.id].reserved, rows[loc.id].available)
            for loc in (world.first, world.second)] == [(6, 6, 0), (4, 4, 0)]
    assert count_rows(ctx, store.reservations) == 10
    assert count_rows(ctx, store.reservation_lines) == 10
    assert ledger_problems(ctx, world.sku) == []
