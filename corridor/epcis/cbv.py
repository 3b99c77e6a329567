"""CBV vocabulary: the standard words and every way of writing them.

EPCIS 2.0 JSON-LD writes standard values as bare words (`shipping`); EPCIS XML and 1.x use
URNs (`urn:epcglobal:cbv:bizstep:shipping`); web-vocabulary URIs
(`https://ref.gs1.org/cbv/BizStep-shipping`) and CURIEs (`cbv:BizStep-shipping`) appear too.
This module holds, once:

- the prefixes of each kind of vocabulary value (`PREFIXES`) and `normalise`, which reduces
  any spelling to the bare word (what the store keeps and queries match on);
- the words of each kind and the URIs the official EPCIS 2.0 JSON-LD context expands them to
  (`terms`, read from corridor/epcis/data), and the JSON-LD <-> XML conversions `to_word` and
  `to_uri`, which shorten or lengthen only those words (anything else is a user vocabulary
  value and passes unchanged);
- the CBV 1.x URN -> web URI table that the Event Hash ID applies (`URN_TO_WEB`).

Kinds: eventType, bizStep, disposition, bizTransactionType, sourceDestType, errorReason,
measurementType, sensorAlertType, component.

The C core of the Event Hash ID reads URN_TO_WEB from corridor/_epcis_tables.h, which setup.py
writes from this module (corridor.epcis.c_tables): so it imports nothing but the standard
library at import time.
"""

from __future__ import annotations

import json
from functools import cache
from importlib import resources

CBV_WEB = "https://ref.gs1.org/cbv/"
GS1_VOC = "https://gs1.org/voc/"
EPCIS_VOC = "https://ref.gs1.org/epcis/"
CBV_URN = "urn:epcglobal:cbv:"
CURIES = {"gs1": GS1_VOC, "cbv": CBV_WEB}  # the GS1 prefixes of values
# the web vocabularies, as the GS1 reference hash generator recognises their URIs
VOCAB_ROOTS = (CBV_WEB.rstrip("/"), GS1_VOC.rstrip("/"))

# The CBV 1.x kinds: URN part, term prefix in the web vocabulary, and in gs1.org/voc spelling
_CBV_KINDS = {
    "bizStep": ("bizstep", "BizStep-", "Bizstep-"),
    "disposition": ("disp", "Disp-", "Disp-"),
    "bizTransactionType": ("btt", "BTT-", "BTT-"),
    "sourceDestType": ("sdt", "SDT-", "SDT-"),
    "errorReason": ("er", "ER-", "ER-"),
}
_COMPONENT = CBV_WEB + "Comp-"

# CBV 1.x URN prefix -> web-vocabulary prefix
URN_TO_WEB = tuple((f"{CBV_URN}{urn}:", CBV_WEB + term) for urn, term, _ in _CBV_KINDS.values())

# kind -> every prefix a value of that kind may carry before its bare word
PREFIXES: dict[str, tuple[str, ...]] = {
    **{kind: (f"{CBV_URN}{urn}:", CBV_WEB + term, GS1_VOC + voc, "cbv:" + term)
       for kind, (urn, term, voc) in _CBV_KINDS.items()},
    "measurementType": ("gs1:", GS1_VOC, "https://ref.gs1.org/voc/"),
    "eventType": ("epcis:", EPCIS_VOC),
}

# kind -> the prefixes a standard word of that kind may carry, for each kind with a word list
WORD_PREFIXES: dict[str, tuple[str, ...]] = {
    **PREFIXES,
    "sensorAlertType": PREFIXES["measurementType"],
    "component": (CBV_WEB + "Comp-", "cbv:Comp-"),
}
# The CBV namespaces (CBV 1.x URNs, the CBV 2.0 web vocabulary, its CURIE and its older host):
# a value there, or after a CBV kind's own prefix (`https://gs1.org/voc/Bizstep-`), must spell
# a standard word of its kind; a value outside them is a user vocabulary URI. (The GS1 Web
# Vocabulary, `gs1:`, is not the CBV: measurement and alert types there pass as URIs.)
CBV_NAMESPACES = (CBV_URN, CBV_WEB, "cbv:", "http://ns.gs1.org/cbv/", "https://ns.gs1.org/cbv/")
CHECKED_PREFIXES: dict[str, tuple[str, ...]] = {
    kind: CBV_NAMESPACES + (PREFIXES[kind] if kind in _CBV_KINDS else ())
    for kind in WORD_PREFIXES}


