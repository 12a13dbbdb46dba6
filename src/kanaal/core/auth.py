"""Credentials: write keys for event sources, secret API keys with scopes. Pure rules."""

from __future__ import annotations

import base64
import binascii
import hashlib
import secrets
from dataclasses import dataclass, field
from enum import StrEnum

from kanaal.core.errors import Forbidden, InvalidInput, Unauthenticated


class SourceKind(StrEnum):
    """Where events come from; each source has its own write key."""

    WEB = "web"
    MOBILE = "mobile"
    SERVER = "server"
    POS = "pos"
    CONTACT_CENTER = "contact_center"
    PARTNER = "partner"
    PUBLISHER = "publisher"


class ChannelKind(StrEnum):
    """The sales/contact channel kinds of DESIGN.md's glossary."""

    WEB = "web"
    MOBILE = "mobile"
    STORE = "store"
    PHONE = "phone"
    CHAT = "chat"
    PUBLISHER = "publisher"
    MARKETPLACE = "marketplace"
    SOCIAL = "social"
    B2B = "b2b"
    SHOP_IN_SHOP = "shop_in_shop"
    EMAIL = "email"
    SMS = "sms"
    # Kanaal's own bookkeeping events (segment entry and exit): not a sales channel.
    SYSTEM = "system"


# The channel an event is tagged with when `context.channel` does not say otherwise.
DEFAULT_CHANNEL: dict[SourceKind, ChannelKind] = {
    SourceKind.WEB: ChannelKind.WEB,
    SourceKind.MOBILE: ChannelKind.MOBILE,
    SourceKind.SERVER: ChannelKind.WEB,
    SourceKind.POS: ChannelKind.STORE,
    SourceKind.CONTACT_CENTER: ChannelKind.PHONE,
    SourceKind.PARTNER: ChannelKind.SHOP_IN_SHOP,
    SourceKind.PUBLISHER: ChannelKind.PUBLISHER,
}


class KeyKind(StrEnum):
    """A write key is public (it sits in a web page); a secret key is for servers."""

    WRITE = "write"
    SECRET = "secret"


class Scope(StrEnum):
    """What a secret key may do; admin implies write implies read."""

    READ = "read"
    WRITE = "write"
    ADMIN = "admin"


_IMPLIED: dict[Scope, frozenset[Scope]] = {
    Scope.READ: frozenset({Scope.READ}),
    Scope.WRITE: frozenset({Scope.READ, Scope.WRITE}),
    Scope.ADMIN: frozenset({Scope.READ, Scope.WRITE, Scope.ADMIN}),
}

_PREFIX = {KeyKind.WRITE: "wk", KeyKind.SECRET: "sk"}


@dataclass(frozen=True, slots=True)
class Principal:
    """Who is calling: the key's id, its source, kind and scopes. Never holds the key."""

    key_id: str
    source_id: str
    source_name: str
    source_kind: SourceKind
    key_kind: KeyKind
    scopes: frozenset[Scope] = field(default_factory=frozenset)

    @property
    def default_channel(self) -> ChannelKind:
        """The channel events from this source are tagged with by default."""
        return DEFAULT_CHANNEL[self.source_kind]

    def require(self, scope: Scope) -> None:
        """Raise Forbidden unless this principal holds `scope` (write keys hold none)."""
        if self.key_kind is not KeyKind.SECRET:
            raise Forbidden("this endpoint needs a secret API key", code="secret_key_required")
        granted: set[Scope] = set()
        for held in self.scopes:
            granted |= _IMPLIED[held]
        if scope not in granted:
            raise Forbidden(f"this key lacks the {scope.value!r} scope", code="missing_scope")


def generate_key(kind: KeyKind) -> str:
    """A new random key: `wk_` or `sk_` followed by 40 url-safe characters."""
    return f"{_PREFIX[kind]}_{secrets.token_urlsafe(30)}"


def hash_key(raw: str) -> str:
    """SHA-256 of the key. Keys are 240 random bits, so a fast hash is safe to store."""
    return hashlib.sha256(raw.encode("utf-8")).hexdigest()


def key_display_prefix(raw: str) -> str:
    """The first characters of a key, safe to show and log to tell keys apart."""
    return raw[:10]


def parse_scopes(values: list[str] | tuple[str, ...]) -> frozenset[Scope]:
    """Parse scope names, refusing unknown ones."""
    try:
        return frozenset(Scope(value) for value in values)
    except ValueError as exc:
        raise InvalidInput(
            f"unknown scope in {list(values)}; use read, write or admin", code="invalid_scope"
        ) from exc


def key_from_basic(header_value: str) -> str:
    """The write key from an HTTP Basic header: the username, with or without a colon."""
    scheme, _, encoded = header_value.partition(" ")
    if scheme.lower() != "basic" or not encoded:
        raise Unauthenticated("expected HTTP Basic credentials", code="invalid_credentials")
    try:
        decoded = base64.b64decode(encoded.strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError) as exc:
        raise Unauthenticated("malformed Basic credentials", code="invalid_credentials") from exc
    username = decoded.split(":", 1)[0]
    if not username:
        raise Unauthenticated("the write key is empty", code="invalid_credentials")
    return username


def key_from_bearer(header_value: str) -> str:
    """The key from an `Authorization: Bearer KEY` header."""
    scheme, _, token = header_value.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthenticated("expected `Authorization: Bearer <key>`", code="invalid_credentials")
    return token.strip()
