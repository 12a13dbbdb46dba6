"""Normalising raw identity values: trimmed ids, lower-cased emails, E.164 phone numbers."""

from __future__ import annotations

from functools import lru_cache
from typing import Any

import phonenumbers

from kanaal.customers.domain import (
    EMAIL,
    MAX_IDENTITY_LENGTH,
    PHONE,
    Identity,
    IdentityRules,
    valid_identity_type,
)


@lru_cache(maxsize=65_536)
def e164(raw: str, region: str) -> str | None:
    """The number in E.164 (`+31612345678`), or None when it is not a valid phone number."""
    try:
        number = phonenumbers.parse(raw, region)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_valid_number(number):
        return None
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def normalize_value(identity_type: str, raw: Any, *, region: str) -> str | None:
    """The canonical value for an identity type, or None when the value is not usable."""
    if isinstance(raw, bool) or raw is None:
        return None
    if isinstance(raw, int | float):
        raw = str(int(raw)) if float(raw).is_integer() else str(raw)
    if not isinstance(raw, str):
        return None
    value = raw.strip()
    if identity_type == EMAIL:
        value = value.lower()
        local, at, domain = value.partition("@")
        if not at or not local or "." not in domain or " " in value:
            return None
    elif identity_type == PHONE:
        return e164(value, region) if value else None
    if not value or len(value) > MAX_IDENTITY_LENGTH:
        return None
    return value


def make_identity(
    identity_type: str, raw: Any, *, rules: IdentityRules, region: str
) -> Identity | None:
    """A normalised identity, or None when the type is malformed or the value blocked/invalid."""
    if not valid_identity_type(identity_type):
        return None
    value = normalize_value(identity_type, raw, region=region)
    if value is None or rules.is_blocked(value):
        return None
    return Identity(identity_type, value)
