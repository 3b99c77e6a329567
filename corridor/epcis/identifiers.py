"""GS1 identifiers in EPCIS: EPC URIs, GS1 Digital Link URIs, check digits, canonical keys.

What the GS1 EPC Tag Data Standard (TDS) and GS1 Digital Link say about identifiers lives here
once: the Application Identifiers and their short names, the character sets, the check digit,
and the one key that Corridor stores and queries for both spellings of an identifier
(`canonical`: the Digital Link form on https://id.gs1.org, always derivable from an EPC URN;
`dl_to_urn` goes back, given the GS1 Company Prefix length).

Supported by `canonical`: SGTIN (01+21), SSCC (00), SGLN (414[+254]), GRAI (8003),
GIAI (8004), PGLN (417), LGTIN class (01+10) and GTIN product class
(urn:epc:idpat:sgtin:CP.IR.*). The Event Hash ID has its own, stricter canonical form that
follows the GS1 reference generator (corridor.epcis.hash_dl), built on the tables of this
module; MATCH_ query patterns are corridor.query.epc's.

The C cores read these tables from corridor/_epcis_tables.h, which setup.py writes from this
module (corridor.epcis.c_tables): so it imports nothing but the standard library.
"""

from __future__ import annotations

import re
import string
from functools import lru_cache
from urllib.parse import quote, unquote, urlsplit

DL_BASE = "https://id.gs1.org"  # the host of canonical GS1 Digital Link URIs

# ---- Application Identifiers (GS1 General Specifications) ----

AI_SSCC, AI_GTIN, AI_LOT, AI_SERIAL, AI_CPV = "00", "01", "10", "21", "22"
AI_TPX, AI_GDTI, AI_GLN_EXTENSION, AI_GCN = "235", "253", "254", "255"
AI_GINC, AI_GSIN, AI_GLN, AI_PARTY = "401", "402", "414", "417"
AI_GRAI, AI_GIAI, AI_ITIP, AI_CPID, AI_CPSN = "8003", "8004", "8006", "8010", "8011"
AI_GSRNP, AI_GSRN = "8017", "8018"

# GS1 Digital Link primary keys with their short names, in the order of the standard
PRIMARY_KEYS = {AI_GTIN: "gtin", AI_ITIP: "itip", AI_CPID: "cpid", AI_GLN: "gln",
                AI_PARTY: "party", AI_GSRNP: "gsrnp", AI_GSRN: "gsrn", AI_GCN: "gcn",
                AI_SSCC: "sscc", AI_GDTI: "gdti", AI_GINC: "ginc", AI_GSIN: "gsin",
                AI_GRAI: "grai", AI_GIAI: "giai"}
# qualifiers with a short name
QUALIFIERS = {AI_CPV: "cpv", AI_LOT: "lot", AI_SERIAL: "ser"}


def dl_head(ai: str) -> str:
    """`https://id.gs1.org/<ai>/`: how canonical Digital Link URIs (and so the canonical keys)
    of that Application Identifier begin."""
    return f"{DL_BASE}/{ai}/"


SSCC_KEY_PREFIX = dl_head(AI_SSCC)  # the canonical keys of logistic units (SSCC)

# ---- EPC URIs ----

EPC_URN = "urn:epc:"
SGTIN = "urn:epc:id:sgtin:"
SSCC = "urn:epc:id:sscc:"
SGLN = "urn:epc:id:sgln:"
LGTIN = "urn:epc:class:lgtin:"
EPC_URI = re.compile(r"^urn:epc:(id|idpat|class):([a-z]+):(.+)$")  # kind, scheme, body

COMPANY_PREFIX_MIN, COMPANY_PREFIX_MAX = 6, 12  # digits of a GS1 Company Prefix

# ---- character sets ----

# One character of an EPC serial or attribute (TDS "GS1 AI encodable character set 82"):
# plain, or `%` + a first hex digit + one of the second hex digits listed for it
EPC_CHARS = string.ascii_letters + string.digits + "!'()*+,-.:;=_"
EPC_ESCAPES = {"2": "1256789ABCDEFabcdef", "3": "0123456789ABCDEFabcdef",
               "4": "123456789ABCDEFabcdef", "5": "0123456789AaFf",
               "6": "123456789ABCDEFabcdef", "7": "0123456789Aa"}
