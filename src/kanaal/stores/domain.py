"""Pure rules of QR codes and store presence: tokens, expiry, consent, links, sheet layout."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import urlencode

from kanaal.core.errors import DomainError, Forbidden, InvalidInput, NotFound

TOKEN_RE = re.compile(r"^[A-Za-z0-9_-]{6,32}$")
AID_RE = re.compile(r"^[A-Za-z0-9._:-]{1,100}$")
# The first-party anonymous id cookie, the same name the web SDK (kanaal.js) uses.
AID_COOKIE = "kanaal_aid"
AID_MAX_AGE = 365 * 86400
PRESENCE_EVENTS = ("Store Entered", "Store Left")
PRESENCE_SOURCES = ("app", "wifi_portal")
SCAN_EVENT = "QR Code Scanned"
ONLINE_CHANNELS = ("web", "mobile", "shop_in_shop")


class QrTokenExpired(DomainError):
    """The QR code was valid once but has expired (HTTP 410)."""

    code = "expired_qr_token"
    status = 410


@dataclass(frozen=True, slots=True)
class QrCode:
    """A printed code for one product in one store."""

    token: str
    sku: str
    store_id: str
    label: str
    created_at: datetime
    expires_at: datetime | None


def check_token_shape(token: str) -> str:
    """A token as it may appear in a short link (NotFound `unknown_qr_token` otherwise)."""
    if not TOKEN_RE.match(token):
        raise NotFound("no such QR code", code="unknown_qr_token")
    return token


def check_usable(code: QrCode | None, now: datetime) -> QrCode:
    """The code if it exists and has not expired."""
    if code is None:
        raise NotFound("no such QR code", code="unknown_qr_token")
    if code.expires_at is not None and code.expires_at <= now:
        raise QrTokenExpired(f"this QR code expired at {code.expires_at.isoformat()}")
    return code


def short_link(base_url: str, token: str) -> str:
    """The URL a QR code encodes."""
    return f"{base_url.rstrip('/')}/q/{token}"


def product_page_path(sku: str, store_id: str, scan_id: str) -> str:
    """The mobile product page with the store (and the scan, for the engine's action)."""
    return f"/m/p/{sku}?" + urlencode({"store": store_id, "scan": scan_id})


def cookie_anonymous_id(raw: str | None) -> str | None:
    """The visitor's anonymous id from the cookie, when it looks like one."""
    if raw and AID_RE.match(raw):
        return raw
    return None


def has_tracking_consent(traits: dict[str, Any], explicit: bool | None) -> bool:
    """Consent to location tracking: an explicit flag wins, else traits.consent.tracking."""
    if explicit is not None:
        return explicit
    consent = traits.get("consent")
    return isinstance(consent, dict) and consent.get("tracking") is True


def check_presence(event: str, source: str, consent: bool) -> None:
    """Refuse presence events that are not known or come without the customer's consent."""
    if event not in PRESENCE_EVENTS:
        raise InvalidInput(f"event must be one of {', '.join(PRESENCE_EVENTS)}",
                           code="invalid_presence_event")
    if source not in PRESENCE_SOURCES:
        raise InvalidInput(f"source must be one of {', '.join(PRESENCE_SOURCES)}",
                           code="invalid_presence_source")
    if not consent:
        raise Forbidden("the customer has not consented to location tracking "
                        "(traits.consent.tracking or consent: true)", code="consent_required")


def last_viewed_online(events: list[dict[str, Any]], *, since: datetime) -> str | None:
    """The sku of the newest "Product Viewed" online (web, mobile, shop-in-shop) since `since`."""
    for event in sorted(events, key=lambda e: e["timestamp"], reverse=True):
        props = event.get("properties") or {}
        sku = props.get("sku") or props.get("product_id")
        if (event.get("event") == "Product Viewed" and event["timestamp"] >= since
                and event.get("channel") in ONLINE_CHANNELS and sku):
            return str(sku)
    return None


def sheet_cells(count: int, *, columns: int, rows: int) -> list[tuple[int, int, int]]:
    """(page, column, row) of each code on an A4 sheet grid, filled row by row."""
    per_page = columns * rows
    return [(n // per_page, (n % per_page) % columns, (n % per_page) // columns)
            for n in range(count)]
