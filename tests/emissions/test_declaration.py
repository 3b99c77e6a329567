"""An importer's declaration lines, with every figure worked by hand in the comments: all
actual values; one line unresolved (no legal Kazakh default has been read); under and above
the 50-tonne de minimis; a default value with the year's mark-up (a made-up figure, for the
arithmetic only); a line of actual and default lots; the free allocation adjustment; the
JSON shape."""

from __future__ import annotations

import dataclasses
from datetime import date
from decimal import Decimal

import pytest

from corridor.emissions.cbam import FreeAllocation
from corridor.emissions.cbam_data import CbamData, CbamError, DefaultValue, cbam_data
from corridor.emissions.declaration import (
    UNAVAILABLE,
    ActualValues,
    ImportedLot,
    declaration,
)

D = Decimal
Q1_2026 = D("75.36")  # EUR per certificate, the published Q1 2026 price, as the example
PAVLODAR = "urn:epc:id:sgln:4870101.00010.0"
AKTOBE = "urn:epc:id:sgln:4870102.00010.0"
AL_LOT = "urn:epc:class:lgtin:4870101.076011.AL26-0001"
FECR_LOT = "urn:epc:class:lgtin:4870102.072041.FA26-0002"
IMPORTER = "urn:epc:id:pgln:8010603.00000"


def _import(container: str, lot: str, tonnes: str, *, cn: str | None = None,
            day: date = date(2026, 3, 2)) -> ImportedLot:
    aluminium = lot == AL_LOT
    return ImportedLot(
        container, lot, cn or ("76011000" if aluminium else "72024110"), "KZ",
        PAVLODAR if aluminium else AKTOBE,
        "Pavlodar smelter" if aluminium else "Aktobe ferro-alloy plant",
        "urn:epc:id:pgln:4870101.00000" if aluminium else "urn:epc:id:pgln:4870102.00000",
        D(tonnes), day, (f"ni:///sha-256;{container}",))


# the aluminium lot: 151.2 tCO2e direct over 75.6 t -> SEE 151.2 / 75.6 = 2.0 tCO2e/t
AL_ACTUAL = ActualValues(AL_LOT, "76011000", D("151.2"), D("75.6"), "urn:uuid:al",
                         ("ni:///sha-256;made-al",))
# the ferro-chromium lot: 120 tCO2e over 72 t -> SEE 120 / 72 = 1.6666... tCO2e/t
FECR_ACTUAL = ActualValues(FECR_LOT, "72024110", D("120"), D("72"), "urn:uuid:fecr",
                           ("ni:///sha-256;made-fecr",))
AL_IMPORTS = [_import("c1", AL_LOT, "25.2"), _import("c2", AL_LOT, "25.0")]
FECR_IMPORT = _import("c3", FECR_LOT, "24.0")


def _declare(imports: list[ImportedLot], actual: list[ActualValues], **kw: object):
    return declaration(IMPORTER, 2026, imports, {a.lot: a for a in actual},
                       price_eur=Q1_2026, price_period="2026-Q1", **kw)  # type: ignore[arg-type]


def _with_fecr_default(total: str) -> CbamData:
    """The shipped data with the Kazakh 7202 41 default filled in, for the arithmetic only:
    the figure is made up for the test, not a legal value."""
    data = cbam_data()
    line = dataclasses.replace(data.defaults.lines["720241"],
                               country=DefaultValue(D(total), None, True))
    defaults = dataclasses.replace(data.defaults,
                                   lines={**data.defaults.lines, "720241": line})
    return dataclasses.replace(data, defaults=defaults)


