"""Order use cases: place an order from any channel, read and list orders.

Placing prices every line, routes it to locations, allocates the stock, hands 3PL parts to
the outbox and writes "Order Completed" on the customer's timeline, all in one transaction:
a refused order leaves nothing behind.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from datetime import datetime
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from kanaal.catalog.service import unit_price_in, variant_in
from kanaal.channels.domain import Channel
from kanaal.channels.service import get_channel_in
from kanaal.core.auth import ChannelKind
from kanaal.core.context import AppContext
from kanaal.core.errors import Conflict, InvalidInput, NotFound
from kanaal.core.idempotency import fingerprint, run_idempotent
from kanaal.core.money import to_decimal
from kanaal.inventory.service import (
    available_in,
    confirm_in,
    get_reservation_in,
    ship_in,
)
from kanaal.orders import store
from kanaal.orders.domain import (
    MAX_LINES,
    AllocationState,
    Fulfilment,
    Order,
    OrderLine,
    OrderStatus,
    attributed_brand,
    check_channel_fields,
    check_unit_price,
    ensure_transition,
    order_completed_properties,
    order_totals,
    validate_quantity,
)
from kanaal.orders.routing import RouteLine, demand_by_sku
from kanaal.orders.service_common import (
    load_order_in,
    order_json,
    record_order_event,
    request_3pl_fulfilment,
    three_pl_locations,
)
from kanaal.orders.service_routing import route_lines

IDENTITY_KEYS = ("user_id", "anonymous_id", "email", "phone", "loyalty_card")
MAX_LIST = 200
ROUTING_ATTEMPTS = 3


def _where(i: int, field: str) -> list[dict[str, Any]]:
    return [{"loc": ["body", "lines", i, field]}]


def _price_lines(
    session: Session, ctx: AppContext, channel: Channel, request: Mapping[str, Any]
) -> list[OrderLine]:
    """Priced lines: catalog price (B2B tier for the customer group), or the marketplace's."""
    currency = request["currency"]
    lines: list[OrderLine] = []
    for i, raw in enumerate(request["lines"]):
        sku, quantity = raw["sku"], raw["quantity"]
        validate_quantity(quantity, where=f"lines[{i}]")
        try:
            variant = variant_in(session, sku)
        except NotFound as exc:
            raise InvalidInput(f"lines[{i}]: no product variant with sku {sku!r}",
                               code="unknown_sku", details=_where(i, "sku")) from exc
        if raw.get("unit_price") is not None:
            if channel.kind is not ChannelKind.MARKETPLACE:
                raise InvalidInput("only marketplace imports bring their own prices",
                                   code="price_not_accepted", details=_where(i, "unit_price"))
            unit_price = to_decimal(raw["unit_price"], field=f"lines[{i}].unit_price")
            check_unit_price(unit_price, where=f"lines[{i}]")
        else:
            price = unit_price_in(session, channel=channel, sku=sku, quantity=quantity,
                                  customer_group=request.get("customer_group"))
            if price.currency != currency:
                raise InvalidInput(
                    f"{sku} is priced in {price.currency}, the order is in {currency}",
                    code="currency_mismatch", details=_where(i, "sku"))
            unit_price = price.amount
        lines.append(OrderLine(
            id=ctx.ids.new("oln"), sku=sku, quantity=quantity, unit_price=unit_price,
            title=variant.title, brand=variant.brand,
            unit_cost=variant.cost_price if variant.currency == currency else None,
            reservation_id=raw.get("reservation_id"),
        ))
    return lines


def _confirm_reservations(
    session: Session, ctx: AppContext, channel: Channel, order_id: str, lines: list[OrderLine],
    pickup_location_id: str | None,
) -> list[AllocationState]:
    """Checkout lines held by reservations become allocations to the order."""
    allocations: list[AllocationState] = []
    for i, line in enumerate(lines):
        if line.reservation_id is None:
            continue
        reservation = get_reservation_in(session, line.reservation_id)
        if (reservation.sku, reservation.quantity, reservation.channel_id) != (
                line.sku, line.quantity, channel.id):
            raise InvalidInput(
                f"reservation {reservation.id} holds {reservation.quantity} x "
                f"{reservation.sku} on another channel or for another quantity",
                code="reservation_mismatch", details=_where(i, "reservation_id"))
        if pickup_location_id is not None and any(
                line_.location_id != pickup_location_id for line_ in reservation.lines):
            raise InvalidInput("the reservation holds stock outside the pickup store",
                               code="reservation_mismatch", details=_where(i, "reservation_id"))
        for location_id, units in confirm_in(session, ctx, reservation.id, order_id=order_id):
            allocations.append(AllocationState(line.id, line.sku, location_id, units))
    return allocations


