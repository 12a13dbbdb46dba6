"""Tables and queries of shop-in-shop brands and their presales questions (never commits)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Column, String, Table, Text, func, insert, select
from sqlalchemy.orm import Session

from kanaal.core.db import UtcDateTime, metadata
from kanaal.shop_in_shop.domain import Brand

shop_in_shop_brands = Table(
    "shop_in_shop_brands",
    metadata,
    Column("id", String(40), primary_key=True),
    Column("handle", String(60), nullable=False, unique=True),
    Column("name", String(200), nullable=False),
    Column("retailer", String(200), nullable=False),
    Column("channel_id", String(40), nullable=False),
    Column("question_queue", String(60), nullable=False),
    Column("logo_url", String(2048), nullable=True),
    Column("primary_colour", String(7), nullable=False),
    Column("accent_colour", String(7), nullable=False),
    Column("headline", String(200), nullable=False),
    Column("copy_text", Text, nullable=False),
    Column("skus", JSON, nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
)

shop_in_shop_questions = Table(
    "shop_in_shop_questions",
    metadata,
    Column("id", String(40), primary_key=True),
    Column("brand_id", String(40), nullable=False, index=True),
    Column("customer_id", String(40), nullable=False),
    Column("callback_id", String(40), nullable=False),
    Column("sku", String(100), nullable=True),
    Column("question", String(2000), nullable=False),
    Column("asked_at", UtcDateTime, nullable=False),
)


def _brand(row: Any) -> Brand:
    return Brand(id=row.id, handle=row.handle, name=row.name, retailer=row.retailer,
                 channel_id=row.channel_id, question_queue=row.question_queue,
                 logo_url=row.logo_url, primary_colour=row.primary_colour,
                 accent_colour=row.accent_colour, headline=row.headline, copy_text=row.copy_text,
                 skus=tuple(row.skus), created_at=row.created_at)


def insert_brand(session: Session, brand: Brand) -> None:
    """Store a new brand section."""
    session.execute(insert(shop_in_shop_brands).values(
        id=brand.id, handle=brand.handle, name=brand.name, retailer=brand.retailer,
        channel_id=brand.channel_id, question_queue=brand.question_queue,
        logo_url=brand.logo_url, primary_colour=brand.primary_colour,
        accent_colour=brand.accent_colour, headline=brand.headline, copy_text=brand.copy_text,
        skus=list(brand.skus), created_at=brand.created_at))


def find_brand(session: Session, handle: str) -> Brand | None:
    """A brand by handle."""
    row = session.execute(select(shop_in_shop_brands).where(
        shop_in_shop_brands.c.handle == handle)).first()
    return None if row is None else _brand(row)


def all_brands(session: Session) -> list[Brand]:
    """Every brand by handle."""
    rows = session.execute(select(shop_in_shop_brands).order_by(shop_in_shop_brands.c.handle))
    return [_brand(r) for r in rows]


def insert_question(session: Session, *, id: str, brand_id: str, customer_id: str,
                    callback_id: str, sku: str | None, question: str, asked_at: datetime) -> None:
    """Record a presales question."""
    session.execute(insert(shop_in_shop_questions).values(
        id=id, brand_id=brand_id, customer_id=customer_id, callback_id=callback_id, sku=sku,
        question=question, asked_at=asked_at))


def questions_of(session: Session, brand_id: str, *, since: datetime | None = None,
                 until: datetime | None = None) -> list[dict[str, Any]]:
    """A brand's questions asked in [since, until), oldest first."""
    query = select(shop_in_shop_questions).where(shop_in_shop_questions.c.brand_id == brand_id)
    if since is not None:
        query = query.where(shop_in_shop_questions.c.asked_at >= since)
    if until is not None:
        query = query.where(shop_in_shop_questions.c.asked_at < until)
    rows = session.execute(query.order_by(shop_in_shop_questions.c.asked_at,
                                          shop_in_shop_questions.c.id))
    return [dict(r._mapping) for r in rows]


def count_questions(session: Session) -> int:
    """All questions (tests prove refusals store none)."""
    return int(session.execute(select(func.count()).select_from(
        shop_in_shop_questions)).scalar_one())
