"""Decision tables and queries: the decision log, outcomes, model cells, offer codes."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    Float,
    Index,
    Integer,
    Numeric,
    PrimaryKeyConstraint,
    String,
    Table,
    Text,
    UniqueConstraint,
    insert,
    select,
    update,
)
from sqlalchemy.orm import Session

from kanaal.core.db import UtcDateTime, metadata, rowcount

decisions = Table(
    "decisions",
    metadata,
    Column("id", String(40), primary_key=True),
    Column("customer_id", String(40), nullable=True),
    Column("subject", String(255), nullable=False),
    Column("channel", String(20), nullable=False),
    Column("action", String(30), nullable=False),
    Column("queue", String(100), nullable=True),
    Column("policy", String(30), nullable=False),
    Column("experiment", String(100), nullable=False),
    Column("arm", String(30), nullable=False),
    Column("bucket", String(80), nullable=False),
    Column("features", JSON, nullable=False),
    Column("scores", JSON, nullable=False),
    Column("reasons", JSON, nullable=False),
    Column("incremental_margin", Numeric(14, 2), nullable=False),
    Column("contact_cost", Numeric(14, 2), nullable=False),
    Column("p_buy_nothing", Float, nullable=False),
    Column("p_buy_action", Float, nullable=False),
    Column("currency", String(3), nullable=False),
    Column("offer_code", String(40), nullable=True),
    Column("task_id", String(40), nullable=True),
    Column("decided_at", UtcDateTime, nullable=False),
    Column("expires_at", UtcDateTime, nullable=True),
    # True once the decision counted as a trial of its (action, bucket) model cell.
    Column("trial_counted", Boolean, nullable=False, default=False),
    Column("accepted", Boolean, nullable=False, default=False),
    Column("converted_at", UtcDateTime, nullable=True),
    Column("revenue", Numeric(14, 2), nullable=True),
    Column("margin", Numeric(14, 2), nullable=True),
    Column("order_id", String(60), nullable=True),
    Index("ix_decisions_customer_id_decided_at", "customer_id", "decided_at"),
    Index("ix_decisions_decided_at", "decided_at"),
)

decision_outcomes = Table(
    "decision_outcomes",
    metadata,
    Column("id", String(40), primary_key=True),
    Column("decision_id", String(40), nullable=False),
    Column("event", String(20), nullable=False),
    Column("revenue", Numeric(14, 2), nullable=True),
    Column("margin", Numeric(14, 2), nullable=True),
    Column("source", String(20), nullable=False),
    Column("at", UtcDateTime, nullable=False),
    UniqueConstraint("decision_id", "event"),
)

decision_models = Table(
    "decision_models",
    metadata,
    Column("name", String(60), primary_key=True),
    Column("version", Integer, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
)

decision_model_cells = Table(
    "decision_model_cells",
    metadata,
    Column("model", String(60), nullable=False),
    Column("action", String(30), nullable=False),
    Column("bucket", String(80), nullable=False),
    Column("buy_wins", Float, nullable=False, default=0.0),
    Column("buy_trials", Float, nullable=False, default=0.0),
    Column("accept_wins", Float, nullable=False, default=0.0),
    Column("accept_trials", Float, nullable=False, default=0.0),
    PrimaryKeyConstraint("model", "action", "bucket"),
)

decision_offer_codes = Table(
    "decision_offer_codes",
    metadata,
    Column("code", String(40), primary_key=True),
    Column("decision_id", String(40), nullable=False),
    Column("customer_id", String(40), nullable=True),
    Column("discount_percent", Numeric(5, 2), nullable=False),
    Column("quote", Numeric(14, 2), nullable=True),
    Column("currency", String(3), nullable=False),
    Column("note", Text, nullable=False, default=""),
    Column("created_at", UtcDateTime, nullable=False),
    Column("expires_at", UtcDateTime, nullable=False),
    Column("redeemed_at", UtcDateTime, nullable=True),
    Column("order_id", String(60), nullable=True),
)


def insert_decisions(session: Session, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Write a batch of logged decisions and return the rows written; rows already there (a
    retried flush) are skipped. Keys starting with "_" ride along and are not columns."""
    if not rows:
        return []
    ids = [row["id"] for row in rows]
    present = set(session.execute(select(decisions.c.id).where(decisions.c.id.in_(ids)))
                  .scalars())
    fresh = [row for row in rows if row["id"] not in present]
    if fresh:
        session.execute(insert(decisions), [{k: v for k, v in row.items() if k[0] != "_"}
                                            for row in fresh])
    return fresh