def _check_channel_stock(session: Session, channel: Channel, lines: list[RouteLine]) -> None:
    """What a channel may promise (its buffer and quota withheld) caps what it may sell."""
    short = []
    for sku, wanted in sorted(demand_by_sku(lines).items()):
        have = available_in(session, sku=sku, channel=channel)
        if wanted > have:
            short.append({"sku": sku, "requested": wanted, "available": have})
    if short:
        raise Conflict(f"not enough stock for channel {channel.handle}",
                       code="insufficient_stock", details=short)


def _route_with_retry(
    session: Session, ctx: AppContext, channel: Channel, order_id: str,
    lines: list[RouteLine], fulfilment: Mapping[str, Any],
) -> list[AllocationState]:
    """Route and allocate; when a concurrent order took the stock between reading and
    allocating, roll back to a savepoint and route again on the fresh figures."""
    for attempt in range(1, ROUTING_ATTEMPTS + 1):
        try:
            with session.begin_nested():
                return route_lines(session, ctx, channel, order_id, lines, fulfilment)
        except Conflict as exc:
            if exc.code != "insufficient_stock" or attempt == ROUTING_ATTEMPTS:
                raise
    raise AssertionError("unreachable")


def _place(
    session: Session, ctx: AppContext, request: Mapping[str, Any], print_: str
) -> dict[str, Any]:
    channel = get_channel_in(session, request["channel"])
    external_id = request.get("external_id")
    if external_id is not None:
        existing = store.find_external(session, channel.id, external_id)
        if existing is not None:
            return _same_import(session, existing, print_)
    if request["currency"] != channel.currency:
        raise InvalidInput(f"channel {channel.handle} sells in {channel.currency}, "
                           f"not {request['currency']}", code="currency_mismatch",
                           details=[{"loc": ["body", "currency"]}])
    fulfilment = request.get("fulfilment") or {}
    method = Fulfilment(fulfilment.get("method", Fulfilment.SHIP))
    check_channel_fields(
        channel.kind, method=method, external_id=external_id, agent_id=request.get("agent_id"),
        credited_to=request.get("credited_to"), customer_group=request.get("customer_group"),
    )
    if not request["lines"]:
        raise InvalidInput("an order needs at least one line", code="empty_order")
    if len(request["lines"]) > MAX_LINES:
        raise InvalidInput(f"at most {MAX_LINES} lines", code="too_many_lines")
    lines = _price_lines(session, ctx, channel, request)
    order_id = ctx.ids.new("ord")
    pickup = fulfilment.get("location_id") if method is not Fulfilment.SHIP else None
    allocations = _confirm_reservations(session, ctx, channel, order_id, lines, pickup)
    unreserved = [RouteLine(line.id, line.sku, line.quantity)
                  for line in lines if line.reservation_id is None]
    if unreserved and method is Fulfilment.SHIP:
        _check_channel_stock(session, channel, unreserved)
    allocations.extend(_route_with_retry(session, ctx, channel, order_id, unreserved, fulfilment))
    customer = request.get("customer") or {}
    now = ctx.clock.now()
    order = Order(
        id=order_id, channel_id=channel.id, channel_kind=channel.kind.value,
        status=OrderStatus.PLACED, currency=request["currency"], lines=tuple(lines),
        totals=order_totals(lines, to_decimal(request.get("shipping") or "0", field="shipping")),
        created_at=now, fulfilment=method, customer_id=customer.get("customer_id"),
        external_id=external_id, agent_id=request.get("agent_id"),
        credited_to=request.get("credited_to"),
        attributed_brand=attributed_brand([line.brand for line in lines]),
        customer_group=request.get("customer_group"), pickup_location_id=pickup,
        shipping_address=fulfilment.get("address"), allocations=tuple(allocations),
    )
    ensure_transition(order.status, OrderStatus.ALLOCATED)
    order = replace(order, status=OrderStatus.ALLOCATED)
    identities = {k: customer[k] for k in IDENTITY_KEYS if customer.get(k)}
    customer_id = record_order_event(
        session, ctx, order, event="Order Completed", identities=identities,
        properties=order_completed_properties(order), message_id=f"{order.id}:completed",
    )
    order = replace(order, customer_id=customer_id or order.customer_id)
    if method is Fulfilment.IN_STORE:
        order = _hand_over(session, ctx, order)
    store.insert_order(session, order, fingerprint=print_ if external_id else None)
    if method is Fulfilment.IN_STORE:
        _record_counter_shipment(session, ctx, order)
    request_3pl_fulfilment(session, ctx, order, three_pl_locations(session, order))
    return {"order": order_json(session, order.id), "created": True}


