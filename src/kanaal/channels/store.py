"""Channel table and queries; never commits."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    CheckConstraint,
    Column,
    Integer,
    Row,
    String,
    Table,
    insert,
    or_,
    select,
    update,
)
from sqlalchemy.orm import Session

from kanaal.channels.domain import AllocationStrategy, Channel
from kanaal.core.auth import ChannelKind
from kanaal.core.db import UtcDateTime, metadata

channels = Table(
    "channels",
    metadata,
    Column("id", String(40), primary_key=True),
    Column("handle", String(64), nullable=False, unique=True),
    Column("name", String(200), nullable=False),
    Column("kind", String(20), nullable=False),
    Column("currency", String(3), nullable=False),
    Column("price_list_id", String(40), nullable=True),
    Column("location_ids", JSON, nullable=False),
    Column("allocation_strategy", String(20), nullable=False),
    Column("stock_buffer", Integer, nullable=False),
    Column("quota", Integer, nullable=True),
    Column("created_at", UtcDateTime, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
    CheckConstraint("stock_buffer >= 0", name="stock_buffer_not_negative"),
    CheckConstraint("quota IS NULL OR quota >= 0", name="quota_not_negative"),
)


def _channel(row: Row[Any]) -> Channel:
    return Channel(
        id=row.id,
        handle=row.handle,
        name=row.name,
        kind=ChannelKind(row.kind),
        currency=row.currency,
        price_list_id=row.price_list_id,
        location_ids=tuple(row.location_ids),
        allocation_strategy=AllocationStrategy(row.allocation_strategy),
        stock_buffer=row.stock_buffer,
        quota=row.quota,
    )


def _values(channel: Channel) -> dict[str, Any]:
    return {
        "handle": channel.handle,
        "name": channel.name,
        "kind": channel.kind.value,
        "currency": channel.currency,
        "price_list_id": channel.price_list_id,
        "location_ids": list(channel.location_ids),
        "allocation_strategy": channel.allocation_strategy.value,
        "stock_buffer": channel.stock_buffer,
        "quota": channel.quota,
    }


def find_channel(session: Session, id_or_handle: str, *, for_update: bool = False
                 ) -> Channel | None:
    """The channel whose id or handle is `id_or_handle`, or None."""
    query = select(channels).where(
        or_(channels.c.id == id_or_handle, channels.c.handle == id_or_handle)
    )
    if for_update:
        query = query.with_for_update()
    row = session.execute(query).first()
    return None if row is None else _channel(row)


def handle_taken(session: Session, handle: str, *, except_id: str | None = None) -> bool:
    """Whether another channel already uses `handle`."""
    query = select(channels.c.id).where(channels.c.handle == handle)
    if except_id is not None:
        query = query.where(channels.c.id != except_id)
    return session.execute(query).first() is not None


def insert_channel(session: Session, channel: Channel, now: datetime) -> None:
    """Store a new channel."""
    session.execute(
        insert(channels).values(id=channel.id, created_at=now, updated_at=now, **_values(channel))
    )


def update_channel(session: Session, channel: Channel, now: datetime) -> None:
    """Overwrite a stored channel's fields."""
    session.execute(
        update(channels).where(channels.c.id == channel.id).values(updated_at=now,
                                                                   **_values(channel))
    )


def all_channels(session: Session) -> list[Channel]:
    """Every channel, by handle."""
    return [_channel(row) for row in session.execute(select(channels).order_by(channels.c.handle))]
