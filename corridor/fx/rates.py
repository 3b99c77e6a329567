"""Rates from the stored tables: a bank's quote on a date, and cross rates between any two of
KZT KGS TJS UZS TMT USD EUR, each answer stating the rule that produced it.

A rate here is always "units of `quote` per ONE `base`" (USD->KZT 478.77 means 1 USD =
478.77 KZT). Rules, tried in this order (docs/fx.md):
  1. identity  base == quote;
  2. direct    the central bank of `quote` publishes `base` (NBK's KZT per USD);
  3. inverse   the central bank of `base` publishes `quote`, inverted;
  4. via USD   both legs against USD by rules 2-3 (KGS->USD at NBKR, USD->UZS at CBU);
  5. cross     a bank publishes both, crossed through its home currency (EUR->USD at NBK).
TMT against USD falls back to the official peg (3.5) when no CBT table is stored, labelled.
A day without a publication uses the bank's latest earlier effective rate, labelled
"carried forward", and never one older than `max_age` days.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal, localcontext

from corridor.fx.model import (
    BANKS,
    CURRENCIES,
    HOME_BANK,
    TMT_PEG,
    TMT_PEG_SINCE,
    RateNotFound,
    restated_from,
)
from corridor.store.db import Connection
from corridor.store.fx_store import effective_dates, latest_date, latest_quote

MAX_AGE_DAYS = 10  # longest run of bank holidays plus a weekend we carry a rate across
PRECISION = 28  # significant digits of every computed (divided or multiplied) rate


@dataclass(frozen=True)
class Leg:
    """One published figure a computed rate rests on: `rate` of `home` per one `currency`."""

    bank: str
    currency: str
    home: str
    rate: Decimal
    units: int
    value: Decimal  # as published, per `units`
    effective_date: date
    publication_date: date | None
    source_url: str
    basis: str = "published"  # or "peg"

    @property
    def precision(self) -> Decimal:
        """Relative bound of the bank's own rounding: half a unit of its last decimal."""
        if self.basis == "peg":
            return Decimal(0)
        exponent = self.value.as_tuple().exponent
        assert isinstance(exponent, int)
        last = min(exponent, -BANKS[self.bank].decimals)
        return Decimal(5).scaleb(last - 1) / self.value

    @property
    def restated_from(self) -> date | None:
        """For a demo figure: the date of the recorded table it repeats (model.RESTATED)."""
        return restated_from(self.source_url)

    @property
    def restated_label(self) -> str:
        day = self.restated_from
        if day is None:
            return ""
        return (f"demo figure: {self.bank}'s recorded table of {day.isoformat()} restated "
                f"for {self.effective_date.isoformat()}, not an official publication")

    def describe(self) -> str:
        what = "official peg" if self.basis == "peg" else self.effective_date.isoformat()
        return f"{self.bank} {self.units} {self.currency} = {self.value} {self.home} ({what})"


@dataclass(frozen=True)
class CrossRate:
    base: str
    quote: str
    on: date  # the date asked for
    rate: Decimal  # quote per one base
    rule: str  # identity | direct | inverse | via USD | cross | peg
    explanation: str
    legs: tuple[Leg, ...]

    @property
    def sources(self) -> str:
        names = []
        for leg in self.legs:
            name = f"{leg.bank} peg" if leg.basis == "peg" else leg.bank
            if name not in names:
                names.append(name)
        return "+".join(names)

    @property
    def effective_date(self) -> date:
        """The oldest published figure used (the peg does not count)."""
        dates = [leg.effective_date for leg in self.legs if leg.basis != "peg"]
        return min(dates) if dates else self.on

    @property
    def carried_forward(self) -> bool:
        return any(leg.effective_date < self.on for leg in self.legs if leg.basis != "peg")

    @property
    def label(self) -> str:
        parts = []
        if self.carried_forward:
            parts.append(f"no publication on {self.on.isoformat()}: latest earlier rate of "
                         f"{self.effective_date.isoformat()} carried forward")
        if any(leg.basis == "peg" for leg in self.legs):
            parts.append(f"official peg {TMT_PEG} TMT/USD, no CBT table stored")
        for leg in self.legs:
            if leg.restated_label and leg.restated_label not in parts:
                parts.append(leg.restated_label)
        return "; ".join(parts)


def _check_code(code: str, field: str) -> str:
    code = code.strip().upper()
    if code not in CURRENCIES:
        raise ValueError(f"{field}: {code!r} is not one of {', '.join(CURRENCIES)}")
    return code


