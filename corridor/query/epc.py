"""EPC URN <-> GS1 Digital Link, and the canonical key used to match them.

A URN names the GS1 Company Prefix length; a Digital Link does not. So the store and the query
both reduce identifiers to one canonical key: the Digital Link form on https://id.gs1.org
(always derivable from a URN). `dl_to_urn` needs the company-prefix length to go back.

Supported: SGTIN (01+21), SSCC (00), SGLN (414[+254]), GRAI (8003), GIAI (8004), PGLN (417),
LGTIN class (01+10) and GTIN product class (urn:epc:idpat:sgtin:CP.IR.*), plus the idpat
wildcard patterns of SGTIN/SSCC/SGLN/GRAI/GIAI for MATCH_ queries.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from urllib.parse import quote, unquote, urlsplit

DL_BASE = "https://id.gs1.org"


def check_digit(digits: str) -> str:
    """GS1 mod-10 check digit of a digit string (weights 3,1,3,... from the right)."""
    total = 3 * sum(map(int, digits[-1::-2])) + sum(map(int, digits[-2::-2]))
    return str(-total % 10)


# Characters that _q leaves as they are (no `%`: unquote changes nothing either).
_PLAIN = re.compile(r"[A-Za-z0-9_.~!'()*+,\-:;=]*\Z")


def _q(text: str) -> str:
    # Serials and lots: percent-encode what a URI path segment cannot hold, consistently.
    if _PLAIN.match(text):  # the usual serial: nothing to do (and quote is slow)
        return text
    return quote(unquote(text), safe="!'()*+,-.:;=_")


_URN = re.compile(r"^urn:epc:(id|idpat|class):([a-z]+):(.+)$")


def urn_to_dl(urn: str) -> str | None:
    """Digital Link form of an EPC URN (id or class), or None if not a supported scheme."""
    m = _URN.match(urn)
    if not m:
        return None
    kind, scheme, body = m.groups()
    parts = body.split(".")
    try:
        if kind == "id" and scheme == "sgtin" and len(parts) == 3:
            cp, ir, ser = parts
            gtin = _gtin(cp, ir)
            return f"{DL_BASE}/01/{gtin}/21/{_q(ser)}"
        if kind == "id" and scheme == "sscc" and len(parts) == 2:
            cp, sr = parts
            base = sr[0] + cp + sr[1:]
            _digits(base, 17)
            return f"{DL_BASE}/00/{base}{check_digit(base)}"
        if kind == "id" and scheme == "sgln" and len(parts) == 3:
            cp, lr, ext = parts
            gln = _gln(cp, lr)
            return f"{DL_BASE}/414/{gln}" + ("" if ext == "0" else f"/254/{_q(ext)}")
        if kind == "id" and scheme == "pgln" and len(parts) == 2:
            return f"{DL_BASE}/417/{_gln(*parts)}"
        if kind == "id" and scheme == "grai" and len(parts) == 3:
            cp, at, ser = parts
            base = cp + at
            _digits(base, 12)
            return f"{DL_BASE}/8003/0{base}{check_digit(base)}{_q(ser)}"
        if kind == "id" and scheme == "giai" and len(parts) == 2:
            cp, iar = parts
            _digits(cp, None)
            return f"{DL_BASE}/8004/{cp}{_q(iar)}"
        if kind == "class" and scheme == "lgtin" and len(parts) == 3:
            cp, ir, lot = parts
            return f"{DL_BASE}/01/{_gtin(cp, ir)}/10/{_q(lot)}"
        if kind == "idpat" and scheme == "sgtin" and len(parts) == 3 and parts[2] == "*" \
                and "*" not in parts[0] + parts[1]:
            return f"{DL_BASE}/01/{_gtin(parts[0], parts[1])}"
    except ValueError:
        return None
    return None


def _digits(text: str, length: int | None) -> None:
    if not text.isdigit() or (length is not None and len(text) != length):
        raise ValueError(text)


@lru_cache(maxsize=1 << 14)  # a catalogue repeats its products: once per product
def _gtin(cp: str, ir: str) -> str:
    base = ir[:1] + cp + ir[1:]
    _digits(base, 13)
    return base + check_digit(base)


def _gln(cp: str, lr: str) -> str:
    base = cp + lr
    _digits(base, 12)
    return base + check_digit(base)


_DL_PATH = re.compile(r"^(?:/.*?)?/(01|00|414|417|8003|8004)/([^/]+)(/.*)?$")


def dl_key(url: str) -> str | None:
    """Canonical key of a GS1 Digital Link URI (any host, query string dropped)."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https"):
        return None
    m = _DL_PATH.match(parts.path)
    if not m:
        return None
    ai, value, rest = m.group(1), unquote(m.group(2)), m.group(3) or ""
    if ai == "01" and value.isdigit() and len(value) in (8, 12, 13, 14):
        value = value.zfill(14)
    out = f"{DL_BASE}/{ai}/{_q(value)}"
    segs = [s for s in rest.split("/") if s]
    # Qualifiers come as AI/value pairs; keep only the ones that identify the instance.
    for i in range(0, len(segs) - 1, 2):
        if segs[i] in ("21", "10", "254", "22", "235"):
            out += f"/{segs[i]}/{_q(segs[i + 1])}"
    return out