def find_decision(session: Session, decision_id: str, *, lock: bool = False) -> Any | None:
    """One decision row, optionally locked for update."""
    query = select(decisions).where(decisions.c.id == decision_id)
    if lock:
        query = query.with_for_update()
    return session.execute(query).first()


def update_decision(session: Session, decision_id: str, **values: Any) -> None:
    """Set columns of one decision."""
    session.execute(update(decisions).where(decisions.c.id == decision_id).values(**values))


def insert_outcome(session: Session, **values: Any) -> bool:
    """Record an outcome event once per decision; False when that event was already there."""
    found = session.execute(select(decision_outcomes.c.id).where(
        decision_outcomes.c.decision_id == values["decision_id"],
        decision_outcomes.c.event == values["event"])).first()
    if found is not None:
        return False
    session.execute(insert(decision_outcomes).values(**values))
    return True


def outcome_events(session: Session, decision_id: str) -> list[str]:
    """The outcome events recorded for a decision, in time order."""
    rows = session.execute(select(decision_outcomes.c.event).where(
        decision_outcomes.c.decision_id == decision_id).order_by(decision_outcomes.c.at,
                                                                 decision_outcomes.c.id))
    return list(rows.scalars())


def open_decisions_of(session: Session, customer_ids: Iterable[str], since: datetime
                      ) -> list[Any]:
    """Unconverted decisions of these customers made since `since`, oldest first."""
    return list(session.execute(select(decisions.c.id, decisions.c.customer_id,
                                       decisions.c.decided_at).where(
        decisions.c.customer_id.in_(list(customer_ids)), decisions.c.decided_at >= since,
        decisions.c.converted_at.is_(None)).order_by(decisions.c.decided_at)))


def customers_with_open_decisions(session: Session, since: datetime, limit: int,
                                  after: str = "") -> list[str]:
    """Customers (ordered by id, after `after`) with unconverted decisions since `since`."""
    rows = session.execute(select(decisions.c.customer_id).where(
        decisions.c.customer_id.is_not(None), decisions.c.customer_id > after,
        decisions.c.decided_at >= since, decisions.c.converted_at.is_(None))
        .group_by(decisions.c.customer_id).order_by(decisions.c.customer_id).limit(limit))
    return [str(r) for r in rows.scalars()]


def model_version(session: Session, name: str) -> int:
    """The model's version (0 when it has never been updated)."""
    value = session.execute(select(decision_models.c.version).where(
        decision_models.c.name == name)).scalar()
    return int(value or 0)


def model_cells(session: Session, name: str) -> list[Any]:
    """Every cell of a model."""
    return list(session.execute(select(decision_model_cells).where(
        decision_model_cells.c.model == name)))


def bump_version(session: Session, name: str, now: datetime) -> int:
    """Add one to the model version (creating the row) and return the new version."""
    changed = rowcount(session.execute(update(decision_models).where(
        decision_models.c.name == name).values(version=decision_models.c.version + 1,
                                               updated_at=now)))
    if changed == 0:
        session.execute(insert(decision_models).values(name=name, version=1, updated_at=now))
    return model_version(session, name)


def add_to_cell(session: Session, name: str, action: str, bucket: str,
                counts: dict[str, float]) -> None:
    """Atomically add counts to one model cell, creating it when missing."""
    key = (decision_model_cells.c.model == name) & (decision_model_cells.c.action == action) & (
        decision_model_cells.c.bucket == bucket)
    values = {col: getattr(decision_model_cells.c, col) + amount
              for col, amount in counts.items()}
    if rowcount(session.execute(update(decision_model_cells).where(key).values(**values))) == 0:
        base = {"buy_wins": 0.0, "buy_trials": 0.0, "accept_wins": 0.0, "accept_trials": 0.0}
        session.execute(insert(decision_model_cells).values(
            model=name, action=action, bucket=bucket, **{**base, **counts}))


def insert_offer_codes(session: Session, rows: list[dict[str, Any]]) -> None:
    """Store personal offer codes."""
    if rows:
        session.execute(insert(decision_offer_codes), rows)


def find_offer_code(session: Session, code: str) -> Any | None:
    """One offer code row."""
    return session.execute(select(decision_offer_codes).where(
        decision_offer_codes.c.code == code)).first()


def redeem_offer_code(session: Session, code: str, *, at: datetime, order_id: str) -> bool:
    """Mark an unredeemed code as used by an order; False when it was already redeemed."""
    return rowcount(session.execute(update(decision_offer_codes).where(
        decision_offer_codes.c.code == code, decision_offer_codes.c.redeemed_at.is_(None))
        .values(redeemed_at=at, order_id=order_id))) == 1
