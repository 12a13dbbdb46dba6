"""Customer API (secret keys): lookup by identity, profile, timeline, erasure."""

from __future__ import annotations

from dataclasses import asdict
from typing import Annotated

from fastapi import APIRouter, Query

from kanaal.core.errors import InvalidInput
from kanaal.core.http import AdminKey, Ctx, ReadKey
from kanaal.customers import service
from kanaal.customers.schemas import CustomerOut, ErasedOut, TimelineOut

router = APIRouter(prefix="/v1/customers", tags=["customers"])
Text = Annotated[str | None, Query(max_length=255)]


@router.get("", response_model=CustomerOut)
def lookup(
    ctx: Ctx, _key: ReadKey, email: Text = None, phone: Text = None, user_id: Text = None,
    anonymous_id: Text = None, device_id: Text = None, loyalty_card: Text = None,
) -> CustomerOut:
    """The customer holding exactly one given identity (email and phone are normalised)."""
    given = {k: v for k, v in {"email": email, "phone": phone, "user_id": user_id,
                               "anonymous_id": anonymous_id, "device_id": device_id,
                               "loyalty_card": loyalty_card}.items() if v is not None}
    if len(given) != 1:
        raise InvalidInput("give exactly one of email, phone, user_id, anonymous_id, device_id, "
                           "loyalty_card", code="invalid_query")
    [(identity_type, value)] = given.items()
    customer_id = service.lookup_customer(ctx, identity_type, value)
    return CustomerOut.model_validate(asdict(service.get_profile(ctx, customer_id)))


@router.get("/{customer_id}", response_model=CustomerOut)
def get_customer(customer_id: str, ctx: Ctx, _key: ReadKey) -> CustomerOut:
    """Identities, traits (source, last update), first/last seen, channels used."""
    return CustomerOut.model_validate(asdict(service.get_profile(ctx, customer_id)))


@router.get("/{customer_id}/timeline", response_model=TimelineOut)
def get_timeline(
    customer_id: str, ctx: Ctx, _key: ReadKey, channel: Text = None,
    limit: Annotated[int, Query(ge=1, le=service.MAX_TIMELINE_LIMIT)] = 50,
    cursor: Annotated[str | None, Query(max_length=400)] = None,
) -> TimelineOut:
    """Every event across channels, newest first, cursor paginated."""
    events, next_cursor = service.timeline(ctx, customer_id, limit=limit, channel=channel,
                                           cursor=cursor)
    return TimelineOut.model_validate({"events": events, "next_cursor": next_cursor})


@router.delete("/{customer_id}", response_model=ErasedOut)
def erase(customer_id: str, ctx: Ctx, _key: AdminKey) -> ErasedOut:
    """Erase identities, traits and events; erased identities stay suppressed until consent."""
    suppressed = service.erase_customer(ctx, customer_id)
    return ErasedOut(id=customer_id, erased=True, suppressed_identities=suppressed)
