"""National Bank of Kazakhstan: KZT per `quant` units of each currency.

Daily archive: https://nationalbank.kz/rss/get_rates.cfm?fdate=DD.MM.YYYY
    <rates><date>01.04.2026</date><item><title>USD</title><description>478.77</description>
    <quant>1</quant>...</item>...</rates>   (quant is 100 for UZS, 1000 for IRR, ...)
Latest only (RSS 2.0): https://nationalbank.kz/rss/rates_all.xml
    <rss><channel><item><title>USD</title><pubDate>01.04.2026</pubDate>
    <description>478.77</description><quant>1</quant></item>...</channel></rss>
"""

from __future__ import annotations

from datetime import date

from lxml import etree

from corridor.fx.http import FeedClient, fetch_table
from corridor.fx.model import Publication, Quote
from corridor.fx.parsing import (
    Where,
    check_date,
    child_text,
    date_field,
    element_location,
    header_date,
    xml_quote,
    xml_root,
)
from corridor.fx.tables import build

BANK = "NBK"
LATEST_URL = "https://nationalbank.kz/rss/rates_all.xml"
_DATE = ("%d.%m.%Y",)


def url_for(day: date) -> str:
    return f"https://nationalbank.kz/rss/get_rates.cfm?fdate={day:%d.%m.%Y}"


def _quote(item: etree._Element, where: Where) -> tuple[str, Quote]:
    """An <item> of both NBK feeds: <title> code, <quant> units, <description> rate."""
    return xml_quote(item, where, code="title", units="quant", value="description")


def parse(body: bytes, *, url: str = "", requested: date | None = None,
          published: date | None = None) -> list[Publication]:
    """The dated archive table (`get_rates.cfm`)."""
    where = Where(BANK, url or "nationalbank.kz get_rates.cfm")
    root = xml_root(body, where)
    if root.tag != "rates":
        raise where.error(element_location(root), "expected root element <rates>")
    effective = date_field(child_text(root, "date", where), _DATE, where, "<rates>/<date>")
    check_date(requested, effective, where, "<rates>/<date>")
    lines = [_quote(item, where) for item in root.findall("item")]
    return [build(BANK, where, effective, published, lines)]


def parse_latest(body: bytes, *, url: str = LATEST_URL,
                 published: date | None = None) -> list[Publication]:
    """The latest-only RSS feed: every item carries its own pubDate, all must agree."""
    where = Where(BANK, url)
    root = xml_root(body, where)
    channel = root.find("channel")
    if root.tag != "rss" or channel is None:
        raise where.error(element_location(root), "expected <rss><channel>")
    lines = []
    dates = set()
    for item in channel.findall("item"):
        loc = element_location(item)
        dates.add(date_field(child_text(item, "pubDate", where), _DATE, where, f"{loc} <pubDate>"))
        lines.append(_quote(item, where))
    if len(dates) > 1:
        raise where.error("<channel>", f"items carry different dates: {sorted(dates)}")
    if not dates:
        raise where.error("<channel>", "the feed holds no rates")
    return [build(BANK, where, dates.pop(), published, lines)]


def parse_any(body: bytes, *, url: str = "", requested: date | None = None,
              published: date | None = None) -> list[Publication]:
    """Either NBK format, told apart by its root element: <rates> (the dated archive,
    `get_rates.cfm`) or <rss> (the latest-only `rates_all.xml`). A file saved from the site
    can be either."""
    where = Where(BANK, url or "nationalbank.kz XML")
    root = xml_root(body, where)
    if root.tag == "rss":
        pubs = parse_latest(body, url=url or LATEST_URL, published=published)
        for pub in pubs:
            check_date(requested, pub.effective_date, where, "<item>/<pubDate>")
        return pubs
    return parse(body, url=url, requested=requested, published=published)


def fetch(client: FeedClient, day: date) -> list[Publication]:
    return fetch_table(client, BANK, url_for(day), day, parse)


def fetch_latest(client: FeedClient) -> list[Publication]:
    resp = client.get(LATEST_URL, BANK)
    return parse_latest(resp.body, published=header_date(resp.headers))
