"""The carbon price paid in Kazakhstan (its own ETS) deducted from the importer's certificates
(Regulation 2023/956 Article 9): a KZT amount valued in EUR at the National Bank of
Kazakhstan's official rate of the day it was paid, from Corridor's FX store (the bundled
recorded tables); capped at the certificates due; never with default values (Article 9(4));
refused when its currency, line or evidence is unknown. Every figure is worked by hand."""

from __future__ import annotations

import csv
import dataclasses
import io
from collections.abc import Iterator
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest

from corridor.cbam.outputs import declaration_csv, declaration_html
from corridor.cbam.service import eur_at_official_rate, importer_declaration
from corridor.emissions.cbam import CarbonPricePaid
from corridor.emissions.cbam_data import CbamData, CbamError, DefaultValue, cbam_data
from corridor.emissions.declaration import ActualValues, Declaration, ImportedLot, declaration
from corridor.fx.importer import import_bundled
from corridor.fx.rates import cross_rate
from corridor.query import Viewer
from corridor.store.db import Connection, Database
from corridor.store.migrations import migrate

D = Decimal
Q1_2026 = D("75.36")
IMPORTER = "urn:epc:id:pgln:8010603.00000"
PAVLODAR = "urn:epc:id:sgln:4870101.00010.0"
AKTOBE = "urn:epc:id:sgln:4870102.00010.0"
AL_LOT = "urn:epc:class:lgtin:4870101.076011.AL26-0001"
FECR_LOT = "urn:epc:class:lgtin:4870102.072041.FA26-0002"
SIMN_LOT = "urn:epc:class:lgtin:4870102.072021.FS26-0003"
SURRENDER = ("KZ ETS allowance surrender record KZ-ETS-2026-000417",
             "sha256:9f2c1e0a4b7d5c3e8f6a1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f6a")
# 1,000,000 KZT paid on 1 April 2026, the day of a recorded NBK table
PAID = CarbonPricePaid(D(1_000_000), "KZT", evidence=SURRENDER, paid_on=date(2026, 4, 1))


@pytest.fixture(scope="module")
def conn(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Connection]:
    tmp: Path = tmp_path_factory.mktemp("cbam-paid")
    db = Database(f"sqlite:///{tmp / 'fx.sqlite3'}")
    found = db.connect()
    migrate(db, found)
    import_bundled(found)
    yield found
    found.close()


def _lot(lot: str, cn: str, site: str, tonnes: str) -> ImportedLot:
    return ImportedLot(f"c-{lot[-4:]}", lot, cn, "KZ", site, "site", None, D(tonnes),
                       date(2026, 4, 10), (f"ni:///sha-256;{lot[-4:]}",))


# 60 t of aluminium, 120 tCO2e direct over its 60 t: SEE 2, embedded 120 tCO2e (> 50 t: due)
AL = _lot(AL_LOT, "76011000", PAVLODAR, "60")
AL_ACTUAL = ActualValues(AL_LOT, "76011000", D(120), D(60), "urn:uuid:al")


def _declare(conn: Connection, paid: dict[str, CarbonPricePaid],
             imports: list[ImportedLot] | None = None, data: CbamData | None = None
             ) -> Declaration:
    return declaration(IMPORTER, 2026, imports or [AL], {AL_LOT: AL_ACTUAL}, price_eur=Q1_2026,
                       price_period="2026-Q1", paid=paid, convert=eur_at_official_rate(conn),
                       data=data)


def test_the_nbk_rate_of_the_day_in_the_store(conn: Connection) -> None:
    # the figure the by-hand arithmetic below uses: NBK, 1 April 2026, 1 EUR = 548.62 KZT
    found = cross_rate(conn, "EUR", "KZT", date(2026, 4, 1))
    assert (found.rate, found.effective_date) == (D("548.62"), date(2026, 4, 1))


def test_kzt_paid_is_valued_at_the_nbk_rate_and_deducted(conn: Connection) -> None:
    (line,) = _declare(conn, {PAVLODAR: PAID}).lines
    c = line.certificates
    assert c is not None and line.basis == "actual" and line.embedded == D(120)
    # 1,000,000 / 548.62 = 1822.755277... (548.62 x 1822.75 = 999,997.105; 2.895 / 548.62
    # = 0.005277), rounded half up to the cent: EUR 1822.76
    assert c.deduction_eur == D("1822.76")
    # 1822.76 / 75.36 = 24.18737... certificates (75.36 x 24 = 1808.64; 14.12 / 75.36 =
    # 0.18737); due 120 - 24.18737 = 95.81263; cost 120 x 75.36 - 1822.76 = 9043.20 -
    # 1822.76 = EUR 7220.44
    assert c.deduction == D("1822.76") / Q1_2026
    assert round(c.deduction, 5) == D("24.18737") and round(c.due, 5) == D("95.81263")
    assert round(c.cost_eur, 2) == D("7220.44")
    how = " ".join(c.notes)
    assert "Article 9(1)" in how and "1000000 KZT net of rebates = EUR 1822.76" in how
    assert "2026-04-01, in force on that date" in how
    assert "inverse: inverse of NBK's EUR in KZT; source NBK" in how
    assert SURRENDER[1] in how and line.paid == PAID


