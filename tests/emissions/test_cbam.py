"""CBAM rules with figures worked by hand: scope, default values with the year's mark-up and
their refusal while the legal value is unread, the 50-tonne de minimis, certificates due and
their cost."""

from __future__ import annotations

import dataclasses
from decimal import Decimal

import pytest

from corridor.emissions.cbam import (
    CarbonPricePaid,
    certificates_due,
    de_minimis,
    default_see,
    free_allocation_adjustment,
    in_scope,
    markup,
)
from corridor.emissions.cbam_data import CbamData, CbamError, DefaultValue, cbam_data

D = Decimal
Q1_2026 = D("75.36")  # EUR per certificate, the published Q1 2026 price, as the example


def _with_default(cn: str, total: str, *, other: bool = False) -> CbamData:
    """The shipped data with one default filled in, for the arithmetic only: the figure is
    made up for the test, not a legal value."""
    data = cbam_data()
    line = data.defaults.lines[cn]
    value = DefaultValue(D(total), None, True)
    line = dataclasses.replace(line, **{"other" if other else "country": value})
    defaults = dataclasses.replace(data.defaults, lines={**data.defaults.lines, cn: line})
    return dataclasses.replace(data, defaults=defaults)


# -- scope ------------------------------------------------------------------------------------

@pytest.mark.parametrize(("cn", "inside", "category"), [
    ("7601", True, "Unwrought aluminium"),
    ("7615", False, None),  # household articles: Annex I jumps from 7614 to 7616
    ("7202 11", True, "FeMn Ferro-Manganese"),
    ("7202 21", False, None),  # ferro-silicon, 'Except: 7202 2'
    ("7202 30 00", False, None),  # ferro-silico-manganese
    ("7202 41", True, "FeCr – Ferro-Chromium"),
    ("7202 60 00", True, "FeNi – Ferro-Nickel"),
    ("7602", False, None),  # aluminium scrap
])
def test_scope_follows_annex_i(cn: str, inside: bool, category: str | None) -> None:
    scope = in_scope(cn)
    assert scope.in_scope is inside, scope.reason
    assert scope.category == category
    assert not scope.indirect_charged  # aluminium and ferro-alloys are Annex II goods


def test_a_heading_that_straddles_the_exceptions_is_refused() -> None:
    with pytest.raises(CbamError, match="7202"):
        in_scope("7202")


# -- default values ---------------------------------------------------------------------------

def test_no_legal_default_is_shipped_unread() -> None:
    for line in cbam_data().defaults.lines.values():
        assert line.country.total is None and line.other.total is None
        assert line.annex_iv.total is None


def test_a_null_default_is_refused_naming_the_code() -> None:
    with pytest.raises(CbamError) as refused:
        default_see("7601 10 00", "KZ", 2026)
    assert "7601 10 00" in str(refused.value)
    assert "not read in the Official Journal" in str(refused.value)
    assert "Kazakhstan" in str(refused.value)
    with pytest.raises(CbamError, match="Other countries and territories"):
        default_see("7202 41 10", "CN", 2026)


def test_markups_by_year() -> None:
    assert markup("aluminium", 2026) == D("0.10")
    assert markup("iron_and_steel", 2027) == D("0.20")
    assert markup("aluminium", 2028) == D("0.30")
    assert markup("aluminium", 2031) == D("0.30")  # "2028 and onwards"
    with pytest.raises(CbamError, match="2025"):
        markup("aluminium", 2025)


@pytest.mark.parametrize(("year", "expected"), [
    (2026, "2.2"),  # 2.000 x 1.10
    (2027, "2.4"),  # 2.000 x 1.20
    (2028, "2.6"),  # 2.000 x 1.30
    (2030, "2.6"),  # 2.000 x 1.30, from 2028 on
])
def test_a_default_carries_the_years_markup(year: int, expected: str) -> None:
    data = _with_default("7601", "2.000")
    value = default_see("7601 10 00", "KZ", year, data=data)
    assert value.line == "7601" and value.table == "Kazakhstan"
    assert value.total == D("2.000") and value.see == D(expected)


def test_another_country_takes_the_other_countries_table() -> None:
    data = _with_default("720241", "3.0", other=True)
    value = default_see("7202 41 10", "CN", 2027, data=data)
    # 3.0 x 1.20 = 3.6
    assert value.table == "Other countries and territories" and value.see == D("3.6")


def test_a_code_printed_at_eight_digits_needs_them() -> None:
    with pytest.raises(CbamError, match="76041010"):
        default_see("7604", "KZ", 2026)


# -- de minimis -------------------------------------------------------------------------------

