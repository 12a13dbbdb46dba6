"""Inventory tables (all of them) and the queries of locations, the ledger and its movements.

Never commits. Every change to a ledger row is one UPDATE that moves counts by deltas (with an
optional availability condition) and returns the new row; CHECK constraints are the last guard.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import (
    CheckConstraint,
    Column,
    Float,
    ForeignKey,
    Index,
    Integer,
    PrimaryKeyConstraint,
    Row,
    Select,
    String,
    Table,
    Text,
    bindparam,
    func,
    select,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from kanaal.core.db import UtcDateTime, metadata
from kanaal.inventory.domain import (
    Location,
    LocationKind,
    MovementReason,
    StockLevel,
)

locations = Table(
    "inventory_locations",
    metadata,
    Column("id", String(40), primary_key=True),
    Column("name", String(200), nullable=False),
    Column("kind", String(20), nullable=False),
    Column("latitude", Float, nullable=True),
    Column("longitude", Float, nullable=True),
    Column("address", Text, nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
)

stock = Table(
    "inventory_stock",
    metadata,
    Column("sku", String(100), nullable=False),
    Column("location_id", String(40), ForeignKey("inventory_locations.id"), nullable=False),
    Column("on_hand", Integer, nullable=False),
    Column("reserved", Integer, nullable=False),
    Column("allocated", Integer, nullable=False),
    Column("incoming", Integer, nullable=False),
    Column("safety_stock", Integer, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
    PrimaryKeyConstraint("sku", "location_id"),
    CheckConstraint("on_hand >= 0", name="on_hand_not_negative"),
    CheckConstraint("reserved >= 0", name="reserved_not_negative"),
    CheckConstraint("allocated >= 0", name="allocated_not_negative"),
    CheckConstraint("incoming >= 0", name="incoming_not_negative"),
    CheckConstraint("safety_stock >= 0", name="safety_stock_not_negative"),
    CheckConstraint("reserved + allocated <= on_hand", name="committed_within_on_hand"),
)

movements = Table(
    "inventory_movements",
    metadata,
    Column("id", String(40), primary_key=True),
    Column("sku", String(100), nullable=False),
    Column("location_id", String(40), nullable=False),
    Column("reason", String(20), nullable=False),
    Column("on_hand_delta", Integer, nullable=False),
    Column("reserved_delta", Integer, nullable=False),
    Column("allocated_delta", Integer, nullable=False),
    Column("incoming_delta", Integer, nullable=False),
    Column("safety_stock_delta", Integer, nullable=False),
    Column("on_hand", Integer, nullable=False),
    Column("reserved", Integer, nullable=False),
    Column("allocated", Integer, nullable=False),
    Column("reference", String(80), nullable=True),
    Column("note", Text, nullable=True),
    Column("created_at", UtcDateTime, nullable=False),
    Index("ix_inventory_movements_sku_location", "sku", "location_id", "created_at"),
)

reservations = Table(
    "inventory_reservations",
    metadata,
    Column("id", String(40), primary_key=True),
    Column("sku", String(100), nullable=False),
    Column("channel_id", String(40), nullable=False),
    Column("quantity", Integer, nullable=False),
    Column("status", String(12), nullable=False),
    Column("reference", String(80), nullable=True),
    Column("order_id", String(80), nullable=True),
    Column("expires_at", UtcDateTime, nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("closed_at", UtcDateTime, nullable=True),
    CheckConstraint("quantity > 0", name="quantity_positive"),
    Index("ix_inventory_reservations_due", "status", "expires_at"),
)

reservation_lines = Table(
    "inventory_reservation_lines",
    metadata,
    Column("reservation_id", String(40), ForeignKey("inventory_reservations.id"), nullable=False),
    Column("location_id", String(40), nullable=False),
    Column("quantity", Integer, nullable=False),
    PrimaryKeyConstraint("reservation_id", "location_id"),
    CheckConstraint("quantity > 0", name="quantity_positive"),
)

allocations = Table(
    "inventory_allocations",
    metadata,
    Column("order_id", String(80), nullable=False),
    Column("sku", String(100), nullable=False),
    Column("location_id", String(40), nullable=False),
    Column("allocated", Integer, nullable=False),
    Column("shipped", Integer, nullable=False),
    Column("returned", Integer, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
    PrimaryKeyConstraint("order_id", "sku", "location_id"),
    CheckConstraint("allocated >= 0", name="allocated_not_negative"),
    CheckConstraint("returned >= 0 AND returned <= shipped", name="returned_within_shipped"),
    Index("ix_inventory_allocations_sku_location", "sku", "location_id"),
)

COUNTS = ("on_hand", "reserved", "allocated", "incoming", "safety_stock")


def dialect_insert(session: Session, table: Table) -> Any:
    """An INSERT that knows ON CONFLICT for the session's dialect (PostgreSQL or SQLite)."""
    dialect = session.get_bind().dialect.name
    return (postgresql.insert if dialect == "postgresql" else sqlite.insert)(table)


