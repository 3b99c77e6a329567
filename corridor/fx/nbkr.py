"""National Bank of the Kyrgyz Republic: KGS per `Nominal` units, windows-1251, decimal comma.

Latest only: https://www.nbkr.kg/XML/daily.xml (USD EUR CNY KZT RUB) and
https://www.nbkr.kg/XML/weekly.xml (the other currencies, TJS UZS TMT among them,
`ValidFor` 7 days):
    <CurrencyRates Name="Daily Exchange Rates" Date="24.05.2026"><Currency ISOCode="USD">
    <Nominal>1</Nominal><Value>87,4500</Value></Currency>...</CurrencyRates>
The Date attribute is the EFFECTIVE date (set the day before: Last-Modified 23.05 for 24.05).
History (HTML): https://www.nbkr.kg/index1.jsp?...&valuta_id=N, one table per currency,
rows `<td><!--date-->25.06.2005<!--date--></td><td><!--value-->40,9614<!--value--></td>`.
"""

from __future__ import annotations

import re
from datetime import date, timedelta
from urllib.parse import parse_qs, urlparse

from corridor.fx.http import FeedClient
from corridor.fx.model import Publication, Quote
from corridor.fx.parsing import (
    Where,
    check_date,
    date_field,
    element_location,
    header_date,
    positive_decimal,
    xml_quote,
    xml_root,
)
from corridor.fx.tables import build

BANK = "NBKR"
DAILY_URL = "https://www.nbkr.kg/XML/daily.xml"
WEEKLY_URL = "https://www.nbkr.kg/XML/weekly.xml"
# valuta_id of the history pages. Identified from the recorded values (June 2005:
# id 15 ~ 41 KGS, the dollar; id 20 ~ 49.5 KGS, the euro), not from a published list.
HISTORY_IDS: dict[str, str] = {"15": "USD", "20": "EUR"}
_ROW = re.compile(r"<!--date-->(.*?)<!--date-->\s*</td>\s*<td>\s*<!--value-->(.*?)<!--value-->",
                  re.DOTALL)


def parse(body: bytes, *, url: str = "", requested: date | None = None,
          published: date | None = None) -> list[Publication]:
    """daily.xml or weekly.xml (the encoding comes from the XML declaration)."""
    where = Where(BANK, url or "nbkr.kg XML")
    root = xml_root(body, where)
    if root.tag != "CurrencyRates":
        raise where.error(element_location(root), "expected root element <CurrencyRates>")
    effective = date_field(root.get("Date"), ("%d.%m.%Y",), where, "<CurrencyRates Date>")
    check_date(requested, effective, where, "<CurrencyRates Date>")
    lines = [xml_quote(cur, where, code="@ISOCode", units="Nominal", value="Value", comma=True)
             for cur in root.findall("Currency")]
    return [build(BANK, where, effective, published, lines)]


def parse_history(body: bytes, *, url: str, requested: date | None = None,
                  published: date | None = None) -> list[Publication]:
    """One currency's history page: a publication per row (KGS per 1 unit)."""
    where = Where(BANK, url)
    ids = parse_qs(urlparse(url).query).get("valuta_id", [])
    currency = HISTORY_IDS.get(ids[0]) if ids else None
    if currency is None:
        raise where.error("valuta_id", f"unknown currency id {ids!r}; known: {HISTORY_IDS}")
    text = body.decode("utf-8", errors="strict") if body else ""
    rows = _ROW.findall(text)
    if not rows:
        raise where.error("body", "no <!--date--> / <!--value--> rows in the history table")
    pubs = []
    for n, (day_text, value_text) in enumerate(rows, 1):
        loc = f"row {n}"
        day = date_field(day_text, ("%d.%m.%Y",), where, f"{loc} date")
        value = positive_decimal(value_text, where, f"{loc} value of {currency}", comma=True)
        pubs.append(build(BANK, where, day, published, [(loc, Quote(currency, 1, value))]))
    return pubs


def fetch(client: FeedClient, day: date) -> list[Publication]:
    """Both latest tables, stored under their own Date. The rate set today is effective
    tomorrow, so a table dated the day after `day` is accepted; a later one is refused."""
    pubs = []
    for url in (DAILY_URL, WEEKLY_URL):
        resp = client.get(url, BANK)
        pubs += parse(resp.body, url=url, requested=day + timedelta(days=1),
                      published=header_date(resp.headers))
    return pubs


def parse_any(body: bytes, *, url: str, requested: date | None = None,
              published: date | None = None) -> list[Publication]:
    """Dispatch on the URL: the history pages are HTML, the rest XML."""
    if "index1.jsp" in url:
        return parse_history(body, url=url, requested=requested, published=published)
    return parse(body, url=url, requested=requested, published=published)