def test_all_actual_above_the_threshold() -> None:
    d = _declare([*AL_IMPORTS, FECR_IMPORT], [AL_ACTUAL, FECR_ACTUAL])
    # 25.2 + 25.0 + 24.0 = 74.2 t > 50 t: every tonne counts
    assert (d.de_minimis.net_mass, d.de_minimis.standing, d.de_minimis.exempt) == \
        (D("74.2"), "above", False)
    fecr, al = d.lines  # sorted by CN code: 72024110 before 76011000
    assert (al.cn, al.country, al.installation, al.basis) == \
        ("76011000", "KZ", PAVLODAR, "actual")
    # aluminium: 50.2 t x 2.0 = 100.4 tCO2e, SEE 100.4 / 50.2 = 2.0
    assert (al.tonnes, al.embedded, al.see) == (D("50.2"), D("100.4"), D("2"))
    assert [f.embedded for f in al.lots] == [D("50.4"), D("50.0")]  # 25.2 x 2; 25.0 x 2
    # certificates: 100.4 (nothing deducted) x EUR 75.36 = 7536 + 30.144 = EUR 7566.144
    assert al.certificates is not None
    assert (al.certificates.due, al.certificates.cost_eur) == (D("100.4"), D("7566.144"))
    # ferro-chromium: 24 t x 120 / 72 = 40 tCO2e; 40 x 75.36 = EUR 3014.40
    assert fecr.embedded is not None and fecr.embedded.quantize(D("0.000001")) == D("40")
    assert fecr.certificates is not None
    assert fecr.certificates.cost_eur.quantize(D("0.01")) == D("3014.40")
    # the year: 140.4 certificates, EUR 10580.544 (7566.144 + 3014.40)
    assert d.certificates_due.quantize(D("0.001")) == D("140.400")
    assert d.cost_eur.quantize(D("0.001")) == D("10580.544")
    assert d.complete and d.unresolved_lines == 0
    # evidence: the import's events, then the credential's
    assert al.lots[0].credential == "urn:uuid:al"
    assert al.lots[0].evidence == ("ni:///sha-256;c1", "ni:///sha-256;made-al")


def test_a_lot_without_actual_values_leaves_its_line_unresolved() -> None:
    d = _declare([*AL_IMPORTS, FECR_IMPORT], [AL_ACTUAL])
    fecr, al = d.lines
    assert fecr.basis == "unresolved" and fecr.embedded is None and fecr.see is None
    assert fecr.certificates is None
    assert len(fecr.unresolved) == 1
    assert fecr.unresolved[0].startswith(UNAVAILABLE + "CN 72024110: no legal default value "
                                         "for KZ")
    assert fecr.lots[0].see is None and fecr.lots[0].credential is None
    # the unresolved line still counts for the threshold: 74.2 t, above
    assert d.de_minimis.net_mass == D("74.2") and not d.de_minimis.exempt
    assert not d.complete and d.unresolved_lines == 1
    # only the aluminium line is priced: 100.4 certificates, EUR 7566.144
    assert (d.certificates_due, d.cost_eur) == (D("100.4"), D("7566.144"))
    assert al.resolved


def test_under_the_threshold_nothing_is_due() -> None:
    d = _declare([_import("c1", AL_LOT, "25.2"), FECR_IMPORT], [AL_ACTUAL])
    # 25.2 + 24.0 = 49.2 t <= 50 t: exempt, 0.8 t of headroom
    status = d.de_minimis
    assert (status.net_mass, status.standing, status.exempt, status.headroom) == \
        (D("49.2"), "below", True, D("0.8"))
    fecr, al = d.lines
    assert al.embedded == D("50.4")  # 25.2 x 2.0, still reported
    assert al.certificates is not None
    assert (al.certificates.due, al.certificates.cost_eur) == (D(0), D(0))
    # the unresolved line does not make an exempt year incomplete: nothing is due anyway
    assert not fecr.resolved and d.complete
    assert d.certificates_due == 0 and d.cost_eur == 0


def test_exactly_fifty_tonnes_is_still_exempt() -> None:
    d = _declare([_import("c1", AL_LOT, "26.0"), FECR_IMPORT], [AL_ACTUAL, FECR_ACTUAL])
    # 26.0 + 24.0 = 50.0 t: "does not cumulatively exceed" the threshold (Article 2a(1))
    assert (d.de_minimis.standing, d.de_minimis.exempt) == ("at", True)
    assert d.certificates_due == 0


def test_a_default_value_carries_the_years_markup_and_says_so() -> None:
    data = _with_fecr_default("2.0")  # made-up figure, not the regulation's
    d = _declare([*AL_IMPORTS, FECR_IMPORT], [AL_ACTUAL], data=data)
    fecr = d.lines[0]
    # 2.0 x (1 + 0.10 mark-up in 2026) = 2.2 tCO2e/t; 24.0 t x 2.2 = 52.8 tCO2e
    assert (fecr.basis, fecr.see, fecr.embedded) == ("default", D("2.2"), D("52.8"))
    assert fecr.lots[0].source.startswith("default: 2.0 tCO2e/t x (1 + 0.1)")
    # 52.8 x 75.36 = 3768 + 210.0... : 50 x 75.36 = 3768; 2.8 x 75.36 = 211.008 -> 3979.008
    assert fecr.certificates is not None and fecr.certificates.cost_eur == D("3979.008")
    assert d.complete


