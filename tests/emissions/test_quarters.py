"""The rules keyed by the quarter of importation, with every figure worked by hand in the
comments: the 2026 certificate price of each quarter (Article 21(1a)), a quarter without a
known price, a year priced as a whole, and the quarterly holding requirement from 2027
(Article 22(2)) at made-up default values (for the arithmetic only: no legal Kazakh default
has been read)."""

from __future__ import annotations

import dataclasses
from datetime import date
from decimal import Decimal

from corridor.emissions.cbam_data import CbamData, DefaultValue, cbam_data
from corridor.emissions.declaration import ActualValues, ImportedLot, declaration
from corridor.emissions.quarters import quarter_end, quarter_of

D = Decimal
PAVLODAR = "urn:epc:id:sgln:4870101.00010.0"
AKTOBE = "urn:epc:id:sgln:4870102.00010.0"
AL_LOT = "urn:epc:class:lgtin:4870101.076011.AL26-0001"
FECR_LOT = "urn:epc:class:lgtin:4870102.072041.FA27-0002"
IMPORTER = "urn:epc:id:pgln:8010603.00000"
# 151.2 tCO2e over 75.6 t: SEE 2.0 tCO2e/t
AL_ACTUAL = ActualValues(AL_LOT, "76011000", D("151.2"), D("75.6"), "urn:uuid:al")


def _al(container: str, tonnes: str, day: date) -> ImportedLot:
    return ImportedLot(container, AL_LOT, "76011000", "KZ", PAVLODAR, "Pavlodar smelter",
                       None, D(tonnes), day)


def _fecr(container: str, tonnes: str, day: date) -> ImportedLot:
    return ImportedLot(container, FECR_LOT, "72024110", "KZ", AKTOBE, "Aktobe plant", None,
                       D(tonnes), day)


def _with_fecr_default(total: str) -> CbamData:
    """The shipped data with a made-up Kazakh 7202 41 default, for the arithmetic only."""
    data = cbam_data()
    line = dataclasses.replace(data.defaults.lines["720241"],
                               country=DefaultValue(D(total), None, True))
    return dataclasses.replace(data, defaults=dataclasses.replace(
        data.defaults, lines={**data.defaults.lines, "720241": line}))


def test_quarters() -> None:
    assert [quarter_of(date(2026, m, 15)) for m in (1, 3, 4, 9, 10, 12)] == \
        ["2026-Q1", "2026-Q1", "2026-Q2", "2026-Q3", "2026-Q4", "2026-Q4"]
    assert [quarter_end(2027, q) for q in (1, 2, 3, 4)] == \
        [date(2027, 3, 31), date(2027, 6, 30), date(2027, 9, 30), date(2027, 12, 31)]


def test_each_lot_is_priced_at_its_quarter_of_importation() -> None:
    # c1: 25.2 t in Q1 x 2.0 = 50.4 tCO2e at EUR 75.36 = 3798.144
    # c2: 25.0 t in Q2 x 2.0 = 50.0 tCO2e at EUR 80.00 = 4000.000
    # the line: 100.4 certificates, EUR 7798.144; its price 7798.144 / 100.4 = 77.6707...
    d = declaration(IMPORTER, 2026, [_al("c1", "25.2", date(2026, 3, 2)),
                                     _al("c2", "25.0", date(2026, 5, 4))],
                    {AL_LOT: AL_ACTUAL}, price_eur=D("75.36"), price_period="2026-Q1",
                    quarter_prices={"2026-Q2": D("80.00")})
    (line,) = d.lines
    assert line.certificates is not None
    assert line.certificates.due == D("100.4")
    assert line.certificates.cost_eur == D("7798.144")
    doc = d.to_json()
    assert doc["lines"][0]["certificates"]["costEur"] == "7798.14"
    assert doc["lines"][0]["certificates"]["priceEur"] == "77.67"
    assert doc["certificatePrice"]["byQuarterOfImport"] == [
        {"period": "2026-Q1", "eurPerTonne": "75.36", "known": True},
        {"period": "2026-Q2", "eurPerTonne": "80.00", "known": True}]
    assert doc["certificatePrice"]["estimated"] is False


