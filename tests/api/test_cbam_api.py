"""EU CBAM over HTTP on a demo node: the importer's declaration as JSON, CSV and HTML with one
lot's figures worked by hand, who may read it, the refusals naming their parameter, and the
installation's communication as an .xlsx whose SEE is worked by hand from the demo's
production events of one quarter."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from decimal import Decimal

import pytest
from openpyxl import load_workbook
from starlette.testclient import TestClient

from corridor.app import create_app
from corridor.config import Settings
from corridor.demo import demo_api_key, load_demo
from corridor.demo.actors import ACTOR_BY_SLUG
from corridor.emissions.events import rounded
from corridor.store.db import Database
from corridor.store.parties import grant_auditor
from tests.api.e2_harness import add_party

SHIPMENTS = 24
IMPORTER = ACTOR_BY_SLUG["buyer"].pgln
ALUMINIUM = "urn:epc:id:sgln:4870101.00010.0"
FERRO = "urn:epc:id:sgln:4870102.00010.0"
CONTAINER = "urn:epc:id:sscc:4870101.1000000004"  # the first of lot AL26-0002's three
DECLARATION = "/api/cbam/declaration"


def _auth(slug: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {demo_api_key(7, slug)}"}


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    tmp = tmp_path_factory.mktemp("cbam-api")
    settings = Settings(data_dir=tmp, db_url=f"sqlite:///{tmp / 'corridor.sqlite3'}",
                        public_url="https://node.example")
    load_demo(settings, shipments=SHIPMENTS)
    with TestClient(create_app(settings)) as found:
        yield found


def _declaration(client: TestClient, slug: str = "buyer", **params: str):
    return client.get(DECLARATION, params={"importer": IMPORTER, "year": "2026", **params},
                      headers=_auth(slug))


def test_the_importer_reads_its_declaration_with_one_lot_worked_by_hand(
        client: TestClient) -> None:
    # Lot AL26-0002 was made by the TransformationEvent at Pavlodar of 2026-01-30 with
    # direct emissions anode_consumption 114,481 kg + pfc 26,819 kg = 141.3 tCO2e for
    # 76,925 kg; the certifier's credential states them. SEE = 141.3 / 76.925 = 1.836854
    # (76.925 x 1.8 = 138.465; 2.835 / 76.925 = 0.036854). Its first container holds 25.950 t:
    # 25.95 x 1.836854 = 47.666 tCO2e.
    answer = _declaration(client)
    assert answer.status_code == 200, answer.text
    d = answer.json()
    price = d["certificatePrice"]
    assert (price["eurPerTonne"], price["period"]) == ("75.36", "2026-Q1")
    # later quarters have no published price in cbam_rules.yml: Q1's stands in, said so
    assert price["byQuarterOfImport"][0] == {"period": "2026-Q1", "eurPerTonne": "75.36",
                                             "known": True}
    assert price["estimated"] is any(not q["known"] for q in price["byQuarterOfImport"])
    assert d["deMinimis"]["standing"] == "above" and not d["deMinimis"]["exempt"]
    line = next(x for x in d["lines"] if x["cnCode"] == "76011000")
    lot = next(x for x in line["lots"] if x["container"] == CONTAINER)
    assert lot["lot"].endswith(".AL26-0002") and lot["basis"] == "actual"
    assert (lot["netMass"], lot["specificEmbeddedEmissions"], lot["embeddedEmissions"]) == \
        ("25.950", "1.836854", "47.666")
    assert len(lot["evidence"]) > 3 and lot["credential"].startswith("urn:uuid:")
    # the line: one certificate per tCO2e (no free allocation given, nothing paid at origin)
    certificates = line["certificates"]
    assert certificates["certificatesDue"] == line["embeddedEmissions"]
    embedded = Decimal(line["embeddedEmissions"])
    assert abs(Decimal(certificates["costEur"]) - embedded * Decimal("75.36")) < \
        Decimal("0.04")  # the JSON rounds the tonnes to 3 places, the cost to 2


def test_csv_has_a_header_and_one_row_per_lot(client: TestClient) -> None:
    answer = _declaration(client, format="csv")
    assert answer.status_code == 200 and answer.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(answer.text)))
    assert answer.text.startswith("importer,year,cn_code,")
    json_lots = [x for line in _declaration(client).json()["lines"] for x in line["lots"]]
    assert len(rows) == len(json_lots)
    row = next(r for r in rows if r["container"] == CONTAINER)
    assert (row["cn_code"], row["country_of_origin"], row["installation"]) == \
        ("76011000", "KZ", ALUMINIUM)
    assert (row["net_mass_t"], row["see_tco2e_per_t"], row["embedded_tco2e"]) == \
        ("25.950", "1.836854", "47.666")
    unresolved = [r for r in rows if r["basis"] == "unresolved"]
    assert unresolved and all(r["see_tco2e_per_t"] == "" for r in unresolved)


def test_html_report_is_standalone_and_escaped(client: TestClient) -> None:
    answer = _declaration(client, format="html", price="80", period="2026-Q2")
    assert answer.status_code == 200 and answer.headers["content-type"].startswith("text/html")
    page = answer.text
    assert page.startswith("<!DOCTYPE html>") and "<link" not in page and "<script" not in page
    assert "47.666" in page and "EUR 80" in page and "2026-Q2" in page
    assert "Unresolved: default value not available" in page and "above" in page
    settings: Settings = client.app.state.ctx.settings
    _, admin = add_party(settings.db_url, "Root", "urn:example:cbam-root", role="admin")
    odd = client.get(DECLARATION, params={"importer": "<b>x</b>", "year": "2026",
                                          "format": "html"},
                     headers={"Authorization": f"Bearer {admin}"})
    assert odd.status_code == 200
    assert "&lt;b&gt;x&lt;/b&gt;" in odd.text and "<b>x</b>" not in odd.text


def test_who_may_read_the_declaration(client: TestClient) -> None:
    settings: Settings = client.app.state.ctx.settings
    _, key = add_party(settings.db_url, "Customs Broker", "urn:example:cbam-broker",
                       role="auditor")
    with Database(settings.db_url).connect() as conn:
        grant_auditor(conn, "urn:example:cbam-broker", IMPORTER)
    granted = client.get(DECLARATION, params={"importer": IMPORTER, "year": "2026"},
                         headers={"Authorization": f"Bearer {key}"})
    assert granted.status_code == 200  # an auditor the buyer granted
    for slug in ("smelter", "auditor"):  # a member; an auditor granted by others only
        refused = _declaration(client, slug)
        assert refused.status_code == 403, slug
        assert refused.json()["type"] == "epcisException:SecurityException"
    assert client.get(DECLARATION, params={"importer": IMPORTER, "year": "2026"}) \
        .status_code == 401


@pytest.mark.parametrize(("params", "pointer"), [
    ({"year": "2025"}, "year"), ({"year": "twenty"}, "year"), ({"year": ""}, "year"),
    ({"format": "pdf"}, "format"), ({"price": "75"}, "period"),
    ({"price": "-1", "period": "2026-Q1"}, "price"), ({"period": "2026-Q5"}, "period"),
    ({"period": "2026-Q2"}, "price"),  # no published price for it in cbam_rules.yml
    ({"paid": f"{ALUMINIUM}=100:KZT"}, "paid"),  # no evidence
    ({"paid": f"{ALUMINIUM}=100:XYZ:record 1"}, "paid"),  # a currency without rates
    ({"paid": "urn:epc:id:sgln:4870199.00010.0=100:EUR:record 1"}, "paid"),  # no such line
])
def test_bad_parameters_are_named(client: TestClient, params: dict[str, str],
                                  pointer: str) -> None:
    answer = _declaration(client, **params)
    assert answer.status_code == 400, answer.text
    problem = answer.json()
    assert problem["type"] == "epcisException:ValidationException"
    assert problem["errors"][0]["pointer"] == pointer


def test_the_carbon_price_paid_at_origin_is_deducted(client: TestClient) -> None:
    # 1,000,000 KZT paid on 2026-04-01 for the Pavlodar line: at NBK's 548.62 KZT per EUR of
    # that day, 1,000,000 / 548.62 = EUR 1822.76 (to the cent); 1822.76 / 75.36 = 24.187
    # certificates not due
    answer = _declaration(client, paid=f"{ALUMINIUM}=1000000:KZT:2026-04-01:KZ ETS record "
                                       "417,sha256:ab12")
    assert answer.status_code == 200, answer.text
    line = next(x for x in answer.json()["lines"] if x["installation"]["id"] == ALUMINIUM)
    assert line["carbonPricePaid"]["evidence"] == ["KZ ETS record 417", "sha256:ab12"]
    certificates = line["certificates"]
    assert (certificates["carbonPriceDeductionEur"], certificates["carbonPriceDeduction"]) == \
        ("1822.76", "24.187")
    assert Decimal(certificates["certificatesDue"]) == \
        Decimal(line["embeddedEmissions"]) - Decimal("24.187")


def test_communication_xlsx_has_the_see_worked_by_hand(client: TestClient) -> None:
    # Aktobe made two ferro-chromium (7202 41 10) lots in 2026-Q1 (the demo's production
    # events): FA26-0006, 71,664 kg with 93,659 kg CO2e from the reductant, and FA26-0001,
    # 71,592 kg with 97,247 kg. SEE direct = (93,659 + 97,247) / (71,664 + 71,592)
    # = 190,906 / 143,256 = 1.332621 tCO2e/t (143,256 x 1.3326 = 190,902.95; 3.05 / 143,256
    # = 0.0000213).
    path = f"/api/cbam/installations/{FERRO}/communication"
    answer = client.get(path, params={"period": "2026-Q1", "format": "xlsx"},
                        headers=_auth("ferro"))
    assert answer.status_code == 200, answer.text
    book = load_workbook(io.BytesIO(answer.content))
    assert "Summary_Communication" in book.sheetnames
    rows = [list(r) for r in book["Summary_Communication"].iter_rows(values_only=True)]
    assert ["Installation name", "Aktobe ferro-alloy plant"] == rows[1][:2]
    assert any(r[:2] == ["Reporting period", "2026-Q1"] for r in rows)
    header = next(r for r in rows if r[0] == "Production process / route")
    fecr = next(r for r in rows if len(r) > 3 and r[header.index("CN code")] == "72024110")
    see = Decimal(str(fecr[header.index("SEE direct (tCO2e/t)")]))
    assert see == Decimal("1.332621")
    assert see == rounded(Decimal(190906) / Decimal(143256), 6)
    assert fecr[header.index("Activity level (t)")] == 143.256
    assert any("Annex IV point 1.2" in str(r[0]) and "not read" in str(r[0]) for r in rows)
    as_json = client.get(path, params={"period": "2026-Q1"}, headers=_auth("ferro")).json()
    product = next(p for p in as_json["products"] if p["cnCode"] == "72024110")
    assert product["seeDirect"] == "1.332621" and len(product["evidence"]) == 2


def test_communication_refusals(client: TestClient) -> None:
    path = f"/api/cbam/installations/{ALUMINIUM}/communication"
    assert client.get(path, params={"period": "2026"}, headers=_auth("smelter")) \
        .status_code == 200
    assert client.get(path, params={"period": "2026"}, headers=_auth("auditor")) \
        .status_code == 200  # granted by the smelter
    refused = client.get(path, params={"period": "2026"}, headers=_auth("buyer"))
    assert refused.status_code == 403
    bad = client.get(path, params={"period": "2026-Q7"}, headers=_auth("smelter"))
    assert bad.status_code == 400 and bad.json()["errors"][0]["pointer"] == "period"
    unknown = client.get("/api/cbam/installations/urn:epc:id:sgln:9999999.00010.0/"
                         "communication", params={"period": "2026"}, headers=_auth("smelter"))
    assert unknown.status_code == 404
