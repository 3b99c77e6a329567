"""GS1 identifiers in one canonical form for the Event Hash ID (CBV 2.0, section 8.9).

EPC URIs (pure identity, class and id-pattern) and GS1 Digital Link URIs all become a constrained
canonical Digital Link URI on `https://id.gs1.org`: lowest identification level only, no CPV, no
query string. Anything that is not such an identifier gives None (the caller keeps the value).

The grammar and the field offsets follow the GS1 EPC Tag Data Standard and the GS1 reference
hash generator (which the Event Hash ID vectors were made with), including its edge cases: a
Digital Link URI whose canonical form fails the final syntax check stays as written.
"""

from __future__ import annotations

import re
from collections.abc import Callable

# one character of an EPC serial / attribute (TDS "GS1 AI encodable character set 82",
# escaped or plain)
_C = (r"(?:[!')(*+,.0-9:;=A-Za-z_-]|%2[125-9A-Fa-f]|%3[0-9A-Fa-f]|%4[1-9A-Fa-f]|%5[0-9AaFf]"
      r"|%6[1-9A-Fa-f]|%7[0-9Aa])")
# one character of a component/part reference (CPI)
_CPI = r"(?:[0-9A-Z-]|%2[3dfDF]|%3[0-9]|%4[1-9A-Fa-f]|%5[0-9Aa])"
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


_SAFE_DL = r"[\x22\x27\x2D\x2E\x30-\x39\x3B-\x3F\x41-\x5A\x5F\x61-\x7A]"

_PERCENT = str.maketrans({"!": "%21", "(": "%28", ")": "%29", "*": "%2A", "+": "%2B",
                          ",": "%2C", ":": "%3A"})


def _pct(text: str) -> str:
    """Percent-encode the characters GS1 Digital Link requires (EPC URIs may hold them raw)."""
    return text.translate(_PERCENT)


def check_digit(digits: str) -> int:
    """GS1 mod-10 check digit of a key given without it (weights 3, 1, 3, ... from the right)."""
    if not digits.isascii():  # other Unicode decimal digits, which the EPC patterns allow
        digits = "".join(str(int(d)) for d in digits)
    raw = digits.encode()  # ASCII digits: byte value - 48 is the digit
    odd = raw[-1::-2]
    even = raw[-2::-2]
    total = 3 * (sum(odd) - 48 * len(odd)) + sum(even) - 48 * len(even)
    return (10 - total % 10) % 10


_gtins: dict[str, str] = {}


def _gtin(uri: str, start: int, dot: int) -> str:
    """GTIN-14 with check digit from `prefix.indicator+itemref` at uri[start:]."""
    key = uri[start:start + 14]  # many serials share one GTIN
    hit = _gtins.get(key)
    if hit is None:
        cp = uri[start:dot]
        item = uri[dot + 1:dot + 1 + 13 - len(cp)]
        raw = item[:1] + cp + item[1:]
        if len(_gtins) > 100_000:
            _gtins.clear()
        hit = _gtins[key] = raw + str(check_digit(raw))
    return hit


_keys: dict[str, str] = {}


def _key12(uri: str, start: int, dot: int) -> str:
    """13-digit key (GLN, GDTI, GCN base) with check digit."""
    key = uri[start:start + 13]  # many extensions / serials share one key
    hit = _keys.get(key)
    if hit is None:
        cp = uri[start:dot]
        raw = cp + uri[dot + 1:dot + 1 + 12 - len(cp)]
        if len(_keys) > 100_000:
            _keys.clear()
        hit = _keys[key] = raw + str(check_digit(raw))
    return hit


_Rule = tuple["re.Pattern[str]", Callable[[str, int], str]]