def spelled_word(kind: str, value: str) -> str | None:
    """The standard word of `kind` that `value` spells, bare or after one of the kind's
    prefixes (exact case), or None."""
    known = words(kind)
    if value in known:
        return value
    for prefix in WORD_PREFIXES[kind]:
        if value.startswith(prefix) and value[len(prefix):] in known:
            return value[len(prefix):]
    return None


def near_word(kind: str, value: str) -> str | None:
    """The standard word `value` is a miscased or misspaced spelling of (`Arriving`,
    `in transit`), or None."""
    folded = value.rpartition(":")[2].rpartition("-")[2] if ":" in value else value
    return _folded(kind).get(folded.lower().replace(" ", "_").replace("-", "_"))


@cache
def _folded(kind: str) -> dict[str, str]:
    return {word.lower(): word for word in words(kind)}


# kind -> (XML form prefix, web-vocabulary prefix) of the standard words
_XML: dict[str, tuple[str, str]] = {
    **{kind: (f"{CBV_URN}{urn}:", CBV_WEB + term)
       for kind, (urn, term, _) in _CBV_KINDS.items()},
    "measurementType": (GS1_VOC, GS1_VOC),
    "sensorAlertType": (GS1_VOC, GS1_VOC),
    "component": (_COMPONENT, _COMPONENT),
}
# kind -> the prefixes to_word removes (from a standard word only)
_TO_WORD = {kind: (xml, web, "gs1:", "cbv:" + web[len(CBV_WEB):] if web.startswith(CBV_WEB)
                   else "gs1:") for kind, (xml, web) in _XML.items()}


def normalise(kind: str, value: str) -> str:
    """Bare-word form of a CBV value of the given kind; custom URIs are returned unchanged."""
    prefixes = PREFIXES[kind]
    if not value.startswith(prefixes):  # the usual case in EPCIS 2.0: already a bare word
        return value
    for prefix in prefixes:
        if value.startswith(prefix):
            return value[len(prefix):]
    return value


def expand_curie(value: str) -> str:
    """`cbv:BizStep-shipping` -> `https://ref.gs1.org/cbv/BizStep-shipping` (GS1 prefixes)."""
    prefix, _, rest = value.partition(":")
    return CURIES[prefix] + rest if prefix in CURIES else value


@cache
def _context() -> dict:
    text = resources.files("corridor.epcis").joinpath("data/epcis-context.jsonld").read_text(
        encoding="utf-8")
    return json.loads(text)["@context"]


def _context_terms(definition: dict) -> dict[str, str]:
    scoped = definition.get("@context", {})
    if isinstance(scoped, list):
        merged: dict = {}
        for part in scoped:
            merged.update(part)
        scoped = merged
    return {k: expand_curie(v) for k, v in scoped.items() if isinstance(v, str) and ":" in v
            and not k.startswith("@") and k not in CURIES and k != "epcis"}


@cache
def terms() -> dict[str, dict[str, str]]:
    """kind -> {standard word: its web-vocabulary URI}, as the official context defines them
    (every kind but eventType)."""
    ctx = _context()
    sensor = ctx["sensorElementList"]["@context"]["sensorReport"]["@context"]
    return {
        "bizStep": _context_terms(ctx["bizStep"]),
        "disposition": _context_terms(ctx["disposition"]),
        "bizTransactionType": _context_terms(ctx["bizTransactionList"]["@context"]["type"]),
        "sourceDestType": _context_terms(ctx["sourceList"]["@context"]["type"]),
        "errorReason": _context_terms(ctx["errorDeclaration"]["@context"]["reason"]),
        "measurementType": _context_terms(sensor["type"]),
        "sensorAlertType": _context_terms(sensor["exception"]),
        "component": _context_terms(sensor["component"]),
    }


@cache
def words(kind: str) -> frozenset[str]:
    """The standard words of a kind."""
    return frozenset(terms()[kind])


def to_word(kind: str, value: str) -> str:
    """XML form -> JSON-LD form: `urn:epcglobal:cbv:bizstep:shipping` -> `shipping`."""
    for prefix in _TO_WORD[kind]:
        if value.startswith(prefix):
            rest = value[len(prefix):]
            if rest in words(kind):
                return rest
    return value


def to_uri(kind: str, value: str) -> str:
    """JSON-LD form -> XML form: `shipping` -> `urn:epcglobal:cbv:bizstep:shipping`."""
    if value in words(kind):
        return _XML[kind][0] + value
    return value
