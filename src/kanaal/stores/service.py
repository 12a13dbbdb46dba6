"""QR code and store presence use cases: create codes, scan, presence with consent."""

from __future__ import annotations

import logging
import secrets
from datetime import datetime, timedelta
from typing import Any

from kanaal.catalog.listing_service import get_listing
from kanaal.catalog.service import get_product, get_variant
from kanaal.channels.service import list_channels
from kanaal.collect.service import record_event
from kanaal.core.context import AppContext
from kanaal.core.errors import DomainError, InvalidInput, NotFound
from kanaal.core.money import quantize
from kanaal.customers.service import find_customer_id, get_profile, recent_events
from kanaal.inventory.domain import Location, LocationKind
from kanaal.inventory.service import get_location
from kanaal.stores import images, store
from kanaal.stores.domain import (
    SCAN_EVENT,
    QrCode,
    check_presence,
    check_token_shape,
    check_usable,
    cookie_anonymous_id,
    has_tracking_consent,
    last_viewed_online,
    product_page_path,
    short_link,
)

SOURCE = "stores"
log = logging.getLogger("kanaal.stores")


def store_location(ctx: AppContext, store_id: str) -> Location:
    """A location that is a store (NotFound `unknown_location`, InvalidInput `not_a_store`)."""
    location = get_location(ctx, store_id)
    if location.kind is not LocationKind.STORE:
        raise InvalidInput(f"location {store_id!r} is a {location.kind.value}, not a store",
                           code="not_a_store")
    return location


def create_code(ctx: AppContext, *, sku: str, store_id: str, label: str | None = None,
                expires_at: datetime | None = None) -> QrCode:
    """A new QR code for a product in a store."""
    variant = get_variant(ctx, sku)
    store_location(ctx, store_id)
    now = ctx.clock.now()
    if expires_at is not None and expires_at <= now:
        raise InvalidInput("expires_at must be in the future", code="invalid_expiry")
    code = QrCode(token=secrets.token_urlsafe(9), sku=variant.sku, store_id=store_id,
                  label=(label or variant.title)[:200], created_at=now, expires_at=expires_at)
    with ctx.db.transaction() as session:
        store.insert_code(session, code)
    return code


def get_code(ctx: AppContext, token: str) -> QrCode:
    """A QR code by token (NotFound `unknown_qr_token`)."""
    check_token_shape(token)
    with ctx.db.reader() as session:
        code = store.find_code(session, token)
    if code is None:
        raise NotFound("no such QR code", code="unknown_qr_token")
    return code


def list_codes(ctx: AppContext, store_id: str) -> list[QrCode]:
    """A store's codes in sheet order."""
    with ctx.db.reader() as session:
        return store.codes_of_store(session, store_id)


def code_json(ctx: AppContext, code: QrCode) -> dict[str, Any]:
    """A code as the API shows it, with its short link and image URLs."""
    base = ctx.settings.public_base_url.rstrip("/")
    return {"token": code.token, "sku": code.sku, "store_id": code.store_id,
            "label": code.label, "url": short_link(base, code.token),
            "png_url": f"{base}/v1/qr-codes/{code.token}/qr.png",
            "svg_url": f"{base}/v1/qr-codes/{code.token}/qr.svg",
            "created_at": code.created_at, "expires_at": code.expires_at}


def code_image(ctx: AppContext, token: str, kind: str) -> bytes:
    """The code's PNG or SVG image."""
    code = get_code(ctx, token)
    url = short_link(ctx.settings.public_base_url, code.token)
    return images.png(url) if kind == "png" else images.svg(url)


def store_sheet(ctx: AppContext, store_id: str, kind: str) -> bytes:
    """The printable sheet of every code of a store (PDF, or the first page as PNG)."""
    location = store_location(ctx, store_id)
    with ctx.db.reader() as session:
        codes = store.codes_of_store(session, store_id)
    if not codes:
        raise NotFound(f"store {store_id!r} has no QR codes yet", code="no_qr_codes")
    items = [images.SheetItem(url=short_link(ctx.settings.public_base_url, c.token),
                              title=c.label, subtitle=c.sku) for c in codes]
    if kind == "pdf":
        return images.sheet_pdf(location.name, items)
    return images.sheet_png(location.name, items)


def store_price(ctx: AppContext, store_id: str, sku: str) -> tuple[str, str] | None:
    """(price, currency) of the sku on a store channel selling from this store, if listed."""
    for channel in list_channels(ctx):
        if channel.kind == "store" and store_id in channel.location_ids:
            try:
                listing = get_listing(ctx, channel.id, sku)
            except NotFound:
                continue
            return str(quantize(listing.price)), listing.currency
    return None


def scan(ctx: AppContext, token: str, *, cookie: str | None) -> tuple[str, str]:
    """Record a scan, stitch the scanner, ask the engine; returns (redirect path, anonymous id).

    Unknown (404) and expired (410) codes record nothing.
    """
    check_token_shape(token)
    with ctx.db.reader() as session:
        code = check_usable(store.find_code(session, token), ctx.clock.now())
    anonymous_id = cookie_anonymous_id(cookie) or ctx.ids.new("aid")
    decision = _ask_engine(ctx, code, anonymous_id)
    action = decision["action"] if decision else {"type": "none", "message": None}
    scan_id = ctx.ids.new("qrs")
    with ctx.db.transaction() as session:
        customer_id = record_event(
            session, ctx, event=SCAN_EVENT, identities={"anonymous_id": anonymous_id},
            properties={"sku": code.sku, "store_id": code.store_id, "token": code.token,
                        "scan_id": scan_id, "decision_id": decision and decision["decision_id"],
                        "action": action["type"]},
            channel="store", source=SOURCE)
        store.insert_scan(session, id=scan_id, token=code.token, sku=code.sku,
                          store_id=code.store_id, customer_id=customer_id,
                          anonymous_id=anonymous_id,
                          decision_id=decision and decision["decision_id"],
                          action=action["type"], action_message=action.get("message"),
                          offer_code=action.get("offer_code"),
                          scanned_at=ctx.clock.now())
    return product_page_path(code.sku, code.store_id, scan_id), anonymous_id


