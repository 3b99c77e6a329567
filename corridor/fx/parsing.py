"""Strict readers for the pieces of a bank's response: XML, decimals, unit counts, dates.

Every reader raises `FeedError` naming the bank, the URL and the place in the body, so a
refused response says exactly what was wrong with it.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from email.utils import parsedate_to_datetime

from lxml import etree

from corridor.fx.model import FeedError, Quote, WrongDateError

_POINT = re.compile(r"^\s*\d{1,12}(\.\d{1,12})?\s*$")
_COMMA = re.compile(r"^\s*\d{1,12}(,\d{1,12})?\s*$")
_CODE = re.compile(r"^[A-Z]{3}$")


class Where:
    """The bank and URL a response came from, to name them in errors."""

    def __init__(self, bank: str, url: str) -> None:
        self.bank = bank
        self.url = url

    def error(self, location: str, message: str) -> FeedError:
        return FeedError(self.bank, self.url, location, message)


def xml_root(body: bytes, where: Where) -> etree._Element:
    """Parse XML without entity expansion or network access (bank feeds are untrusted)."""
    if not body.strip():
        raise where.error("body", "empty response")
    parser = etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=False,
                             load_dtd=False, recover=False)
    try:
        return etree.fromstring(body, parser)
    except etree.XMLSyntaxError as exc:
        line = getattr(exc, "lineno", None) or "?"
        raise where.error(f"line {line}", f"not well-formed XML (truncated?): {exc.msg}") from exc
    except ValueError as exc:  # e.g. an unknown encoding in the declaration
        raise where.error("XML declaration", str(exc)) from exc


def element_location(el: etree._Element) -> str:
    return f"line {el.sourceline}, element <{el.tag}>"


def child_text(parent: etree._Element, tag: str, where: Where) -> str:
    child = parent.find(tag)
    if child is None or child.text is None or not child.text.strip():
        raise where.error(element_location(parent), f"missing or empty <{tag}>")
    return child.text.strip()


def positive_decimal(text: str | None, where: Where, location: str, *,
                     comma: bool = False) -> Decimal:
    """A published rate: plain digits with an optional fraction, strictly positive."""
    pattern = _COMMA if comma else _POINT
    if text is None or not pattern.match(text):
        sep = "decimal comma" if comma else "decimal point"
        raise where.error(location, f"{text!r} is not a decimal number with a {sep}")
    try:
        value = Decimal(text.strip().replace(",", "."))
    except InvalidOperation as exc:  # unreachable after the regex, kept for safety
        raise where.error(location, f"{text!r} is not a decimal number") from exc
    if value <= 0:
        raise where.error(location, f"rate {text!r} must be positive")
    return value


def positive_units(text: str | None, where: Where, location: str) -> int:
    if text is None or not text.strip().isdigit() or int(text) <= 0 or int(text) > 10**9:
        raise where.error(location, f"unit count {text!r} must be a positive integer")
    return int(text)


def currency_code(text: str | None, where: Where, location: str) -> str:
    if text is None or not _CODE.match(text.strip()):
        raise where.error(location, f"{text!r} is not an ISO 4217 currency code")
    return text.strip()


def date_field(text: str | None, formats: tuple[str, ...], where: Where, location: str) -> date:
    for fmt in formats:
        try:
            return datetime.strptime((text or "").strip(), fmt).date()
        except ValueError:
            continue
    shown = " or ".join(fmt.replace("%d", "DD").replace("%m", "MM").replace("%Y", "YYYY")
                        for fmt in formats)
    raise where.error(location, f"date {text!r} is not in the form {shown}")


def check_date(requested: date | None, returned: date, where: Where, location: str) -> None:
    """Refuse rates dated after the day asked for: banks answer an out-of-range date with
    today's table (NBT does, silently). A table dated BEFORE the day asked for is the bank's
    latest earlier publication (weekend, holiday) and is stored under its own date."""
    if requested is not None and returned > requested:
        raise WrongDateError(
            where.bank, where.url, location,
            f"asked for rates of {requested.isoformat()} but the response carries "
            f"{returned.isoformat()}; refusing to store them")


def header_date(headers: Mapping[str, str] | None) -> date | None:
    """Publication date from the response: Last-Modified if sent, else the Date header (the
    day we first saw the table, an upper bound)."""
    if not headers:
        return None
    lowered = {k.lower(): v for k, v in headers.items()}
    for name in ("last-modified", "date"):
        value = lowered.get(name)
        if value:
            try:
                return parsedate_to_datetime(value).date()
            except (TypeError, ValueError):
                continue
    return None


def xml_quote(row: etree._Element, where: Where, *, code: str, units: str, value: str,
              comma: bool = False) -> tuple[str, Quote]:
    """One row of a bank's XML table as (location, Quote). `code` names the child element
    holding the ISO code, or its attribute as "@name"; `units` and `value` name children."""
    loc = element_location(row)
    if code.startswith("@"):
        iso = currency_code(row.get(code[1:]), where, f"{loc} {code[1:]} attribute")
    else:
        iso = currency_code(child_text(row, code, where), where, f"{loc} <{code}>")
    count = positive_units(child_text(row, units, where), where, f"{loc} <{units}> of {iso}")
    amount = positive_decimal(child_text(row, value, where), where,
                              f"{loc} <{value}> of {iso}", comma=comma)
    return loc, Quote(iso, count, amount)
