"""Assembling a bank's parsed lines into a Publication, with the checks every table needs."""

from __future__ import annotations

from datetime import date

from corridor.fx.model import BANKS, Publication, Quote
from corridor.fx.parsing import Where


def build(bank: str, where: Where, effective: date, published: date | None,
          lines: list[tuple[str, Quote]]) -> Publication:
    """`lines` pairs each quote with where it was read, to name it in errors."""
    if not lines:
        raise where.error("body", "the table holds no rates")
    seen: dict[str, str] = {}
    home = BANKS[bank].home
    for location, quote in lines:
        if quote.currency in seen:
            raise where.error(location, f"{quote.currency} quoted twice (first at "
                                        f"{seen[quote.currency]})")
        if quote.currency == home:
            raise where.error(location, f"{home} quoted against itself")
        seen[quote.currency] = location
    return Publication(bank=bank, effective_date=effective, publication_date=published,
                       source_url=where.url, quotes=[q for _, q in lines])