# One character of a component / part reference (TDS character set 39), the same way
CPI_CHARS = string.ascii_uppercase + string.digits + "-"
CPI_ESCAPES = {"2": "3dfDF", "3": "0123456789", "4": "123456789ABCDEFabcdef",
               "5": "0123456789Aa"}
# What GS1 Digital Link percent-encodes of the characters EPC URIs may hold raw
DL_PERCENT = {"!": "%21", "(": "%28", ")": "%29", "*": "%2A", "+": "%2B", ",": "%2C",
              ":": "%3A"}
# What a value of a canonical Digital Link URI may hold (the final syntax check of the GS1
# reference generator)
DL_CANONICAL_CHARS = "\"'-." + string.digits + ";<=>?" + string.ascii_uppercase + "_" \
    + string.ascii_lowercase
# Serials and lots in canonical keys: percent-encoded as urllib.parse.quote does with these
# characters safe, so a value made of KEY_PLAIN characters only is kept as it is
KEY_SAFE = "!'()*+,-.:;=_"
KEY_PLAIN = string.ascii_letters + string.digits + "-._~" + KEY_SAFE


def char_class(chars: str) -> str:
    """A regular expression character class of exactly these characters."""
    return "[" + "".join(re.escape(c) for c in chars) + "]"


def char_pattern(chars: str, escapes: dict[str, str]) -> str:
    """A regular expression of one character of such a set: plain or %-escaped."""
    return "(?:" + "|".join([char_class(chars)] + [f"%{first}{char_class(second)}"
                                                     for first, second in escapes.items()]) + ")"


# ---- EPC pure identity URIs (TDS 2.0 section 6.3): what a well-formed one looks like ----

_GS3A3 = char_pattern(EPC_CHARS, EPC_ESCAPES)  # one character of a serial, lot, extension
_CPI = char_pattern(CPI_CHARS, CPI_ESCAPES)


def _key(total: int) -> str:
    """`CompanyPrefix.Reference`: 6 to 12 prefix digits, `total` digits in all."""
    return "(?:" + "|".join(rf"[0-9]{{{n}}}\.[0-9]{{{total - n}}}"
                            for n in range(COMPANY_PREFIX_MIN, min(total, 12) + 1)) + ")"


_PREFIX = r"[0-9]{6,12}\."
# scheme -> the pattern of the URI body after urn:epc:id:<scheme>:
EPC_ID_SYNTAX: dict[str, str] = {
    "sgtin": rf"{_key(13)}\.{_GS3A3}{{1,20}}",
    "sscc": _key(17),
    "sgln": rf"{_key(12)}\.{_GS3A3}{{1,20}}",
    "grai": rf"{_key(12)}\.{_GS3A3}{{0,16}}",
    "giai": rf"{_PREFIX}{_GS3A3}{{1,24}}",
    "gsrn": _key(17),
    "gsrnp": _key(17),
    "gdti": rf"{_key(12)}\.{_GS3A3}{{0,17}}",
    "cpi": rf"{_PREFIX}{_CPI}{{1,24}}\.[0-9]{{1,12}}",
    "sgcn": rf"{_key(12)}\.[0-9]{{1,12}}",
    "ginc": rf"{_PREFIX}{_GS3A3}{{1,24}}",
    "gsin": _key(16),
    "itip": rf"{_key(13)}\.[0-9]{{2}}\.[0-9]{{2}}\.{_GS3A3}{{1,20}}",
    "upui": rf"{_key(13)}\.{_GS3A3}{{1,28}}",
    "pgln": _key(12),
    "gid": r"[0-9]{1,9}\.[0-9]{1,8}\.[0-9]{1,11}",
    "usdod": r"[A-Z0-9]{5,6}\.[0-9]{1,9}",
    "adi": r"[A-Z0-9]{5,6}\.[A-Z0-9/-]{0,32}\.#?[A-Z0-9/-]{1,30}",
    "bic": r"[A-Z]{3}[JUZ][0-9]{7}",
    "imovn": r"[0-9]{7}",
}
EPC_CLASS_SYNTAX: dict[str, str] = {"lgtin": rf"{_key(13)}\.{_GS3A3}{{1,20}}"}
_PATTERN_BODY = r"[!-~]+"  # an EPC pattern's body (urn:epc:idpat:...): printable ASCII
# Every well-formed EPC URI (id, class, idpat), as one regular expression (no \Z: append it)
EPC_PURE = "urn:epc:(?:" + "|".join(
    [f"id:{scheme}:(?:{body})" for scheme, body in EPC_ID_SYNTAX.items()]
    + [f"class:{scheme}:(?:{body})" for scheme, body in EPC_CLASS_SYNTAX.items()]
    + [f"idpat:(?:{'|'.join(EPC_ID_SYNTAX)}):{_PATTERN_BODY}"]) + ")"