@pytest.mark.parametrize(("aluminium", "standing", "exempt", "headroom"), [
    ("29.999", "below", True, "0.001"),  # 29.999 + 20 = 49.999 t
    ("30", "at", True, "0"),  # 30 + 20 = 50 t: "does not exceed", still exempt
    ("30.001", "above", False, "0"),  # 30.001 + 20 = 50.001 t: the whole year counts
])
def test_de_minimis(aluminium: str, standing: str, exempt: bool, headroom: str) -> None:
    imports = [("7601 10 00", D(aluminium)), ("7202 41 10", D(20)),
               ("7615 10 10", D(10)),  # not a CBAM good: not counted
               ("2716 00 00", D(100))]  # electricity: outside the threshold
    status = de_minimis("IT-importer-1", 2026, imports)
    assert status.net_mass == D(aluminium) + 20
    assert (status.standing, status.exempt, status.headroom) == (standing, exempt, D(headroom))
    assert len(status.not_counted) == 2
    if not exempt:
        assert "all goods imported in 2026" in status.note


# -- certificates -----------------------------------------------------------------------------

def test_the_published_q1_2026_price_is_in_the_rules() -> None:
    assert cbam_data().rules.prices["2026-Q1"].eur_per_tonne == Q1_2026


def test_free_allocation_adjustment() -> None:
    # 0.975 (CBAM factor 2026) x 0.9 (CSCF) x 1.2 t/t (benchmark) x 20 t = 21.06 t
    faa = free_allocation_adjustment(2026, D(20), benchmark=D("1.2"), cscf=D("0.9"))
    assert faa.tonnes == D("21.06")
    given = free_allocation_adjustment(2026, D(20), given=D("0.28"))
    assert given.tonnes == D("0.28") and "input" in given.basis
    with pytest.raises(CbamError, match="benchmark"):
        free_allocation_adjustment(2026, D(20))


def test_certificates_with_actual_values_and_no_price_paid() -> None:
    # 20 t x 1.964 t/t = 39.28 t; minus 0.28 t adjustment = 39 certificates
    faa = free_allocation_adjustment(2026, D(20), given=D("0.28"))
    due = certificates_due(D("39.28"), basis="actual", price_eur=Q1_2026, free_allocation=faa)
    assert due.due == D(39) and due.deduction == 0
    assert due.cost_eur == D("2939.04")  # 39 x 75.36


def test_certificates_less_the_kzt_carbon_price_paid() -> None:
    faa = free_allocation_adjustment(2026, D(20), given=D("0.28"))
    paid = CarbonPricePaid(D(300000), "KZT", rebate=D(64500))
    # 300 000 - 64 500 = 235 500 KZT at 625 KZT/EUR = EUR 376.80; / 75.36 = 5 certificates
    due = certificates_due(D("39.28"), basis="actual", price_eur=Q1_2026, free_allocation=faa,
                           paid=paid, to_eur=lambda amount, currency: amount / 625)
    assert due.deduction_eur == D("376.8") and due.deduction == D(5)
    assert due.due == D(34)  # 39.28 - 0.28 - 5
    assert due.cost_eur == D("2562.24")  # 34 x 75.36
    with pytest.raises(CbamError, match="KZT"):
        certificates_due(D("39.28"), basis="actual", price_eur=Q1_2026, free_allocation=faa,
                         paid=paid)


def test_with_default_values_only_a_default_carbon_price_counts() -> None:
    faa = free_allocation_adjustment(2026, D(20), given=D("1.1"))
    paid = CarbonPricePaid(D(300000), "KZT")
    # 20 t x 2.2 t/t (a 2.000 default + 10 %) = 44 t; minus 1.1 t = 42.9 certificates
    due = certificates_due(D(44), basis="default", price_eur=Q1_2026, free_allocation=faa,
                           paid=paid, to_eur=lambda amount, currency: amount / 625)
    assert due.deduction == 0 and due.due == D("42.9")
    assert due.cost_eur == D("3232.944")  # 42.9 x 75.36
    assert any("Article 9(4)" in n for n in due.notes)
    assert any("Kazakhstan" in n for n in due.notes)
    # a yearly default carbon price of EUR 7.536/t: 7.536 x 44 t = EUR 331.584; / 75.36 = 4.4
    priced = certificates_due(D(44), basis="default", price_eur=Q1_2026, free_allocation=faa,
                              default_carbon_price_eur=D("7.536"))
    assert priced.deduction == D("4.4") and priced.due == D("38.5")
    assert priced.cost_eur == D("2901.36")  # 38.5 x 75.36


def test_nothing_is_due_under_the_threshold_nor_below_zero() -> None:
    faa = free_allocation_adjustment(2026, D(20), given=D("0.28"))
    status = de_minimis("IT-importer-2", 2026, [("7601", D(20))])
    exempt = certificates_due(D("39.28"), basis="actual", price_eur=Q1_2026,
                              free_allocation=faa, de_minimis_status=status)
    assert exempt.due == 0 and exempt.cost_eur == 0
    # EUR 7 536 paid / 75.36 = 100 certificates, more than the 39 due: capped at 39
    big = certificates_due(D("39.28"), basis="actual", price_eur=Q1_2026, free_allocation=faa,
                           paid=CarbonPricePaid(D(7536), "EUR"))
    assert big.deduction == D(39) and big.due == 0
