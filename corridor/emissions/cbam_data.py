"""The EU CBAM data files as typed objects: data/cbam_goods.yml (scope, Annex I and II of
Regulation (EU) 2023/956; aggregated goods categories of Implementing Regulation (EU)
2025/2547), data/cbam_defaults.yml (default values of Implementing Regulation (EU) 2025/2621
as replaced by 2026/1740) and data/cbam_rules.yml (mark-up, CBAM factor, de minimis,
certificate prices).

A default value the file leaves empty (null: not read in the Official Journal) stays None
here; the `unverified_workbook` figures beside them are not loaded at all, so nothing can
apply them as legal values.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from functools import cache
from typing import Any

from corridor.emissions.batch import data_file


class CbamError(ValueError):
    """A CBAM figure that cannot be given; the message names the CN code (or input) and why."""


class PaidPriceError(CbamError):
    """A carbon price paid at origin that cannot be deducted as given (its line, currency,
    evidence or conversion); the message names the installation and why."""


@dataclass(frozen=True)
class Good:
    cn: str  # digits only
    cn_display: str
    description: str
    sector: str
    category: str  # key of the aggregated goods category
    category_name: str  # as IR 2025/2547 Annex IV point 2 prints it
    default_value_lines: tuple[str, ...]


@dataclass(frozen=True)
class Exclusion:
    cn: str
    cn_display: str
    description: str
    reason: str


@dataclass(frozen=True)
class Sector:
    name: str
    indirect_charged: bool  # False for Annex II goods (Article 7(1): direct emissions only)


@dataclass(frozen=True)
class DefaultValue:
    total: Decimal | None  # tCO2e per tonne; None: not read in the Official Journal
    route: str | None
    read_in_oj: bool


@dataclass(frozen=True)
class DefaultLine:
    cn: str
    description: str
    country: DefaultValue  # the table of `Defaults.country`
    other: DefaultValue  # "Other countries and territories"
    annex_iv: DefaultValue  # precursors of unknown origin (IR 2025/2621 Article 1(5))


@dataclass(frozen=True)
class Defaults:
    act: str
    country: str  # ISO 3166 alpha-2 of the country table the file holds
    country_table: str
    fallback_table: str
    lines: Mapping[str, DefaultLine]


@dataclass(frozen=True)
class PublishedPrice:
    period: str
    eur_per_tonne: Decimal | None
    basis: str


@dataclass(frozen=True)
class Holding:
    """The quarterly holding requirement (cbam_rules.yml quarterly_holding)."""
    from_year: int
    share: Decimal
    provision: str
    caveat: str


@dataclass(frozen=True)
class Rules:
    markup: Mapping[str, Mapping[int | str, Decimal]]  # sector -> year (or "2029+") -> fraction
    markup_provision: str
    cbam_factor: Mapping[int | str, Decimal]
    cbam_factor_provision: str
    de_minimis_tonnes: Decimal
    de_minimis_provision: str
    de_minimis_excluded: tuple[str, ...]  # CN codes Article 2a(4) leaves out
    prices: Mapping[str, PublishedPrice]
    default_price_period: str  # the period whose published price a report uses by default
    quarter_priced_years: tuple[int, ...]  # priced at the quarter of importation (Art 21(1a))
    holding: Holding


@dataclass(frozen=True)
class CbamData:
    sectors: Mapping[str, Sector]
    goods: tuple[Good, ...]
    exclusions: tuple[Exclusion, ...]
    defaults: Defaults
    rules: Rules


def digits(cn: str) -> str:
    """A CN code as digits only ("7202 11" -> "720211")."""
    return "".join(c for c in str(cn) if c.isdigit())


def _decimal(value: Any) -> Decimal | None:
    # The files mark absent figures with null, "dash" or "not_applicable": none is a number.
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        return None
    try:
        return Decimal(str(value))
    except ArithmeticError:
        return None


def _value(entry: Mapping[str, Any] | None) -> DefaultValue:
    entry = entry or {}
    route = entry.get("route")
    return DefaultValue(_decimal(entry.get("total")), str(route) if route else None,
                        bool(entry.get("read_in_oj", False)))


def _defaults(raw: Mapping[str, Any]) -> Defaults:
    lines = {digits(line["cn"]): DefaultLine(
        digits(line["cn"]), str(line["description"]), _value(line.get("kz")),
        _value(line.get("other")), _value(line.get("annex_iv")))
        for line in raw["lines"]}
    return Defaults(str(raw["act"]), str(raw["country"]["iso2"]),
                    str(raw["country"]["annex_table"]), str(raw["fallback_table"]), lines)


def _by_year(table: Mapping[Any, Any]) -> dict[int | str, Decimal]:
    return {k if isinstance(k, int) else str(k): Decimal(str(v)) for k, v in table.items()}


def _rules(raw: Mapping[str, Any]) -> Rules:
    markup = raw["markup"]
    prices = {str(period): PublishedPrice(str(period), _decimal(p.get("value")),
                                          str(p.get("basis", "not stated")))
              for period, p in raw["certificate_price"]["published_prices_eur_per_tonne"].items()}
    excluded = tuple(digits(c.split("(")[1]) for c in raw["de_minimis"]["excluded_goods"])
    holding = raw["quarterly_holding"]
    return Rules(
        {str(s): _by_year(t) for s, t in markup["by_sector_and_year"].items()},
        str(markup["provision"]),
        _by_year(raw["cbam_factor"]["by_year"]), str(raw["cbam_factor"]["provision"]),
        Decimal(str(raw["de_minimis"]["threshold_tonnes_net_mass"])),
        str(raw["de_minimis"]["provision"]), excluded, prices,
        str(raw["certificate_price"]["default_period"]),
        tuple(int(y) for y in raw["certificate_price"]["rule_2026"]["years"]),
        Holding(int(holding["from_year"]), Decimal(str(holding["share"])),
                str(holding["provision"]), " ".join(str(holding["not_modelled"]).split())))


@cache
def cbam_data() -> CbamData:
    goods_file, defaults_file = data_file("cbam_goods.yml"), data_file("cbam_defaults.yml")
    categories = goods_file["aggregated_goods_categories"]
    sectors = {str(k): Sector(str(k), bool(v["indirect_emissions_charged"]))
               for k, v in goods_file["sectors"].items()}
    goods = tuple(Good(digits(g["cn"]), str(g["cn_display"]), str(g["description"]),
                       str(g["sector"]), str(g["aggregated_goods_category"]),
                       str(categories[g["aggregated_goods_category"]]["name"]),
                       tuple(digits(x) for x in g["default_value_lines"]))
                  for g in goods_file["goods"])
    exclusions = tuple(Exclusion(digits(x["cn"]), str(x["cn_display"]), str(x["description"]),
                                 str(x["reason"])) for x in goods_file["excluded"])
    return CbamData(sectors, goods, exclusions, _defaults(defaults_file),
                    _rules(data_file("cbam_rules.yml")))


def for_year(table: Mapping[int | str, Decimal], year: int, what: str) -> Decimal:
    """The figure of `year` in a table keyed by year and "NNNN+" (that year and after)."""
    if year in table:
        return table[year]
    for key, value in table.items():
        if isinstance(key, str) and key.endswith("+") and year >= int(key[:-1]):
            return value
    raise CbamError(f"no {what} for the year {year} (the rules give "
                    f"{', '.join(str(k) for k in table)})")


@dataclass(frozen=True)
class MemberStates:
    codes: frozenset[str]  # ISO 3166-1 alpha-2
    source: str

    def __contains__(self, country: object) -> bool:
        return isinstance(country, str) and country.upper() in self.codes


@cache
def eu_member_states() -> MemberStates:
    """The EU Member States (data/eu_member_states.yml, citing TEU Article 52)."""
    raw = data_file("eu_member_states.yml")
    return MemberStates(frozenset(str(c).upper() for c in raw["member_states"]),
                        str(raw["source"]))