_EPC_PURE = re.compile(EPC_PURE + r"\Z")


def epc_uri_fault(uri: str, kinds: tuple[str, ...] = ("id",)) -> str | None:
    """What is wrong with an EPC URI (`urn:epc:...`), or None: its kind (`id`, `class`,
    `idpat`) must be one of `kinds`, its scheme one of TDS 2.0, its body that scheme's."""
    m = EPC_URI.match(uri)
    if m is None:
        return "an EPC URI is urn:epc:id:SCHEME:..., urn:epc:class:... or urn:epc:idpat:..."
    kind, scheme = m.group(1), m.group(2)
    if kind not in kinds:
        return f"urn:epc:{kind}: is not allowed here (expected urn:epc:{'/'.join(kinds)}:)"
    if _EPC_PURE.match(uri):
        return None
    known = EPC_CLASS_SYNTAX if kind == "class" else EPC_ID_SYNTAX
    if scheme not in known:
        return f"{scheme!r} is not a TDS 2.0 EPC {kind} scheme"
    return f"not a well-formed {scheme} EPC URI (TDS 2.0: {_SHAPES.get(scheme, scheme)})"


_SHAPES = {"sgtin": "CompanyPrefix.IndicatorItemReference.Serial, 13 digits before the serial",
           "lgtin": "CompanyPrefix.IndicatorItemReference.Lot, 13 digits before the lot",
           "sscc": "CompanyPrefix.ExtensionSerialReference, 17 digits",
           "sgln": "CompanyPrefix.LocationReference.Extension, 12 digits before the extension",
           "pgln": "CompanyPrefix.PartyReference, 12 digits"}


# ---- the GS1 check digit ----

CHECK_WEIGHTS = (3, 1)  # of the rightmost digit, the next one, and so on alternately
_ODD, _EVEN = CHECK_WEIGHTS
_DIGITS = "0123456789"


def check_digit(digits: str) -> str:
    """GS1 mod-10 check digit of a key given without it (weights 3, 1, 3, ... from the right).
    Any Unicode decimal digits; ValueError for a character int() refuses."""
    if not digits.isascii():  # other Unicode decimal digits, which the EPC patterns allow
        digits = "".join(str(int(d)) for d in digits)
    raw = digits.encode()  # ASCII digits: byte value - 48 is the digit
    odd = raw[-1::-2]
    even = raw[-2::-2]
    total = _ODD * (sum(odd) - 48 * len(odd)) + _EVEN * (sum(even) - 48 * len(even))
    return _DIGITS[-total % 10]


def with_check_digit(digits: str) -> str:
    return digits + check_digit(digits)


def indicator_key(company_prefix: str, reference: str) -> str:
    """GTIN-14 of an SGTIN / LGTIN, SSCC-18 of an SSCC: the reference's first digit (indicator
    or extension digit) leads, then the company prefix, the rest and the check digit."""
    return with_check_digit(reference[:1] + company_prefix + reference[1:])


def prefix_key(company_prefix: str, reference: str) -> str:
    """GLN, PGLN, GSRN, GSIN and the GRAI / GDTI / GCN base: prefix, reference, check digit."""
    return with_check_digit(company_prefix + reference)


# ---- canonical keys: one for both spellings of an identifier ----

_PLAIN = re.compile(char_class(KEY_PLAIN) + r"*\Z")


def _q(text: str) -> str:
    # Serials and lots: percent-encode what a URI path segment cannot hold, consistently.
    if _PLAIN.match(text):  # the usual serial: nothing to do (and quote is slow)
        return text
    return quote(unquote(text), safe=KEY_SAFE)


