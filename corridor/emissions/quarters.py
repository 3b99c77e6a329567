"""The two CBAM rules that depend on the quarter of importation. Pure.

- Price (Regulation 2023/956 Article 21(1a)): the certificates for emissions embedded in goods
  imported in 2026 are priced at the quarterly average of the quarter of importation. A line's
  certificates are costed at the embedded-emissions-weighted average of its lots' quarter
  prices; a quarter whose price is not known stands in at the given price, and says so.
- Quarterly holding (Article 22(2) as replaced by 2025/2083): from 2027, at the end of each
  quarter, certificates for at least 50 % of the embedded emissions of the goods imported since
  the start of the year, at the default values without the mark-up.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from corridor.emissions.cbam import DeMinimisStatus, default_see
from corridor.emissions.cbam_data import CbamData, CbamError

ZERO = Decimal(0)


def quarter_of(day: date) -> str:
    """The calendar quarter of `day`, as "2026-Q2"."""
    return f"{day.year}-Q{(day.month - 1) // 3 + 1}"


def quarter_end(year: int, quarter: int) -> date:
    """The last day of quarter 1-4 of `year`."""
    if quarter == 4:
        return date(year, 12, 31)
    return date(year, quarter * 3 + 1, 1) - timedelta(days=1)


# -- price by quarter of importation ---------------------------------------------------------

@dataclass(frozen=True)
class QuarterPrice:
    period: str  # the quarter of importation
    eur: Decimal  # per certificate
    known: bool  # False: the quarter's price is not known; the given price stands in
    embedded: Decimal  # tCO2e of the line's lots imported in the quarter


@dataclass(frozen=True)
class LinePrice:
    eur: Decimal  # per certificate, for the whole line
    quarters: tuple[QuarterPrice, ...]  # empty: one price for the year
    notes: tuple[str, ...]


def line_price(lots: Sequence[tuple[date, Decimal]], year: int, *, price: Decimal,
               period: str, known: Mapping[str, Decimal], data: CbamData) -> LinePrice:
    """The certificate price of a line whose lots are (imported on, embedded tCO2e): for the
    years of Article 21(1a), weighted by the lots' embedded emissions over the price of each
    lot's quarter (`known`, period -> EUR; `price` of `period` stands in for the others);
    otherwise `price`."""
    if year not in data.rules.quarter_priced_years:
        return LinePrice(price, (), ())
    per: dict[str, Decimal] = {}
    for imported_on, embedded in lots:
        q = quarter_of(imported_on)
        per[q] = per.get(q, ZERO) + embedded
    quarters = tuple(QuarterPrice(q, known.get(q, price), q in known, e)
                     for q, e in sorted(per.items()))
    total = sum((q.embedded for q in quarters), ZERO)
    prices = {q.eur for q in quarters}
    if len(prices) == 1 or total == 0:  # one price: exact, not a quotient of sums
        eur = prices.pop() if len(prices) == 1 else price
    else:
        eur = sum((q.eur * q.embedded for q in quarters), ZERO) / total
    notes = ["priced at the quarter of importation (Article 21(1a)): " + "; ".join(
        f"{q.period} EUR {q.eur} on {q.embedded.normalize():f} tCO2e"
        + ("" if q.known else f" (no price for {q.period} in cbam_rules.yml: the price of "
                              f"{period} stands in, an estimate)")
        for q in quarters)]
    return LinePrice(eur, quarters, tuple(notes))


# -- quarterly holding ----------------------------------------------------------------------

@dataclass(frozen=True)
class QuarterHolding:
    period: str
    end: date
    net_mass: Decimal  # t imported from 1 January to the quarter's end
    embedded_at_default: Decimal | None  # tCO2e, None while a default value is missing
    required: Decimal | None  # certificates to hold at the quarter's end
    unresolved: tuple[str, ...]


@dataclass(frozen=True)
class HoldingRequirement:
    applies: bool
    share: Decimal
    note: str
    quarters: tuple[QuarterHolding, ...]


def _quarter(year: int, n: int, lots: Sequence[tuple[str, str, Decimal, date]],
             share: Decimal, data: CbamData) -> QuarterHolding:
    end = quarter_end(year, n)
    tonnes, embedded, missing = ZERO, ZERO, dict[str, None]()
    for cn, country, mass, imported_on in lots:
        if imported_on > end:
            continue
        tonnes += mass
        try:
            embedded += default_see(cn, country, year, data=data).total * mass
        except CbamError as exc:
            missing[str(exc)] = None
    known = None if missing else embedded
    return QuarterHolding(f"{year}-Q{n}", end, tonnes, known,
                          None if known is None else known * share, tuple(missing))


def quarterly_holding(year: int, lots: Sequence[tuple[str, str, Decimal, date]],
                      status: DeMinimisStatus, data: CbamData) -> HoldingRequirement:
    """The certificates to hold at the end of each quarter of `year`, from the imports (CN
    code, country of origin, net mass, imported on) at the default values without the
    mark-up; none before the rule's first year or for an importer under the threshold."""
    rule = data.rules.holding
    if year < rule.from_year:
        return HoldingRequirement(False, rule.share, (
            f"no quarterly holding requirement for goods imported in {year}: "
            f"{rule.provision} applies from {rule.from_year}"), ())
    if status.exempt:
        return HoldingRequirement(False, rule.share, f"nothing to hold: {status.note}", ())
    quarters = tuple(_quarter(year, n, lots, rule.share, data) for n in range(1, 5))
    return HoldingRequirement(True, rule.share, (
        f"{rule.provision}: at each quarter's end, {rule.share * 100:.0f} % of the embedded "
        "emissions of the goods imported since 1 January, at the default values without the "
        "mark-up; the free allocation adjustment is not deducted (not given), so these are "
        f"upper bounds. {rule.caveat}"), quarters)
