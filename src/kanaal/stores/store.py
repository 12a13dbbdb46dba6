"""Tables and queries of QR codes, scans and store presence (never commits)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Column, Index, String, Table, func, insert, select
from sqlalchemy.orm import Session

from kanaal.core.db import UtcDateTime, metadata
from kanaal.stores.domain import QrCode

qr_codes = Table(
    "qr_codes",
    metadata,
    Column("token", String(32), primary_key=True),
    Column("sku", String(100), nullable=False),
    Column("store_id", String(40), nullable=False, index=True),
    Column("label", String(200), nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("expires_at", UtcDateTime, nullable=True),
)

qr_scans = Table(
    "qr_scans",
    metadata,
    Column("id", String(40), primary_key=True),
    Column("token", String(32), nullable=False, index=True),
    Column("sku", String(100), nullable=False),
    Column("store_id", String(40), nullable=False),
    Column("customer_id", String(40), nullable=False, index=True),
    Column("anonymous_id", String(100), nullable=False),
    Column("decision_id", String(40), nullable=True),
    Column("action", String(40), nullable=False),
    Column("action_message", String(500), nullable=True),
    Column("offer_code", String(40), nullable=True),
    Column("scanned_at", UtcDateTime, nullable=False),
)

store_presence = Table(
    "store_presence",
    metadata,
    Column("id", String(40), primary_key=True),
    Column("customer_id", String(40), nullable=False),
    Column("store_id", String(40), nullable=False),
    Column("event", String(40), nullable=False),
    Column("source", String(40), nullable=False),
    Column("at", UtcDateTime, nullable=False),
    Index("ix_store_presence_customer", "customer_id", "at"),
)


def _code(row: Any) -> QrCode:
    return QrCode(token=row.token, sku=row.sku, store_id=row.store_id, label=row.label,
                  created_at=row.created_at, expires_at=row.expires_at)


def insert_code(session: Session, code: QrCode) -> None:
    """Store a new QR code."""
    session.execute(insert(qr_codes).values(
        token=code.token, sku=code.sku, store_id=code.store_id, label=code.label,
        created_at=code.created_at, expires_at=code.expires_at))


def find_code(session: Session, token: str) -> QrCode | None:
    """A QR code by token."""
    row = session.execute(select(qr_codes).where(qr_codes.c.token == token)).first()
    return None if row is None else _code(row)


def codes_of_store(session: Session, store_id: str) -> list[QrCode]:
    """A store's codes, oldest first (the sheet's order)."""
    rows = session.execute(select(qr_codes).where(qr_codes.c.store_id == store_id)
                           .order_by(qr_codes.c.created_at, qr_codes.c.token))
    return [_code(r) for r in rows]


def insert_scan(session: Session, **values: Any) -> None:
    """Record one scan."""
    session.execute(insert(qr_scans).values(**values))


def find_scan(session: Session, scan_id: str) -> Any:
    """A scan row by id."""
    return session.execute(select(qr_scans).where(qr_scans.c.id == scan_id)).first()


def scans_of(session: Session, *, token: str | None = None,
             customer_id: str | None = None) -> list[dict[str, Any]]:
    """Scans of a code or a customer, oldest first."""
    query = select(qr_scans).order_by(qr_scans.c.scanned_at, qr_scans.c.id)
    if token is not None:
        query = query.where(qr_scans.c.token == token)
    if customer_id is not None:
        query = query.where(qr_scans.c.customer_id == customer_id)
    return [dict(r._mapping) for r in session.execute(query)]


def count_scans(session: Session) -> int:
    """All scans (tests prove that refused requests add none)."""
    return int(session.execute(select(func.count()).select_from(qr_scans)).scalar_one())


def insert_presence(session: Session, *, id: str, customer_id: str, store_id: str,
                    event: str, source: str, at: datetime) -> None:
    """Record a consented presence event."""
    session.execute(insert(store_presence).values(
        id=id, customer_id=customer_id, store_id=store_id, event=event, source=source, at=at))


def presence_of(session: Session, customer_id: str) -> list[dict[str, Any]]:
    """A customer's presence events, oldest first."""
    rows = session.execute(select(store_presence).where(
        store_presence.c.customer_id == customer_id).order_by(store_presence.c.at))
    return [dict(r._mapping) for r in rows]


def count_presence(session: Session) -> int:
    """All presence rows."""
    return int(session.execute(select(func.count()).select_from(store_presence)).scalar_one())
