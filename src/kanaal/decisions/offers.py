"""Personal offer codes: issued with an offer decision, validated and redeemed by checkout."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from sqlalchemy.orm import Session

from kanaal.core.context import AppContext
from kanaal.core.errors import Conflict, InvalidInput, NotFound
from kanaal.core.money import quantize
from kanaal.decisions import store
from kanaal.decisions.domain import DecisionContext

_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O or 1/I to misread


@dataclass(frozen=True, slots=True)
class OfferCode:
    """A valid personal offer: the discount checkout applies."""

    code: str
    decision_id: str
    customer_id: str | None
    discount_percent: Decimal
    quote: Decimal | None
    currency: str
    expires_at: datetime


def new_code() -> str:
    """A 10-character code, e.g. `KN7Q4MX2PA` (50 random bits)."""
    return "K" + "".join(secrets.choice(_ALPHABET) for _ in range(9))


def offer_code_row(ctx: AppContext, *, decision_id: str, customer_id: str | None,
                   dctx: DecisionContext, share: float, ttl: timedelta) -> dict[str, object]:
    """A new personal offer code for an offer decision, as the row the decision log writes."""
    follow = dctx.follow_up
    percent = Decimal(str(follow.discount_percent)) if follow and follow.discount_percent \
        is not None else Decimal(str(share * 100))
    quote = quantize(Decimal(str(follow.quote))) if follow and follow.quote is not None else None
    note = (f"follow-up of a {follow.interaction} on {follow.at:%Y-%m-%d}" if follow
            else "personal offer")
    now = ctx.clock.now()
    code = new_code()
    return {"code": code, "decision_id": decision_id, "customer_id": customer_id,
            "discount_percent": percent.quantize(Decimal("0.01")), "quote": quote,
            "currency": dctx.currency, "note": note, "created_at": now, "expires_at": now + ttl,
            "redeemed_at": None, "order_id": None}


def validate_offer_code(session: Session, ctx: AppContext, code: str, *,
                        customer_id: str | None = None) -> OfferCode:
    """The offer behind a code, if it may be used now by this customer (checkout calls this)."""
    row = store.find_offer_code(session, code.strip().upper())
    if row is None:
        raise NotFound("unknown offer code", code="unknown_offer_code")
    if row.redeemed_at is not None:
        raise Conflict("this offer code was already used", code="offer_code_redeemed")
    if row.expires_at <= ctx.clock.now():
        raise InvalidInput("this offer code has expired", code="offer_code_expired")
    if row.customer_id is not None and customer_id is not None and row.customer_id != (
            customer_id):
        raise InvalidInput("this offer code belongs to another customer",
                           code="offer_code_not_yours")
    return OfferCode(code=row.code, decision_id=row.decision_id, customer_id=row.customer_id,
                     discount_percent=Decimal(row.discount_percent),
                     quote=None if row.quote is None else Decimal(row.quote),
                     currency=row.currency, expires_at=row.expires_at)


def redeem_offer_code_in(session: Session, ctx: AppContext, code: str, *, order_id: str,
                         customer_id: str | None = None) -> OfferCode:
    """Validate and mark a code as used by `order_id`, in the caller's transaction."""
    offer = validate_offer_code(session, ctx, code, customer_id=customer_id)
    if not store.redeem_offer_code(session, offer.code, at=ctx.clock.now(), order_id=order_id):
        raise Conflict("this offer code was already used", code="offer_code_redeemed")
    return offer
