"""The demo retailer's data: keys, contact-center queues and twelve agents."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from kanaal.core.auth import KeyKind, Scope, SourceKind
from kanaal.core.context import AppContext
from kanaal.core.keys import issue_key

KEYS_FILE = "demo-keys.json"
AGENT_PASSWORD = "demo-password-123"
PHONE_AGENTS = 9
CHAT_AGENTS = 3


def seed(ctx: AppContext) -> dict[str, Any]:
    """Create the demo data once; later runs read the keys written the first time."""
    path = Path(ctx.settings.data_dir) / KEYS_FILE
    if path.exists():
        found: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
        return found
    from kanaal.contact_center.agents import create_agent
    from kanaal.contact_center.capacity import create_queue

    def key(name: str, source: SourceKind, kind: KeyKind, scopes: set[Scope]) -> str:
        return issue_key(ctx.db, source_name=name, source_kind=source, kind=kind,
                         scopes=frozenset(scopes), ids=ctx.ids, clock=ctx.clock).raw

    keys = {
        "web_write": key("demo-web", SourceKind.WEB, KeyKind.WRITE, set()),
        "read": key("demo-dashboard", SourceKind.SERVER, KeyKind.SECRET, {Scope.READ}),
        "admin": key("demo-admin", SourceKind.SERVER, KeyKind.SECRET,
                     {Scope.ADMIN, Scope.WRITE, Scope.READ}),
    }
    create_queue(ctx, name="sales", skill="sales", channel="phone", target_service_level=0.8,
                 target_answer_seconds=20, patience_seconds=120, handle_time_seconds=480)
    create_queue(ctx, name="chat", skill="chat", channel="chat", target_service_level=0.8,
                 target_answer_seconds=30, patience_seconds=180, handle_time_seconds=600)
    agents = []
    for n in range(PHONE_AGENTS + CHAT_AGENTS):
        skill = "sales" if n < PHONE_AGENTS else "chat"
        agent = create_agent(ctx, name=f"Demo Agent {n + 1}", email=f"agent{n + 1}@demo.test",
                             password=AGENT_PASSWORD, skills=[skill])
        agents.append({"id": agent.id, "email": agent.email, "skill": skill})
    data = {"keys": keys, "agents": agents, "agent_password": AGENT_PASSWORD,
            **_catalog(ctx)}
    path.parent.mkdir(parents=True, exist_ok=True)
    path.touch(mode=0o600)
    path.write_text(json.dumps(data, indent=2), encoding="utf-8")
    return data


CATEGORIES = (("tv", "Television", 420), ("laptop", "Laptop", 650), ("phone", "Smartphone", 380),
              ("headphones", "Headphones", 90), ("speaker", "Speaker", 120))
STORES = (("Demo Warehouse Utrecht", "warehouse", 52.09, 5.12),
          ("Demo Store Amsterdam", "store", 52.37, 4.90),
          ("Demo Store Rotterdam", "store", 51.92, 4.48),
          ("Demo Store Eindhoven", "store", 51.44, 5.47))
PRODUCTS = 200


def _catalog(ctx: AppContext) -> dict[str, Any]:
    """About 200 products (cost prices), a warehouse and three stores with stock."""
    from decimal import Decimal

    from kanaal.catalog.schemas import ProductIn
    from kanaal.catalog.service import create_product
    from kanaal.inventory.service import create_location, set_stock

    locations = [create_location(ctx, name=name, kind=kind, latitude=lat, longitude=lon,
                                 address=f"{name}, Nederland").id
                 for name, kind, lat, lon in STORES]
    skus = []
    for n in range(PRODUCTS):
        slug, title, cost = CATEGORIES[n % len(CATEGORIES)]
        sku = f"DEMO-{slug.upper()}-{n + 1:03d}"
        fields = ProductIn.model_validate({
            "handle": f"demo-{slug}-{n + 1:03d}", "title": f"{title} {n + 1:03d}",
            "brand": "Kanaal Demo" if n % 10 else "Brand Shop",
            "variants": [{"sku": sku, "title": f"{title} {n + 1:03d}",
                          "cost_price": str(Decimal(cost) + n % 7 * 10), "currency": "EUR"}],
        }).model_dump()
        create_product(ctx, fields)
        set_stock(ctx, sku=sku, location_id=locations[0], on_hand=20 + n % 30)
        if n < 30:
            for store_id in locations[1:]:
                set_stock(ctx, sku=sku, location_id=store_id, on_hand=2 + n % 4)
        skus.append(sku)
    _store_calendars(ctx, locations[1:])
    return {"locations": locations, "products": len(skus)}


def _store_calendars(ctx: AppContext, store_ids: list[str]) -> None:
    """Calendars for the three demo stores: 30-minute slots in Amsterdam time, open late on
    Thursday, short on Saturday, so chats and campaigns can book store appointments."""
    from datetime import time

    from kanaal.calendars.domain import Calendar, OpeningPeriod
    from kanaal.calendars.service import define_calendar

    hours = (*(OpeningPeriod(d, time(9, 30), time(17, 30)) for d in (0, 1, 2, 4)),
             OpeningPeriod(3, time(9, 30), time(21)), OpeningPeriod(5, time(10), time(17)))
    for store_id in store_ids:
        define_calendar(ctx, Calendar(resource_kind="store", resource_id=store_id,
                                      timezone="Europe/Amsterdam", slot_minutes=30,
                                      hours=hours))
