"""EU CBAM for Kazakh aluminium and ferro-alloys: the pure arithmetic (Decimal, no SQL, no
HTTP), over the data files of corridor.emissions.cbam_data.

- `in_scope`: whether a CN code is a CBAM good (Regulation (EU) 2023/956 Annex I with its
  exceptions) and its aggregated goods category.
- `specific_embedded_emissions`: a good's SEE from its batches by the Annex IV method:
  attributed direct emissions over the activity level, plus the embedded emissions of the
  relevant precursors by mass; indirect emissions (electricity x factor) computed and
  reported, charged only for goods outside Annex II (Article 7(1)).
- `default_see`: the default value of a (CN code, country) with the year's mark-up; refused
  (CbamError) while the legal value is empty in the data file.
- `de_minimis`: where an importer stands against the 50-tonne threshold of a calendar year.
- `free_allocation_adjustment`, `certificates_due`: certificates and their cost in EUR.

Every figure is kept at full precision: the rounding the CBAM Registry applies was not
found (cbam_rules.yml, markup.registry_computation), so rounding is left to the report.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from corridor.emissions.batch import (
    BatchEmissions,
    ElectricityFactors,
    electricity_factors,
    totals,
)
from corridor.emissions.cbam_data import (
    CbamData,
    CbamError,
    Good,
    PaidPriceError,
    cbam_data,
    digits,
    for_year,
)
from corridor.emissions.events import THOUSAND, in_log_order

ZERO = Decimal(0)
# Converts an amount in a currency to EUR; the caller binds the rate's date or period.
ToEur = Callable[[Decimal, str], Decimal]


@dataclass(frozen=True)
class Scope:
    cn: str
    in_scope: bool
    reason: str
    good: Good | None = None  # None for in-scope codes the data file does not list
    indirect_charged: bool = False

    @property
    def category(self) -> str | None:
        return self.good.category_name if self.good else None


def in_scope(cn_code: str, *, data: CbamData | None = None) -> Scope:
    """Whether `cn_code` is a CBAM good. CbamError for a code too short to say (it covers
    goods in and out of scope) or outside the sectors the data file covers (aluminium,
    chapter 72 iron and steel)."""
    data = data or cbam_data()
    cn = digits(cn_code)
    if len(cn) < 4:
        raise CbamError(f"CN {cn_code!r}: not a CN code of at least 4 digits")
    excluded = next((x for x in data.exclusions if cn.startswith(x.cn)), None)
    if excluded is not None:
        return Scope(cn, False, f"CN {excluded.cn_display} ({excluded.description}): "
                                f"{excluded.reason}")
    good = next((g for g in data.goods if cn.startswith(g.cn)), None)
    if good is not None:
        sector = data.sectors[good.sector]
        return Scope(cn, True, f"Annex I of Regulation (EU) 2023/956, {good.cn_display} "
                               f"({good.description})", good, sector.indirect_charged)
    under = [x.cn for x in (*data.goods, *data.exclusions) if x.cn.startswith(cn)]
    if under:
        raise CbamError(f"CN {cn_code}: covers both goods in and out of scope ("
                        f"{', '.join(sorted(under))}); give the subheading")
    if cn.startswith("72"):
        return Scope(cn, True, "Annex I of Regulation (EU) 2023/956: '72 - Iron and steel' "
                               "and not among its exceptions",
                     None, data.sectors["iron_and_steel"].indirect_charged)
    if cn.startswith("76"):
        return Scope(cn, False, "not listed in Annex I of Regulation (EU) 2023/956, table "
                                "'Aluminium'")
    raise CbamError(f"CN {cn_code}: outside the sectors Corridor's CBAM data covers "
                    "(aluminium, chapter 72 iron and steel); decide from Annex I")


# -- specific embedded emissions (Annex IV of Regulation 2023/956) -----------------------------

@dataclass(frozen=True)
class Precursor:
    """A relevant precursor consumed by the batches: `tonnes` used, its own SEE (tCO2e/t),
    actual (communicated by its installation) or default."""
    cn: str
    tonnes: Decimal
    see_direct: Decimal
    see_indirect: Decimal = ZERO
    basis: str = "actual"
    evidence: tuple[str, ...] = ()  # Event Hash IDs its figures rest on


@dataclass(frozen=True)
class SpecificEmbeddedEmissions:
    cn: str
    category: str | None
    activity_level: Decimal  # t of the good produced
    attributed_direct: Decimal  # tCO2e
    attributed_indirect: Decimal  # tCO2e
    precursors_direct: Decimal  # tCO2e embedded in the precursors
    precursors_indirect: Decimal
    direct: Decimal  # SEE, tCO2e/t
    indirect: Decimal  # SEE, tCO2e/t, reported
    charged: Decimal  # the SEE certificates are due on
    indirect_charged: bool
    basis: str  # "actual"
    evidence: tuple[str, ...]  # Event Hash IDs, log order
    notes: tuple[str, ...]


def _electricity_t(batches: Sequence[BatchEmissions], factors: ElectricityFactors,
                   grid_factor: Decimal | None) -> tuple[Decimal, str]:
    if grid_factor is not None:
        mwh = sum((b.kwh for b in batches), ZERO) / THOUSAND
        return mwh * grid_factor, f"indirect: electricity x {grid_factor} tCO2e/MWh (given)"
    return totals(batches, factors).electricity, (
        f"indirect: electricity by source x the source's factor ({factors.source}); not the "
        "grid factor of IR 2025/2621 Annex II, which was not read")


def specific_embedded_emissions(
        batches: Sequence[BatchEmissions], *, precursors: Sequence[Precursor] = (),
        factors: ElectricityFactors | None = None, grid_factor: Decimal | None = None,
        data: CbamData | None = None) -> SpecificEmbeddedEmissions:
    """The SEE of the good the batches produced (one CN code). `grid_factor` (tCO2e/MWh)
    replaces the batches' own electricity mix for the indirect emissions."""
    if not batches:
        raise CbamError("no batch: specific embedded emissions need the producing events")
    codes = sorted({b.cn for b in batches})
    if len(codes) > 1:
        raise CbamError(f"the batches give different CN codes ({', '.join(codes)})")
    scope = in_scope(codes[0], data=data)
    if not scope.in_scope:
        raise CbamError(f"CN {codes[0]} is not a CBAM good: {scope.reason}")
    level = sum((b.tonnes for b in batches), ZERO)
    if level <= 0:
        raise CbamError(f"CN {codes[0]}: the batches give an activity level of 0 t")
    factors = factors or electricity_factors()
    direct = totals(batches, factors).direct
    indirect, how = _electricity_t(batches, factors, grid_factor)
    pre_direct = sum((p.tonnes * p.see_direct for p in precursors), ZERO)
    pre_indirect = sum((p.tonnes * p.see_indirect for p in precursors), ZERO)
    see_direct, see_indirect = (direct + pre_direct) / level, (indirect + pre_indirect) / level
    notes = [how, ("upstream emissions (the inputs' footprint) are not CBAM precursors and "
                   "are not counted")]
    if not scope.indirect_charged:
        notes.append("Annex II good: only direct emissions are charged (Regulation "
                     "2023/956 Article 7(1)); indirect emissions are reported")
    notes += [f"precursor {p.cn}: {p.basis} values" for p in precursors]
    evidence = [e.hash_id for e in in_log_order(b.event for b in batches)]
    evidence += [h for p in precursors for h in p.evidence if h not in evidence]
    return SpecificEmbeddedEmissions(
        codes[0], scope.category, level, direct, indirect, pre_direct, pre_indirect,
        see_direct, see_indirect,
        see_direct + see_indirect if scope.indirect_charged else see_direct,
        scope.indirect_charged, "actual", tuple(evidence), tuple(notes))


