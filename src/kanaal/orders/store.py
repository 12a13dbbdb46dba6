"""Order tables and queries: orders, lines, allocations, shipments, returns. Never commits."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    JSON,
    CheckConstraint,
    Column,
    ForeignKey,
    Index,
    Integer,
    Numeric,
    String,
    Table,
    Text,
    UniqueConstraint,
    func,
    select,
    update,
)
from sqlalchemy.orm import Session

from kanaal.core.db import UtcDateTime, metadata
from kanaal.orders.domain import (
    AllocationState,
    Fulfilment,
    Order,
    OrderLine,
    OrderStatus,
    Totals,
)

MONEY = Numeric(14, 2)
UNIT_MONEY = Numeric(16, 4)

orders = Table(
    "orders",
    metadata,
    Column("id", String(40), primary_key=True),
    Column("channel_id", String(40), nullable=False),
    Column("channel_kind", String(20), nullable=False),
    Column("external_id", String(200), nullable=True),
    Column("external_fingerprint", String(64), nullable=True),
    Column("status", String(24), nullable=False),
    Column("currency", String(3), nullable=False),
    Column("subtotal", MONEY, nullable=False),
    Column("shipping_total", MONEY, nullable=False),
    Column("total", MONEY, nullable=False),
    Column("refunded_total", MONEY, nullable=False),
    Column("fulfilment", String(20), nullable=False),
    Column("pickup_location_id", String(40), nullable=True),
    Column("shipping_address", JSON, nullable=True),
    Column("customer_id", String(40), nullable=True),
    Column("agent_id", String(100), nullable=True),
    Column("credited_to", String(200), nullable=True),
    Column("attributed_brand", String(200), nullable=True),
    Column("customer_group", String(100), nullable=True),
    Column("cancel_reason", Text, nullable=True),
    Column("created_at", UtcDateTime, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
    UniqueConstraint("channel_id", "external_id"),
    CheckConstraint("total >= 0 AND subtotal >= 0 AND shipping_total >= 0", name="money"),
    CheckConstraint("refunded_total >= 0 AND refunded_total <= total", name="refund"),
    Index("ix_orders_customer_created", "customer_id", "created_at"),
    Index("ix_orders_channel_created", "channel_id", "created_at"),
)

order_lines = Table(
    "order_lines",
    metadata,
    Column("id", String(40), primary_key=True),
    Column("order_id", String(40), ForeignKey("orders.id"), nullable=False, index=True),
    Column("position", Integer, nullable=False),
    Column("sku", String(100), nullable=False),
    Column("title", String(300), nullable=False),
    Column("brand", String(200), nullable=True),
    Column("quantity", Integer, nullable=False),
    Column("unit_price", UNIT_MONEY, nullable=False),
    Column("unit_cost", UNIT_MONEY, nullable=True),
    Column("reservation_id", String(40), nullable=True),
    Column("shipped", Integer, nullable=False),
    Column("returned", Integer, nullable=False),
    CheckConstraint("quantity > 0", name="quantity"),
    CheckConstraint("shipped >= 0 AND shipped <= quantity", name="shipped"),
    CheckConstraint("returned >= 0 AND returned <= shipped", name="returned"),
)

order_allocations = Table(
    "order_allocations",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("order_id", String(40), ForeignKey("orders.id"), nullable=False, index=True),
    Column("line_id", String(40), nullable=False),
    Column("sku", String(100), nullable=False),
    Column("location_id", String(40), nullable=False),
    Column("quantity", Integer, nullable=False),
    Column("shipped", Integer, nullable=False),
    CheckConstraint("quantity > 0 AND shipped >= 0 AND shipped <= quantity", name="units"),
)

shipments = Table(
    "shipments",
    metadata,
    Column("id", String(40), primary_key=True),
    Column("order_id", String(40), ForeignKey("orders.id"), nullable=False, index=True),
    Column("location_id", String(40), nullable=False),
    Column("carrier", String(100), nullable=False),
    Column("tracking_number", String(200), nullable=True),
    Column("status", String(24), nullable=False),
    Column("lines", JSON, nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
)

order_returns = Table(
    "order_returns",
    metadata,
    Column("id", String(40), primary_key=True),
    Column("order_id", String(40), ForeignKey("orders.id"), nullable=False, index=True),
    Column("location_id", String(40), nullable=False),
    Column("reason", Text, nullable=True),
    Column("refund", MONEY, nullable=False),
    Column("currency", String(3), nullable=False),
    Column("lines", JSON, nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
)


def insert_order(session: Session, order: Order, *, fingerprint: str | None) -> None:
    """Write a new order with its lines and allocations."""
    session.execute(orders.insert().values(
        id=order.id, channel_id=order.channel_id, channel_kind=order.channel_kind,
        external_id=order.external_id, external_fingerprint=fingerprint,
        status=order.status.value, currency=order.currency,
        subtotal=order.totals.subtotal, shipping_total=order.totals.shipping,
        total=order.totals.total, refunded_total=Decimal("0"),
        fulfilment=order.fulfilment.value, pickup_location_id=order.pickup_location_id,
        shipping_address=dict(order.shipping_address) if order.shipping_address else None,
        customer_id=order.customer_id, agent_id=order.agent_id, credited_to=order.credited_to,
        attributed_brand=order.attributed_brand, customer_group=order.customer_group,
        created_at=order.created_at, updated_at=order.created_at,
    ))
    session.execute(order_lines.insert(), [
        {"id": line.id, "order_id": order.id, "position": i, "sku": line.sku,
         "title": line.title, "brand": line.brand, "quantity": line.quantity,
         "unit_price": line.unit_price, "unit_cost": line.unit_cost,
         "reservation_id": line.reservation_id, "shipped": line.shipped,
         "returned": line.returned}
        for i, line in enumerate(order.lines)
    ])
    if order.allocations:
        session.execute(order_allocations.insert(), [
            {"order_id": order.id, "line_id": a.line_id, "sku": a.sku,
             "location_id": a.location_id, "quantity": a.quantity, "shipped": a.shipped}
            for a in order.allocations
        ])


def _order_from(row: Any, lines: Sequence[Any], allocs: Sequence[Any]) -> Order:
    return Order(
        id=row.id, channel_id=row.channel_id, channel_kind=row.channel_kind,
        status=OrderStatus(row.status), currency=row.currency,
        lines=tuple(
            OrderLine(id=r.id, sku=r.sku, quantity=r.quantity, unit_price=Decimal(r.unit_price),
                      title=r.title, brand=r.brand,
                      unit_cost=None if r.unit_cost is None else Decimal(r.unit_cost),
                      reservation_id=r.reservation_id, shipped=r.shipped, returned=r.returned)
            for r in lines
        ),
        totals=Totals(Decimal(row.subtotal), Decimal(row.shipping_total), Decimal(row.total)),
        created_at=row.created_at, fulfilment=Fulfilment(row.fulfilment),
        customer_id=row.customer_id, external_id=row.external_id, agent_id=row.agent_id,
        credited_to=row.credited_to, attributed_brand=row.attributed_brand,
        customer_group=row.customer_group, pickup_location_id=row.pickup_location_id,
        shipping_address=row.shipping_address,
        allocations=tuple(
            AllocationState(a.line_id, a.sku, a.location_id, a.quantity, a.shipped)
            for a in allocs
        ),
    )


def load_order(session: Session, order_id: str, *, lock: bool = False) -> tuple[Order, Any] | None:
    """An order and its raw row (refunds, cancel reason); `lock` takes its row lock."""
    query = select(orders).where(orders.c.id == order_id)
    if lock and session.get_bind().dialect.name != "sqlite":
        query = query.with_for_update()
    row = session.execute(query).first()
    if row is None:
        return None
    lines = session.execute(
        select(order_lines).where(order_lines.c.order_id == order_id)
        .order_by(order_lines.c.position)
    ).all()
    allocs = session.execute(
        select(order_allocations).where(order_allocations.c.order_id == order_id)
        .order_by(order_allocations.c.id)
    ).all()
    return _order_from(row, lines, allocs), row


def find_external(session: Session, channel_id: str, external_id: str) -> tuple[str, str] | None:
    """(order id, content fingerprint) of a channel's imported order."""
    row = session.execute(
        select(orders.c.id, orders.c.external_fingerprint).where(
            orders.c.channel_id == channel_id, orders.c.external_id == external_id)
    ).first()
    return None if row is None else (row.id, row.external_fingerprint or "")