def require_digits(text: str, length: int | None) -> None:
    """ValueError unless `text` is digits (`length` of them, when given)."""
    if not text.isdigit() or (length is not None and len(text) != length):
        raise ValueError(text)


@lru_cache(maxsize=1 << 14)  # a catalogue repeats its products: once per product
def gtin14(company_prefix: str, item_reference: str) -> str:
    """GTIN-14 of an SGTIN's `prefix.indicator+itemref` (ValueError if not 13 digits)."""
    base = item_reference[:1] + company_prefix + item_reference[1:]
    require_digits(base, 13)
    return with_check_digit(base)


def gln13(company_prefix: str, location_reference: str) -> str:
    """GLN of an SGLN / PGLN's `prefix.locationref` (ValueError if not 12 digits)."""
    base = company_prefix + location_reference
    require_digits(base, 12)
    return with_check_digit(base)


def grai14(company_prefix: str, asset_type: str) -> str:
    """The GRAI's GS1 key (a leading 0, then prefix, asset type, check digit)."""
    base = company_prefix + asset_type
    require_digits(base, 12)
    return "0" + with_check_digit(base)


def urn_to_dl(urn: str) -> str | None:
    """Digital Link form of an EPC URN (id or class), or None if not a supported scheme."""
    m = EPC_URI.match(urn)
    if not m:
        return None
    kind, scheme, body = m.groups()
    parts = body.split(".")
    try:
        if kind == "id" and scheme == "sgtin" and len(parts) == 3:
            cp, ir, ser = parts
            return f"{DL_BASE}/{AI_GTIN}/{gtin14(cp, ir)}/{AI_SERIAL}/{_q(ser)}"
        if kind == "id" and scheme == "sscc" and len(parts) == 2:
            cp, sr = parts
            base = sr[0] + cp + sr[1:]
            require_digits(base, 17)
            return f"{DL_BASE}/{AI_SSCC}/{with_check_digit(base)}"
        if kind == "id" and scheme == "sgln" and len(parts) == 3:
            cp, lr, ext = parts
            gln = gln13(cp, lr)
            return f"{DL_BASE}/{AI_GLN}/{gln}" + (
                "" if ext == "0" else f"/{AI_GLN_EXTENSION}/{_q(ext)}")
        if kind == "id" and scheme == "pgln" and len(parts) == 2:
            return f"{DL_BASE}/{AI_PARTY}/{gln13(*parts)}"
        if kind == "id" and scheme == "grai" and len(parts) == 3:
            cp, at, ser = parts
            return f"{DL_BASE}/{AI_GRAI}/{grai14(cp, at)}{_q(ser)}"
        if kind == "id" and scheme == "giai" and len(parts) == 2:
            cp, iar = parts
            require_digits(cp, None)
            return f"{DL_BASE}/{AI_GIAI}/{cp}{_q(iar)}"
        if kind == "class" and scheme == "lgtin" and len(parts) == 3:
            cp, ir, lot = parts
            return f"{DL_BASE}/{AI_GTIN}/{gtin14(cp, ir)}/{AI_LOT}/{_q(lot)}"
        if kind == "idpat" and scheme == "sgtin" and len(parts) == 3 and parts[2] == "*" \
                and "*" not in parts[0] + parts[1]:
            return f"{DL_BASE}/{AI_GTIN}/{gtin14(parts[0], parts[1])}"
    except ValueError:
        return None
    return None


# the primary keys `canonical` reads, and the qualifiers that identify an instance
_KEY_AIS = (AI_GTIN, AI_SSCC, AI_GLN, AI_PARTY, AI_GRAI, AI_GIAI)
_INSTANCE_QUALIFIERS = (AI_SERIAL, AI_LOT, AI_GLN_EXTENSION, AI_CPV, AI_TPX)
_DL_PATH = re.compile(r"^(?:/.*?)?/(" + "|".join(_KEY_AIS) + r")/([^/]+)(/.*)?$")


