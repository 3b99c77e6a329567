"""Valuing an amount in another currency at the official rate of a date.

Rounding (docs/fx.md): the amount is multiplied by the exact published rate (or the exact
cross of published rates, 28 significant digits), and the product is rounded ONCE, to the
minor unit of the target currency (ISO 4217: 2 decimals for all seven), half away from zero
(ROUND_HALF_UP), as customs and the EU conversion rules do; never banker's rounding.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation, localcontext

from corridor.fx.model import MINOR_UNITS
from corridor.fx.rates import PRECISION, CrossRate, cross_rate, latest_cross_rate
from corridor.store.db import Connection


@dataclass(frozen=True)
class Valuation:
    amount: Decimal
    currency: str
    target: str
    on: date
    rate: Decimal  # target per one unit of currency
    rule: str
    explanation: str
    source: str
    effective_date: date
    label: str  # "carried forward ..." / "official peg ..." or ""
    exact: Decimal  # amount * rate before rounding
    result: Decimal  # rounded to the target's minor unit
    rounding: str
    cross: CrossRate
    latest: bool = False  # no date was given: the latest stored rate was used

    @property
    def rate_date(self) -> date:
        """The date of the rate used: its effective date, the latest published on or before
        `on` (the oldest figure, when the rate is computed from several)."""
        return self.effective_date

    def describe_date(self) -> str:
        """Which rate was used and why, in words."""
        day = self.rate_date.isoformat()
        if self.latest:
            return f"{day}, the latest stored rate (no date given)"
        if self.rate_date == self.on:
            return f"{day}, in force on that date"
        return f"{day}, the latest published on or before {self.on.isoformat()}"

    def as_dict(self) -> dict[str, object]:
        return {
            "amount": str(self.amount), "currency": self.currency, "target": self.target,
            "date": self.on.isoformat(), "rateDate": self.rate_date.isoformat(),
            "latest": self.latest, "rate": str(self.rate), "rule": self.rule,
            "explanation": self.explanation, "source": self.source,
            "effective_date": self.effective_date.isoformat(), "label": self.label,
            "exact": str(self.exact), "result": str(self.result), "rounding": self.rounding,
        }


def round_money(value: Decimal, currency: str) -> Decimal:
    """Half away from zero to the currency's minor unit."""
    places = MINOR_UNITS[currency]
    return value.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP)


def to_decimal(amount: object, field: str = "amount") -> Decimal:
    """Accept Decimal, int or a decimal string; refuse floats (binary) and non-finite values."""
    if isinstance(amount, float):
        raise TypeError(f"{field}: pass a Decimal or a string, not a float ({amount!r})")
    try:
        value = amount if isinstance(amount, Decimal) else Decimal(str(amount).strip())
    except InvalidOperation as exc:
        raise ValueError(f"{field}: {amount!r} is not a decimal number") from exc
    if not value.is_finite():
        raise ValueError(f"{field}: {amount!r} is not a finite number")
    if abs(value) >= Decimal("1e18"):
        raise ValueError(f"{field}: {amount!r} is too large")
    return value


def value(conn: Connection, amount: Decimal, currency: str, target: str,
          on: date | None) -> Valuation:
    """`amount` of `currency` in `target` at the rate in force on `on` (the latest published
    on or before it, never a later one); `on=None`: at the latest stored rate."""
    amount = to_decimal(amount)
    if on is None:
        cross = latest_cross_rate(conn, currency, target)
    else:
        cross = cross_rate(conn, currency, target, on)
    with localcontext() as ctx:
        ctx.prec = PRECISION + 20  # the product is exact: amounts are well under 20 digits
        exact = amount * cross.rate
    places = MINOR_UNITS[cross.quote]
    return Valuation(
        amount=amount, currency=cross.base, target=cross.quote, on=cross.on, rate=cross.rate,
        rule=cross.rule, explanation=cross.explanation, source=cross.sources or "-",
        effective_date=cross.effective_date, label=cross.label, exact=exact,
        result=round_money(exact, cross.quote),
        rounding=f"ROUND_HALF_UP to {places} decimals (ISO 4217 minor unit of {cross.quote})",
        cross=cross, latest=on is None)
