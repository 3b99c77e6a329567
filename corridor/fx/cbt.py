"""Central Bank of Turkmenistan: TMT per `multiplier` units of each currency.

https://cbt.tm/kurs/YYYY/DDMMYYYY.xml (Sundays: 404; often unreachable from abroad)
    <cbt_currency_rate><date>20.05.2026</date><rate code="KZT"><rate_usd>471.44</rate_usd>
    <multiplier>100</multiplier><rate_tmt>0.7424</rate_tmt></rate>...</cbt_currency_rate>
<date> is DD.MM.YYYY since 2024 and was YYYY-MM-DD before. `rate_usd` is CBT's internal USD
cross (in either direction) and is not used. When no CBT table is stored, TMT/USD falls back
to the official peg (model.TMT_PEG), labelled as such by the rate lookup.
"""

from __future__ import annotations

from datetime import date

from corridor.fx.http import FeedClient, fetch_table
from corridor.fx.model import Publication
from corridor.fx.parsing import (
    Where,
    check_date,
    child_text,
    date_field,
    element_location,
    xml_quote,
    xml_root,
)
from corridor.fx.tables import build

BANK = "CBT"
_DATES = ("%d.%m.%Y", "%Y-%m-%d")  # 2024 onwards, then 2020-2023


def url_for(day: date) -> str:
    return f"https://cbt.tm/kurs/{day.year}/{day:%d%m%Y}.xml"


def parse(body: bytes, *, url: str = "", requested: date | None = None,
          published: date | None = None) -> list[Publication]:
    where = Where(BANK, url or "cbt.tm kurs")
    root = xml_root(body, where)
    if root.tag != "cbt_currency_rate":
        raise where.error(element_location(root), "expected root element <cbt_currency_rate>")
    effective = date_field(child_text(root, "date", where), _DATES, where,
                           "<cbt_currency_rate>/<date>")
    check_date(requested, effective, where, "<cbt_currency_rate>/<date>")
    lines = [xml_quote(rate, where, code="@code", units="multiplier", value="rate_tmt")
             for rate in root.findall("rate")]
    return [build(BANK, where, effective, published, lines)]


def fetch(client: FeedClient, day: date) -> list[Publication]:
    return fetch_table(client, BANK, url_for(day), day, parse)