@lru_cache(maxsize=1 << 16)
def canonical(identifier: str) -> str:
    """One key for both spellings of an identifier; other URIs are returned unchanged."""
    if identifier.startswith("urn:epc:"):
        return urn_to_dl(identifier) or identifier
    if identifier.startswith(("http://", "https://")):
        return dl_key(identifier) or identifier
    return identifier


@dataclass(frozen=True)
class EpcPattern:
    """What a MATCH_ value means in SQL: an exact key, a prefix, or a LIKE pattern."""

    exact: str | None = None
    prefix: str | None = None
    like: str | None = None


def _like_escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def match_pattern(value: str) -> EpcPattern:
    """Interpret a MATCH_epc / MATCH_epcClass value (URN, idpat pattern, or Digital Link).

    Raises ValueError with a reason for a malformed pattern."""
    m = _URN.match(value)
    if not m or m.group(1) != "idpat":
        return EpcPattern(exact=canonical(value))
    scheme, body = m.group(2), m.group(3)
    parts = body.split(".")
    stars = [p == "*" for p in parts]
    # Wildcards may only fill trailing fields (EPC Tag Data Standard, pattern URIs).
    if any(stars[i] and not stars[i + 1] for i in range(len(parts) - 1)):
        raise ValueError(f"pattern {value!r}: '*' may only be used for trailing fields")
    if not any(stars):
        return EpcPattern(exact=canonical(value.replace(":idpat:", ":id:")))
    try:
        if scheme == "sgtin" and len(parts) == 3:
            if not stars[1]:
                return EpcPattern(prefix=f"{DL_BASE}/01/{_gtin(parts[0], parts[1])}/21/")
            if not stars[0]:
                _digits(parts[0], None)
                return EpcPattern(like=f"{DL_BASE}/01/_{_like_escape(parts[0])}%/21/%")
            return EpcPattern(prefix=f"{DL_BASE}/01/")
        if scheme == "sscc" and len(parts) == 2:
            if not stars[0]:
                _digits(parts[0], None)
                return EpcPattern(like=f"{DL_BASE}/00/_{_like_escape(parts[0])}%")
            return EpcPattern(prefix=f"{DL_BASE}/00/")
        if scheme == "sgln" and len(parts) == 3:
            if not stars[1]:
                gln = _gln(parts[0], parts[1])
                return EpcPattern(like=f"{DL_BASE}/414/{gln}%")
            if not stars[0]:
                _digits(parts[0], None)
                return EpcPattern(prefix=f"{DL_BASE}/414/{parts[0]}")
            return EpcPattern(prefix=f"{DL_BASE}/414/")
        if scheme == "grai" and len(parts) == 3:
            if not stars[1]:
                base = parts[0] + parts[1]
                _digits(base, 12)
                return EpcPattern(prefix=f"{DL_BASE}/8003/0{base}{check_digit(base)}")
            if not stars[0]:
                _digits(parts[0], None)
                return EpcPattern(prefix=f"{DL_BASE}/8003/0{parts[0]}")
            return EpcPattern(prefix=f"{DL_BASE}/8003/")
        if scheme == "giai" and len(parts) == 2:
            if not stars[0]:
                _digits(parts[0], None)
                return EpcPattern(prefix=f"{DL_BASE}/8004/{parts[0]}")
            return EpcPattern(prefix=f"{DL_BASE}/8004/")
    except ValueError:
        pass
    raise ValueError(f"pattern {value!r}: unsupported or malformed EPC pattern URI")


def dl_to_urn(url: str, company_prefix_length: int) -> str | None:
    """EPC URN of a Digital Link URI, given the GS1 Company Prefix length (6 to 12)."""
    key = dl_key(url)
    if key is None or not 6 <= company_prefix_length <= 12:
        return None
    segs = key[len(DL_BASE) + 1:].split("/")
    ai, value = segs[0], unquote(segs[1])
    quals = {segs[i]: unquote(segs[i + 1]) for i in range(2, len(segs) - 1, 2)}
    n = company_prefix_length
    if ai == "01":
        cp, ir = value[1:1 + n], value[0] + value[1 + n:13]
        if "21" in quals:
            return f"urn:epc:id:sgtin:{cp}.{ir}.{quote(quals['21'], safe='')}"
        if "10" in quals:
            return f"urn:epc:class:lgtin:{cp}.{ir}.{quote(quals['10'], safe='')}"
        return f"urn:epc:idpat:sgtin:{cp}.{ir}.*"
    if ai == "00" and len(value) == 18:
        return f"urn:epc:id:sscc:{value[1:1 + n]}.{value[0]}{value[1 + n:17]}"
    if ai in ("414", "417") and len(value) == 13:
        if ai == "417":
            return f"urn:epc:id:pgln:{value[:n]}.{value[n:12]}"
        ext = quals.get("254", "0")
        return f"urn:epc:id:sgln:{value[:n]}.{value[n:12]}.{quote(ext, safe='')}"
    if ai == "8003" and len(value) >= 14:
        return (f"urn:epc:id:grai:{value[1:1 + n]}.{value[1 + n:13]}."
                f"{quote(value[14:], safe='')}")
    if ai == "8004":
        return f"urn:epc:id:giai:{value[:n]}.{quote(value[n:], safe='')}"
    return None
