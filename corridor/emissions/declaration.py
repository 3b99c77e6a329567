"""An importer's annual EU CBAM declaration lines, from its imports and the actual values its
suppliers' installations communicated. Pure: the caller reads the imports and the credentials
(corridor.cbam does, from the node) and hands them in as records.

One line per CN code x country of origin x installation (Regulation (EU) 2023/956 Article 6(2)
asks for the embedded emissions per type of goods and installation):

- net mass: the sum of the lots' net masses imported in the year;
- specific embedded emissions (SEE) of each lot: actual when the installation communicated
  them (`ActualValues`, in Corridor a valid GreenMetalCredential about the lot: its direct
  emissions over its net mass; aluminium and the ferro-alloys in scope are Annex II goods, so
  only direct emissions count, Article 7(1)); otherwise the default value of the CN code and
  country with the year's mark-up (corridor.emissions.cbam.default_see). When no default can
  be given (no legal value read yet: today every Kazakh code) the lot is unresolved, the line
  says "default value not available: <reason>", and no figure is put in its place;
- embedded emissions = SEE x net mass, summed over the line's lots; the line's SEE is that
  sum over its net mass;
- certificates due and their cost (corridor.emissions.cbam.certificates_due) at the given
  price, after the 50-tonne de minimis of the year (corridor.emissions.cbam.de_minimis), which
  counts every CBAM good of the importer, resolved or not;
- the carbon price paid at origin (`paid`, per installation, or per installation and CN code
  as "SGLN#CN"), with its evidence: deducted on lines of actual values only (Article 9(1) and
  9(4)), converted to EUR by `convert` at the rate of the day it was paid, else of the last day
  of the year; the conversion's rate, rule and source are the line's notes.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from corridor.emissions.cbam import (
    CarbonPricePaid,
    Certificates,
    DeMinimisStatus,
    FreeAllocation,
    certificates_due,
    de_minimis,
    default_see,
    in_scope,
)
from corridor.emissions.cbam_data import CbamData, CbamError, PaidPriceError, cbam_data, digits
from corridor.emissions.events import rounded
from corridor.emissions.quarters import (
    HoldingRequirement,
    line_price,
    quarter_of,
    quarterly_holding,
)

ZERO = Decimal(0)
UNAVAILABLE = "default value not available: "
# The free allocation adjustment of a line: (CN code, tonnes) -> FreeAllocation.
Adjustment = Callable[[str, Decimal], FreeAllocation]
# Converts (amount, currency, date of the rate) to EUR: (EUR, the rate, rule and source used).
Conversion = Callable[[Decimal, str, date], tuple[Decimal, str]]


@dataclass(frozen=True)
class ImportedLot:
    """One lot (or the part of it in one container) imported in the year."""
    container: str
    lot: str
    cn: str
    country: str  # of origin, ISO 3166-1 alpha-2
    installation: str  # the production site's identifier (SGLN)
    installation_name: str
    operator: str | None  # the operator's party identifier
    tonnes: Decimal  # net mass
    imported_on: date
    evidence: tuple[str, ...] = ()  # Event Hash IDs of the events the import rests on


@dataclass(frozen=True)
class ActualValues:
    """Emissions the installation communicated for a lot (whole lot: direct emissions of
    producing `tonnes`), with what they rest on."""
    lot: str
    cn: str
    direct: Decimal  # tCO2e
    tonnes: Decimal  # net mass the figure is for
    credential: str  # its id
    evidence: tuple[str, ...] = ()  # Event Hash IDs the credential cites

    @property
    def see(self) -> Decimal:
        return self.direct / self.tonnes


@dataclass(frozen=True)
class LotFigure:
    container: str
    lot: str
    tonnes: Decimal
    imported_on: date
    basis: str  # "actual" | "default" | "unresolved"
    see: Decimal | None  # tCO2e/t
    embedded: Decimal | None  # tCO2e
    source: str  # the credential, the default value's table, or why there is none
    credential: str | None
    evidence: tuple[str, ...]  # Event Hash IDs: the import's, then the credential's


@dataclass(frozen=True)
class DeclarationLine:
    cn: str
    category: str | None
    country: str
    installation: str
    installation_name: str
    operator: str | None
    tonnes: Decimal
    lots: tuple[LotFigure, ...]
    basis: str  # "actual" | "default" | "actual and default" | "unresolved"
    embedded: Decimal | None  # tCO2e, None while a lot is unresolved
    see: Decimal | None  # embedded / tonnes
    certificates: Certificates | None  # None while unresolved (exempt years: see de_minimis)
    unresolved: tuple[str, ...]  # "default value not available: <reason>" per reason
    paid: CarbonPricePaid | None = None  # the carbon price paid at origin given for the line

    @property
    def resolved(self) -> bool:
        return not self.unresolved


@dataclass(frozen=True)
class Declaration:
    importer: str
    year: int
    price_eur: Decimal
    price_period: str
    de_minimis: DeMinimisStatus
    lines: tuple[DeclarationLine, ...]
    not_in_scope: tuple[str, ...]  # lots of goods outside CBAM, with why
    holding: HoldingRequirement
    known_prices: Mapping[str, Decimal]  # quarter -> EUR per certificate, as priced
    quarter_priced: bool  # priced at the quarter of importation (Article 21(1a))

    @property
    def unresolved_lines(self) -> int:
        return sum(1 for line in self.lines if not line.resolved)

    @property
    def complete(self) -> bool:
        """Every figure is known, or nothing is due for the year."""
        return self.de_minimis.exempt or self.unresolved_lines == 0

    @property
    def embedded(self) -> Decimal:
        """tCO2e of the resolved lines."""
        return sum((line.embedded or ZERO for line in self.lines), ZERO)

    @property
    def certificates_due(self) -> Decimal:
        return sum((line.certificates.due for line in self.lines if line.certificates), ZERO)

    @property
    def cost_eur(self) -> Decimal:
        return sum((line.certificates.cost_eur for line in self.lines if line.certificates),
                   ZERO)

    def to_json(self) -> dict[str, Any]:
        return declaration_json(self)


def _no_adjustment(cn: str, tonnes: Decimal) -> FreeAllocation:
    del cn, tonnes
    return FreeAllocation(ZERO, "none deducted: the CBAM benchmarks of IR 2025/2620 and the "
                                "CSCF were not given; the certificates are an upper bound")


def _lot_figure(item: ImportedLot, actual: ActualValues | None, year: int,
                data: CbamData, set_aside: str | None) -> LotFigure:
    figure = _figure(item, actual, year, data)
    if set_aside and figure.basis != "actual":
        return dataclasses.replace(figure, source=f"{figure.source} ({set_aside})")
    return figure


def _figure(item: ImportedLot, actual: ActualValues | None, year: int,
            data: CbamData) -> LotFigure:
    if actual is not None and digits(actual.cn) == digits(item.cn) and actual.tonnes > 0:
        see = actual.see
        return LotFigure(item.container, item.lot, item.tonnes, item.imported_on, "actual",
                         see, see * item.tonnes,
                         f"actual: direct emissions {actual.direct} tCO2e over {actual.tonnes} t "
                         f"(credential {actual.credential})", actual.credential,
                         (*item.evidence, *(h for h in actual.evidence
                                            if h not in item.evidence)))
    mismatch = (f"the credential {actual.credential} is for CN {actual.cn}, not {item.cn}; "
                if actual is not None else "")
    try:
        value = default_see(item.cn, item.country, year, data=data)
    except CbamError as exc:
        return LotFigure(item.container, item.lot, item.tonnes, item.imported_on,
                         "unresolved", None, None, f"{UNAVAILABLE}{mismatch}{exc}", None,
                         item.evidence)
    return LotFigure(item.container, item.lot, item.tonnes, item.imported_on, "default",
                     value.see, value.see * item.tonnes,
                     f"{mismatch}default: {value.total} tCO2e/t x (1 + {value.markup}) "
                     f"({value.source})", None, item.evidence)


def _basis(figures: Sequence[LotFigure]) -> str:
    kinds = {f.basis for f in figures}
    if "unresolved" in kinds:
        return "unresolved"
    return "actual and default" if len(kinds) > 1 else kinds.pop()


@dataclass(frozen=True)
class _Terms:
    """What every line's certificates are computed with."""
    year: int
    status: DeMinimisStatus
    price: Decimal
    period: str
    known: Mapping[str, Decimal]  # the quarters' prices (Article 21(1a))
    adjustment: Adjustment
    convert: Conversion | None
    data: CbamData