def _ask_engine(ctx: AppContext, code: QrCode, anonymous_id: str) -> dict[str, Any] | None:
    """The engine's answer for an in-store prospect holding this product."""
    from kanaal.decisions.service import make_decision

    context: dict[str, Any] = {"store_id": code.store_id, "product": {"sku": code.sku},
                               "page": {"type": "product"}}
    price = store_price(ctx, code.store_id, code.sku)
    if price is not None:
        context["cart"] = {"value": price[0], "currency": price[1]}
    try:
        return make_decision(ctx, {"anonymousId": anonymous_id, "channel": "store",
                                   "context": context})
    except DomainError as exc:
        # The scan itself must still work (e.g. the engine refuses this store's context).
        log.warning("the engine refused a scan of %s in %s: %s", code.sku, code.store_id,
                    exc.code)
        return None


def scan_json(ctx: AppContext, scan_id: str) -> dict[str, Any]:
    """One scan (NotFound `unknown_scan`)."""
    with ctx.db.reader() as session:
        row = store.find_scan(session, scan_id)
    if row is None:
        raise NotFound(f"no scan {scan_id!r}", code="unknown_scan")
    return dict(row._mapping)


def product_page(ctx: AppContext, sku: str, store_id: str | None,
                 scan_id: str | None) -> dict[str, Any]:
    """What the mobile product page shows: product, store, price and the engine's action."""
    variant = get_variant(ctx, sku)
    product, _ = get_product(ctx, variant.product_id)
    location = store_location(ctx, store_id) if store_id else None
    scan_row = None
    if scan_id:
        found = scan_json(ctx, scan_id)
        if found["sku"] == sku:
            scan_row = found
    price = store_price(ctx, store_id, sku) if store_id else None
    return {"sku": sku, "title": product.title, "variant_title": variant.title,
            "description": product.description, "brand": product.brand,
            "image": (variant.images or product.images or (None,))[0],
            "store": location, "price": price, "scan": scan_row}


def record_presence(ctx: AppContext, body: dict[str, Any]) -> dict[str, Any]:
    """A consented "Store Entered"/"Store Left" from the app or the Wi-Fi portal."""
    identities = {k: v for k, v in (("anonymous_id", body.get("anonymousId")),
                                    ("user_id", body.get("userId"))) if v}
    if not identities:
        raise InvalidInput("give anonymousId or userId", code="missing_identity")
    store_location(ctx, body["store_id"])
    with ctx.db.reader() as session:
        known = next((c for c in (find_customer_id(session, kind, value)
                                  for kind, value in identities.items()) if c), None)
    traits = {}
    if known is not None:
        traits = {name: t["value"] for name, t in get_profile(ctx, known).traits.items()}
    consent = has_tracking_consent(traits, body.get("consent"))
    check_presence(body["event"], body["source"], consent)
    presence_id = ctx.ids.new("prs")
    at = ctx.clock.now()
    with ctx.db.transaction() as session:
        customer_id = record_event(
            session, ctx, event=body["event"], identities=identities,
            properties={"store_id": body["store_id"], "source": body["source"]},
            channel="store", source=SOURCE, message_id=body.get("messageId"))
        store.insert_presence(session, id=presence_id, customer_id=customer_id,
                              store_id=body["store_id"], event=body["event"],
                              source=body["source"], at=at)
    decision = None
    if body["event"] == "Store Entered":
        decision = _entered_prospect(ctx, customer_id, body)
    return {"id": presence_id, "customer_id": customer_id, "store_id": body["store_id"],
            "event": body["event"], "source": body["source"], "at": at,
            "product_sku": decision and decision["product_sku"],
            "decision_id": decision and decision["decision_id"],
            "action": decision["action"]["type"] if decision else None}


def _entered_prospect(ctx: AppContext, customer_id: str,
                      body: dict[str, Any]) -> dict[str, Any] | None:
    """Ask the engine about a shopper entering with a product they viewed online recently."""
    from kanaal.decisions.service import make_decision

    days = int(ctx.param("stores.presence_lookback_days", 14))
    with ctx.db.reader() as session:
        events = recent_events(session, customer_id, limit=200,
                               since=ctx.clock.now() - timedelta(days=days))
    sku = last_viewed_online(events, since=ctx.clock.now() - timedelta(days=days))
    if sku is None:
        return None
    context: dict[str, Any] = {"store_id": body["store_id"], "product": {"sku": sku}}
    price = store_price(ctx, body["store_id"], sku)
    if price is not None:
        context["cart"] = {"value": price[0], "currency": price[1]}
    request = {"channel": "store", "context": context, "anonymousId": body.get("anonymousId"),
               "userId": body.get("userId")}
    return {**make_decision(ctx, request), "product_sku": sku}


def scans_of_code(ctx: AppContext, token: str) -> list[dict[str, Any]]:
    """Scans of one code, oldest first (NotFound `unknown_qr_token`)."""
    get_code(ctx, token)
    with ctx.db.reader() as session:
        return store.scans_of(session, token=token)
