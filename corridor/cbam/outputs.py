"""The CBAM reports as files: the importer's declaration as JSON, CSV and a printable HTML
report, and the installation's communication as JSON and as an .xlsx workbook with a
"Summary_Communication" sheet. Figures are the decimal strings of the JSON forms
(corridor.emissions.declaration.declaration_json, corridor.cbam.communication), so every
output shows the same rounded figure.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Mapping
from functools import cache
from typing import Any

from jinja2 import Environment, PackageLoader, select_autoescape
from openpyxl import Workbook
from openpyxl.styles import Font

from corridor.cbam.communication import Communication
from corridor.emissions.declaration import Declaration

SHEET = "Summary_Communication"  # the Commission template's sheet name; not to be renamed
CSV_COLUMNS = (
    "importer", "year", "cn_code", "aggregated_goods_category", "country_of_origin",
    "installation", "installation_name", "operator", "line_basis", "line_net_mass_t",
    "line_see_tco2e_per_t", "line_embedded_tco2e", "line_carbon_price_paid",
    "line_carbon_price_evidence", "line_carbon_price_deduction_eur",
    "line_carbon_price_deduction", "line_certificates_due",
    "line_cost_eur", "container", "lot", "net_mass_t", "imported_on", "basis",
    "see_tco2e_per_t", "embedded_tco2e", "source", "credential", "evidence",
)


def declaration_json(d: Declaration) -> dict[str, Any]:
    return d.to_json()


def _line_keys(document: Mapping[str, Any], line: Mapping[str, Any]) -> dict[str, Any]:
    certificates = line.get("certificates") or {}
    paid = line.get("carbonPricePaid") or {}
    return {"importer": document["importer"], "year": document["year"],
            "cn_code": line["cnCode"],
            "aggregated_goods_category": line["aggregatedGoodsCategory"] or "",
            "country_of_origin": line["countryOfOrigin"],
            "installation": line["installation"]["id"],
            "installation_name": line["installation"]["name"],
            "operator": line["installation"]["operator"] or "",
            "line_basis": line["basis"], "line_net_mass_t": line["netMass"],
            "line_see_tco2e_per_t": line["specificEmbeddedEmissions"] or "",
            "line_embedded_tco2e": line["embeddedEmissions"] or "",
            "line_carbon_price_paid": (f"{paid['amount']} {paid['currency']}"
                                       if paid else ""),
            "line_carbon_price_evidence": " ".join(paid.get("evidence", [])),
            "line_carbon_price_deduction_eur": certificates.get("carbonPriceDeductionEur")
            or "",
            "line_carbon_price_deduction": certificates.get("carbonPriceDeduction") or "",
            "line_certificates_due": certificates.get("certificatesDue") or "",
            "line_cost_eur": certificates.get("costEur") or ""}


def declaration_csv(d: Declaration) -> str:
    """One row per lot (per container) with its line's keys and figures, after a header
    row; figures as decimal strings, empty where unknown; evidence Event Hash IDs separated
    by spaces."""
    document = d.to_json()
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=CSV_COLUMNS, lineterminator="\r\n")
    writer.writeheader()
    for line in document["lines"]:
        keys = _line_keys(document, line)
        for lot in line["lots"]:
            writer.writerow({**keys, "container": lot["container"], "lot": lot["lot"],
                             "net_mass_t": lot["netMass"], "imported_on": lot["importedOn"],
                             "basis": lot["basis"],
                             "see_tco2e_per_t": lot["specificEmbeddedEmissions"] or "",
                             "embedded_tco2e": lot["embeddedEmissions"] or "",
                             "source": lot["source"], "credential": lot["credential"] or "",
                             "evidence": " ".join(lot["evidence"])})
    return out.getvalue()


@cache
def _templates() -> Environment:
    return Environment(loader=PackageLoader("corridor.cbam", "templates"),
                       autoescape=select_autoescape(default=True, default_for_string=True),
                       keep_trailing_newline=True)


def declaration_html(d: Declaration, *, extra: Mapping[str, Any] | None = None) -> str:
    """A standalone, printable HTML report of the declaration (every value escaped).
    `extra`: more of the report's JSON (e.g. containersNotCounted)."""
    document = {**d.to_json(), **(extra or {})}
    return _templates().get_template("declaration.html").render(d=document)


def communication_json(c: Communication) -> dict[str, Any]:
    return c.to_json()


def _installation_rows(document: Mapping[str, Any]) -> list[tuple[str, Any]]:
    i, p = document["installation"], document["period"]
    return [("Installation name", i["name"]), ("Installation identifier (SGLN)", i["id"]),
            ("UN/LOCODE", i["unLocode"]), ("Country", i["country"]),
            ("Operator", i["operatorName"] or ""), ("Operator identifier", i["operator"] or ""),
            ("Reporting period", p["label"]), ("Reporting period start", p["start"]),
            ("Reporting period end", p["end"])]


PRODUCT_COLUMNS = (
    ("Production process / route", "productionRoute"),
    ("Type of aggregated good", "aggregatedGoodsCategory"),
    ("Product name", "productName"), ("CN code", "cnCode"),
    ("SEE direct (tCO2e/t)", "seeDirect"), ("SEE indirect (tCO2e/t)", "seeIndirect"),
    ("Activity level (t)", "activityLevel"),
    ("Attributed direct emissions (tCO2e)", "directEmissions"),
    ("Indirect emissions (tCO2e)", "indirectEmissions"),
    ("Evidence (Event Hash IDs)", "evidence"),
)


def communication_xlsx(c: Communication) -> bytes:
    """The communication as an .xlsx workbook: one sheet, "Summary_Communication", with the
    installation's fields, the per-product rows and the notes (which columns follow Annex IV
    point 1.2 and that the Commission template's full column list was not read). SEE cells
    hold numbers, at the precision of the JSON."""
    document = c.to_json()
    book = Workbook()
    sheet = book.active
    sheet.title = SHEET
    bold = Font(bold=True)
    sheet.append(["Installation details"])
    sheet.cell(sheet.max_row, 1).font = bold
    for label, value in _installation_rows(document):
        sheet.append([label, value])
    sheet.append([])
    sheet.append(["Summary of products"])
    sheet.cell(sheet.max_row, 1).font = bold
    sheet.append([name for name, _ in PRODUCT_COLUMNS])
    for cell in sheet[sheet.max_row]:
        cell.font = bold
    for product in document["products"]:
        row: list[Any] = []
        for _, key in PRODUCT_COLUMNS:
            value = product[key]
            if key == "evidence":
                value = " ".join(value)
            elif key in ("seeDirect", "seeIndirect", "activityLevel", "directEmissions",
                         "indirectEmissions"):
                value = float(value)
            row.append(value if value is not None else "")
        sheet.append(row)
    sheet.append([])
    sheet.append(["Notes"])
    sheet.cell(sheet.max_row, 1).font = bold
    for note in [*document["notes"], *(f"not counted: {x}" for x in document["notCounted"])]:
        sheet.append([note])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()