def _certificates(key: tuple[str, str, str], figures: Sequence[LotFigure], basis: str,
                  paid: CarbonPricePaid | None, terms: _Terms) -> Certificates:
    cn, _, site = key
    embedded = sum((f.embedded or ZERO for f in figures), ZERO)
    tonnes = sum((f.tonnes for f in figures), ZERO)
    price = line_price([(f.imported_on, f.embedded or ZERO) for f in figures], terms.year,
                       price=terms.price, period=terms.period, known=terms.known,
                       data=terms.data)
    how: list[str] = [] if terms.status.exempt else list(price.notes)

    def to_eur(amount: Decimal, currency: str) -> Decimal:
        if terms.convert is None or paid is None:
            raise PaidPriceError(f"carbon price paid for {site} in {currency}: give a conversion "
                                 "to EUR")
        on = paid.paid_on or date(terms.year, 12, 31)
        try:
            eur, rate = terms.convert(amount, currency, on)
        except CbamError as exc:
            raise PaidPriceError(f"carbon price paid for {site}: {exc}") from exc
        how.append(f"{amount} {currency} in EUR: {rate}")
        return eur

    found = certificates_due(
        embedded, basis="actual" if basis == "actual" else "default", price_eur=price.eur,
        free_allocation=terms.adjustment(cn, tonnes), paid=paid, to_eur=to_eur,
        de_minimis_status=terms.status)
    if paid is not None and basis == "actual" and not terms.status.exempt:
        how.append(f"evidence of the carbon price paid: {'; '.join(paid.evidence)}")
    return dataclasses.replace(found, notes=(*found.notes, *how))


