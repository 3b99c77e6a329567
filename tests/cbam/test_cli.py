"""`corridor cbam declaration` and `corridor cbam communication` on a demo node's data
directory, read as the importer and as the operator."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest
from click.testing import CliRunner
from openpyxl import load_workbook

from corridor.cli import main
from corridor.config import Settings
from corridor.demo import load_demo
from corridor.demo.actors import ACTOR_BY_SLUG

IMPORTER = ACTOR_BY_SLUG["buyer"].pgln
PAVLODAR = "urn:epc:id:sgln:4870101.00010.0"
CONTAINER = "urn:epc:id:sscc:4870101.1000000004"  # the first of lot AL26-0002's three


@pytest.fixture(scope="module")
def node(tmp_path_factory: pytest.TempPathFactory) -> Path:
    tmp = tmp_path_factory.mktemp("cbam-cli")
    load_demo(Settings(data_dir=tmp, db_url=f"sqlite:///{tmp / 'corridor.sqlite3'}"),
              shipments=12)
    return tmp


def _run(node: Path, *args: str):
    return CliRunner().invoke(main, [*args, "--data-dir", str(node)], catch_exceptions=False)


def test_declaration_as_json_csv_and_html(node: Path, tmp_path: Path) -> None:
    done = _run(node, "cbam", "declaration", "--importer", IMPORTER, "--year", "2026")
    assert done.exit_code == 0, done.output
    d = json.loads(done.output)
    assert d["importer"] == IMPORTER and d["certificatePrice"]["eurPerTonne"] == "75.36"
    out = tmp_path / "d.csv"
    done = _run(node, "cbam", "declaration", "--importer", IMPORTER, "--year", "2026",
                "--format", "csv", "--out", str(out), "--price", "70.5", "--period", "2026-Q1")
    assert done.exit_code == 0, done.output
    rows = list(csv.DictReader(out.open(encoding="utf-8", newline="")))
    row = next(r for r in rows if r["container"] == CONTAINER)
    # 141.3 tCO2e over 76.925 t (the credential of lot AL26-0002) x 25.950 t
    assert (row["see_tco2e_per_t"], row["embedded_tco2e"]) == ("1.836854", "47.666")
    page = tmp_path / "d.html"
    done = _run(node, "cbam", "declaration", "--importer", "Metalli Padani S.p.A.", "--year",
                "2026", "--format", "html", "--out", str(page))
    assert done.exit_code == 0 and "47.666" in page.read_text(encoding="utf-8")


def test_communication_xlsx(node: Path, tmp_path: Path) -> None:
    out = tmp_path / "c.xlsx"
    done = _run(node, "cbam", "communication", "--installation", PAVLODAR, "--period",
                "2026-Q1", "--out", str(out))
    assert done.exit_code == 0, done.output
    sheet = load_workbook(out)["Summary_Communication"]
    values = [c for row in sheet.iter_rows(values_only=True) for c in row]
    assert "Pavlodar smelter" in values and "76011000" in values


def test_refusals_say_why(node: Path, tmp_path: Path) -> None:
    bad = _run(node, "cbam", "communication", "--installation", PAVLODAR, "--period",
               "2026-Q5", "--out", str(tmp_path / "x.xlsx"))
    assert bad.exit_code != 0 and "2026-Q5" in bad.output
    unpriced = _run(node, "cbam", "declaration", "--importer", IMPORTER, "--year", "2026",
                    "--period", "2026-Q2")
    assert unpriced.exit_code != 0 and "no published certificate price" in unpriced.output
    nobody = _run(node, "cbam", "declaration", "--importer", "nobody", "--year", "2026")
    assert nobody.exit_code != 0 and "no party" in nobody.output


def test_declaration_with_the_carbon_price_paid_at_origin(node: Path) -> None:
    # 1,000,000 KZT paid on 2026-04-01 for the Pavlodar line: at NBK's 548.62 KZT per EUR of
    # that day, 1,000,000 / 548.62 = EUR 1822.76 (to the cent); 1822.76 / 75.36 = 24.187
    # certificates not due
    paid = f"{PAVLODAR}=1000000:KZT:2026-04-01:KZ ETS surrender KZ-ETS-2026-000417,sha256:ab12"
    done = _run(node, "cbam", "declaration", "--importer", IMPORTER, "--year", "2026",
                "--paid", paid)
    assert done.exit_code == 0, done.output
    line = next(x for x in json.loads(done.output)["lines"]
                if x["installation"]["id"] == PAVLODAR)
    assert line["basis"] == "actual"
    assert line["carbonPricePaid"]["evidence"] == ["KZ ETS surrender KZ-ETS-2026-000417",
                                                   "sha256:ab12"]
    certificates = line["certificates"]
    assert (certificates["carbonPriceDeductionEur"], certificates["carbonPriceDeduction"]) == \
        ("1822.76", "24.187")
    unknown = _run(node, "cbam", "declaration", "--importer", IMPORTER, "--year", "2026",
                   "--paid", f"{PAVLODAR}=1000000:XYZ:evidence")
    assert unknown.exit_code != 0 and "currency: 'XYZ' is not one of" in unknown.output
