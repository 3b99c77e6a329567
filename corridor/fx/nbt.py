"""National Bank of Tajikistan: TJS per `Nominal` units (10 for KGS and KZT, 100 for UZS).

https://www.nbt.tj/en/kurs/export_xml.php?date=YYYY-MM-DD&export=xmlout
    <ValCurs Date="2026-05-18"><Valute ID="840"><CharCode>USD</CharCode><Nominal>1</Nominal>
    <Value>9.3450</Value></Valute>...</ValCurs>
A date out of range returns today's table without a word, so the Date attribute is checked
against the date asked for (parsing.check_date).
"""

from __future__ import annotations

from datetime import date

from corridor.fx.http import FeedClient
from corridor.fx.model import Publication, Quote
from corridor.fx.parsing import (
    Where,
    check_date,
    child_text,
    currency_code,
    date_field,
    element_location,
    header_date,
    positive_decimal,
    positive_units,
    xml_root,
)
from corridor.fx.tables import build

BANK = "NBT"


def url_for(day: date) -> str:
    return f"https://www.nbt.tj/en/kurs/export_xml.php?date={day:%Y-%m-%d}&export=xmlout"


def parse(body: bytes, *, url: str = "", requested: date | None = None,
          published: date | None = None) -> list[Publication]:
    where = Where(BANK, url or "nbt.tj export_xml.php")
    root = xml_root(body, where)
    if root.tag != "ValCurs":
        raise where.error(element_location(root), "expected root element <ValCurs>")
    effective = date_field(root.get("Date"), ("%Y-%m-%d",), where, "<ValCurs Date>")
    check_date(requested, effective, where, "<ValCurs Date>")
    lines = []
    for valute in root.findall("Valute"):
        loc = element_location(valute)
        code = currency_code(child_text(valute, "CharCode", where), where, f"{loc} <CharCode>")
        units = positive_units(child_text(valute, "Nominal", where), where,
                               f"{loc} <Nominal> of {code}")
        value = positive_decimal(child_text(valute, "Value", where), where,
                                 f"{loc} <Value> of {code}")
        lines.append((loc, Quote(code, units, value)))
    return [build(BANK, where, effective, published, lines)]


def fetch(client: FeedClient, day: date) -> list[Publication]:
    url = url_for(day)
    resp = client.get(url, BANK)
    return parse(resp.body, url=url, requested=day, published=header_date(resp.headers))