def _rules() -> dict[str, list[_Rule]]:
    """EPC URI scheme prefix -> (full pattern, converter(uri, first_dot)) rules."""
    def c(pattern: str) -> re.Pattern[str]:
        return re.compile(pattern)

    def sgtin(u: str, d: int) -> str:
        return "https://id.gs1.org/01/" + _gtin(u, 17, d) + "/21/" + _pct(u[32:])

    def sscc(u: str, d: int) -> str:
        raw = u[d + 1:d + 2] + u[16:d] + u[d + 2:]
        return "https://id.gs1.org/00/" + raw + str(check_digit(raw))

    def sgln(u: str, d: int) -> str:
        ext = u[30:]
        base = "https://id.gs1.org/414/" + _key12(u, 16, d)
        return base if ext == "0" else base + "/254/" + _pct(ext)

    def grai(u: str, d: int) -> str:
        cp = u[16:d]
        raw = "0" + cp + u[d + 1:d + 1 + 12 - len(cp)]
        return "https://id.gs1.org/8003/" + raw + str(check_digit(raw)) + _pct(u[30:])

    def giai(u: str, d: int) -> str:
        return "https://id.gs1.org/8004/" + u[16:d] + _pct(u[d + 1:])

    def gsrn(u: str, d: int) -> str:
        raw = u[16:d] + u[d + 1:]
        return "https://id.gs1.org/8018/" + raw + str(check_digit(raw))

    def gsrnp(u: str, d: int) -> str:
        raw = u[17:d] + u[d + 1:]
        return "https://id.gs1.org/8017/" + raw + str(check_digit(raw))

    def gdti(u: str, d: int) -> str:
        return "https://id.gs1.org/253/" + _key12(u, 16, d) + _pct(u[30:])

    def cpi(u: str, d: int) -> str:
        sep = u.rfind(".")
        return "https://id.gs1.org/8010/" + _pct(u[15:d] + u[d + 1:sep]) + "/8011/" + u[sep + 1:]

    def sgcn(u: str, d: int) -> str:
        return "https://id.gs1.org/255/" + _key12(u, 16, d) + u[30:]

    def ginc(u: str, d: int) -> str:
        return "https://id.gs1.org/401/" + u[16:d] + _pct(u[d + 1:])

    def gsin(u: str, d: int) -> str:
        raw = u[16:d] + u[d + 1:]
        return "https://id.gs1.org/402/" + raw + str(check_digit(raw))

    def itip(u: str, d: int) -> str:
        return ("https://id.gs1.org/8006/" + _gtin(u, 16, d) + u[31:33] + u[34:36] + "/21/"
                + _pct(u[37:]))

    def upui(u: str, d: int) -> str:
        return "https://id.gs1.org/01/" + _gtin(u, 16, d) + "/235/" + _pct(u[31:])

    def pgln(u: str, d: int) -> str:
        return "https://id.gs1.org/417/" + _key12(u, 16, d)

    def lgtin(u: str, d: int) -> str:
        return "https://id.gs1.org/01/" + _gtin(u, 20, d) + "/10/" + _pct(u[35:])

    def pat_sgtin(u: str, d: int) -> str:
        return "https://id.gs1.org/01/" + _gtin(u, 20, d)

    def pat_grai(u: str, d: int) -> str:
        cp = u[19:d]
        raw = "0" + cp + u[d + 1:d + 1 + 12 - len(cp)]
        return "https://id.gs1.org/8003/" + raw + str(check_digit(raw))

    def pat_gdti(u: str, d: int) -> str:
        return "https://id.gs1.org/253/" + _key12(u, 19, d)

    def pat_sgcn(u: str, d: int) -> str:
        return "https://id.gs1.org/255/" + _key12(u, 19, d)

    def pat_cpi(u: str, d: int) -> str:
        return "https://id.gs1.org/8010/" + _pct(u[18:d] + u[d + 1:u.rfind(".")])

    def pat_itip(u: str, d: int) -> str:
        return "https://id.gs1.org/8006/" + _gtin(u, 19, d) + u[34:36] + u[37:39]

    def pat_upui(u: str, d: int) -> str:
        return "https://id.gs1.org/01/" + _gtin(u, 19, d)

    giai_ref = _serial_ref(30)
    ginc_ref = _serial_ref(30)
    return {
        "urn:epc:id:sgtin:": [(c(rf"urn:epc:id:sgtin:{_GTIN13}\.{_C}{{1,20}}\Z"), sgtin)],
        "urn:epc:id:sscc:": [(c(r"urn:epc:id:sscc:" + _digits_ref(17) + r"\Z"), sscc)],
        "urn:epc:id:sgln:": [(c(rf"urn:epc:id:sgln:{_KEY12}\.{_C}{{1,20}}\Z"), sgln)],
        "urn:epc:id:grai:": [(c(rf"urn:epc:id:grai:{_KEY12DD}\.{_C}{{1,16}}\Z"), grai)],
        "urn:epc:id:giai:": [(c(rf"urn:epc:id:giai:{giai_ref}\Z"), giai)],
        "urn:epc:id:gsrn:": [(c(r"urn:epc:id:gsrn:" + _digits_ref(17) + r"\Z"), gsrn)],
        "urn:epc:id:gsrnp:": [(c(r"urn:epc:id:gsrnp:" + _digits_ref(17) + r"\Z"), gsrnp)],
        "urn:epc:id:gdti:": [(c(rf"urn:epc:id:gdti:{_KEY12DD}{_C}{{1,20}}\Z"), gdti)],
        "urn:epc:id:cpi:": [(c(rf"urn:epc:id:cpi:{_cpi_ref(30)}\.\d{{1,12}}\Z"), cpi)],
        "urn:epc:id:sgcn:": [(c(rf"urn:epc:id:sgcn:{_KEY12}\.\d{{1,12}}\Z"), sgcn)],
        "urn:epc:id:ginc:": [(c(rf"urn:epc:id:ginc:{ginc_ref}\Z"), ginc)],
        "urn:epc:id:gsin:": [(c(r"urn:epc:id:gsin:" + _digits_ref(16) + r"\Z"), gsin)],
        "urn:epc:id:itip:": [(c(rf"urn:epc:id:itip:{_GTIN13}\.\d{{2}}\.\d{{2}}\.{_C}{{1,20}}\Z"),
                              itip)],
        "urn:epc:id:upui:": [(c(rf"urn:epc:id:upui:{_GTIN13}\.{_C}{{1,28}}\Z"), upui)],
        "urn:epc:id:pgln:": [(c(rf"urn:epc:id:pgln:{_KEY12}\Z"), pgln)],
        "urn:epc:class:lgtin:": [(c(rf"urn:epc:class:lgtin:{_GTIN13}\.{_C}{{1,20}}\Z"), lgtin)],
        "urn:epc:idpat:sgtin:": [(c(rf"urn:epc:idpat:sgtin:{_GTIN13}\.\*\Z"), pat_sgtin)],
        "urn:epc:idpat:grai:": [(c(rf"urn:epc:idpat:grai:{_KEY12DD}\.\*\Z"), pat_grai)],
        "urn:epc:idpat:gdti:": [(c(rf"urn:epc:idpat:gdti:{_KEY12DD}\.\*\Z"), pat_gdti)],
        "urn:epc:idpat:sgcn:": [(c(rf"urn:epc:idpat:sgcn:{_KEY12DD}\.\*\Z"), pat_sgcn)],
        "urn:epc:idpat:cpi:": [(c(rf"urn:epc:idpat:cpi:{_cpi_ref(30)}\.\*\Z"), pat_cpi)],
        "urn:epc:idpat:itip:": [(c(rf"urn:epc:idpat:itip:{_GTIN13}\.\d{{2}}\.\d{{2}}\.\*\Z"),
                                 pat_itip)],
        "urn:epc:idpat:upui:": [(c(rf"urn:epc:idpat:upui:{_GTIN13}\.\*\Z"), pat_upui)],
    }