def dl_key(url: str) -> str | None:
    """Canonical key of a GS1 Digital Link URI (any host, query string dropped)."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https"):
        return None
    m = _DL_PATH.match(parts.path)
    if not m:
        return None
    ai, value, rest = m.group(1), unquote(m.group(2)), m.group(3) or ""
    if ai == AI_GTIN and value.isdigit() and len(value) in (8, 12, 13, 14):
        value = value.zfill(14)
    out = f"{DL_BASE}/{ai}/{_q(value)}"
    segs = [s for s in rest.split("/") if s]
    # Qualifiers come as AI/value pairs; keep only the ones that identify the instance.
    for i in range(0, len(segs) - 1, 2):
        if segs[i] in _INSTANCE_QUALIFIERS:
            out += f"/{segs[i]}/{_q(segs[i + 1])}"
    return out


@lru_cache(maxsize=1 << 16)
def canonical(identifier: str) -> str:
    """One key for both spellings of an identifier; other URIs are returned unchanged."""
    if identifier.startswith(EPC_URN):
        return urn_to_dl(identifier) or identifier
    if identifier.startswith(("http://", "https://")):
        return dl_key(identifier) or identifier
    return identifier


# where the GS1 Company Prefix begins in a key: after the indicator digit of a GTIN, the
# extension digit of an SSCC, the leading 0 of a GRAI; at once in a GLN, PGLN or GIAI
_PREFIX_AT = {AI_GTIN: 1, AI_SSCC: 1, AI_GRAI: 1, AI_GLN: 0, AI_PARTY: 0, AI_GIAI: 0}


def company_prefix_key(identifier: str) -> tuple[str, str | None] | None:
    """An identifier's GS1 key from where its GS1 Company Prefix begins, and the prefix
    itself when the identifier spells it out (an EPC URN):
    `urn:epc:id:sgln:4870101.00010.0` gives ("4870101000102", "4870101"), its Digital Link
    form ("4870101000102", None), a GTIN its digits after the indicator digit. None for an
    identifier that `canonical` reads as no GS1 key (a private URI)."""
    key = canonical(identifier)
    if not key.startswith(DL_BASE + "/"):
        return None
    ai, _, rest = key[len(DL_BASE) + 1:].partition("/")
    at = _PREFIX_AT.get(ai)
    value = unquote(rest.partition("/")[0])
    if at is None or not value[at:at + COMPANY_PREFIX_MIN].isdigit():
        return None
    prefix = None
    m = EPC_URI.match(identifier)
    if m:
        written = m.group(3).partition(".")[0]
        if written.isdigit() and COMPANY_PREFIX_MIN <= len(written) <= COMPANY_PREFIX_MAX \
                and value.startswith(written, at):
            prefix = written
    return value[at:], prefix


def dl_to_urn(url: str, company_prefix_length: int) -> str | None:
    """EPC URN of a Digital Link URI, given the GS1 Company Prefix length (6 to 12)."""
    key = dl_key(url)
    if key is None or not COMPANY_PREFIX_MIN <= company_prefix_length <= COMPANY_PREFIX_MAX:
        return None
    segs = key[len(DL_BASE) + 1:].split("/")
    ai, value = segs[0], unquote(segs[1])
    quals = {segs[i]: unquote(segs[i + 1]) for i in range(2, len(segs) - 1, 2)}
    n = company_prefix_length
    if ai == AI_GTIN:
        cp, ir = value[1:1 + n], value[0] + value[1 + n:13]
        if AI_SERIAL in quals:
            return f"{SGTIN}{cp}.{ir}.{quote(quals[AI_SERIAL], safe='')}"
        if AI_LOT in quals:
            return f"{LGTIN}{cp}.{ir}.{quote(quals[AI_LOT], safe='')}"
        return f"urn:epc:idpat:sgtin:{cp}.{ir}.*"
    if ai == AI_SSCC and len(value) == 18:
        return f"{SSCC}{value[1:1 + n]}.{value[0]}{value[1 + n:17]}"
    if ai in (AI_GLN, AI_PARTY) and len(value) == 13:
        if ai == AI_PARTY:
            return f"urn:epc:id:pgln:{value[:n]}.{value[n:12]}"
        ext = quals.get(AI_GLN_EXTENSION, "0")
        return f"{SGLN}{value[:n]}.{value[n:12]}.{quote(ext, safe='')}"
    if ai == AI_GRAI and len(value) >= 14:
        return (f"urn:epc:id:grai:{value[1:1 + n]}.{value[1 + n:13]}."
                f"{quote(value[14:], safe='')}")
    if ai == AI_GIAI:
        return f"urn:epc:id:giai:{value[:n]}.{quote(value[n:], safe='')}"
    return None
