"""Trigger actions besides email: back-in-stock SMS, follow-up offers, segment webhooks."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select

from kanaal.config import Settings
from kanaal.core.clock import ManualClock
from kanaal.core.context import AppContext, build_context
from kanaal.core.live import open_live_store
from kanaal.core.outbox import OutboxDispatcher, add_webhook_endpoint, outbox_messages
from kanaal.customers.service import recent_events
from kanaal.inventory import service as inventory
from kanaal.marketing.delivery import SmsSender
from kanaal.marketing.segments import create_segment
from kanaal.marketing.triggers import create_trigger, run_due
from tests.support.inventory import stocked_world
from tests.support.marketing import consume, track


@pytest.fixture
def sms_ctx(db_settings: Settings, clock: ManualClock) -> Iterator[AppContext]:
    settings = db_settings.model_copy(update={"sms_provider": "file", "run_workers": False})
    context = build_context(settings, clock=clock, live=open_live_store(None))
    yield context
    context.db.dispose()


def _deliver_sms(ctx: AppContext) -> list[dict[str, str]]:
    dispatcher = OutboxDispatcher(ctx.db, ctx.clock)
    dispatcher.register("sms", SmsSender(ctx.settings).send)
    asyncio.run(dispatcher.deliver_due())
    path = Path(ctx.settings.data_dir) / "sms-outbox.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


BACK_IN_STOCK = {
    "name": "back in stock",
    "event": "Back In Stock Requested",
    "wait_for_stock": True,
    "action": {"kind": "sms", "body": "{{ event.properties.sku }} is back! {{ shop_url }}"},
}


def test_back_in_stock_sms_waits_for_stock_then_goes_out_once(
    sms_ctx: AppContext, clock: ManualClock
) -> None:
    world = stocked_world(sms_ctx, first=0, second=0)
    create_trigger(sms_ctx, BACK_IN_STOCK)
    with sms_ctx.db.transaction() as session:
        from kanaal.collect.service import record_event

        record_event(session, sms_ctx, event="Back In Stock Requested",
                     identities={"phone": "+31612345678"},
                     traits={"consent": {"sms": True}},
                     properties={"sku": world.sku, "channel": world.channel.handle},
                     channel="web", source="test")
    consume(sms_ctx)
    assert run_due(sms_ctx) == {"waiting": 1}
    clock.advance(minutes=20)
    assert run_due(sms_ctx) == {"waiting": 1}
    assert _deliver_sms(sms_ctx) == []
    inventory.set_stock(sms_ctx, sku=world.sku, location_id=world.second.id, on_hand=3)
    clock.advance(minutes=16)
    assert run_due(sms_ctx) == {"sent": 1}
    sent = _deliver_sms(sms_ctx)
    assert [(m["to"], m["body"]) for m in sent] == [
        ("+31612345678", f"{world.sku} is back! {sms_ctx.settings.public_base_url}")
    ]
    clock.advance(hours=2)
    assert run_due(sms_ctx) == {}
    assert len(_deliver_sms(sms_ctx)) == 1


def test_a_call_without_a_purchase_gets_a_follow_up_offer(ctx: AppContext,
                                                          clock: ManualClock) -> None:
    create_trigger(ctx, {
        "name": "call follow-up", "event": "Call Completed", "delay_seconds": 7200,
        "cancel_on": ["Order Completed"],
        "action": {"kind": "offer", "offer_code": "CALL10"},
    })
    ann = track(ctx, "ann@example.com", "Call Completed", channel="phone", outcome="quote")
    bob = track(ctx, "bob@example.com", "Call Completed", channel="phone", outcome="quote")
    track(ctx, "bob@example.com", "Order Completed", revenue=250)
    consume(ctx)
    clock.advance(hours=3)
    assert run_due(ctx) == {"sent": 1, "cancelled": 1}
    with ctx.db.reader() as session:
        offer = recent_events(session, ann, limit=1)[0]
        assert offer["event"] == "Offer Issued"
        assert offer["properties"]["offer_code"] == "CALL10"
        assert all(e["event"] != "Offer Issued" for e in recent_events(session, bob))


def test_entering_a_segment_fires_a_webhook(ctx: AppContext) -> None:
    add_webhook_endpoint(ctx.db, ids=ctx.ids, clock=ctx.clock, url="http://127.0.0.1:9/hook",
                         topics=["trigger.fired"], secret="s")
    segment = create_segment(ctx, name="store visitors", description="",
                             rule={"channel_used": "store"})
    create_trigger(ctx, {"name": "notify crm", "event": "Segment Entered",
                         "condition": {"channel_used": "store"},
                         "action": {"kind": "webhook"}})
    track(ctx, "ann@example.com", "Store Entered", channel="store")
    consume(ctx)
    assert run_due(ctx) == {"sent": 1}
    with ctx.db.reader() as session:
        payloads = [row.payload for row in session.execute(
            select(outbox_messages).where(outbox_messages.c.topic == "trigger.fired"))]
    assert len(payloads) == 1
    assert payloads[0]["data"]["trigger"] == "notify crm"
    assert payloads[0]["data"]["event_properties"]["segment_id"] == segment.id


def test_the_generic_http_sms_adapter_posts_json_with_the_message_id(tmp_path: Path) -> None:
    import threading
    from http.server import BaseHTTPRequestHandler, HTTPServer
    from typing import Any

    from pydantic import SecretStr

    from kanaal.core.outbox import OutboxMessage

    received: list[tuple[dict[str, str], dict[str, Any]]] = []

    class Provider(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 - http.server API
            body = self.rfile.read(int(self.headers["Content-Length"]))
            received.append((dict(self.headers), json.loads(body)))
            self.send_response(202 if len(received) > 1 else 503)
            self.end_headers()

        def log_message(self, *_args: Any) -> None:
            return

    server = HTTPServer(("127.0.0.1", 0), Provider)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    sender = SmsSender(Settings(data_dir=tmp_path,
                                sms_provider=f"http://127.0.0.1:{server.server_port}/sms",
                                sms_provider_token=SecretStr("tok")))
    message = OutboxMessage("msg_1", "sms", "trigger.sms", "+31612345678",
                            {"to": "+31612345678", "body": "hi"}, 0)
    with pytest.raises(RuntimeError, match="503"):
        asyncio.run(sender.send(message))
    asyncio.run(sender.send(message))
    server.shutdown()
    headers, body = received[1]
    assert body == {"id": "msg_1", "to": "+31612345678", "body": "hi"}
    assert headers["Idempotency-Key"] == "msg_1"
    assert headers["Authorization"] == "Bearer tok"