def list_order_ids(
    session: Session, *, customer_id: str | None, channel_id: str | None,
    status: str | None, limit: int,
) -> list[str]:
    """Ids of matching orders, newest first."""
    query = select(orders.c.id)
    if customer_id is not None:
        query = query.where(orders.c.customer_id == customer_id)
    if channel_id is not None:
        query = query.where(orders.c.channel_id == channel_id)
    if status is not None:
        query = query.where(orders.c.status == status)
    query = query.order_by(orders.c.created_at.desc(), orders.c.id.desc()).limit(limit)
    return [r.id for r in session.execute(query).all()]


def attributed_totals(
    session: Session, *, channel_id: str, credited_to: str, brand: str,
    since: datetime | None, until: datetime | None,
) -> tuple[list[tuple[str, int, Decimal]], dict[str, datetime]]:
    """A channel's non-cancelled orders credited to `credited_to` and attributed to `brand`
    (case-insensitive), summed in SQL: (currency, orders, total) rows and each customer's
    latest order time."""
    where = [orders.c.channel_id == channel_id, orders.c.credited_to == credited_to,
             func.lower(orders.c.attributed_brand) == brand.lower(),
             orders.c.status != OrderStatus.CANCELLED.value]
    if since is not None:
        where.append(orders.c.created_at >= since)
    if until is not None:
        where.append(orders.c.created_at < until)
    sums = session.execute(select(orders.c.currency, func.count(), func.sum(orders.c.total))
                           .where(*where).group_by(orders.c.currency)
                           .order_by(orders.c.currency))
    latest = session.execute(select(orders.c.customer_id, func.max(orders.c.created_at))
                             .where(*where, orders.c.customer_id.is_not(None))
                             .group_by(orders.c.customer_id))
    return ([(cur, int(n), Decimal(str(total or 0))) for cur, n, total in sums],
            {str(customer): at for customer, at in latest})


