"""Central Bank of the Republic of Uzbekistan: UZS per `Nominal` units, JSON of strings.

https://cbu.uz/en/arkhiv-kursov-valyut/json/all/YYYY-MM-DD/
    [{"Ccy":"USD","Nominal":"1","Rate":"12194.21","Diff":"-16.5","Date":"01.04.2026",...},...]
"""

from __future__ import annotations

import json
from datetime import date

from corridor.fx.http import FeedClient, fetch_table
from corridor.fx.model import Publication, Quote
from corridor.fx.parsing import (
    Where,
    check_date,
    currency_code,
    date_field,
    positive_decimal,
    positive_units,
)
from corridor.fx.tables import build

BANK = "CBU"


def url_for(day: date) -> str:
    return f"https://cbu.uz/en/arkhiv-kursov-valyut/json/all/{day:%Y-%m-%d}/"


def _string(entry: dict, key: str, where: Where, pointer: str) -> str:
    value = entry.get(key)
    if not isinstance(value, str):
        raise where.error(f"{pointer}/{key}", f"expected a string, got {value!r}")
    return value


def parse(body: bytes, *, url: str = "", requested: date | None = None,
          published: date | None = None) -> list[Publication]:
    where = Where(BANK, url or "cbu.uz json")
    try:
        # utf-8-sig: a table saved from a browser may start with a byte-order mark.
        data = json.loads(body.decode("utf-8-sig"))
    except UnicodeDecodeError as exc:
        raise where.error(f"byte {exc.start}", "body is not UTF-8") from exc
    except json.JSONDecodeError as exc:
        raise where.error(f"line {exc.lineno} column {exc.colno}",
                          f"not valid JSON (truncated?): {exc.msg}") from exc
    if not isinstance(data, list):
        raise where.error("/", "expected a JSON array of rates")
    lines = []
    dates: dict[date, str] = {}
    for i, entry in enumerate(data):
        pointer = f"/{i}"
        if not isinstance(entry, dict):
            raise where.error(pointer, "expected an object")
        code = currency_code(_string(entry, "Ccy", where, pointer), where, f"{pointer}/Ccy")
        units = positive_units(_string(entry, "Nominal", where, pointer), where,
                               f"{pointer}/Nominal ({code})")
        value = positive_decimal(_string(entry, "Rate", where, pointer), where,
                                 f"{pointer}/Rate ({code})")
        day = date_field(_string(entry, "Date", where, pointer), ("%d.%m.%Y",), where,
                         f"{pointer}/Date")
        dates.setdefault(day, f"{pointer}/Date")
        lines.append((pointer, Quote(code, units, value)))
    if len(dates) > 1:
        raise where.error("/*/Date", f"entries carry different dates: "
                                     f"{sorted(d.isoformat() for d in dates)}")
    if not dates:
        raise where.error("/", "the table holds no rates")
    effective = next(iter(dates))
    check_date(requested, effective, where, dates[effective])
    return [build(BANK, where, effective, published, lines)]


def fetch(client: FeedClient, day: date) -> list[Publication]:
    return fetch_table(client, BANK, url_for(day), day, parse)