def test_the_outputs_show_the_deduction_and_its_basis(conn: Connection) -> None:
    d = _declare(conn, {PAVLODAR: PAID})
    (line,) = d.to_json()["lines"]
    certificates = line["certificates"]
    assert (certificates["carbonPriceDeduction"], certificates["carbonPriceDeductionEur"],
            certificates["certificatesDue"], certificates["costEur"]) == \
        ("24.187", "1822.76", "95.813", "7220.44")
    assert line["carbonPricePaid"] == {"amount": "1000000", "currency": "KZT", "rebate": "0",
                                       "paidOn": "2026-04-01", "evidence": list(SURRENDER)}
    (row,) = csv.DictReader(io.StringIO(declaration_csv(d)))
    assert (row["line_carbon_price_paid"], row["line_carbon_price_deduction_eur"],
            row["line_carbon_price_deduction"], row["line_cost_eur"]) == \
        ("1000000 KZT", "1822.76", "24.187", "7220.44")
    assert row["line_carbon_price_evidence"] == " ".join(SURRENDER)
    page = declaration_html(d)
    assert "24.187 certificates (EUR 1822.76), for 1000000 KZT paid at origin on " \
           "2026-04-01" in page and SURRENDER[1] in page


def test_the_deduction_is_capped_at_the_certificates_due(conn: Connection) -> None:
    big = dataclasses.replace(PAID, amount=D(100_000_000))
    (line,) = _declare(conn, {PAVLODAR: big}).lines
    c = line.certificates
    # 100,000,000 / 548.62 = EUR 182,275.53; / 75.36 = 2418.7 certificates > the 120 due
    assert c is not None and c.deduction_eur == D("182275.53")
    assert (c.deduction, c.due, c.cost_eur) == (D(120), D(0), D(0))
    assert any("capped" in n for n in c.notes)


def test_without_the_day_paid_the_rate_of_31_december_is_asked_for(conn: Connection) -> None:
    undated = dataclasses.replace(PAID, paid_on=None)
    with pytest.raises(CbamError, match=f"carbon price paid for {PAVLODAR}: no EUR value of "
                                        "1000000 KZT on 2026-12-31"):
        _declare(conn, {PAVLODAR: undated})


def test_with_default_values_the_price_paid_is_not_deducted(conn: Connection) -> None:
    # a made-up Kazakh default for 7202 41 (2.5 tCO2e/t), for the arithmetic only
    data = cbam_data()
    line = dataclasses.replace(data.defaults.lines["720241"],
                               country=DefaultValue(D("2.5"), None, True))
    data = dataclasses.replace(data, defaults=dataclasses.replace(
        data.defaults, lines={**data.defaults.lines, "720241": line}))
    fecr = _lot(FECR_LOT, "72024110", AKTOBE, "40")
    d = _declare(conn, {AKTOBE: PAID}, [AL, fecr], data)
    fecr_line = next(x for x in d.lines if x.cn == "72024110")
    c = fecr_line.certificates
    assert fecr_line.basis == "default" and c is not None
    assert (c.deduction, c.deduction_eur) == (D(0), D(0)) and c.due == fecr_line.embedded
    assert any(n.startswith("Article 9(4)") for n in c.notes)
    assert not any("NBK" in n for n in c.notes)  # never converted


def test_an_unknown_currency_is_refused_naming_the_field(conn: Connection) -> None:
    bad = {PAVLODAR: dataclasses.replace(PAID, currency="XYZ")}
    with pytest.raises(CbamError, match=rf"paid\[{PAVLODAR}\]\.currency: 'XYZ' is not one of"):
        importer_declaration(conn, Viewer(None, (), "admin"), IMPORTER, 2026,
                             price_eur=Q1_2026, price_period="2026-Q1", paid=bad)


def test_a_price_paid_must_name_one_line_and_carry_evidence(conn: Connection) -> None:
    fecr = _lot(FECR_LOT, "72024110", AKTOBE, "40")
    simn = _lot(SIMN_LOT, "72021120", AKTOBE, "30")
    with pytest.raises(CbamError, match=f"{AKTOBE}: the installation has lines for CN "
                                        "72021120, 72024110; give it per line"):
        _declare(conn, {AKTOBE: PAID}, [AL, fecr, simn])
    d = _declare(conn, {f"{AKTOBE}#72024110": PAID}, [AL, fecr, simn])
    assert [x.paid is not None for x in d.lines] == [False, True, False]
    with pytest.raises(CbamError, match="give its evidence"):
        _declare(conn, {PAVLODAR: dataclasses.replace(PAID, evidence=())})
    with pytest.raises(CbamError, match="no line of the declaration is from that"):
        _declare(conn, {"urn:epc:id:sgln:4870109.00010.0": PAID})