# -- default values with the year's mark-up ---------------------------------------------------

@dataclass(frozen=True)
class DefaultSEE:
    cn: str
    line: str  # the CN line of the table the value is printed at
    country: str
    table: str
    year: int
    total: Decimal  # tCO2e/t, as the regulation prints it
    markup: Decimal  # fraction added for the year
    see: Decimal  # total x (1 + markup)
    source: str


def markup(sector: str, year: int, *, data: CbamData | None = None) -> Decimal:
    """The mark-up of `year` for goods of `sector` (cbam_rules.yml markup)."""
    table = (data or cbam_data()).rules.markup.get(sector)
    if table is None:
        raise CbamError(f"no mark-up for the sector {sector!r}")
    return for_year(table, year, f"mark-up for {sector}")


def default_see(cn_code: str, country: str, year: int, *,
                data: CbamData | None = None) -> DefaultSEE:
    """The default value (total emissions) of `cn_code` produced in `country`, with the
    mark-up of the year of import; CbamError naming the code and why when it cannot be
    given."""
    data = data or cbam_data()
    scope = in_scope(cn_code, data=data)
    if not scope.in_scope or scope.good is None:
        raise CbamError(f"CN {cn_code}: no default value: "
                        + (scope.reason if not scope.in_scope else
                           "not among the goods of cbam_goods.yml"))
    cn, defaults = scope.cn, data.defaults
    line = max((k for k in defaults.lines if cn.startswith(k)), key=len, default=None)
    if line is None:
        raise CbamError(f"CN {cn_code}: the default tables print it at the lines "
                        f"{', '.join(scope.good.default_value_lines)}; give the full code")
    own = country.upper() == defaults.country
    table = defaults.country_table if own else defaults.fallback_table
    value = (defaults.lines[line].country if own else defaults.lines[line].other)
    if value.total is None:
        raise CbamError(
            f"CN {cn_code}: no legal default value for {country} (table '{table}', line "
            f"{line}): the figure of {defaults.act} was not read in the Official Journal, so "
            "cbam_defaults.yml leaves it empty and no default is applied; use the "
            "installation's actual embedded emissions, or enter the value read in the OJ")
    added = markup(scope.good.sector, year, data=data)
    return DefaultSEE(cn, line, country.upper(), table, year, value.total, added,
                      value.total * (1 + added),
                      f"{defaults.act}, table '{table}', CN {line}; mark-up: "
                      f"{data.rules.markup_provision}")


