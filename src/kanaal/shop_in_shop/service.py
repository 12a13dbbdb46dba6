"""Shop-in-shop use cases: brand sections, presales questions, orders and the report."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from kanaal.catalog.listing_service import get_listing
from kanaal.catalog.service import get_product, get_variant
from kanaal.channels.service import get_channel, get_channel_in
from kanaal.collect.service import record_event
from kanaal.contact_center import service as contact_center
from kanaal.contact_center.capacity import after_change
from kanaal.core.context import AppContext
from kanaal.core.errors import Conflict, InvalidInput, NotFound
from kanaal.core.money import quantize
from kanaal.orders import service as orders
from kanaal.shop_in_shop import store
from kanaal.shop_in_shop.domain import (
    Brand,
    OrderTotals,
    brand_report,
    brand_skill,
    check_colour,
    check_handle,
    check_in_assortment,
)

SOURCE = "shop_in_shop"


def create_brand(ctx: AppContext, fields: dict[str, Any]) -> Brand:
    """A brand section: its shop-in-shop channel, question queue, theme and assortment."""
    handle = check_handle(fields["handle"])
    brand = Brand(
        id=ctx.ids.new("sis"), handle=handle, name=fields["name"], retailer=fields["retailer"],
        channel_id="", question_queue=fields["question_queue"], logo_url=fields.get("logo_url"),
        primary_colour=check_colour(fields["primary_colour"], "primary_colour"),
        accent_colour=check_colour(fields["accent_colour"], "accent_colour"),
        headline=fields["headline"], copy_text=fields["copy_text"], skus=tuple(fields["skus"]),
        created_at=ctx.clock.now())
    if len(set(brand.skus)) != len(brand.skus):
        raise InvalidInput("each sku once", code="duplicate_sku")
    for sku in brand.skus:
        variant = get_variant(ctx, sku)
        if (variant.brand or "").lower() != brand.name.lower():
            raise InvalidInput(f"{sku} is a {variant.brand} product, not {brand.name}",
                               code="sku_of_other_brand")
    with ctx.db.transaction() as session:
        channel = get_channel_in(session, fields["channel"])
        if channel.kind != "shop_in_shop":
            raise InvalidInput(f"channel {channel.handle!r} is {channel.kind}, not shop_in_shop",
                               code="not_shop_in_shop")
        queue = contact_center.get_queue_in(session, brand.question_queue)
        if queue.skill != brand_skill(handle) or queue.channel.value != "callback":
            raise InvalidInput(f"questions go to a callback queue with skill "
                               f"{brand_skill(handle)}", code="queue_not_for_brand")
        if store.find_brand(session, handle) is not None:
            raise Conflict(f"brand {handle!r} exists", code="brand_exists")
        brand = Brand(**{**_fields(brand), "channel_id": channel.id})
        store.insert_brand(session, brand)
    return brand


def _fields(brand: Brand) -> dict[str, Any]:
    return {name: getattr(brand, name) for name in Brand.__slots__}


def get_brand(ctx: AppContext, handle: str) -> Brand:
    """A brand by handle (NotFound `unknown_brand`)."""
    with ctx.db.reader() as session:
        brand = store.find_brand(session, handle[:60])
    if brand is None:
        raise NotFound(f"no shop-in-shop brand {handle[:60]!r}", code="unknown_brand")
    return brand


def list_brands(ctx: AppContext) -> list[Brand]:
    """Every brand section."""
    with ctx.db.reader() as session:
        return store.all_brands(session)


def page(ctx: AppContext, handle: str) -> dict[str, Any]:
    """What the themed page shows: the brand and its products with the channel's prices."""
    brand = get_brand(ctx, handle)
    products = []
    for sku in brand.skus:
        variant = get_variant(ctx, sku)
        product, _ = get_product(ctx, variant.product_id)
        try:
            listing = get_listing(ctx, brand.channel_id, sku)
        except NotFound:
            continue  # not (yet) offered on the retailer's section
        if not listing.published:
            continue
        products.append({"sku": sku, "title": listing.title, "description": listing.description,
                         "price": str(quantize(listing.price)), "currency": listing.currency,
                         "image": (variant.images or product.images or (None,))[0]})
    return {"brand": brand, "products": products,
            "write_key": ctx.param("shop_in_shop.write_key", "")}


