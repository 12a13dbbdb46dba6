"""Ad-platform customer lists: normalise and SHA-256 hash identifiers the way each platform
matches them (Google Customer Match, Meta Custom Audiences). Pure rules."""

from __future__ import annotations

import csv
import hashlib
import io
import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum

import phonenumbers

_GMAIL_DOMAINS = {"gmail.com", "googlemail.com"}
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


class Platform(StrEnum):
    """Where the list is uploaded."""

    GOOGLE = "google"
    META = "meta"


@dataclass(frozen=True, slots=True)
class Contact:
    """The identifiers of one customer that an audience may carry (any may be missing)."""

    email: str | None = None
    phone: str | None = None
    first_name: str | None = None
    last_name: str | None = None
    country: str | None = None
    zip_code: str | None = None


def sha256_hex(value: str) -> str:
    """Lower-case hex SHA-256 of the UTF-8 value."""
    return hashlib.sha256(value.encode("utf-8")).hexdigest()


def normalise_email(raw: str | None, platform: Platform) -> str | None:
    """Trim and lower-case; Google also drops dots before @gmail.com / @googlemail.com."""
    if raw is None:
        return None
    email = "".join(raw.split()).lower()
    if not _EMAIL.match(email):
        return None
    local, _, domain = email.rpartition("@")
    if platform is Platform.GOOGLE and domain in _GMAIL_DOMAINS:
        local = local.replace(".", "")
    return f"{local}@{domain}"


def normalise_phone(raw: str | None, platform: Platform, *, region: str = "NL") -> str | None:
    """E.164 for Google (`+31612345678`); digits with country code, no `+`, for Meta."""
    if raw is None or not raw.strip():
        return None
    try:
        parsed = phonenumbers.parse(raw, region)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_valid_number(parsed):
        return None
    e164 = phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)
    return e164 if platform is Platform.GOOGLE else e164.lstrip("+")


def normalise_name(raw: str | None, platform: Platform) -> str | None:
    """Lower-case without spaces; Meta also strips punctuation (keeps letters, UTF-8 allowed)."""
    if raw is None:
        return None
    name = unicodedata.normalize("NFC", "".join(raw.split()).lower())
    if platform is Platform.META:
        name = "".join(ch for ch in name if ch.isalpha())
    return name or None


def normalise_country(raw: str | None) -> str | None:
    """Two-letter ISO 3166 code, upper case for Google and lower case for Meta callers."""
    if raw is None:
        return None
    code = raw.strip()
    return code.upper() if len(code) == 2 and code.isalpha() else None


def normalise_zip(raw: str | None) -> str | None:
    """Postal code without spaces, lower-cased (`1012 AB` → `1012ab`)."""
    if raw is None:
        return None
    value = "".join(raw.split()).lower()
    return value or None


GOOGLE_COLUMNS = ("Email", "Phone", "First Name", "Last Name", "Country", "Zip")
META_COLUMNS = ("email", "phone", "fn", "ln", "country", "zip")


def hashed_row(contact: Contact, platform: Platform, *, region: str = "NL") -> list[str] | None:
    """One CSV row of hashed identifiers; None when nothing matchable is left."""
    email = normalise_email(contact.email, platform)
    phone = normalise_phone(contact.phone, platform, region=region)
    first = normalise_name(contact.first_name, platform)
    last = normalise_name(contact.last_name, platform)
    country = normalise_country(contact.country)
    zip_code = normalise_zip(contact.zip_code)
    if not (email or phone or (first and last and country and zip_code)):
        return None

    def h(value: str | None) -> str:
        return sha256_hex(value) if value else ""

    if platform is Platform.GOOGLE:
        # Google takes country and zip in clear text; names, email and phone hashed.
        return [h(email), h(phone), h(first), h(last), country or "", zip_code or ""]
    # Meta asks for every field hashed, country as lower-case ISO code.
    return [
        h(email), h(phone), h(first), h(last), h(country.lower() if country else None), h(zip_code)
    ]


def audience_csv(contacts: Iterable[Contact], platform: Platform, *, region: str = "NL") -> str:
    """The whole upload file: header, then one row per matchable contact (duplicates dropped)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(GOOGLE_COLUMNS if platform is Platform.GOOGLE else META_COLUMNS)
    seen: set[tuple[str, ...]] = set()
    for contact in contacts:
        row = hashed_row(contact, platform, region=region)
        if row is None or tuple(row) in seen:
            continue
        seen.add(tuple(row))
        writer.writerow(row)
    return out.getvalue()
