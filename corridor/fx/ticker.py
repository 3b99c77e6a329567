"""The ticker: each corridor currency against USD, with the day's change, source and date.

`KZT/USD = 0.002089` alone hides what a trader reads (USD/KZT 478.77), and five decimals turn
UZS/USD into 0.00008; so each row carries the rate to 4 significant figures (8.201e-5 below
0.001) and the bank's own figure the other way round (USD/UZS 12,194.21).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal, localcontext

from corridor.fx.model import BANKS, CORRIDOR, HOME_BANK, RateNotFound
from corridor.fx.rates import MAX_AGE_DAYS, PRECISION, CrossRate, cross_rate, leg
from corridor.store.db import Connection
from corridor.store.fx_store import latest_quote, previous_quote

SIGNIFICANT = 4


@dataclass(frozen=True)
class TickerRow:
    currency: str
    pair: str  # "KZT/USD": USD per one KZT
    rate: Decimal  # USD per one unit of `currency`
    inverse: Decimal  # units of `currency` per USD (the bank's own figure when direct)
    change_pct: Decimal | None  # day's change of `rate` against the previous publication
    previous_date: date | None
    source: str  # bank code, "CBT peg", or the banks of a cross
    source_name: str
    effective_date: date | None
    rule: str
    label: str  # "" or why the row is not today's direct publication

    @property
    def display_rate(self) -> str:
        return significant(self.rate)

    @property
    def display_inverse(self) -> str:
        return grouped(self.inverse)

    @property
    def display_change(self) -> str:
        if self.change_pct is None:
            return "n/a"
        sign = "+" if self.change_pct > 0 else ""
        return f"{sign}{self.change_pct:.2f}%"

    def as_dict(self) -> dict[str, object]:
        return {
            "pair": self.pair, "currency": self.currency, "rate": str(self.rate),
            "display": self.display_rate, "inverse_pair": f"USD/{self.currency}",
            "inverse": str(self.inverse), "inverse_display": self.display_inverse,
            "change_pct": None if self.change_pct is None else str(self.change_pct),
            "change_display": self.display_change,
            "previous_date": self.previous_date.isoformat() if self.previous_date else None,
            "source": self.source, "source_name": self.source_name,
            "effective_date": self.effective_date.isoformat() if self.effective_date else None,
            "rule": self.rule, "label": self.label,
        }


def significant(value: Decimal, digits: int = SIGNIFICANT) -> str:
    """4 significant figures; scientific (8.201e-5) below 0.001 so no digit is lost."""
    if value == 0:
        return "0"
    if abs(value) < Decimal("0.001"):
        mantissa, exponent = f"{value:.{digits - 1}e}".split("e")
        return f"{mantissa}e{int(exponent)}"
    exponent = value.adjusted()
    places = max(digits - 1 - exponent, 0)
    return f"{value:,.{places}f}"


def grouped(value: Decimal) -> str:
    """Thousands separated, at most 6 decimals, trailing zeros of a division dropped."""
    q = value.quantize(Decimal("0.000001")) if value.as_tuple().exponent < -6 else value
    text = f"{q:,f}"
    if "." in text and value.as_tuple().exponent < -6:
        text = text.rstrip("0").rstrip(".")
    return text


def _direct_row(conn: Connection, currency: str, on: date | None) -> TickerRow | None:
    """From the currency's own central bank: its USD figure, inverted."""
    bank = HOME_BANK[currency]
    if on is None:
        latest = latest_quote(conn, bank, "USD", date.max)
        if latest is None:
            return None
        on = latest.effective_date
    got = leg(conn, bank, "USD", on, MAX_AGE_DAYS)
    if got is None:
        return None
    with localcontext() as ctx:
        ctx.prec = PRECISION
        rate = 1 / got.rate
        change = None
        prev_date = None
        if got.basis == "published":
            prev = previous_quote(conn, bank, "USD", got.effective_date)
            # The day's change: only against a publication of the days just before.
            if prev is not None and (got.effective_date - prev.effective_date).days <= \
                    MAX_AGE_DAYS:
                change = ((prev.rate / got.rate - 1) * 100).quantize(Decimal("0.0001"))
                prev_date = prev.effective_date
    if got.basis == "peg":
        label = "official peg 3.5 TMT/USD (no CBT table stored)"
        source = "CBT peg"
        rule = "peg"
    else:
        label = "; ".join(part for part in (
            f"no publication on {on.isoformat()}: rate of "
            f"{got.effective_date.isoformat()} carried forward"
            if got.effective_date < on else "", got.restated_label) if part)
        source = bank
        rule = "direct"
    return TickerRow(currency, f"{currency}/USD", rate, got.rate, change, prev_date, source,
                     BANKS[bank].name, None if got.basis == "peg" else got.effective_date,
                     rule, label)


def _cross_row(cross: CrossRate) -> TickerRow:
    with localcontext() as ctx:
        ctx.prec = PRECISION
        inverse = 1 / cross.rate
    return TickerRow(cross.base, f"{cross.base}/USD", cross.rate, inverse, None, None,
                     cross.sources, cross.explanation, cross.effective_date, cross.rule,
                     cross.label or f"cross rate: {HOME_BANK[cross.base]} has no USD rate "
                                    f"within {MAX_AGE_DAYS} days")


def ticker(conn: Connection, on: date | None = None) -> list[TickerRow]:
    """The five pairs against USD from stored data (no network). `on=None`: each currency's
    latest publication. A currency without any answer is left out."""
    rows = []
    for currency in CORRIDOR:
        row = _direct_row(conn, currency, on)
        if row is None and on is not None:
            try:
                row = _cross_row(cross_rate(conn, currency, "USD", on))
            except RateNotFound:
                row = None
        if row is not None:
            rows.append(row)
    return rows


def render(rows: list[TickerRow]) -> list[str]:
    """Plain text lines, one per pair (the CLI prints these)."""
    lines = []
    for r in rows:
        when = r.effective_date.isoformat() if r.effective_date else "peg"
        text = (f"{r.pair} = {r.display_rate:<10} USD/{r.currency} {r.display_inverse:>12}  "
                f"{r.display_change:>7}  {r.source} {when}")
        if r.label:
            text += f"  [{r.label}]"
        lines.append(text)
    return lines
