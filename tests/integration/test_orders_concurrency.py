"""No overselling by orders: concurrent HTTP clients race orders whose two lines draw on the
same sku for the last units, spread over two locations, on SQLite and on PostgreSQL."""

from __future__ import annotations

import threading
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from kanaal.app import create_app
from kanaal.core.context import AppContext
from kanaal.orders.store import order_allocations, orders
from tests.conftest import Keys, bearer
from tests.support.inventory import ledger_problems
from tests.support.orders import build_retailer, level, order_body
from tests.support.server import live_server

CLIENTS = 16
ATTEMPTS = 240


@pytest.mark.slow
def test_orders_with_two_lines_of_one_sku_never_oversell_under_concurrency(
    ctx: AppContext, keys: Keys
) -> None:
    # 5 units in the warehouse (priority 1) and 6 in Amsterdam: 11 units make 5 two-unit
    # orders, one of which must take its two lines from different locations.
    shop = build_retailer(ctx, stock={("TEE", "warehouse"): 5, ("TEE", "amsterdam"): 6})
    body = order_body(shop.channel("web"), ("TEE", 1), ("TEE", 1))
    start = threading.Barrier(CLIENTS)
    per_client = [ATTEMPTS // CLIENTS] * CLIENTS

    with live_server(create_app(ctx=ctx)) as base_url:

        def client_run(attempts: int) -> list[tuple[int, Any]]:
            answers: list[tuple[int, Any]] = []
            with httpx.Client(base_url=base_url, headers=bearer(keys.writer),
                              timeout=60) as http:
                start.wait()
                for _ in range(attempts):
                    response = http.post("/v1/orders", json=body)
                    payload = response.json()
                    answers.append((response.status_code, payload if response.status_code == 201
                                    else payload["error"]["code"]))
            return answers

        with ThreadPoolExecutor(CLIENTS) as pool:
            results = [a for answers in pool.map(client_run, per_client) for a in answers]

    assert Counter(status for status, _ in results) == {201: 5, 409: ATTEMPTS - 5}
    assert {code for status, code in results if status == 409} == {"insufficient_stock"}
    placed = [order for status, order in results if status == 201]
    assert all(sum(a["quantity"] for a in o["allocations"]) == 2 for o in placed)
    assert sorted(len({a["location_id"] for a in o["allocations"]}) for o in placed) == [
        1, 1, 1, 1, 2]
    assert level(ctx, "TEE", shop.warehouse) == (5, 0, 5)
    assert level(ctx, "TEE", shop.amsterdam) == (6, 0, 5)
    with ctx.db.reader() as session:
        assert session.execute(select(func.count()).select_from(orders)).scalar_one() == 5
        units = session.execute(select(func.sum(order_allocations.c.quantity))).scalar_one()
        assert units == 10
    assert ledger_problems(ctx, "TEE") == []


def test_racing_imports_of_one_marketplace_order_create_it_once(
    ctx: AppContext, keys: Keys
) -> None:
    shop = build_retailer(ctx)
    body = order_body(shop.channel("market"), ("CAP", 2), external_id="BOL-RACE-1")
    racers = 8
    start = threading.Barrier(racers)

    with live_server(create_app(ctx=ctx)) as base_url:

        def import_once(_: int) -> tuple[int, str]:
            with httpx.Client(base_url=base_url, headers=bearer(keys.writer), timeout=60) as http:
                start.wait()
                response = http.post("/v1/orders", json=body)
                return response.status_code, response.json()["id"]

        with ThreadPoolExecutor(racers) as pool:
            results = list(pool.map(import_once, range(racers)))

    assert Counter(status for status, _ in results) == {201: 1, 200: racers - 1}
    assert len({order_id for _, order_id in results}) == 1
    assert level(ctx, "CAP", shop.warehouse) == (20, 0, 2)
    with ctx.db.reader() as session:
        assert session.execute(select(func.count()).select_from(orders)).scalar_one() == 1
    assert ledger_problems(ctx, "CAP") == []
