"""The carbon price paid at origin as a reader writes it, for the CLI's `--paid` and the
API's `paid` parameter alike:

  INSTALLATION=AMOUNT:CURRENCY[:YYYY-MM-DD]:EVIDENCE

INSTALLATION is the installation's SGLN, or "SGLN#CN" when it has several lines; the date is
the day it was paid (its official rate values it in EUR); EVIDENCE is one or more items
separated by "," (e.g. the KZ ETS allowance surrender record and its SHA-256).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import date
from decimal import Decimal, InvalidOperation

from corridor.emissions.cbam import CarbonPricePaid

FORM = "INSTALLATION=AMOUNT:CURRENCY[:YYYY-MM-DD]:EVIDENCE"
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_MAX_AMOUNT = Decimal(10) ** 15


class PaidError(ValueError):
    """A carbon price paid that cannot be read; the message names the item and why."""


def _amount(item: str, text: str) -> Decimal:
    try:
        value = Decimal(text.strip())
    except InvalidOperation:
        value = Decimal(-1)
    if not value.is_finite() or value < 0 or value >= _MAX_AMOUNT:
        raise PaidError(f"{item!r}: the amount must be a number of at least 0 "
                        f"(below {_MAX_AMOUNT:.0e})")
    return value


def _one(item: str) -> tuple[str, CarbonPricePaid]:
    site, _, rest = item.partition("=")
    parts = rest.split(":", 2)
    if not site.strip() or len(parts) < 3 or not parts[1].strip():
        raise PaidError(f"{item!r}: expected {FORM}")
    amount, currency, evidence = parts
    paid_on = None
    head, _, tail = evidence.partition(":")
    if _DATE.fullmatch(head) and tail:
        try:
            paid_on, evidence = date.fromisoformat(head), tail
        except ValueError:
            raise PaidError(f"{item!r}: {head} is not a date") from None
    items = tuple(e.strip() for e in evidence.split(",") if e.strip())
    if not items:
        raise PaidError(f"{item!r}: give the evidence of the price paid (Article 9(1): only "
                        "a price effectively paid may be deducted)")
    return site.strip(), CarbonPricePaid(_amount(item, amount), currency.strip().upper(),
                                         evidence=items, paid_on=paid_on)


def parse_paid(given: Sequence[str]) -> dict[str, CarbonPricePaid]:
    """Each given price, keyed by its INSTALLATION; PaidError naming the item when one cannot
    be read or an installation is given twice."""
    found: dict[str, CarbonPricePaid] = {}
    for item in given:
        site, price = _one(item)
        if site in found:
            raise PaidError(f"{item!r}: a carbon price for {site} is already given")
        found[site] = price
    return found
