"""GS1 identifiers in one canonical form for the Event Hash ID (CBV 2.0, section 8.9).

EPC URIs (pure identity, class and id-pattern) and GS1 Digital Link URIs all become a constrained
canonical Digital Link URI on `https://id.gs1.org`: lowest identification level only, no CPV, no
query string. Anything that is not such an identifier gives None (the caller keeps the value).

The grammar and the field offsets follow the GS1 EPC Tag Data Standard and the GS1 reference
hash generator (which the Event Hash ID vectors were made with), including its edge cases: a
Digital Link URI whose canonical form fails the final syntax check stays as written. The
identifier tables (keys, short names, character sets, check digit) are
corridor.epcis.identifiers'; these are the reference's rules over them.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable

from corridor.epcis.identifiers import (
    AI_CPID,
    AI_CPSN,
    AI_CPV,
    AI_GCN,
    AI_GDTI,
    AI_GIAI,
    AI_GINC,
    AI_GLN,
    AI_GLN_EXTENSION,
    AI_GRAI,
    AI_GSIN,
    AI_GSRN,
    AI_GSRNP,
    AI_GTIN,
    AI_ITIP,
    AI_LOT,
    AI_PARTY,
    AI_SERIAL,
    AI_SSCC,
    AI_TPX,
    CPI_CHARS,
    CPI_ESCAPES,
    DL_BASE,
    DL_CANONICAL_CHARS,
    DL_PERCENT,
    EPC_CHARS,
    EPC_ESCAPES,
    EPC_URN,
    PRIMARY_KEYS,
    QUALIFIERS,
    SGLN,
    SGTIN,
    SSCC,
    char_class,
    char_pattern,
    indicator_key,
    prefix_key,
)

# one character of an EPC serial / attribute (TDS "GS1 AI encodable character set 82",
# escaped or plain)
_C = char_pattern(EPC_CHARS, EPC_ESCAPES)
# one character of a component/part reference (CPI)
_CPI = char_pattern(CPI_CHARS, CPI_ESCAPES)
# company prefix of 6..12 digits plus a reference so that both make `total` digits
_GTIN13 = r"(?:\d{6}\.\d{7}|\d{7}\.\d{6}|\d{8}\.\d{5}|\d{9}\.\d{4}|\d{10}\.\d{3}|\d{11}\.\d{2}|\d{12}\.\d)"
_KEY12 = r"(?:\d{6}\.\d{6}|\d{7}\.\d{5}|\d{8}\.\d{4}|\d{9}\.\d{3}|\d{10}\.\d{2}|\d{11}\.\d|\d{12}\.)"
_KEY12DD = r"(?:\d{6}\.\d{6}|\d{7}\.\d{5}|\d{8}\.\d{4}|\d{9}\.\d{3}|\d{10}\.\d{2}|\d{11}\.\d|\d{12}\.\.)"


def _serial_ref(total: int, extra: str = "") -> str:
    """Company prefix (6..12 digits) + `.` + 1..(total - prefix) characters."""
    alts = [rf"\d{{{n}}}\.{extra}{_C}{{1,{total - n}}}" for n in range(6, 13)]
    return "(?:" + "|".join(alts) + ")"


def _cpi_ref(total: int) -> str:
    return "(?:" + "|".join(rf"\d{{{n}}}\.{_CPI}{{1,{total - n}}}" for n in range(6, 13)) + ")"


def _digits_ref(total: int) -> str:
    return "(?:" + "|".join(rf"\d{{{n}}}\.\d{{{total - n}}}" for n in range(6, 13)) + ")"


_SAFE_DL = char_class(DL_CANONICAL_CHARS)
_PERCENT = str.maketrans(DL_PERCENT)


def _pct(text: str) -> str:
    """Percent-encode the characters GS1 Digital Link requires (EPC URIs may hold them raw)."""
    return text.translate(_PERCENT)


# Digital Link URI heads and qualifier segments
_DL = {ai: f"{DL_BASE}/{ai}/" for ai in PRIMARY_KEYS}
_GTIN_DL, _SSCC_DL, _GLN_DL = _DL[AI_GTIN], _DL[AI_SSCC], _DL[AI_GLN]
_GTIN, _SER, _LOT, _CPV = f"/{AI_GTIN}/", f"/{AI_SERIAL}/", f"/{AI_LOT}/", f"/{AI_CPV}/"
_EXT = f"/{AI_GLN_EXTENSION}/"


_gtins: dict[str, str] = {}


def _gtin(uri: str, start: int, dot: int) -> str:
    """GTIN-14 with check digit from `prefix.indicator+itemref` at uri[start:]."""
    key = uri[start:start + 14]  # many serials share one GTIN
    hit = _gtins.get(key)
    if hit is None:
        cp = uri[start:dot]
        item = uri[dot + 1:dot + 1 + 13 - len(cp)]
        if len(_gtins) > 100_000:
            _gtins.clear()
        hit = _gtins[key] = indicator_key(cp, item)
    return hit


_keys: dict[str, str] = {}


def _key12(uri: str, start: int, dot: int) -> str:
    """13-digit key (GLN, GDTI, GCN base) with check digit."""
    key = uri[start:start + 13]  # many extensions / serials share one key
    hit = _keys.get(key)
    if hit is None:
        cp = uri[start:dot]
        ref = uri[dot + 1:dot + 1 + 12 - len(cp)]
        if len(_keys) > 100_000:
            _keys.clear()
        hit = _keys[key] = prefix_key(cp, ref)
    return hit


_Rule = tuple["re.Pattern[str]", Callable[[str, int], str]]


def _convert_sgtin(u: str, d: int) -> str:
    return _GTIN_DL + _gtin(u, 17, d) + _SER + _pct(u[32:])


def _convert_sscc(u: str, d: int) -> str:
    return _SSCC_DL + indicator_key(u[16:d], u[d + 1:])


def _convert_sgln(u: str, d: int) -> str:
    ext = u[30:]
    base = _GLN_DL + _key12(u, 16, d)
    return base if ext == "0" else base + _EXT + _pct(ext)


def _convert_grai(u: str, d: int) -> str:
    cp = u[16:d]
    return _DL[AI_GRAI] + "0" + prefix_key(cp, u[d + 1:d + 1 + 12 - len(cp)]) + _pct(u[30:])


def _convert_giai(u: str, d: int) -> str:
    return _DL[AI_GIAI] + u[16:d] + _pct(u[d + 1:])


def _convert_gsrn(u: str, d: int) -> str:
    return _DL[AI_GSRN] + prefix_key(u[16:d], u[d + 1:])


def _convert_gsrnp(u: str, d: int) -> str:
    return _DL[AI_GSRNP] + prefix_key(u[17:d], u[d + 1:])


def _convert_gdti(u: str, d: int) -> str:
    return _DL[AI_GDTI] + _key12(u, 16, d) + _pct(u[30:])


def _convert_cpi(u: str, d: int) -> str:
    sep = u.rfind(".")
    return _DL[AI_CPID] + _pct(u[15:d] + u[d + 1:sep]) + f"/{AI_CPSN}/" + u[sep + 1:]


def _convert_sgcn(u: str, d: int) -> str:
    return _DL[AI_GCN] + _key12(u, 16, d) + u[30:]


def _convert_ginc(u: str, d: int) -> str:
    return _DL[AI_GINC] + u[16:d] + _pct(u[d + 1:])


def _convert_gsin(u: str, d: int) -> str:
    return _DL[AI_GSIN] + prefix_key(u[16:d], u[d + 1:])


def _convert_itip(u: str, d: int) -> str:
    return _DL[AI_ITIP] + _gtin(u, 16, d) + u[31:33] + u[34:36] + _SER + _pct(u[37:])


def _convert_upui(u: str, d: int) -> str:
    return _GTIN_DL + _gtin(u, 16, d) + f"/{AI_TPX}/" + _pct(u[31:])


def _convert_pgln(u: str, d: int) -> str:
    return _DL[AI_PARTY] + _key12(u, 16, d)


def _convert_lgtin(u: str, d: int) -> str:
    return _GTIN_DL + _gtin(u, 20, d) + _LOT + _pct(u[35:])


def _convert_pat_sgtin(u: str, d: int) -> str:
    return _GTIN_DL + _gtin(u, 20, d)


def _convert_pat_grai(u: str, d: int) -> str:
    cp = u[19:d]
    return _DL[AI_GRAI] + "0" + prefix_key(cp, u[d + 1:d + 1 + 12 - len(cp)])


def _convert_pat_gdti(u: str, d: int) -> str:
    return _DL[AI_GDTI] + _key12(u, 19, d)


def _convert_pat_sgcn(u: str, d: int) -> str:
    return _DL[AI_GCN] + _key12(u, 19, d)


def _convert_pat_cpi(u: str, d: int) -> str:
    return _DL[AI_CPID] + _pct(u[18:d] + u[d + 1:u.rfind(".")])


def _convert_pat_itip(u: str, d: int) -> str:
    return _DL[AI_ITIP] + _gtin(u, 19, d) + u[34:36] + u[37:39]


def _convert_pat_upui(u: str, d: int) -> str:
    return _GTIN_DL + _gtin(u, 19, d)


def _rule(pattern: str, convert: Callable[[str, int], str]) -> list[_Rule]:
    return [(re.compile(pattern), convert)]


# EPC URI scheme prefix -> [(full pattern, converter(uri, first_dot))]
_EPC_RULES: dict[str, list[_Rule]] = {
    "urn:epc:id:sgtin:": _rule(rf"urn:epc:id:sgtin:{_GTIN13}\.{_C}{{1,20}}\Z", _convert_sgtin),
    "urn:epc:id:sscc:": _rule(r"urn:epc:id:sscc:" + _digits_ref(17) + r"\Z", _convert_sscc),
    "urn:epc:id:sgln:": _rule(rf"urn:epc:id:sgln:{_KEY12}\.{_C}{{1,20}}\Z", _convert_sgln),
    "urn:epc:id:grai:": _rule(rf"urn:epc:id:grai:{_KEY12DD}\.{_C}{{1,16}}\Z", _convert_grai),
    "urn:epc:id:giai:": _rule(rf"urn:epc:id:giai:{_serial_ref(30)}\Z", _convert_giai),
    "urn:epc:id:gsrn:": _rule(r"urn:epc:id:gsrn:" + _digits_ref(17) + r"\Z", _convert_gsrn),
    "urn:epc:id:gsrnp:": _rule(r"urn:epc:id:gsrnp:" + _digits_ref(17) + r"\Z", _convert_gsrnp),
    "urn:epc:id:gdti:": _rule(rf"urn:epc:id:gdti:{_KEY12DD}{_C}{{1,20}}\Z", _convert_gdti),
    "urn:epc:id:cpi:": _rule(rf"urn:epc:id:cpi:{_cpi_ref(30)}\.\d{{1,12}}\Z", _convert_cpi),
    "urn:epc:id:sgcn:": _rule(rf"urn:epc:id:sgcn:{_KEY12}\.\d{{1,12}}\Z", _convert_sgcn),
    "urn:epc:id:ginc:": _rule(rf"urn:epc:id:ginc:{_serial_ref(30)}\Z", _convert_ginc),
    "urn:epc:id:gsin:": _rule(r"urn:epc:id:gsin:" + _digits_ref(16) + r"\Z", _convert_gsin),
    "urn:epc:id:itip:": _rule(rf"urn:epc:id:itip:{_GTIN13}\.\d{{2}}\.\d{{2}}\.{_C}{{1,20}}\Z",
                              _convert_itip),
    "urn:epc:id:upui:": _rule(rf"urn:epc:id:upui:{_GTIN13}\.{_C}{{1,28}}\Z", _convert_upui),
    "urn:epc:id:pgln:": _rule(rf"urn:epc:id:pgln:{_KEY12}\Z", _convert_pgln),
    "urn:epc:class:lgtin:": _rule(rf"urn:epc:class:lgtin:{_GTIN13}\.{_C}{{1,20}}\Z",
                                  _convert_lgtin),
    "urn:epc:idpat:sgtin:": _rule(rf"urn:epc:idpat:sgtin:{_GTIN13}\.\*\Z", _convert_pat_sgtin),
    "urn:epc:idpat:grai:": _rule(rf"urn:epc:idpat:grai:{_KEY12DD}\.\*\Z", _convert_pat_grai),
    "urn:epc:idpat:gdti:": _rule(rf"urn:epc:idpat:gdti:{_KEY12DD}\.\*\Z", _convert_pat_gdti),
    "urn:epc:idpat:sgcn:": _rule(rf"urn:epc:idpat:sgcn:{_KEY12DD}\.\*\Z", _convert_pat_sgcn),
    "urn:epc:idpat:cpi:": _rule(rf"urn:epc:idpat:cpi:{_cpi_ref(30)}\.\*\Z", _convert_pat_cpi),
    "urn:epc:idpat:itip:": _rule(rf"urn:epc:idpat:itip:{_GTIN13}\.\d{{2}}\.\d{{2}}\.\*\Z",
                                 _convert_pat_itip),
    "urn:epc:idpat:upui:": _rule(rf"urn:epc:idpat:upui:{_GTIN13}\.\*\Z", _convert_pat_upui),
}

# ---- GS1 Digital Link URIs ----

_KEYS = "|".join(f"{ai}|{name}" for ai, name in PRIMARY_KEYS.items())
_DL_SYNTAX = re.compile(
    r"https?:(//((([^/?#]*)@)?([^/?#:]*)(:([^/?#]*))?))?((([^?#]*)(/(" + _KEYS
    + r")/)(\d{4}[^/]+)(/[^/]+/[^/]+)?/?(\?([^?\n]*))?(#([^\n]*))?)|(/[A-Za-z_-]{10}$))")
_SHORT_NAMES = tuple((f"/{name}/", f"/{ai}/")
                     for ai, name in (PRIMARY_KEYS | QUALIFIERS).items())
# (the host's dots match any character in the reference's patterns, so they do here)
_CANONICAL_HOST = re.compile(
    f"{DL_BASE}/({'|'.join(PRIMARY_KEYS)})/"
    r"(\d{4}[^/]+)(/[^/]+/[^/]+)?/?(\?([^?\n]*))?(#([^\n]*))?|(/[A-Za-z_-]{10}$)")
# searched in this order (the AIs sorted as text, not by position) when the host is not
# id.gs1.org
_KEY_SEGMENTS = tuple(f"/{ai}/" for ai in sorted(PRIMARY_KEYS))
_GTIN14 = re.compile(_GTIN_DL + r"\d{14}")
_GTIN13_DL = re.compile(_GTIN_DL + r"\d{13}")
_GTIN12_DL = re.compile(_GTIN_DL + r"\d{12}")
_GTIN8_DL = re.compile(_GTIN_DL + r"\d{8}")
_S = _SAFE_DL
# the keys a consumer product variant may follow
_TRADE_ITEM = rf"{DL_BASE}/(?:{AI_ITIP}/\d{{18}}|{AI_GTIN}/\d{{14}})"
_CPV_LAST = re.compile(rf"{_TRADE_ITEM}{_CPV}{_S}{{0,20}}\Z")
_CPV_INNER = re.compile(rf"{_TRADE_ITEM}{_CPV}{char_class(DL_CANONICAL_CHARS + '/')}{{0,20}}\Z")
_LOT_AND_SERIAL = re.compile(rf"{_TRADE_ITEM}{_LOT}{_S}{{0,20}}{_SER}{_S}{{0,20}}\Z")
_CPI_DL = r"[\x23\x2D\x2F\x30-\x39\x41-\x5A]"
_VALID = re.compile("|".join(rf"(?:{DL_BASE}/{p})\Z" for p in (
    rf"{AI_SSCC}/\d{{18}}", rf"{AI_GTIN}/\d{{14}}{_SER}{_S}{{0,20}}",
    rf"{AI_GTIN}/\d{{14}}{_LOT}{_S}{{0,20}}", rf"{AI_GTIN}/\d{{14}}",
    rf"{AI_GTIN}/\d{{14}}/{AI_TPX}/{_S}{{0,28}}", rf"{AI_GDTI}/\d{{13}}{_S}{{0,17}}",
    rf"{AI_GCN}/\d{{13}}\d{{0,12}}", rf"{AI_GINC}/{_S}{{0,30}}", rf"{AI_GSIN}/\d{{17}}",
    rf"{AI_GLN}/\d{{13}}", rf"{AI_GLN}/\d{{13}}{_EXT}{_S}{{0,20}}", rf"{AI_PARTY}/\d{{13}}",
    rf"{AI_GRAI}/\d{{14}}{_S}{{0,16}}", rf"{AI_GIAI}/{_S}{{0,30}}",
    rf"{AI_ITIP}/\d{{18}}{_SER}{_S}{{0,20}}", rf"{AI_ITIP}/\d{{18}}{_LOT}{_S}{{0,20}}",
    rf"{AI_ITIP}/\d{{18}}", rf"{AI_CPID}/{_CPI_DL}{{0,30}}/{AI_CPSN}/\d{{0,12}}",
    rf"{AI_CPID}/{_CPI_DL}{{0,30}}", rf"{AI_GSRNP}/\d{{18}}", rf"{AI_GSRN}/\d{{18}}")))


# Already canonical: every step below leaves such a URI as it is (digits right after the key,
# no query, no CPV, not both lot and serial, no short names), so it is its own result.
_ALREADY_CANONICAL = re.compile(
    rf"{re.escape(DL_BASE)}/(?:{AI_GTIN}/\d{{14}}(?:{_SER}{_S}{{1,20}}|{_LOT}{_S}{{1,20}})?"
    rf"|{AI_SSCC}/\d{{18}}|{AI_GLN}/\d{{13}}(?:{_EXT}{_S}{{1,20}})?|{AI_PARTY}/\d{{13}})\Z")


def _canonical_dl(uri: str) -> str | None:
    if "?" not in uri and _ALREADY_CANONICAL.match(uri):
        return uri
    if _DL_SYNTAX.match(uri) is None:
        return None
    q = uri.find("?")
    if q >= 0:
        uri = uri[:q]
    for short, ai in _SHORT_NAMES:
        if short in uri:
            uri = uri.replace(short, ai)
    if _CANONICAL_HOST.match(uri) is None:
        for segment in _KEY_SEGMENTS:
            at = uri.find(segment)
            if at != -1:
                uri = DL_BASE + uri[at:]
                break
    if _GTIN14.match(uri) is None:  # pad every GTIN to 14 digits
        if _GTIN13_DL.match(uri):
            uri = uri.replace(_GTIN, _GTIN + "0")
        elif _GTIN12_DL.match(uri):
            uri = uri.replace(_GTIN, _GTIN + "00")
        elif _GTIN8_DL.match(uri):
            uri = uri.replace(_GTIN, _GTIN + "000000")
    if _CPV in uri:  # drop the consumer product variant
        at = uri.find(_CPV)
        rest = uri[at + 4:]
        if _CPV_LAST.match(uri):
            uri = uri[:at]
        elif _CPV_INNER.match(uri):
            uri = uri[:at] + rest[rest.find("/"):]
    if _LOT in uri and _LOT_AND_SERIAL.match(uri):  # a serial makes the lot redundant
        at = uri.find(_LOT)
        rest = uri[at + 4:]
        uri = uri[:at] + rest[rest.find("/"):]
    return uri if _VALID.match(uri) else None


_SERIAL20 = re.compile(_C + "{1,20}")
_NO_PCT = re.compile("[^" + "".join(map(re.escape, DL_PERCENT)) + r"]*\Z")
_sgtin_keys: dict[str, str | None] = {}


def _sgtin(value: str, dot: int) -> str | None:
    """urn:epc:id:sgtin: without the general rule: the `prefix.itemref` part is checked and
    converted once per GTIN, the serial on every call. Same result as the rule."""
    key = value[17:31]
    gtin = _sgtin_keys.get(key, "")
    if gtin == "":
        cp = value[17:dot]
        ok = 6 <= len(cp) <= 12 and cp.isdecimal() and key[len(cp) + 1:].isdecimal()
        gtin = _gtin(value, 17, dot) if ok else None
        if len(_sgtin_keys) > 100_000:
            _sgtin_keys.clear()
        _sgtin_keys[key] = gtin
    if gtin is None or value[31:32] != "." or not _SERIAL20.fullmatch(value, 32):
        return None
    serial = value[32:]
    if not _NO_PCT.match(serial):
        serial = _pct(serial)
    return _GTIN_DL + gtin + _SER + serial


_sgln_keys: dict[str, str | None] = {}


def _sgln(value: str, dot: int) -> str | None:
    """urn:epc:id:sgln: as the rule does, the `prefix.locationref` part checked once per GLN."""
    key = value[16:29]
    gln = _sgln_keys.get(key, "")
    if gln == "":
        cp = value[16:dot]
        ref = key[len(cp) + 1:]  # empty for a 12-digit company prefix
        ok = 6 <= len(cp) <= 12 and cp.isdecimal() and (ref.isdecimal() or ref == "")
        gln = _key12(value, 16, dot) if ok else None
        if len(_sgln_keys) > 100_000:
            _sgln_keys.clear()
        _sgln_keys[key] = gln
    if gln is None or value[29:30] != "." or not _SERIAL20.fullmatch(value, 30):
        return None
    ext = value[30:]
    if ext == "0":
        return _GLN_DL + gln
    return _GLN_DL + gln + _EXT + (
        ext if _NO_PCT.match(ext) else _pct(ext))


def _sscc(value: str, dot: int) -> str | None:
    """urn:epc:id:sscc: as the rule does: prefix (6..12 digits) `.` 17 digits in all."""
    cp = value[16:dot]
    rest = value[dot + 1:]
    if not (6 <= len(cp) <= 12 and len(cp) + len(rest) == 17 and cp.isdecimal()
            and rest.isdecimal()):
        return None
    return _SSCC_DL + indicator_key(cp, rest)


_USUAL = os.path.commonprefix([SGTIN, SSCC, SGLN])  # urn:epc:id:s


def normalise(value: str) -> str | None:
    """Canonical GS1 Digital Link URI for an EPC URI or Digital Link URI, else None.
    `value` is stripped (as every value of the pre-hash string is)."""
    dot = value.find(".")
    if dot < 0:
        return None
    if value.startswith(_USUAL) and value.isascii():  # the usual three, quicker
        if value.startswith(SGTIN):
            return _sgtin(value, dot)
        if value.startswith(SSCC):
            return _sscc(value, dot)
        if value.startswith(SGLN):
            return _sgln(value, dot)
    if value.startswith(EPC_URN):
        end = value.find(":", value.find(":", 8) + 1)
        for pattern, convert in _EPC_RULES.get(value[:end + 1], ()):
            if pattern.match(value):
                return convert(value, dot)
        return None
    if value.startswith("http"):
        return _canonical_dl(value)
    return None
