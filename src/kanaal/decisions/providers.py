"""The engine's inputs from other features, behind small protocols with the real adapters."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime
from decimal import Decimal
from typing import Any, Protocol

from sqlalchemy.orm import Session

from kanaal.core.context import AppContext
from kanaal.core.errors import DomainError
from kanaal.decisions.capacity_price import view_from
from kanaal.decisions.domain import QueueView

log = logging.getLogger(__name__)


class CapacityReader(Protocol):
    """Live capacity per queue name."""

    def snapshot(self, ctx: AppContext) -> dict[str, QueueView]:
        """The current capacity of every queue."""
        ...


class MarginReader(Protocol):
    """Unit margins from the catalog."""

    def unit_margin(self, session: Callable[[], Session], ctx: AppContext, *, channel: str,
                    sku: str, quantity: int) -> tuple[Decimal, str] | None:
        """(margin per unit, currency) of a SKU on a decision channel, or None if unknown;
        `session()` opens the read session only if the reader needs one."""
        ...


class HistoryReader(Protocol):
    """Customer identities and timelines."""

    def customer_id(self, session: Session, identity_type: str, value: str) -> str | None:
        """The customer an identity points at."""
        ...

    def events(self, session: Session, customer_id: str, since: datetime) -> list[dict[str, Any]]:
        """The customer's events since `since`, newest first."""
        ...


class ContactCenterCapacity:
    """Reads kanaal.contact_center's live capacity snapshot.

    The contact center hands every caller the same snapshot dict until the next change, so
    the engine's views are converted once per snapshot, not once per decision: exact, no
    added staleness.
    """

    def __init__(self) -> None:
        self._converted: tuple[object, dict[str, QueueView]] | None = None

    def snapshot(self, ctx: AppContext) -> dict[str, QueueView]:
        """The contact center's queues as the engine sees them."""
        from kanaal.contact_center.service import capacity_snapshot

        source = capacity_snapshot(ctx)
        converted = self._converted
        if converted is not None and converted[0] is source:
            return converted[1]
        views = {name: view_from(cap) for name, cap in source.items()}
        self._converted = (source, views)
        return views


class CatalogMargins:
    """Unit margins from kanaal.catalog on the channel configured per decision channel."""

    def unit_margin(self, session: Callable[[], Session], ctx: AppContext, *, channel: str,
                    sku: str, quantity: int) -> tuple[Decimal, str] | None:
        """Price minus cost on the configured channel, or None when the catalog cannot say."""
        handle = (ctx.param("decisions.channel_handles", {}) or {}).get(channel)
        if handle is None:
            return None
        from kanaal.catalog.service import unit_margin_in
        from kanaal.channels.service import get_channel_in

        read = session()
        try:
            margin = unit_margin_in(read, channel=get_channel_in(read, handle), sku=sku,
                                    quantity=quantity)
        except DomainError as exc:
            log.debug("no catalog margin for %s on %s: %s", sku, handle, exc.code)
            return None
        return margin.amount, margin.currency


class CustomerHistory:
    """Identities and timelines from kanaal.customers."""

    def customer_id(self, session: Session, identity_type: str, value: str) -> str | None:
        """The surviving customer an identity points at."""
        from kanaal.customers.service import find_customer_id

        return find_customer_id(session, identity_type, value)

    def events(self, session: Session, customer_id: str, since: datetime) -> list[dict[str, Any]]:
        """Up to 50 events since `since`, newest first."""
        from kanaal.customers.service import recent_events

        return recent_events(session, customer_id, limit=50, since=since)


_CATALOG = CatalogMargins()
_CUSTOMERS = CustomerHistory()


_CAPACITY_KEY = "decisions.real_capacity"


def readers(ctx: AppContext) -> tuple[CapacityReader, MarginReader, HistoryReader]:
    """The readers in use: ctx.state overrides (tests, simulations) or the real adapters."""
    state = ctx.state
    capacity = state.get("decisions.capacity")
    if capacity is None:
        capacity = state.get(_CAPACITY_KEY)
        if capacity is None:
            capacity = state.setdefault(_CAPACITY_KEY, ContactCenterCapacity())
    return (capacity,
            state.get("decisions.margins") or _CATALOG,
            state.get("decisions.history") or _CUSTOMERS)