# ---------------------------------------------------------------- locations


def _location(row: Row[Any]) -> Location:
    return Location(row.id, row.name, LocationKind(row.kind), row.latitude, row.longitude,
                    row.address)


def insert_location(session: Session, location: Location, now: datetime) -> None:
    """Add a location."""
    session.execute(locations.insert().values(
        id=location.id, name=location.name, kind=location.kind.value,
        latitude=location.latitude, longitude=location.longitude, address=location.address,
        created_at=now,
    ))


def get_location(session: Session, location_id: str) -> Location | None:
    """One location, or None."""
    row = session.execute(select(locations).where(locations.c.id == location_id)).first()
    return None if row is None else _location(row)


def list_locations(session: Session) -> list[Location]:
    """Every location, oldest first."""
    rows = session.execute(select(locations).order_by(locations.c.created_at, locations.c.id))
    return [_location(row) for row in rows]


# ---------------------------------------------------------------- ledger rows


def _level(row: Row[Any]) -> StockLevel:
    return StockLevel(row.sku, row.location_id, row.on_hand, row.reserved, row.allocated,
                      row.incoming, row.safety_stock)


# Hot-path statements are built once; each call only binds values (no statement building).
_LEVELS = select(stock).where(stock.c.sku == bindparam("k_sku")).order_by(stock.c.location_id)
_FREE = stock.c.on_hand - stock.c.reserved - stock.c.allocated - stock.c.safety_stock
_MOVE = (
    update(stock)
    .where(stock.c.sku == bindparam("k_sku"), stock.c.location_id == bindparam("k_location"))
    .values(updated_at=bindparam("k_now"),
            **{name: stock.c[name] + bindparam(f"d_{name}") for name in COUNTS})
    .returning(*stock.c)
)
_MOVE_IF_FREE = _MOVE.where(_FREE >= bindparam("k_need"))


def levels(
    session: Session, sku: str, location_ids: Iterable[str] | None = None, *, lock: bool = False
) -> list[StockLevel]:
    """Ledger rows of `sku` (optionally only at `location_ids`), sorted by location id.

    With `lock`, the rows are locked FOR UPDATE in that fixed order, so two writers never
    wait on each other crosswise (on SQLite the write lock taken at BEGIN does this).
    """
    if location_ids is None:
        query = _LEVELS.with_for_update() if lock else _LEVELS
        return [_level(row) for row in session.execute(query, {"k_sku": sku})]
    wanted = sorted(set(location_ids))
    if not wanted:
        return []
    params: dict[str, Any] = {f"k_l{i}": location_id for i, location_id in enumerate(wanted)}
    params["k_sku"] = sku
    return [_level(row) for row in session.execute(_levels_at(len(wanted), lock), params)]