def leg(conn: Connection, bank: str, currency: str, on: date,
        max_age: int = MAX_AGE_DAYS) -> Leg | None:
    """The bank's rate for `currency` on `on` (or carried from at most max_age days before)."""
    home = BANKS[bank].home
    if currency == home:
        return None
    q = latest_quote(conn, bank, currency, on)
    if q is not None and (on - q.effective_date).days <= max_age:
        return Leg(bank, currency, home, q.rate, q.units, q.value, q.effective_date,
                   q.publication_date, q.source_url)
    if bank == "CBT" and currency == "USD" and on >= TMT_PEG_SINCE:
        return Leg("CBT", "USD", "TMT", TMT_PEG, 1, TMT_PEG, TMT_PEG_SINCE, None,
                   "official peg of the manat since 2015-01-01", basis="peg")
    return None


def _against_usd_or_home(conn: Connection, base: str, quote: str, on: date,
                         max_age: int) -> CrossRate | None:
    """Rules 2 and 3 (and the peg) only."""
    if quote in HOME_BANK:
        got = leg(conn, HOME_BANK[quote], base, on, max_age)
        if got is not None:
            rule = "peg" if got.basis == "peg" else "direct"
            return CrossRate(base, quote, on, got.rate, rule,
                             f"{got.bank} publishes {base} in {quote}", (got,))
    if base in HOME_BANK:
        got = leg(conn, HOME_BANK[base], quote, on, max_age)
        if got is not None:
            with localcontext() as ctx:
                ctx.prec = PRECISION
                rate = 1 / got.rate
            rule = "peg" if got.basis == "peg" else "inverse"
            return CrossRate(base, quote, on, rate, rule,
                             f"inverse of {got.bank}'s {quote} in {base}", (got,))
    return None


def cross_rate(conn: Connection, base: str, quote: str, on: date, *,
               max_age: int = MAX_AGE_DAYS) -> CrossRate:
    """`quote` per one `base` on `on` from stored tables, with the rule used."""
    base = _check_code(base, "base")
    quote = _check_code(quote, "quote")
    if base == quote:
        return CrossRate(base, quote, on, Decimal(1), "identity", "same currency", ())
    found = _against_usd_or_home(conn, base, quote, on, max_age)
    if found:
        return found
    if "USD" not in (base, quote):
        first = _against_usd_or_home(conn, base, "USD", on, max_age)
        second = _against_usd_or_home(conn, "USD", quote, on, max_age)
        if first and second:
            with localcontext() as ctx:
                ctx.prec = PRECISION
                rate = first.rate * second.rate
            return CrossRate(base, quote, on, rate, "via USD",
                             f"{base}->USD ({first.explanation}) then USD->{quote} "
                             f"({second.explanation})", first.legs + second.legs)
    for bank in BANKS:
        a = leg(conn, bank, base, on, max_age)
        b = leg(conn, bank, quote, on, max_age)
        if a and b and a.basis == b.basis == "published":
            with localcontext() as ctx:
                ctx.prec = PRECISION
                rate = a.rate / b.rate
            home = BANKS[bank].home
            return CrossRate(base, quote, on, rate, "cross",
                             f"{bank} publishes both in {home}: ({base} in {home}) / "
                             f"({quote} in {home})", (a, b))
    raise RateNotFound(f"no stored rate for {base}->{quote} on {on.isoformat()} or in the "
                       f"{max_age} days before (run `corridor fx update` or `fx import`)")


def latest_cross_rate(conn: Connection, base: str, quote: str, *,
                      max_age: int = MAX_AGE_DAYS) -> CrossRate:
    """The pair's rate when no date is given: on the latest stored effective date that
    answers it (by the rules above), so its `on` and `effective_date` say how recent it is."""
    base = _check_code(base, "base")
    quote = _check_code(quote, "quote")
    days = effective_dates(conn)
    if base == quote:
        return cross_rate(conn, base, quote, latest_date(conn) or datetime.now(UTC).date())
    for day in reversed(days):
        try:
            return cross_rate(conn, base, quote, day, max_age=max_age)
        except RateNotFound:
            continue
    raise RateNotFound(f"no stored rate for {base}->{quote} on any date"
                       + (f" ({days[0].isoformat()} .. {days[-1].isoformat()} stored)"
                          if days else ": no rates stored")
                       + " (run `corridor fx update` or `fx import`)")


def history(conn: Connection, base: str, quote: str, start: date, end: date, *,
            include_carried: bool = False, max_days: int = 3660) -> list[CrossRate]:
    """One cross rate per day from start to end; days with no publication of the banks used
    are left out unless include_carried."""
    if end < start:
        raise ValueError(f"to: {end.isoformat()} is before from: {start.isoformat()}")
    if (end - start).days >= max_days:
        raise ValueError(f"from/to: at most {max_days} days at a time")
    out = []
    day = start
    while day <= end:
        try:
            rate = cross_rate(conn, base, quote, day)
        except RateNotFound:
            rate = None
        if rate is not None and (include_carried or not rate.carried_forward):
            out.append(rate)
        day += timedelta(days=1)
    return out