def _line(key: tuple[str, str, str], items: Sequence[ImportedLot],
          figures: Sequence[LotFigure], terms: _Terms, paid: CarbonPricePaid | None,
          data: CbamData) -> DeclarationLine:
    cn, country, site = key
    tonnes = sum((f.tonnes for f in figures), ZERO)
    basis = _basis(figures)
    unresolved = tuple(dict.fromkeys(f.source for f in figures if f.basis == "unresolved"))
    embedded = None if unresolved else sum((f.embedded or ZERO for f in figures), ZERO)
    certificates = None if embedded is None else _certificates(
        key, figures, basis, paid, terms)
    first = items[0]
    return DeclarationLine(
        cn, in_scope(cn, data=data).category, country, site, first.installation_name,
        first.operator, tonnes, tuple(figures), basis, embedded,
        None if embedded is None or tonnes == 0 else embedded / tonnes, certificates,
        unresolved, paid)


def _paid_per_line(paid: Mapping[str, CarbonPricePaid],
                   keys: Sequence[tuple[str, str, str]]
                   ) -> dict[tuple[str, str, str], CarbonPricePaid]:
    """Each line's carbon price paid: given for "SGLN#CN", else for its installation when
    that is its only line (a price paid is never split between lines by a guess)."""
    found: dict[tuple[str, str, str], CarbonPricePaid] = {}
    for given, price in paid.items():
        site, _, cn = given.strip().partition("#")
        lines = [k for k in keys if k[2] == site and (not cn or k[0] == digits(cn))]
        if not lines:
            raise PaidPriceError(f"carbon price paid for {given}: no line of the declaration is "
                                 "from that installation" + (f" and CN {cn}" if cn else ""))
        if len(lines) > 1:
            raise PaidPriceError(f"carbon price paid for {given}: the installation has lines for "
                                 f"CN {', '.join(k[0] for k in lines)}; give it per line as "
                                 f"{site}#CN")
        if not price.evidence:
            raise PaidPriceError(f"carbon price paid for {given}: give its evidence (Article 9(1): "
                                 "only a price effectively paid may be deducted)")
        if lines[0] in found:
            raise PaidPriceError(f"carbon price paid for {given}: given twice for that line")
        found[lines[0]] = price
    return found


