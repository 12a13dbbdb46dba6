"""Money as Decimal with a currency; never floats."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from kanaal.core.errors import InvalidInput

_CENT = Decimal("0.01")


def to_decimal(value: object, *, field: str = "amount") -> Decimal:
    """Parse `value` (str, int, Decimal or float) into a Decimal, refusing NaN and infinity."""
    try:
        result = Decimal(str(value)) if not isinstance(value, Decimal) else value
    except (InvalidOperation, ValueError) as exc:
        raise InvalidInput(f"{field} is not a number", code="invalid_amount") from exc
    if not result.is_finite():
        raise InvalidInput(f"{field} must be finite", code="invalid_amount")
    return result


def quantize(amount: Decimal) -> Decimal:
    """Round to cents, half up, as tills and invoices do."""
    return amount.quantize(_CENT, rounding=ROUND_HALF_UP)


@dataclass(frozen=True, slots=True)
class Money:
    """An amount in one ISO 4217 currency."""

    amount: Decimal
    currency: str

    def __post_init__(self) -> None:
        if len(self.currency) != 3 or not self.currency.isalpha() or not self.currency.isupper():
            raise InvalidInput(f"currency {self.currency!r} is not an ISO 4217 code",
                               code="invalid_currency")

    def _same(self, other: Money) -> None:
        if other.currency != self.currency:
            raise InvalidInput(
                f"cannot combine {self.currency} with {other.currency}", code="currency_mismatch"
            )

    def __add__(self, other: Money) -> Money:
        self._same(other)
        return Money(self.amount + other.amount, self.currency)

    def __sub__(self, other: Money) -> Money:
        self._same(other)
        return Money(self.amount - other.amount, self.currency)

    def times(self, factor: int | Decimal) -> Money:
        """Multiply by a quantity or a rate."""
        return Money(self.amount * Decimal(factor), self.currency)

    def rounded(self) -> Money:
        """Round to cents."""
        return Money(quantize(self.amount), self.currency)

    def __str__(self) -> str:
        return f"{quantize(self.amount)} {self.currency}"