def ask_question(ctx: AppContext, handle: str, body: dict[str, Any]) -> dict[str, Any]:
    """A presales question: a callback in the brand's queue (brand agents only)."""
    brand = get_brand(ctx, handle)
    if body.get("sku"):
        check_in_assortment(brand, body["sku"])
    phone = contact_center.normalise_phone(ctx, body["phone"])
    question_id = ctx.ids.new("sqn")
    now = ctx.clock.now()
    identities = {"phone": phone, **({"anonymous_id": body["anonymousId"]}
                                     if body.get("anonymousId") else {})}
    with ctx.db.transaction() as session:
        customer_id = record_event(
            session, ctx, event="Question Asked", identities=identities,
            properties={"brand": brand.handle, "retailer": brand.retailer, "sku": body.get("sku"),
                        "question": body["question"], "question_id": question_id},
            traits={"phone": phone}, channel="shop_in_shop", source=SOURCE)
        callback = contact_center.create_callback_in(
            session, ctx, customer_id=customer_id, phone=phone, queue=brand.question_queue,
            slot_start=None, context={"source": "shop_in_shop", "brand": brand.handle,
                                      "retailer": brand.retailer, "sku": body.get("sku"),
                                      "question": body["question"],
                                      "reason": f"presales question for {brand.name}"})
        store.insert_question(session, id=question_id, brand_id=brand.id,
                              customer_id=customer_id, callback_id=callback.id,
                              sku=body.get("sku"), question=body["question"], asked_at=now)
    after_change(ctx, {"type": "callback.created",
                       **contact_center.callback_message(callback)})
    return {"id": question_id, "brand": brand.handle, "callback_id": callback.id,
            "queue": callback.queue, "customer_id": customer_id}


def place_order(ctx: AppContext, handle: str, body: dict[str, Any],
                idempotency_key: str | None) -> dict[str, Any]:
    """An order in the brand's section: the retailer's order, attributed to the brand."""
    brand = get_brand(ctx, handle)
    check_in_assortment(brand, body["sku"])
    channel = get_channel(ctx, brand.channel_id)
    customer = {"email": body["email"]}
    if body.get("anonymousId"):
        customer["anonymous_id"] = body["anonymousId"]
    order, _ = orders.create_order(ctx, {
        "channel": channel.id, "currency": channel.currency, "credited_to": brand.retailer,
        "lines": [{"sku": body["sku"], "quantity": body["quantity"]}], "customer": customer,
    }, idempotency_key=idempotency_key)
    return order


RECENT_ORDERS = 50


def report(ctx: AppContext, handle: str, *, since: datetime | None = None,
           until: datetime | None = None) -> dict[str, Any]:
    """Both parties' view of [since, until): contacts, conversions, revenue (every order of the
    period, summed by the database) and the newest orders."""
    if since is not None and until is not None and since >= until:
        raise InvalidInput("since must be before until", code="invalid_period")
    brand = get_brand(ctx, handle)
    with ctx.db.reader() as session:
        questions = store.questions_of(session, brand.id, since=since, until=until)
    found = orders.attributed_totals(ctx, channel=brand.channel_id, credited_to=brand.retailer,
                                     brand=brand.name, since=since, until=until)
    totals = OrderTotals(
        by_currency=tuple((r["currency"], r["orders"], r["revenue"])
                          for r in found["by_currency"]),
        latest_order_of=found["latest_order_of"])
    recent = [o for o in orders.list_orders(ctx, channel=brand.channel_id, limit=RECENT_ORDERS)
              if (since is None or datetime.fromisoformat(o["created_at"]) >= since)
              and (until is None or datetime.fromisoformat(o["created_at"]) < until)]
    return {**brand_report(brand, questions=questions, totals=totals, recent_orders=recent),
            "since": since, "until": until}