def declaration(importer: str, year: int, imports: Sequence[ImportedLot],
                actual: Mapping[str, ActualValues], *, price_eur: Decimal,
                price_period: str, adjustment: Adjustment | None = None,
                set_aside: Mapping[str, str] | None = None,
                paid: Mapping[str, CarbonPricePaid] | None = None,
                convert: Conversion | None = None,
                quarter_prices: Mapping[str, Decimal] | None = None,
                data: CbamData | None = None) -> Declaration:
    """The declaration lines of `importer` for `year` from its `imports` of the year and the
    actual values communicated per lot (`actual`, keyed by lot). `set_aside`: per lot, why
    communicated values were not used (e.g. a revoked credential), said on its line.
    `paid`: the carbon price paid at origin, per installation (or "SGLN#CN"), converted to EUR
    by `convert` unless in EUR. `quarter_prices`: the certificate price of each quarter of
    importation known (Article 21(1a)); `price_eur` of `price_period` counts as known and
    stands in for the others."""
    set_aside = set_aside or {}
    data = data or cbam_data()
    adjustment = adjustment or _no_adjustment
    scoped: list[ImportedLot] = []
    outside: list[str] = []
    for item in imports:
        if item.imported_on.year != year:
            raise CbamError(f"{item.container}: imported on {item.imported_on}, not in {year}")
        scope = in_scope(item.cn, data=data)
        if scope.in_scope:
            scoped.append(item)
        else:
            outside.append(f"{item.container} ({item.lot}): {scope.reason}")
    status = de_minimis(importer, year, [(i.cn, i.tonnes) for i in scoped], data=data)
    groups: dict[tuple[str, str, str], list[ImportedLot]] = {}
    for item in scoped:
        groups.setdefault((digits(item.cn), item.country.upper(), item.installation),
                          []).append(item)
    known = {**(quarter_prices or {}), price_period: price_eur}
    terms = _Terms(year, status, price_eur, price_period, known, adjustment, convert, data)
    per_line = _paid_per_line(paid or {}, sorted(groups))
    lines = []
    for key in sorted(groups):
        items = sorted(groups[key], key=lambda i: (i.imported_on, i.container, i.lot))
        figures = [_lot_figure(i, actual.get(i.lot), year, data, set_aside.get(i.lot))
                   for i in items]
        lines.append(_line(key, items, figures, terms, per_line.get(key), data))
    holding = quarterly_holding(
        year, [(i.cn, i.country, i.tonnes, i.imported_on) for i in scoped], status, data)
    return Declaration(importer, year, price_eur, price_period, status, tuple(lines),
                       tuple(outside), holding, known,
                       year in data.rules.quarter_priced_years)


# -- JSON ------------------------------------------------------------------------------------

def _fig(value: Decimal | None, places: int) -> str | None:
    """A figure as a decimal string (exact in any JSON reader), rounded half-even."""
    return None if value is None else str(rounded(value, places))


def _certificates_json(c: Certificates | None) -> dict[str, Any] | None:
    if c is None:
        return None
    return {"embeddedEmissions": _fig(c.embedded, 3),
            "freeAllocationAdjustment": _fig(c.free_allocation.tonnes, 3),
            "freeAllocationBasis": c.free_allocation.basis,
            "carbonPriceDeduction": _fig(c.deduction, 3),
            "carbonPriceDeductionEur": _fig(c.deduction_eur, 2),
            "certificatesDue": _fig(c.due, 3),
            "priceEur": _fig(c.price_eur, 2), "costEur": _fig(c.cost_eur, 2),
            "notes": list(c.notes)}


