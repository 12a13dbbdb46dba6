"""Rules in kanaal.core: keys, scopes, money, clocks, token buckets."""

from __future__ import annotations

import base64
from datetime import timedelta
from decimal import Decimal

import pytest

from kanaal.core.auth import (
    KeyKind,
    Principal,
    Scope,
    SourceKind,
    generate_key,
    hash_key,
    key_from_basic,
    key_from_bearer,
    parse_scopes,
)
from kanaal.core.clock import ManualClock
from kanaal.core.errors import Forbidden, InvalidInput, Unauthenticated
from kanaal.core.live import MemoryLiveStore
from kanaal.core.logs import redact
from kanaal.core.money import Money, to_decimal


def _basic(text: str) -> str:
    return "Basic " + base64.b64encode(text.encode()).decode()


def test_basic_auth_takes_the_username_with_or_without_colon() -> None:
    assert key_from_basic(_basic("wk_abc:")) == "wk_abc"
    assert key_from_basic(_basic("wk_abc")) == "wk_abc"
    assert key_from_basic(_basic("wk_abc:ignored-password")) == "wk_abc"


@pytest.mark.parametrize("header", ["Basic !!!", "Basic ", "Bearer x", _basic(":pw")])
def test_malformed_basic_auth_is_unauthenticated(header: str) -> None:
    with pytest.raises(Unauthenticated):
        key_from_basic(header)


def test_bearer_header_yields_the_key() -> None:
    assert key_from_bearer("Bearer sk_123") == "sk_123"
    with pytest.raises(Unauthenticated):
        key_from_bearer("Token sk_123")


def test_generated_keys_are_unique_prefixed_and_hashed_stably() -> None:
    first, second = generate_key(KeyKind.WRITE), generate_key(KeyKind.SECRET)
    assert first.startswith("wk_") and second.startswith("sk_")
    assert first != generate_key(KeyKind.WRITE)
    assert hash_key(first) == hash_key(first) and hash_key(first) != hash_key(second)
    assert first not in hash_key(first)


def _principal(kind: KeyKind, scopes: set[Scope]) -> Principal:
    return Principal("key_1", "src_1", "ops", SourceKind.SERVER, kind, frozenset(scopes))


def test_admin_scope_implies_write_and_read() -> None:
    admin = _principal(KeyKind.SECRET, {Scope.ADMIN})
    for scope in Scope:
        admin.require(scope)


def test_read_scope_does_not_allow_write() -> None:
    with pytest.raises(Forbidden) as err:
        _principal(KeyKind.SECRET, {Scope.READ}).require(Scope.WRITE)
    assert err.value.code == "missing_scope"


def test_write_keys_never_pass_a_scope_check() -> None:
    with pytest.raises(Forbidden) as err:
        _principal(KeyKind.WRITE, set()).require(Scope.READ)
    assert err.value.code == "secret_key_required"


def test_unknown_scope_is_rejected() -> None:
    with pytest.raises(InvalidInput):
        parse_scopes(["read", "root"])


def test_money_refuses_mixed_currencies_and_rounds_half_up() -> None:
    total = Money(Decimal("10.005"), "EUR") + Money(Decimal("2.50"), "EUR")
    assert str(total) == "12.51 EUR"
    with pytest.raises(InvalidInput) as err:
        Money(Decimal(1), "EUR") + Money(Decimal(1), "USD")
    assert err.value.code == "currency_mismatch"
    with pytest.raises(InvalidInput):
        to_decimal("NaN")


def test_manual_clock_only_moves_forward() -> None:
    clock = ManualClock()
    start = clock.now()
    assert clock.advance(minutes=5) == start + timedelta(minutes=5)
    with pytest.raises(ValueError, match="backwards"):
        clock.advance(timedelta(seconds=-1))


def test_token_bucket_allows_burst_then_refills_with_time() -> None:
    now = [0.0]
    store = MemoryLiveStore(clock=lambda: now[0])
    results = [store.take_tokens("k", rate=2, burst=3)[0] for _ in range(4)]
    assert results == [True, True, True, False]
    allowed, wait = store.take_tokens("k", rate=2, burst=3)
    assert not allowed and wait == pytest.approx(0.5)
    now[0] = 0.5
    assert store.take_tokens("k", rate=2, burst=3) == (True, 0.0)


def test_set_if_absent_expires() -> None:
    now = [0.0]
    store = MemoryLiveStore(clock=lambda: now[0])
    assert store.set_if_absent("x", "1", ttl_seconds=10)
    assert not store.set_if_absent("x", "1", ttl_seconds=10)
    now[0] = 10.0
    assert store.set_if_absent("x", "1", ttl_seconds=10)


def test_log_redaction_masks_keys() -> None:
    assert redact("auth with sk_abcdefghijkl and wk_zyxwvutsrq") == "auth with sk_*** and wk_***"