# -- the 50-tonne de minimis (Article 2a and Annex VII) ---------------------------------------

@dataclass(frozen=True)
class DeMinimisStatus:
    importer: str
    year: int
    net_mass: Decimal  # t of CBAM goods imported in the year
    threshold: Decimal
    standing: str  # "below", "at" or "above" the threshold
    exempt: bool  # True: nothing is due for the year
    headroom: Decimal  # t left before the threshold is exceeded
    not_counted: tuple[str, ...]  # CN codes left out, each with why
    note: str


def de_minimis(importer: str, year: int, imports: Iterable[tuple[str, Decimal]], *,
               data: CbamData | None = None) -> DeMinimisStatus:
    """Where `importer` stands in `year`, from its imports (CN code, net mass in t)."""
    data = data or cbam_data()
    rules = data.rules
    total, left_out = ZERO, []
    for cn, tonnes in imports:
        if any(digits(cn).startswith(x) for x in rules.de_minimis_excluded):
            left_out.append(f"{cn}: electricity and hydrogen are outside the threshold "
                            "(Article 2a(4))")
            continue
        scope = in_scope(cn, data=data)
        if not scope.in_scope:
            left_out.append(f"{cn}: not a CBAM good ({scope.reason})")
            continue
        total += tonnes
    limit = rules.de_minimis_tonnes
    standing = "below" if total < limit else "at" if total == limit else "above"
    exempt = total <= limit
    note = (f"{total} t of {limit} t: exempt for {year}, nothing is due"
            if exempt else
            f"{total} t exceeds {limit} t: all emissions embedded in all goods imported in "
            f"{year} count, from the first tonne")
    return DeMinimisStatus(importer, year, total, limit, standing, exempt,
                           max(limit - total, ZERO), tuple(left_out),
                           f"{note} ({rules.de_minimis_provision})")


# -- certificates -----------------------------------------------------------------------------

@dataclass(frozen=True)
class FreeAllocation:
    tonnes: Decimal  # tCO2e deducted from the embedded emissions
    basis: str


def free_allocation_adjustment(year: int, tonnes_of_good: Decimal, *,
                               benchmark: Decimal | None = None, cscf: Decimal | None = None,
                               given: Decimal | None = None,
                               data: CbamData | None = None) -> FreeAllocation:
    """CBAM factor of the year x CSCF x benchmark (tCO2e/t) x tonnes (IR 2025/2620), when
    the benchmark and the CSCF are given; otherwise the adjustment `given` as an input (in
    tCO2e), said so. The data files hold neither the benchmarks nor the CSCF (not read)."""
    data = data or cbam_data()
    factor = for_year(data.rules.cbam_factor, year, "CBAM factor")
    if benchmark is not None and cscf is not None:
        return FreeAllocation(factor * cscf * benchmark * tonnes_of_good,
                              f"CBAM factor {factor} ({year}) x CSCF {cscf} x benchmark "
                              f"{benchmark} tCO2e/t x {tonnes_of_good} t")
    if given is not None:
        return FreeAllocation(given, "given as an input: the CBAM benchmark of IR 2025/2620 "
                                     "and the CSCF were not available to compute it "
                                     f"(CBAM factor {year}: {factor})")
    raise CbamError("free allocation adjustment: give the benchmark and the CSCF, or the "
                    "adjustment itself (tCO2e); neither is in the data files")


