"""Triangulation: the banks quote each other's currencies (NBK quotes KGS UZS TJS, CBU quotes
KZT KGS TJS TMT, ...). For each pair, every bank's own figure or cross is an estimate of the
same rate; each is compared with the reference (the quote of the central bank of the `quote`
currency) and flagged when they differ by more than the tolerance plus the rounding of the
published figures themselves (NBKR's 0,0073 KGS per UZS is only good to 0.7%)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal, localcontext
from itertools import combinations

from corridor.fx.model import BANKS, CORRIDOR, HOME_BANK
from corridor.fx.rates import MAX_AGE_DAYS, PRECISION, Leg, leg
from corridor.store.db import Connection

DEFAULT_TOLERANCE = Decimal("0.01")  # 1%: banks fix at different hours of different days


@dataclass(frozen=True)
class Estimate:
    label: str
    rate: Decimal  # quote per one base
    legs: tuple[Leg, ...]

    @property
    def precision(self) -> Decimal:
        return sum((lg.precision for lg in self.legs), Decimal(0))

    @property
    def dates(self) -> str:
        return ", ".join(sorted({"peg" if lg.basis == "peg" else lg.effective_date.isoformat()
                                 for lg in self.legs}))


@dataclass(frozen=True)
class Comparison:
    base: str
    quote: str
    on: date
    reference: Estimate
    other: Estimate
    deviation: Decimal  # other / reference - 1
    allowed: Decimal  # tolerance + rounding bound of both
    flagged: bool


def pairs() -> list[tuple[str, str]]:
    """(base, quote): every corridor currency against USD and EUR, and each corridor pair."""
    out = [(major, c) for c in CORRIDOR for major in ("USD", "EUR")]
    out += list(combinations(CORRIDOR, 2))
    return out


def estimates(conn: Connection, base: str, quote: str, on: date,
              max_age: int = MAX_AGE_DAYS) -> list[Estimate]:
    found: list[Estimate] = []
    with localcontext() as ctx:
        ctx.prec = PRECISION
        for bank, info in BANKS.items():
            if info.home == quote:
                a = leg(conn, bank, base, on, max_age)
                if a:
                    what = "official peg" if a.basis == "peg" else f"quotes {base}"
                    found.append(Estimate(f"{bank} {what}", a.rate, (a,)))
            elif info.home == base:
                b = leg(conn, bank, quote, on, max_age)
                if b:
                    what = "official peg" if b.basis == "peg" else f"quotes {quote}"
                    found.append(Estimate(f"{bank} {what}, inverted", 1 / b.rate, (b,)))
            else:
                a = leg(conn, bank, base, on, max_age)
                b = leg(conn, bank, quote, on, max_age)
                if a and b and a.basis == b.basis == "published":
                    found.append(Estimate(f"{bank} cross via {info.home}", a.rate / b.rate,
                                          (a, b)))
        if "USD" not in (base, quote) and base in HOME_BANK and quote in HOME_BANK:
            a = leg(conn, HOME_BANK[base], "USD", on, max_age)
            b = leg(conn, HOME_BANK[quote], "USD", on, max_age)
            if a and b:
                found.append(Estimate(f"via USD at {a.bank} and {b.bank}", b.rate / a.rate,
                                      (a, b)))
    return found


def check(conn: Connection, on: date, *, tolerance: Decimal = DEFAULT_TOLERANCE,
          max_age: int = MAX_AGE_DAYS) -> list[Comparison]:
    """Every comparison available on `on`; `flagged` marks the disagreements."""
    out = []
    for base, quote in pairs():
        found = estimates(conn, base, quote, on, max_age)
        if len(found) < 2:
            continue
        home = HOME_BANK.get(quote)
        ref = next((e for e in found if home and e.label.startswith(
            (f"{home} quotes", f"{home} official peg"))), found[0])
        for other in found:
            if other is ref:
                continue
            with localcontext() as ctx:
                ctx.prec = PRECISION
                deviation = other.rate / ref.rate - 1
            allowed = tolerance + ref.precision + other.precision
            out.append(Comparison(base, quote, on, ref, other, deviation, allowed,
                                  abs(deviation) > allowed))
    return out