def test_a_quarter_without_a_price_is_an_estimate_and_says_so() -> None:
    # c2 was imported in Q3, whose price is not known: Q1's EUR 75.36 stands in;
    # 100.4 x 75.36 = 7566.144
    d = declaration(IMPORTER, 2026, [_al("c1", "25.2", date(2026, 3, 2)),
                                     _al("c2", "25.0", date(2026, 8, 3))],
                    {AL_LOT: AL_ACTUAL}, price_eur=D("75.36"), price_period="2026-Q1")
    (line,) = d.lines
    assert line.certificates is not None and line.certificates.cost_eur == D("7566.144")
    assert any("no price for 2026-Q3" in n and "an estimate" in n
               for n in line.certificates.notes)
    doc = d.to_json()["certificatePrice"]
    assert doc["estimated"] is True
    assert doc["byQuarterOfImport"][1] == {"period": "2026-Q3", "eurPerTonne": "75.36",
                                           "known": False}


def test_from_2027_one_price_for_the_year() -> None:
    # 2027 is not priced per quarter of importation: 100.4 certificates x EUR 90 = 9036
    d = declaration(IMPORTER, 2027, [_al("c1", "25.2", date(2027, 3, 2)),
                                     _al("c2", "25.0", date(2027, 8, 3))],
                    {AL_LOT: AL_ACTUAL}, price_eur=D("90"), price_period="2027-Q3",
                    quarter_prices={"2027-Q1": D("70")})
    (line,) = d.lines
    assert line.certificates is not None and line.certificates.cost_eur == D("9036.0")
    assert d.to_json()["certificatePrice"]["byQuarterOfImport"] == []


def test_no_quarterly_holding_for_2026_imports() -> None:
    d = declaration(IMPORTER, 2026, [_al("c1", "60", date(2026, 3, 2))], {AL_LOT: AL_ACTUAL},
                    price_eur=D("75.36"), price_period="2026-Q1")
    assert d.holding.applies is False and d.holding.quarters == ()
    assert "from 2027" in d.holding.note


def test_quarterly_holding_from_2027_at_defaults_without_the_mark_up() -> None:
    # made-up default 2.0 tCO2e/t for Kazakh 7202 41 (the 2027 mark-up of 20 % is NOT added)
    # 30 t on 2027-02-01 and 40 t on 2027-08-02: 70 t > 50 t, the holding applies
    # Q1, Q2: 30 t x 2.0 = 60 tCO2e, hold 50 % = 30
    # Q3, Q4: 70 t x 2.0 = 140 tCO2e, hold 70
    data = _with_fecr_default("2.0")
    d = declaration(IMPORTER, 2027, [_fecr("c1", "30", date(2027, 2, 1)),
                                     _fecr("c2", "40", date(2027, 8, 2))], {},
                    price_eur=D("80"), price_period="2027-Q1", data=data)
    assert d.holding.applies is True
    assert [(q.period, q.net_mass, q.embedded_at_default, q.required)
            for q in d.holding.quarters] == [
        ("2027-Q1", D("30"), D("60.0"), D("30.00")), ("2027-Q2", D("30"), D("60.0"), D("30.00")),
        ("2027-Q3", D("70"), D("140.0"), D("70.00")), ("2027-Q4", D("70"), D("140.0"),
                                                       D("70.00"))]
    # the declaration itself uses the default with the 2027 mark-up: 2.0 x 1.2 = 2.4;
    # 70 t x 2.4 = 168 tCO2e
    assert d.lines[0].embedded == D("168.00")
    held = d.to_json()["quarterlyHolding"]["quarters"][3]
    assert (held["certificatesToHold"], held["embeddedEmissionsAtDefault"]) == \
        ("70.000", "140.000")


def test_quarterly_holding_without_a_default_value_says_why() -> None:
    # no Kazakh aluminium default has been read: the requirement cannot be given
    d = declaration(IMPORTER, 2027, [_al("c1", "60", date(2027, 2, 1))], {AL_LOT: AL_ACTUAL},
                    price_eur=D("80"), price_period="2027-Q1")
    first = d.holding.quarters[0]
    assert first.required is None and first.net_mass == D("60")
    assert "no legal default value for KZ" in first.unresolved[0]


def test_no_holding_under_the_threshold() -> None:
    d = declaration(IMPORTER, 2027, [_fecr("c1", "30", date(2027, 2, 1))], {},
                    price_eur=D("80"), price_period="2027-Q1", data=_with_fecr_default("2.0"))
    assert d.holding.applies is False and "nothing to hold" in d.holding.note