def customer_orders_since(
    session: Session, customer_ids: Sequence[str], since: datetime,
    until: datetime | None = None,
) -> list[tuple[str, datetime, Decimal, str]]:
    """(customer_id, created_at, total, currency) of every non-cancelled order these customers
    placed since `since` (and before `until`, when given), oldest first: one query per 500
    customers, no cap per customer."""
    found: list[tuple[str, datetime, Decimal, str]] = []
    unique = sorted(set(customer_ids))
    bounds = [orders.c.created_at >= since]
    if until is not None:
        bounds.append(orders.c.created_at < until)
    for start in range(0, len(unique), 500):
        rows = session.execute(
            select(orders.c.customer_id, orders.c.created_at, orders.c.total, orders.c.currency)
            .where(orders.c.customer_id.in_(unique[start:start + 500]), *bounds,
                   orders.c.status != OrderStatus.CANCELLED.value)
            .order_by(orders.c.created_at, orders.c.id))
        found.extend((str(c), at, Decimal(str(total)), cur) for c, at, total, cur in rows)
    found.sort(key=lambda row: row[1])
    return found


def set_status(session: Session, order_id: str, status: OrderStatus, now: datetime,
               **extra: Any) -> None:
    """Move an order to `status` (plus other columns such as cancel_reason)."""
    session.execute(update(orders).where(orders.c.id == order_id)
                    .values(status=status.value, updated_at=now, **extra))


def add_shipped(session: Session, order_id: str, line_id: str, location_id: str,
                units: int) -> None:
    """Count shipped units on a line and on its allocation at `location_id`."""
    session.execute(update(order_lines).where(order_lines.c.id == line_id)
                    .values(shipped=order_lines.c.shipped + units))
    left = units
    allocs = session.execute(
        select(order_allocations).where(
            order_allocations.c.order_id == order_id, order_allocations.c.line_id == line_id,
            order_allocations.c.location_id == location_id)
        .order_by(order_allocations.c.id)
    ).all()
    for alloc in allocs:
        take = min(left, alloc.quantity - alloc.shipped)
        if take > 0:
            session.execute(update(order_allocations).where(order_allocations.c.id == alloc.id)
                            .values(shipped=order_allocations.c.shipped + take))
            left -= take


def add_returned(session: Session, line_id: str, units: int) -> None:
    """Count returned units on a line."""
    session.execute(update(order_lines).where(order_lines.c.id == line_id)
                    .values(returned=order_lines.c.returned + units))


def add_refund(session: Session, order_id: str, amount: Decimal, now: datetime) -> None:
    """Add to an order's refunded total."""
    session.execute(update(orders).where(orders.c.id == order_id)
                    .values(refunded_total=orders.c.refunded_total + amount, updated_at=now))


def insert_shipment(session: Session, values: dict[str, Any]) -> None:
    """Write a shipment row."""
    session.execute(shipments.insert().values(**values))


def get_shipment(session: Session, shipment_id: str, *, lock: bool = False) -> Any:
    """A shipment row or None."""
    query = select(shipments).where(shipments.c.id == shipment_id)
    if lock and session.get_bind().dialect.name != "sqlite":
        query = query.with_for_update()
    return session.execute(query).first()


def order_shipments(session: Session, order_id: str) -> list[Any]:
    """An order's shipment rows, oldest first."""
    return list(session.execute(
        select(shipments).where(shipments.c.order_id == order_id)
        .order_by(shipments.c.created_at, shipments.c.id)
    ).all())


def set_shipment_status(session: Session, shipment_id: str, status: str, now: datetime) -> None:
    """Record a carrier update."""
    session.execute(update(shipments).where(shipments.c.id == shipment_id)
                    .values(status=status, updated_at=now))


def insert_return(session: Session, values: dict[str, Any]) -> None:
    """Write a return row."""
    session.execute(order_returns.insert().values(**values))


def order_return_rows(session: Session, order_id: str) -> list[Any]:
    """An order's returns, oldest first."""
    return list(session.execute(
        select(order_returns).where(order_returns.c.order_id == order_id)
        .order_by(order_returns.c.created_at, order_returns.c.id)
    ).all())
