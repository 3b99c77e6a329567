"""National Bank of Tajikistan: TJS per `Nominal` units (10 for KGS and KZT, 100 for UZS).

https://www.nbt.tj/en/kurs/export_xml.php?date=YYYY-MM-DD&export=xmlout
    <ValCurs Date="2026-05-18"><Valute ID="840"><CharCode>USD</CharCode><Nominal>1</Nominal>
    <Value>9.3450</Value></Valute>...</ValCurs>
A date out of range returns today's table without a word, so the Date attribute is checked
against the date asked for (parsing.check_date).
"""

from __future__ import annotations

from datetime import date

from corridor.fx.http import FeedClient, fetch_table
from corridor.fx.model import Publication
from corridor.fx.parsing import (
    Where,
    check_date,
    date_field,
    element_location,
    xml_quote,
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
    lines = [xml_quote(valute, where, code="CharCode", units="Nominal", value="Value")
             for valute in root.findall("Valute")]
    return [build(BANK, where, effective, published, lines)]


def fetch(client: FeedClient, day: date) -> list[Publication]:
    return fetch_table(client, BANK, url_for(day), day, parse)
