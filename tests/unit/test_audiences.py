"""Hashed ad-platform audiences follow each platform's normalisation rules."""

from __future__ import annotations

import csv
import hashlib
import io

import pytest

from kanaal.marketing.audiences import (
    Contact,
    Platform,
    audience_csv,
    hashed_row,
    normalise_email,
    normalise_name,
    normalise_phone,
    normalise_zip,
)


def sha(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


@pytest.mark.parametrize(
    ("raw", "google", "meta"),
    [
        ("  Ann.Smith@Example.COM ", "ann.smith@example.com", "ann.smith@example.com"),
        ("Ann.Smith@Gmail.com", "annsmith@gmail.com", "ann.smith@gmail.com"),
        ("a.b.c@googlemail.com", "abc@googlemail.com", "a.b.c@googlemail.com"),
        ("ann smith@example.com", "annsmith@example.com", "annsmith@example.com"),
        ("not-an-email", None, None),
        ("", None, None),
    ],
)
def test_email_normalisation_per_platform(raw: str, google: str | None, meta: str | None) -> None:
    assert normalise_email(raw, Platform.GOOGLE) == google
    assert normalise_email(raw, Platform.META) == meta


@pytest.mark.parametrize(
    ("raw", "google", "meta"),
    [
        ("06 12 34 56 78", "+31612345678", "31612345678"),
        ("+31 (0)6-1234 5678", "+31612345678", "31612345678"),
        ("0031612345678", "+31612345678", "31612345678"),
        ("+1 (650) 253-0000", "+16502530000", "16502530000"),
        ("12345", None, None),
        ("call me", None, None),
    ],
)
def test_phone_normalisation_per_platform(raw: str, google: str | None, meta: str | None) -> None:
    assert normalise_phone(raw, Platform.GOOGLE, region="NL") == google
    assert normalise_phone(raw, Platform.META, region="NL") == meta


def test_names_and_zip_codes() -> None:
    assert normalise_name("  Anne Marie ", Platform.GOOGLE) == "annemarie"
    assert normalise_name("O'Brien-Smith", Platform.META) == "obriensmith"
    assert normalise_name("Zoë", Platform.META) == "zoë"
    assert normalise_zip(" 1012 AB ") == "1012ab"


def test_google_row_hashes_contact_fields_and_keeps_country_and_zip_clear() -> None:
    row = hashed_row(
        Contact("Ann@Gmail.com", "0612345678", "Ann", "Smith", "nl", "1012 AB"), Platform.GOOGLE
    )
    assert row == [sha("ann@gmail.com"), sha("+31612345678"), sha("ann"), sha("smith"), "NL",
                   "1012ab"]


def test_meta_row_hashes_every_field() -> None:
    row = hashed_row(Contact(email="X@Y.com", country="NL"), Platform.META)
    assert row == [sha("x@y.com"), "", "", "", sha("nl"), ""]


def test_contacts_without_a_matchable_identifier_are_left_out() -> None:
    assert hashed_row(Contact(first_name="Ann"), Platform.GOOGLE) is None
    assert hashed_row(Contact(email="bad", phone="1"), Platform.META) is None


def test_csv_has_the_platform_header_and_no_duplicate_rows() -> None:
    text = audience_csv(
        [Contact(email="a@b.nl"), Contact(email=" A@B.NL"), Contact(first_name="x")],
        Platform.GOOGLE,
    )
    rows = list(csv.reader(io.StringIO(text)))
    assert rows[0] == ["Email", "Phone", "First Name", "Last Name", "Country", "Zip"]
    assert rows[1:] == [[sha("a@b.nl"), "", "", "", "", ""]]
    meta = list(csv.reader(io.StringIO(audience_csv([Contact(phone="+31612345678")],
                                                    Platform.META))))
    assert meta == [["email", "phone", "fn", "ln", "country", "zip"],
                    ["", sha("31612345678"), "", "", "", ""]]
