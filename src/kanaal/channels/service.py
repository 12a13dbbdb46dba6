"""Channel use cases: create, read, change. Other features call `get_channel_in`."""

from __future__ import annotations

import dataclasses
import importlib
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from kanaal.channels import store
from kanaal.channels.domain import (
    Channel,
    parse_kind,
    parse_strategy,
    validate_channel,
)
from kanaal.core.context import AppContext
from kanaal.core.errors import Conflict, InvalidInput, NotFound
from kanaal.core.outbox import publish_event

# Fields a PATCH may change; the kind and id of a channel are fixed once created.
CHANGEABLE = frozenset({"handle", "name", "currency", "price_list_id", "location_ids",
                        "allocation_strategy", "stock_buffer", "quota"})


def get_channel_in(session: Session, id_or_handle: str) -> Channel:
    """The channel with this id or handle; NotFound code unknown_channel otherwise."""
    channel = store.find_channel(session, id_or_handle)
    if channel is None:
        raise NotFound(f"no channel {id_or_handle!r}", code="unknown_channel")
    return channel


def _check_locations(session: Session, location_ids: tuple[str, ...]) -> None:
    """Refuse location ids inventory does not know (skipped while inventory is not installed)."""
    try:
        inventory = importlib.import_module("kanaal.inventory.service")
    except ImportError:
        return
    get_location_in = getattr(inventory, "get_location_in", None)
    if get_location_in is None:
        return
    for location_id in location_ids:
        try:
            get_location_in(session, location_id)
        except NotFound as exc:
            raise InvalidInput(f"no location {location_id!r}", code="unknown_location",
                               details=[{"loc": ["location_ids"], "message": location_id}]) from exc


def _check_price_list(session: Session, channel: Channel) -> None:
    """The channel's price list must exist and be in the channel's currency."""
    if channel.price_list_id is None:
        return
    from kanaal.catalog.service import price_list_currency_in

    currency = price_list_currency_in(session, channel.price_list_id)
    if currency != channel.currency:
        raise InvalidInput(
            f"price list {channel.price_list_id} is in {currency}, the channel in "
            f"{channel.currency}", code="currency_mismatch",
        )


def _check_listings(session: Session, channel: Channel) -> None:
    """A channel with listings keeps its currency: their prices are in it."""
    from kanaal.catalog.service import listing_currencies_in

    others = listing_currencies_in(session, channel.id) - {channel.currency}
    if others:
        raise Conflict(f"the channel has listings priced in {sorted(others)[0]}; change them "
                       "before the channel's currency", code="currency_mismatch")


def _checked(session: Session, channel: Channel, *, except_id: str | None) -> Channel:
    validate_channel(channel)
    if store.handle_taken(session, channel.handle, except_id=except_id):
        raise Conflict(f"a channel with handle {channel.handle!r} exists", code="duplicate_channel")
    _check_locations(session, channel.location_ids)
    _check_price_list(session, channel)
    return channel


def create_channel(ctx: AppContext, fields: dict[str, Any]) -> Channel:
    """Create a channel from plain fields (handle, name, kind, currency, ...)."""
    channel = Channel(
        id=ctx.ids.new("chn"),
        handle=fields["handle"],
        name=fields["name"],
        kind=parse_kind(fields["kind"]),
        currency=fields["currency"],
        price_list_id=fields.get("price_list_id"),
        location_ids=tuple(fields.get("location_ids") or ()),
        allocation_strategy=parse_strategy(fields.get("allocation_strategy") or "priority"),
        stock_buffer=fields.get("stock_buffer") or 0,
        quota=fields.get("quota"),
    )
    try:
        with ctx.db.transaction() as session:
            _checked(session, channel, except_id=None)
            store.insert_channel(session, channel, ctx.clock.now())
            publish_event(session, ids=ctx.ids, clock=ctx.clock, topic="channel.created",
                          data={"id": channel.id, "handle": channel.handle,
                                "kind": channel.kind.value})
    except IntegrityError as exc:
        # Another request took the handle between our check and our insert.
        raise Conflict(f"a channel with handle {channel.handle!r} exists",
                       code="duplicate_channel") from exc
    return channel


def change_channel(ctx: AppContext, id_or_handle: str, changes: dict[str, Any]) -> Channel:
    """Apply a partial change; absent fields keep their value, null clears optional ones."""
    unknown = set(changes) - CHANGEABLE
    if unknown:
        raise InvalidInput(f"cannot change {sorted(unknown)}", code="invalid_channel")
    try:
        with ctx.db.transaction() as session:
            return _change(session, ctx, id_or_handle, dict(changes))
    except IntegrityError as exc:
        raise Conflict("another channel took that handle meanwhile",
                       code="duplicate_channel") from exc


def _change(session: Session, ctx: AppContext, id_or_handle: str,
            values: dict[str, Any]) -> Channel:
    current = store.find_channel(session, id_or_handle, for_update=True)
    if current is None:
        raise NotFound(f"no channel {id_or_handle!r}", code="unknown_channel")
    for required in ("handle", "name", "currency", "location_ids", "allocation_strategy",
                     "stock_buffer"):
        if required in values and values[required] is None:
            raise InvalidInput(f"{required} cannot be null", code="invalid_channel")
    if "allocation_strategy" in values:
        values["allocation_strategy"] = parse_strategy(values["allocation_strategy"])
    if "location_ids" in values:
        values["location_ids"] = tuple(values["location_ids"])
    channel = dataclasses.replace(current, **values)
    _checked(session, channel, except_id=current.id)
    _check_listings(session, channel)
    store.update_channel(session, channel, ctx.clock.now())
    publish_event(session, ids=ctx.ids, clock=ctx.clock, topic="channel.changed",
                  data={"id": channel.id, "handle": channel.handle, "changed": sorted(values)})
    return channel


def get_channel(ctx: AppContext, id_or_handle: str) -> Channel:
    """Read one channel by id or handle."""
    with ctx.db.reader() as session:
        return get_channel_in(session, id_or_handle)


def list_channels(ctx: AppContext) -> list[Channel]:
    """Every channel, ordered by handle."""
    with ctx.db.reader() as session:
        return store.all_channels(session)