@dataclass(frozen=True)
class CarbonPricePaid:
    """The carbon price effectively paid in the country of origin for these emissions, net
    of `rebate` (any rebate or compensation, free allocation included: Article 9(1))."""
    amount: Decimal
    currency: str
    rebate: Decimal = ZERO
    evidence: tuple[str, ...] = ()  # e.g. the allowance surrender record and its SHA-256
    paid_on: date | None = None  # the date of the rate it is converted to EUR at


@dataclass(frozen=True)
class Certificates:
    embedded: Decimal  # tCO2e
    free_allocation: FreeAllocation
    deduction: Decimal  # certificates not due for the carbon price paid at origin
    deduction_eur: Decimal
    due: Decimal  # certificates (1 per tCO2e)
    price_eur: Decimal  # per certificate
    cost_eur: Decimal
    notes: tuple[str, ...]


def _deduction_eur(embedded: Decimal, basis: str, paid: CarbonPricePaid | None,
                   default_price: Decimal | None, to_eur: ToEur | None,
                   notes: list[str]) -> Decimal:
    """EUR of carbon price Article 9 lets the declarant deduct."""
    if basis == "actual":
        if paid is None:
            notes.append("no carbon price paid at origin was given: nothing deducted")
            return ZERO
        net = paid.amount - paid.rebate
        if paid.currency.upper() == "EUR":
            eur = net
        elif to_eur is None:
            raise PaidPriceError(f"carbon price paid in {paid.currency}: give a conversion to EUR")
        else:
            eur = to_eur(net, paid.currency.upper())
        notes.append(f"Article 9(1): carbon price effectively paid, {net} {paid.currency} "
                     f"net of rebates = EUR {eur}")
        return max(eur, ZERO)
    if basis != "default":
        raise CbamError(f"embedded emissions basis {basis!r}: 'actual' or 'default'")
    if paid is not None:
        notes.append("Article 9(4): with default values only a yearly default carbon price "
                     "may be deducted; the price paid at origin is not")
    if default_price is None:
        notes.append("no yearly default carbon price is published for the country of "
                     "origin (none for Kazakhstan): nothing deducted")
        return ZERO
    notes.append(f"Article 9(4): yearly default carbon price EUR {default_price}/tCO2e "
                 "on the embedded emissions")
    return default_price * embedded


def certificates_due(embedded: Decimal, *, basis: str, price_eur: Decimal,
                     free_allocation: FreeAllocation, paid: CarbonPricePaid | None = None,
                     default_carbon_price_eur: Decimal | None = None,
                     to_eur: ToEur | None = None,
                     de_minimis_status: DeMinimisStatus | None = None) -> Certificates:
    """Certificates due on `embedded` tCO2e (from `basis` "actual" or "default" values):
    embedded - free allocation adjustment - carbon price paid at origin / certificate
    price, never below 0; cost = certificates x `price_eur` (the period's price)."""
    if price_eur <= 0:
        raise CbamError(f"certificate price EUR {price_eur}: must be above 0")
    notes: list[str] = []
    if de_minimis_status is not None and de_minimis_status.exempt:
        notes.append(de_minimis_status.note)
        return Certificates(embedded, free_allocation, ZERO, ZERO, ZERO, price_eur, ZERO,
                            tuple(notes))
    eur = _deduction_eur(embedded, basis, paid, default_carbon_price_eur, to_eur, notes)
    before = max(embedded - free_allocation.tonnes, ZERO)
    deduction = min(eur / price_eur, before)
    if deduction < eur / price_eur:
        notes.append("the deduction is capped at the certificates otherwise due (no "
                     "negative surrender is provided for)")
    due = before - deduction
    return Certificates(embedded, free_allocation, deduction, eur, due, price_eur,
                        due * price_eur, tuple(notes))