_EPC_RULES = _rules()

# ---- GS1 Digital Link URIs ----

_KEYS = "01|gtin|8006|itip|8010|cpid|414|gln|417|party|8017|gsrnp|8018|gsrn|255|gcn|00|sscc|253|gdti|401|ginc|402|gsin|8003|grai|8004|giai"
_DL_SYNTAX = re.compile(
    r"https?:(//((([^/?#]*)@)?([^/?#:]*)(:([^/?#]*))?))?((([^?#]*)(/(" + _KEYS
    + r")/)(\d{4}[^/]+)(/[^/]+/[^/]+)?/?(\?([^?\n]*))?(#([^\n]*))?)|(/[A-Za-z_-]{10}$))")
_SHORT_NAMES = (("/gtin/", "/01/"), ("/itip/", "/8006/"), ("/cpid/", "/8010/"), ("/gln/", "/414/"),
                ("/party/", "/417/"), ("/gsrnp/", "/8017/"), ("/gsrn/", "/8018/"),
                ("/gcn/", "/255/"), ("/sscc/", "/00/"), ("/gdti/", "/253/"), ("/ginc/", "/401/"),
                ("/gsin/", "/402/"), ("/grai/", "/8003/"), ("/giai/", "/8004/"), ("/cpv/", "/22/"),
                ("/lot/", "/10/"), ("/ser/", "/21/"))