def _hand_over(session: Session, ctx: AppContext, order: Order) -> Order:
    """A till sale leaves the store with the customer: shipped and delivered at once."""
    for alloc in order.allocations:
        ship_in(session, ctx, sku=alloc.sku, quantity=alloc.quantity,
                location_id=alloc.location_id, order_id=order.id)
    for target in (OrderStatus.FULFILLED, OrderStatus.DELIVERED):
        ensure_transition(order.status, target)
        order = replace(order, status=target)
    return replace(
        order,
        lines=tuple(replace(line, shipped=line.quantity) for line in order.lines),
        allocations=tuple(replace(a, shipped=a.quantity) for a in order.allocations),
    )


def _record_counter_shipment(session: Session, ctx: AppContext, order: Order) -> None:
    now = ctx.clock.now()
    store.insert_shipment(session, {
        "id": ctx.ids.new("shp"), "order_id": order.id,
        "location_id": order.allocations[0].location_id if order.allocations else "",
        "carrier": "in_store", "tracking_number": None, "status": "delivered",
        "lines": [{"line_id": a.line_id, "sku": a.sku, "quantity": a.quantity}
                  for a in order.allocations],
        "created_at": now, "updated_at": now,
    })


def _same_import(session: Session, existing: tuple[str, str], print_: str) -> dict[str, Any]:
    """A re-imported marketplace order: the same content answers the order, other content 409."""
    order_id, known = existing
    if known != print_:
        raise Conflict("this external order id was imported with different content",
                       code="duplicate_external_order", details=[{"order_id": order_id}])
    return {"order": order_json(session, order_id), "created": False}


def create_order(
    ctx: AppContext, request: dict[str, Any], *, idempotency_key: str | None
) -> tuple[dict[str, Any], bool]:
    """Place an order; returns (order, created). A re-import returns (existing, False)."""
    print_ = fingerprint(request)
    try:
        result, _replayed = run_idempotent(
            ctx.db, ctx.clock, scope="orders", key=idempotency_key, request=request,
            work=lambda session: _place(session, ctx, request, print_),
        )
    except IntegrityError:
        # Two imports of one external order raced; the loser answers like a re-import.
        if request.get("external_id") is None:
            raise
        with ctx.db.reader() as session:
            channel = get_channel_in(session, request["channel"])
            existing = store.find_external(session, channel.id, request["external_id"])
            if existing is None:
                raise
            result = _same_import(session, existing, print_)
    return result["order"], bool(result["created"])


def get_order(ctx: AppContext, order_id: str) -> dict[str, Any]:
    """One order (NotFound unknown_order)."""
    with ctx.db.reader() as session:
        load_order_in(session, order_id)
        return order_json(session, order_id)


def attributed_totals(
    ctx: AppContext, *, channel: str, credited_to: str, brand: str,
    since: datetime | None = None, until: datetime | None = None,
) -> dict[str, Any]:
    """Every non-cancelled order of a channel credited to a retailer and attributed to a brand
    in [since, until), aggregated in the database: orders and revenue per currency, and each
    customer's latest order time (no limit on how many orders there are)."""
    with ctx.db.reader() as session:
        channel_id = get_channel_in(session, channel).id
        sums, latest = store.attributed_totals(session, channel_id=channel_id,
                                               credited_to=credited_to, brand=brand,
                                               since=since, until=until)
    return {"by_currency": [{"currency": cur, "orders": n, "revenue": total}
                            for cur, n, total in sums], "latest_order_of": latest}


def customer_orders_since(
    ctx: AppContext, customer_ids: Sequence[str], since: datetime,
    until: datetime | None = None,
) -> list[dict[str, Any]]:
    """Every non-cancelled order of these customers since `since` (before `until`, when
    given), oldest first, as {customer_id, created_at, total, currency} (campaign reports: no
    cap per customer)."""
    if not customer_ids:
        return []
    with ctx.db.reader() as session:
        rows = store.customer_orders_since(session, customer_ids, since, until)
    return [{"customer_id": c, "created_at": at, "total": total, "currency": cur}
            for c, at, total, cur in rows]


def list_orders(
    ctx: AppContext, *, customer_id: str | None = None, channel: str | None = None,
    status: str | None = None, limit: int = 50,
) -> list[dict[str, Any]]:
    """Orders, newest first, by customer, channel and/or status."""
    if not 1 <= limit <= MAX_LIST:
        raise InvalidInput(f"limit must be between 1 and {MAX_LIST}", code="invalid_limit")
    if status is not None and status not in {s.value for s in OrderStatus}:
        raise InvalidInput(f"unknown status {status!r}", code="invalid_status")
    with ctx.db.reader() as session:
        channel_id = get_channel_in(session, channel).id if channel else None
        ids = store.list_order_ids(session, customer_id=customer_id, channel_id=channel_id,
                                   status=status, limit=limit)
        return [order_json(session, order_id) for order_id in ids]
