"""Value normalisation for the Event Hash ID pre-hash string (CBV 2.0, section 8.9).

Every value goes through the same three steps as in the GS1 reference generator: CBV 1.x URNs
become web-vocabulary URIs, numbers lose leading `+`, leading/trailing zeros and a trailing `.0`,
and GS1 identifiers become canonical Digital Link URIs. Timestamps become UTC at millisecond
precision.
"""

from __future__ import annotations

import math
import re
from datetime import UTC, datetime, timedelta

from corridor.epcis.cbv import CBV_URN, URN_TO_WEB
from corridor.epcis.hash_dl import normalise as _dl

_CACHE_LIMIT = 200_000
_canon_cache: dict[str, str] = {}
_time_cache: dict[str, str] = {}


# first characters of the strings float() can accept ("u", "h": URNs and URLs never are)
_NOT_NUMERIC = frozenset("abcdfghjklmopqrstuvwxyzABCDFGHJKLMOPQRSTUVWXYZ:/%#@!?&'\"()[]{}<>")


def _numeric(text: str) -> str:
    """`+1.50` -> `1.5`, `26.0` -> `26`; anything float() refuses is left alone."""
    if not text or text[0] in _NOT_NUMERIC:
        return text
    try:
        number = float(text)
    except ValueError:
        return text
    if not math.isfinite(number):
        # the reference generator fails on infinities and drops the event; keep the text
        return text
    if int(number) == number:
        return str(int(number))
    return str(number)


def canon_uncached(text: str) -> str:
    """canon without the cache (for callers that keep their own)."""
    if CBV_URN in text:
        for urn, web in URN_TO_WEB:
            text = text.replace(urn, web)
    text = _numeric(text)
    return _dl(text) or text


def canon(text: str) -> str:
    """Canonical form of a (stripped, non-empty) value."""
    hit = _canon_cache.get(text)
    if hit is None:
        if len(_canon_cache) >= _CACHE_LIMIT:
            _canon_cache.clear()
        hit = _canon_cache[text] = canon_uncached(text)
    return hit


_TIME = re.compile(
    r"(\d{4})-(\d\d)-(\d\d)[Tt ](\d\d):(\d\d)(?::(\d\d)(?:[.,](\d+))?)?\s*"
    r"(?:([Zz])|([+-])(\d\d)(?::?(\d\d))?)?\Z")
# the usual `2019-04-02T15:00:00.000+01:00`, which the C parser reads the same way
_OFFSET_TIME = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d{1,6})?[+-]\d\d:\d\d\Z")
_PLAIN_UTC = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d{3})?Z\Z")


def _time_uncached(text: str) -> str:
    if _PLAIN_UTC.match(text) and "01" <= text[5:7] <= "12" and "01" <= text[8:10] <= "28" \
            and text[11:13] <= "23" and text[14:16] <= "59" and text[17:19] <= "59":
        # already UTC at millisecond precision (or whole seconds), and surely a valid date
        return text if len(text) == 24 else text[:19] + ".000Z"
    if _OFFSET_TIME.match(text):
        # the usual `...T10:00:00.123+05:00`: the C parser, same result as below
        try:
            moment = datetime.fromisoformat(text).astimezone(UTC)
        except (ValueError, OverflowError):
            return text
        micro = round(moment.microsecond, -3)
        if micro < 1_000_000:
            return moment.replace(microsecond=micro, tzinfo=None).isoformat(
                timespec="milliseconds") + "Z"
    m = _TIME.match(text)
    if m is None:
        return text  # not an xsd:dateTime: hashed as written, like the reference does
    year, month, day, hour, minute, second, frac, _z, sign, off_h, off_m = m.groups()
    micro = int((frac or "")[:6].ljust(6, "0"))
    try:
        moment = datetime(int(year), int(month), int(day), int(hour), int(minute),
                          int(second or 0))
        # round half to even at the millisecond, as round(us, -3) does; a carry into the next
        # second is kept (the reference fails there and drops the event)
        moment += timedelta(microseconds=round(micro, -3))
        if sign:
            offset = timedelta(hours=int(off_h), minutes=int(off_m or 0))
            moment = moment - offset if sign == "+" else moment + offset
    except (ValueError, OverflowError):
        return text
    # no offset: taken as UTC (the reference uses the host's local time zone)
    return (f"{moment.year:04d}-{moment.month:02d}-{moment.day:02d}T{moment.hour:02d}:"
            f"{moment.minute:02d}:{moment.second:02d}.{moment.microsecond // 1000:03d}Z")


def canon_time(text: str) -> str:
    """A timestamp in UTC at millisecond precision with `Z` (`2019-04-02T14:00:00.000Z`)."""
    hit = _time_cache.get(text)
    if hit is None:
        if len(_time_cache) >= _CACHE_LIMIT:
            _time_cache.clear()
        hit = _time_cache[text] = _time_uncached(text)
    return hit