_CANONICAL_HOST = re.compile(
    r"https://id.gs1.org/(01|8006|8010|414|417|8017|8018|255|00|253|401|402|8003|8004)/"
    r"(\d{4}[^/]+)(/[^/]+/[^/]+)?/?(\?([^?\n]*))?(#([^\n]*))?|(/[A-Za-z_-]{10}$)")
# searched in this order (not by position) when the host is not id.gs1.org
_KEY_SEGMENTS = ("/00/", "/01/", "/253/", "/255/", "/401/", "/402/", "/414/", "/417/", "/8003/",
                 "/8004/", "/8006/", "/8010/", "/8017/", "/8018/")
_GTIN14 = re.compile(r"https://id.gs1.org/01/\d{14}")
_GTIN13_DL = re.compile(r"https://id.gs1.org/01/\d{13}")
_GTIN12_DL = re.compile(r"https://id.gs1.org/01/\d{12}")
_GTIN8_DL = re.compile(r"https://id.gs1.org/01/\d{8}")
_CPV_LAST = re.compile(rf"https://id.gs1.org/(?:8006/\d{{18}}|01/\d{{14}})/22/{_SAFE_DL}{{0,20}}\Z")
_CPV_INNER = re.compile(
    r"https://id.gs1.org/(?:8006/\d{18}|01/\d{14})/22/[\x2F\x22\x27\x2D\x2E\x30-\x39\x3B-\x3F"
    r"\x41-\x5A\x5F\x61-\x7A]{0,20}\Z")
_LOT_AND_SERIAL = re.compile(
    rf"https://id.gs1.org/(?:8006/\d{{18}}|01/\d{{14}})/10/{_SAFE_DL}{{0,20}}/21/{_SAFE_DL}{{0,20}}\Z")
_S = _SAFE_DL
_VALID = re.compile("|".join(rf"(?:https://id.gs1.org/{p})\Z" for p in (
    r"00/\d{18}", rf"01/\d{{14}}/21/{_S}{{0,20}}", rf"01/\d{{14}}/10/{_S}{{0,20}}", r"01/\d{14}",
    rf"01/\d{{14}}/235/{_S}{{0,28}}", rf"253/\d{{13}}{_S}{{0,17}}", r"255/\d{13}\d{0,12}",
    rf"401/{_S}{{0,30}}", r"402/\d{17}", r"414/\d{13}", rf"414/\d{{13}}/254/{_S}{{0,20}}",
    r"417/\d{13}", rf"8003/\d{{14}}{_S}{{0,16}}", rf"8004/{_S}{{0,30}}",
    rf"8006/\d{{18}}/21/{_S}{{0,20}}", rf"8006/\d{{18}}/10/{_S}{{0,20}}", r"8006/\d{18}",
    r"8010/[\x23\x2D\x2F\x30-\x39\x41-\x5A]{0,30}/8011/\d{0,12}",
    r"8010/[\x23\x2D\x2F\x30-\x39\x41-\x5A]{0,30}", r"8017/\d{18}", r"8018/\d{18}")))