def _line_json(line: DeclarationLine) -> dict[str, Any]:
    return {
        "cnCode": line.cn, "aggregatedGoodsCategory": line.category,
        "countryOfOrigin": line.country,
        "installation": {"id": line.installation, "name": line.installation_name,
                         "operator": line.operator},
        "netMass": _fig(line.tonnes, 3), "basis": line.basis,
        "specificEmbeddedEmissions": _fig(line.see, 6),
        "embeddedEmissions": _fig(line.embedded, 3),
        "unresolved": list(line.unresolved),
        "certificates": _certificates_json(line.certificates),
        "carbonPricePaid": None if line.paid is None else {
            "amount": str(line.paid.amount), "currency": line.paid.currency,
            "rebate": str(line.paid.rebate),
            "paidOn": line.paid.paid_on.isoformat() if line.paid.paid_on else None,
            "evidence": list(line.paid.evidence)},
        "lots": [{"container": f.container, "lot": f.lot, "netMass": _fig(f.tonnes, 3),
                  "importedOn": f.imported_on.isoformat(), "basis": f.basis,
                  "specificEmbeddedEmissions": _fig(f.see, 6),
                  "embeddedEmissions": _fig(f.embedded, 3), "source": f.source,
                  "credential": f.credential, "evidence": list(f.evidence)}
                 for f in line.lots],
    }


def declaration_json(d: Declaration) -> dict[str, Any]:
    """The declaration as JSON: figures as decimal strings (t and tCO2e to 3 places, SEE
    tCO2e/t to 6, EUR to 2), None where a figure is not known."""
    s = d.de_minimis
    return {
        "importer": d.importer, "year": d.year,
        "massUnit": "t", "emissionsUnit": "tCO2e", "seeUnit": "tCO2e/t",
        "certificatePrice": _price_json(d),
        "deMinimis": {"netMass": _fig(s.net_mass, 3), "threshold": _fig(s.threshold, 3),
                      "standing": s.standing, "exempt": s.exempt,
                      "headroom": _fig(s.headroom, 3), "note": s.note,
                      "notCounted": list(s.not_counted)},
        "complete": d.complete, "unresolvedLines": d.unresolved_lines,
        "embeddedEmissionsResolved": _fig(d.embedded, 3),
        "certificatesDueResolved": _fig(d.certificates_due, 3),
        "costEurResolved": _fig(d.cost_eur, 2),
        "lines": [_line_json(line) for line in d.lines],
        "notInScope": list(d.not_in_scope),
        "quarterlyHolding": _holding_json(d.holding),
    }


def _price_json(d: Declaration) -> dict[str, Any]:
    """The price given (or the default period's) and, where Article 21(1a) prices each
    quarter of importation, the quarters the lines were costed at."""
    found: dict[str, bool] = {}
    for line in d.lines:
        for f in line.lots:
            found[quarter_of(f.imported_on)] = True
    by_quarter = [{"period": q, "eurPerTonne": _fig(d.known_prices.get(q, d.price_eur), 2),
                   "known": q in d.known_prices} for q in sorted(found)] \
        if d.quarter_priced else []
    return {"eurPerTonne": _fig(d.price_eur, 2), "period": d.price_period,
            "byQuarterOfImport": by_quarter,
            "estimated": any(not q["known"] for q in by_quarter)}


def _holding_json(h: HoldingRequirement) -> dict[str, Any]:
    return {"applies": h.applies, "share": str(h.share), "note": h.note,
            "quarters": [{"period": q.period, "end": q.end.isoformat(),
                          "netMass": _fig(q.net_mass, 3),
                          "embeddedEmissionsAtDefault": _fig(q.embedded_at_default, 3),
                          "certificatesToHold": _fig(q.required, 3),
                          "unresolved": list(q.unresolved)} for q in h.quarters]}
