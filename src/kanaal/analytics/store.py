"""Experiment tables and queries. Never commits: services own the transaction."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    JSON,
    Column,
    Numeric,
    String,
    Table,
    Text,
    func,
    insert,
    select,
    update,
)
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from kanaal.analytics.domain import Arm, Experiment
from kanaal.core.db import UtcDateTime, metadata
from kanaal.core.errors import NotFound

experiments = Table(
    "analytics_experiments",
    metadata,
    Column("id", String(40), primary_key=True),
    Column("name", String(200), nullable=False),
    Column("target_kind", String(40), nullable=False),
    Column("target_name", String(200), nullable=False),
    Column("arms", JSON, nullable=False),
    Column("metrics", JSON, nullable=False),
    Column("guardrails", JSON, nullable=False),
    Column("salt", String(80), nullable=False),
    Column("status", String(20), nullable=False),
    Column("hypothesis", Text, nullable=False),
    Column("created_at", UtcDateTime(timezone=True), nullable=False),
)

# One row per customer who saw the experiment: the arm is fixed by hashing, stored so that
# results and the sample-ratio check count exposures, not assignments that were never used.
exposures = Table(
    "analytics_experiment_exposures",
    metadata,
    Column("experiment_id", String(40), primary_key=True),
    Column("customer_id", String(64), primary_key=True),
    Column("arm", String(64), nullable=False, index=True),
    Column("exposed_at", UtcDateTime(timezone=True), nullable=False),
)

# A customer's value of one metric over the experiment, merged per MetricSpec.combine.
metric_values = Table(
    "analytics_experiment_values",
    metadata,
    Column("experiment_id", String(40), primary_key=True),
    Column("customer_id", String(64), primary_key=True),
    Column("metric", String(40), primary_key=True),
    Column("value", Numeric(20, 6), nullable=False),
    Column("updated_at", UtcDateTime(timezone=True), nullable=False),
)


def insert_experiment(session: Session, experiment: Experiment) -> None:
    """Store a new experiment definition."""
    session.execute(insert(experiments).values(
        id=experiment.id, name=experiment.name, target_kind=experiment.target_kind,
        target_name=experiment.target_name,
        arms=[{"name": a.name, "weight": str(a.weight)} for a in experiment.arms],
        metrics=list(experiment.metrics), guardrails=list(experiment.guardrails),
        salt=experiment.salt, status=experiment.status, hypothesis=experiment.hypothesis,
        created_at=experiment.created_at,
    ))


def _experiment(row: Any) -> Experiment:
    return Experiment(
        id=row.id, name=row.name, target_kind=row.target_kind, target_name=row.target_name,
        arms=tuple(Arm(a["name"], Decimal(a["weight"])) for a in row.arms),
        metrics=tuple(row.metrics), guardrails=tuple(row.guardrails), salt=row.salt,
        status=row.status, created_at=row.created_at, hypothesis=row.hypothesis,
    )


def get_experiment(session: Session, experiment_id: str) -> Experiment:
    """The experiment, or NotFound `unknown_experiment`."""
    row = session.execute(select(experiments).where(experiments.c.id == experiment_id)).first()
    if row is None:
        raise NotFound(f"no experiment {experiment_id!r}", code="unknown_experiment")
    return _experiment(row)


def list_experiments(session: Session, *, target_kind: str | None = None) -> list[Experiment]:
    """All experiments, newest first, optionally for one target kind."""
    query = select(experiments).order_by(experiments.c.created_at.desc(), experiments.c.id)
    if target_kind is not None:
        query = query.where(experiments.c.target_kind == target_kind)
    return [_experiment(r) for r in session.execute(query)]


def set_status(session: Session, experiment_id: str, status: str) -> None:
    """Change the status of an experiment."""
    session.execute(update(experiments).where(experiments.c.id == experiment_id)
                    .values(status=status))


def stored_arm(session: Session, experiment_id: str, customer_id: str) -> str | None:
    """The arm a customer was exposed to, if any."""
    return session.execute(
        select(exposures.c.arm).where(exposures.c.experiment_id == experiment_id,
                                      exposures.c.customer_id == customer_id)
    ).scalar()


def _insert_if_absent(session: Session, table: Table, **values: Any) -> bool:
    """INSERT ... ON CONFLICT DO NOTHING on the primary key; True when the row was new.

    RETURNING tells the two apart on both dialects (psycopg's rowcount does not).
    """
    dialect = session.get_bind().dialect.name
    insert_of = pg_insert if dialect == "postgresql" else sqlite_insert
    key = next(iter(table.primary_key.columns))
    statement = insert_of(table).values(**values).on_conflict_do_nothing().returning(key)
    return session.execute(statement).first() is not None


def insert_exposure(
    session: Session, experiment_id: str, customer_id: str, arm: str, at: datetime
) -> bool:
    """Record the first exposure of a customer; a concurrent first exposure is not an error."""
    return _insert_if_absent(session, exposures, experiment_id=experiment_id,
                             customer_id=customer_id, arm=arm, exposed_at=at)


def stored_value(
    session: Session, experiment_id: str, customer_id: str, metric: str
) -> Decimal | None:
    """A customer's merged value of one metric, locked for update on PostgreSQL."""
    value = session.execute(
        select(metric_values.c.value).where(
            metric_values.c.experiment_id == experiment_id,
            metric_values.c.customer_id == customer_id,
            metric_values.c.metric == metric,
        ).with_for_update()
    ).scalar()
    return None if value is None else Decimal(value)


def insert_value(
    session: Session, experiment_id: str, customer_id: str, metric: str, value: Decimal,
    at: datetime,
) -> bool:
    """Store a customer's first value of a metric; False when one exists already."""
    return _insert_if_absent(session, metric_values, experiment_id=experiment_id,
                             customer_id=customer_id, metric=metric, value=value, updated_at=at)


def update_value(
    session: Session, experiment_id: str, customer_id: str, metric: str, value: Decimal,
    at: datetime,
) -> None:
    """Replace a customer's merged metric value (read it with stored_value first)."""
    session.execute(update(metric_values).where(
        metric_values.c.experiment_id == experiment_id,
        metric_values.c.customer_id == customer_id,
        metric_values.c.metric == metric,
    ).values(value=value, updated_at=at))


def exposures_per_arm(session: Session, experiment_id: str) -> dict[str, int]:
    """Exposed customers per arm."""
    rows = session.execute(
        select(exposures.c.arm, func.count()).where(exposures.c.experiment_id == experiment_id)
        .group_by(exposures.c.arm)
    )
    return {arm: int(n) for arm, n in rows}


def metric_totals(
    session: Session, experiment_id: str, metrics: Iterable[str]
) -> dict[tuple[str, str], tuple[int, float, float]]:
    """Per (arm, metric): customers with a value, sum and sum of squares, in one query."""
    value = metric_values.c.value
    query = (
        select(exposures.c.arm, metric_values.c.metric, func.count(), func.sum(value),
               func.sum(value * value))
        .select_from(metric_values.join(exposures, (
            (exposures.c.experiment_id == metric_values.c.experiment_id)
            & (exposures.c.customer_id == metric_values.c.customer_id))))
        .where(metric_values.c.experiment_id == experiment_id,
               metric_values.c.metric.in_(list(metrics)))
        .group_by(exposures.c.arm, metric_values.c.metric)
    )
    return {
        (arm, metric): (int(n), float(total or 0), float(squares or 0))
        for arm, metric, n, total, squares in session.execute(query)
    }