# Already canonical: every step below leaves such a URI as it is (digits right after the key,
# no query, no CPV, not both lot and serial, no short names), so it is its own result.
_ALREADY_CANONICAL = re.compile(
    rf"https://id\.gs1\.org/(?:01/\d{{14}}(?:/21/{_S}{{1,20}}|/10/{_S}{{1,20}})?|00/\d{{18}}"
    rf"|414/\d{{13}}(?:/254/{_S}{{1,20}})?|417/\d{{13}})\Z")


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
                uri = "https://id.gs1.org" + uri[at:]
                break
    if _GTIN14.match(uri) is None:  # pad every GTIN to 14 digits
        if _GTIN13_DL.match(uri):
            uri = uri.replace("/01/", "/01/0")
        elif _GTIN12_DL.match(uri):
            uri = uri.replace("/01/", "/01/00")
        elif _GTIN8_DL.match(uri):
            uri = uri.replace("/01/", "/01/000000")
    if "/22/" in uri:  # drop the consumer product variant
        at = uri.find("/22/")
        rest = uri[at + 4:]
        if _CPV_LAST.match(uri):
            uri = uri[:at]
        elif _CPV_INNER.match(uri):
            uri = uri[:at] + rest[rest.find("/"):]
    if "/10/" in uri and _LOT_AND_SERIAL.match(uri):  # a serial makes the lot redundant
        at = uri.find("/10/")
        rest = uri[at + 4:]
        uri = uri[:at] + rest[rest.find("/"):]
    return uri if _VALID.match(uri) else None


_SERIAL20 = re.compile(_C + "{1,20}")
_NO_PCT = re.compile(r"[^!()*+,:]*\Z")
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
    return "https://id.gs1.org/01/" + gtin + "/21/" + serial


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
        return "https://id.gs1.org/414/" + gln
    return "https://id.gs1.org/414/" + gln + "/254/" + (
        ext if _NO_PCT.match(ext) else _pct(ext))


def _sscc(value: str, dot: int) -> str | None:
    """urn:epc:id:sscc: as the rule does: prefix (6..12 digits) `.` 17 digits in all."""
    cp = value[16:dot]
    rest = value[dot + 1:]
    if not (6 <= len(cp) <= 12 and len(cp) + len(rest) == 17 and cp.isdecimal()
            and rest.isdecimal()):
        return None
    raw = rest[:1] + cp + rest[1:]
    return "https://id.gs1.org/00/" + raw + str(check_digit(raw))


def normalise(value: str) -> str | None:
    """Canonical GS1 Digital Link URI for an EPC URI or Digital Link URI, else None.
    `value` is stripped (as every value of the pre-hash string is)."""
    dot = value.find(".")
    if dot < 0:
        return None
    if value.startswith("urn:epc:id:s") and value.isascii():  # the usual three, quicker
        if value.startswith("urn:epc:id:sgtin:"):
            return _sgtin(value, dot)
        if value.startswith("urn:epc:id:sscc:"):
            return _sscc(value, dot)
        if value.startswith("urn:epc:id:sgln:"):
            return _sgln(value, dot)
    if value.startswith("urn:epc:"):
        end = value.find(":", value.find(":", 8) + 1)
        for pattern, convert in _EPC_RULES.get(value[:end + 1], ()):
            if pattern.match(value):
                return convert(value, dot)
        return None
    if value.startswith("http"):
        return _canonical_dl(value)
    return None