def test_a_line_of_actual_and_default_lots() -> None:
    data = _with_fecr_default("2.0")
    other = _import("c4", FECR_LOT.replace("FA26-0002", "FA26-0005"), "24.0")
    d = _declare([FECR_IMPORT, other], [FECR_ACTUAL], data=data)
    (line,) = d.lines
    assert line.basis == "actual and default"
    # 24 x 120/72 = 40 (actual) + 24 x 2.2 = 52.8 (default) = 92.8 tCO2e over 48 t
    assert line.embedded is not None
    assert line.embedded.quantize(D("0.000001")) == D("92.8")
    assert line.see is not None and line.see.quantize(D("0.000001")) == D("1.933333")
    # 48 t: under the threshold, exempt
    assert d.de_minimis.exempt


def test_a_credential_for_another_cn_code_is_not_used() -> None:
    wrong = dataclasses.replace(FECR_ACTUAL, cn="72024910")
    d = _declare([FECR_IMPORT], [wrong])
    lot = d.lines[0].lots[0]
    assert lot.basis == "unresolved"
    assert "the credential urn:uuid:fecr is for CN 72024910, not 72024110" in lot.source


def test_the_free_allocation_adjustment_is_deducted() -> None:
    def adjustment(cn: str, tonnes: Decimal) -> FreeAllocation:
        # a given 10 tCO2e on the aluminium line (50.2 t), none on the other
        return FreeAllocation(D(10) if cn == "76011000" else D(0), "given in the test")

    d = _declare([*AL_IMPORTS, FECR_IMPORT], [AL_ACTUAL, FECR_ACTUAL], adjustment=adjustment)
    al = d.lines[1]
    # 100.4 - 10 = 90.4 certificates; 90.4 x 75.36 = 6812.544
    assert al.certificates is not None
    assert (al.certificates.due, al.certificates.cost_eur) == (D("90.4"), D("6812.544"))


def test_an_import_of_another_year_is_refused() -> None:
    with pytest.raises(CbamError, match="not in 2026"):
        _declare([_import("c9", AL_LOT, "1", day=date(2027, 1, 4))], [])


def test_goods_outside_cbam_are_listed_apart() -> None:
    scrap = _import("c5", AL_LOT, "3.0", cn="76020000")  # aluminium scrap, not in Annex I
    d = _declare([*AL_IMPORTS, scrap], [AL_ACTUAL])
    assert len(d.lines) == 1 and d.de_minimis.net_mass == D("50.2")
    assert d.not_in_scope[0].startswith("c5 (")


def test_the_json_shape() -> None:
    d = _declare([*AL_IMPORTS, FECR_IMPORT], [AL_ACTUAL]).to_json()
    assert (d["year"], d["complete"], d["unresolvedLines"]) == (2026, False, 1)
    # every import in 2026-Q1, priced at that quarter's price (Article 21(1a))
    assert d["certificatePrice"] == {
        "eurPerTonne": "75.36", "period": "2026-Q1", "estimated": False,
        "byQuarterOfImport": [{"period": "2026-Q1", "eurPerTonne": "75.36", "known": True}]}
    assert d["deMinimis"]["standing"] == "above" and d["deMinimis"]["netMass"] == "74.200"
    assert d["quarterlyHolding"]["applies"] is False  # none for 2026 imports
    fecr, al = d["lines"]
    assert fecr["embeddedEmissions"] is None and fecr["certificates"] is None
    assert fecr["unresolved"][0].startswith(UNAVAILABLE)
    assert al["specificEmbeddedEmissions"] == "2.000000"
    assert al["certificates"]["certificatesDue"] == "100.400"
    assert al["certificates"]["costEur"] == "7566.14"  # 7566.144, to the cent
    assert al["lots"][0]["evidence"] == ["ni:///sha-256;c1", "ni:///sha-256;made-al"]