def levels_of(
    session: Session, skus: Sequence[str], location_ids: Iterable[str]
) -> dict[str, list[StockLevel]]:
    """Ledger rows of many skus at `location_ids` (a feed's worth), by sku: one query per
    chunk of skus instead of one per sku. Skus without rows are absent."""
    wanted = sorted(set(location_ids))
    found: dict[str, list[StockLevel]] = {}
    if not wanted:
        return found
    unique = sorted(set(skus))
    for start in range(0, len(unique), _SKU_CHUNK):
        query = select(stock).where(stock.c.sku.in_(unique[start:start + _SKU_CHUNK]),
                                    stock.c.location_id.in_(wanted))
        for row in session.execute(query.order_by(stock.c.sku, stock.c.location_id)):
            found.setdefault(row.sku, []).append(_level(row))
    return found


_SKU_CHUNK = 500


@functools.lru_cache(maxsize=64)
def _levels_at(count: int, lock: bool) -> Select[Any]:
    """`_LEVELS` at `count` locations: one plain bind per id, so the compiled SQL is reused
    (an expanding IN parameter would be re-rendered on every execution)."""
    query = _LEVELS.where(stock.c.location_id.in_([bindparam(f"k_l{i}") for i in range(count)]))
    return query.with_for_update() if lock else query


def ensure_level(session: Session, sku: str, location_id: str, now: datetime) -> None:
    """Create an empty ledger row for (sku, location) unless it exists."""
    statement = dialect_insert(session, stock).values(
        sku=sku, location_id=location_id, on_hand=0, reserved=0, allocated=0, incoming=0,
        safety_stock=0, updated_at=now,
    ).on_conflict_do_nothing(index_elements=["sku", "location_id"])
    session.execute(statement)


def move(
    session: Session, sku: str, location_id: str, deltas: dict[str, int], now: datetime,
    *, require_free: int | None = None,
) -> StockLevel | None:
    """Move the row's counts by `deltas` in one UPDATE; None if no row matched.

    With `require_free`, the row only changes while on_hand - reserved - allocated -
    safety_stock is at least that much: the check and the change are one statement.
    """
    params: dict[str, Any] = {f"d_{name}": deltas.get(name, 0) for name in COUNTS}
    params.update(k_sku=sku, k_location=location_id, k_now=now)
    statement = _MOVE
    if require_free is not None:
        statement = _MOVE_IF_FREE
        params["k_need"] = require_free
    row = session.execute(statement, params).first()
    return None if row is None else _level(row)


def insert_movement(
    session: Session, *, movement_id: str, level: StockLevel, reason: MovementReason,
    deltas: dict[str, int], reference: str | None, note: str | None, now: datetime,
) -> None:
    """Append one movement (the change and the counts after it)."""
    session.execute(movements.insert(), {
        "id": movement_id, "sku": level.sku, "location_id": level.location_id,
        "reason": reason.value, **{f"{name}_delta": deltas.get(name, 0) for name in COUNTS},
        "on_hand": level.on_hand, "reserved": level.reserved, "allocated": level.allocated,
        "reference": reference, "note": note, "created_at": now,
    })


def list_movements(
    session: Session, sku: str, *, location_id: str | None = None, limit: int = 100
) -> list[dict[str, Any]]:
    """Newest movements of `sku` first."""
    query = select(movements).where(movements.c.sku == sku)
    if location_id is not None:
        query = query.where(movements.c.location_id == location_id)
    query = query.order_by(movements.c.created_at.desc(), movements.c.id.desc()).limit(limit)
    return [dict(row._mapping) for row in session.execute(query)]


def movement_totals(session: Session, sku: str, location_id: str) -> dict[str, int]:
    """Sum of every delta for one row: replaying the log must give the row's counts."""
    row = session.execute(
        select(*(func.coalesce(func.sum(movements.c[f"{n}_delta"]), 0).label(n) for n in COUNTS))
        .where(movements.c.sku == sku, movements.c.location_id == location_id)
    ).one()
    return {name: int(getattr(row, name)) for name in COUNTS}
