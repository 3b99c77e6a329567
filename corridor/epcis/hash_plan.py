"""The plan of the Event Hash ID fast path (hash_fast): one renderer per top-level field of an
EPCIS event and its place in the pre-hash string.

`PLAN` holds the fields of the canonical order (their pieces go in that order), `TAIL` the
lists and ILMD whose pieces are sorted after them, `IGNORED` the fields the hash leaves out.
The renderers raise `Fallback` (hash_pieces) for any shape the reference would render
otherwise. The C core (`_hashcore.c`) is written for this order: see hash_native.
"""

from __future__ import annotations

from collections.abc import Callable

from corridor.epcis.hash_pieces import (
    SKIP,
    Ctx,
    Fallback,
    element_pieces,
    extension_pieces,
    field_cache,
    is_time,
    nested_extensions,
    piece,
    piece_uncached,
    time_piece,
)
from corridor.epcis.hash_tree import key_name

EVENT_TYPES = frozenset({"ObjectEvent", "AggregationEvent", "TransactionEvent",
                         "TransformationEvent", "AssociationEvent"})


# ---- top-level fields ----

def _scalar(name: str) -> Callable[[object, Ctx], str]:
    if is_time(name):
        return lambda v, c: time_piece(name, v, c)
    cache = field_cache(name)
    return lambda v, c: piece(name, v, c, cache)


_SCALARS = ("eventTimeZoneOffset", "parentID", "action", "transformationID", "bizStep",
            "disposition")


def _scalars(name: str) -> Callable[[object, Ctx], str]:
    """A field that may hold one value or a list of values (certificationInfo)."""
    def render(v: object, c: Ctx) -> str:
        if v.__class__ is list:
            parts = sorted(p for p in (piece_uncached(name, x, c) for x in v) if p)
            return "".join(parts)
        return piece_uncached(name, v, c)
    return render


_EPC_CACHE = field_cache("epc")


def _epcs(name: str) -> Callable[[object, Ctx], str]:
    def render(v: object, c: Ctx) -> str:
        if v.__class__ is not list:
            raise Fallback
        parts = []
        swaps = c.swaps
        for x in v:
            p = _EPC_CACHE.get(x) if x.__class__ is str and x not in swaps else None
            if p is None:
                p = piece("epc", x, c, _EPC_CACHE)
            if p:
                parts.append(p)
        if not parts:
            return ""
        parts.sort()
        return name + "".join(parts)
    return render


def _fields(*names: str) -> dict[str, tuple[bool, dict]]:
    return {n: (is_time(n), field_cache(n)) for n in names}


_QTY_FIELDS = _fields("epcClass", "quantity", "uom")
_QTY_NAMES = frozenset(_QTY_FIELDS)
_QTY_ORDER = tuple((name, cache) for name, (_, cache) in _QTY_FIELDS.items())


def _quantities(name: str) -> Callable[[object, Ctx], str]:
    def render(v: object, c: Ctx) -> str:
        if v.__class__ is not list:
            raise Fallback
        parts = []
        for q in v:
            if not q:
                raise Fallback  # an empty element keeps an odd shape in the reference
            if q.__class__ is dict and q.keys() <= _QTY_NAMES:  # no extensions: direct
                body = ""
                for field, cache in _QTY_ORDER:
                    if field in q:
                        body += piece(field, q[field], c, cache)
            else:
                fields, ext = element_pieces(q, _QTY_FIELDS, c)
                body = "".join(fields) + ext
            if body:
                parts.append("quantityElement" + body)
        if not parts:
            return ""
        parts.sort()
        return name + "".join(parts)
    return render


def _persistent(v: object, c: Ctx) -> str:
    if v.__class__ is not dict:
        raise Fallback
    out = []
    for key in v:
        if key not in ("set", "unset"):
            raise Fallback
    for key in ("set", "unset"):
        words = v.get(key)
        if words is None:
            continue
        if words.__class__ is not list:
            raise Fallback
        out.extend(sorted(p for p in (piece_uncached(key, w, c) for w in words) if p))
    return "persistentDisposition" + "".join(out) if out else ""


_ID_FIELDS = _fields("id")


_ID_CACHE = field_cache("id")


def _location(name: str) -> Callable[[object, Ctx], str]:
    def render(v: object, c: Ctx) -> str:
        if v.__class__ is dict and len(v) == 1 and "id" in v:  # the usual shape
            body = piece("id", v["id"], c, _ID_CACHE)
            return name + body if body else ""
        fields, ext = element_pieces(v, _ID_FIELDS, c)
        body = "".join(fields) + ext
        return name + body if body else ""
    return render


_METADATA = _fields(
    "time", "startTime", "endTime", "deviceID", "deviceMetadata", "rawData",
    "dataProcessingMethod", "bizRules")
_REPORT = _fields(
    "type", "exception", "deviceID", "deviceMetadata", "rawData", "dataProcessingMethod",
    "time", "microorganism", "chemicalSubstance", "value", "component", "stringValue",
    "booleanValue", "hexBinaryValue", "uriValue", "minValue", "maxValue", "meanValue", "sDev",
    "percRank", "percValue", "uom", "coordinateReferenceSystem")


def _sensor_element(element: object, c: Ctx) -> str:
    if element.__class__ is not dict or not element:
        raise Fallback
    head = ""
    reports: list[str] = []
    extra: list[tuple[str, object]] = []
    kids = 0
    for key, v in element.items():
        if key == "sensorMetadata":
            kids += 1
            if not v:
                raise Fallback
            fields, ext = element_pieces(v, _METADATA, c)
            body = "".join(fields) + ext
            head = "sensorMetadata" + body if body else ""
        elif key == "sensorReport":
            items = v if v.__class__ is list else [v]
            kids += len(items)
            for report in items:
                if not report:
                    raise Fallback
                fields, ext = element_pieces(report, _REPORT, c)
                body = "".join(fields) + ext
                if body:
                    reports.append("sensorReport" + body)
        elif ":" in key:
            extra.append((key, v))
            kids += len(v) if v.__class__ is list else 1
        else:
            raise Fallback
    reports.sort()
    ext = nested_extensions(extra, kids, c) if extra else ""
    body = head + "".join(reports) + ext
    return "sensorElement" + body if body else ""


def _sensors(v: object, c: Ctx) -> str:
    if v.__class__ is not list:
        raise Fallback
    parts = [p for p in (_sensor_element(e, c) for e in v) if p]
    if not parts:
        return ""
    parts.sort()
    return "sensorElementList" + "".join(parts)


def _party_list(name: str, member: str) -> Callable[[object, Ctx], str]:
    """bizTransactionList / sourceList / destinationList: `type` then the value."""
    type_cache, member_cache = field_cache("type"), field_cache(member)

    def render(v: object, c: Ctx) -> str:
        if v.__class__ is not list:
            raise Fallback
        pairs = []
        for item in v:
            if item.__class__ is not dict or member not in item:
                raise Fallback
            size = len(item)
            # `type` before the value whatever the JSON key order: JSON members are
            # unordered, and the GS1 examples and vectors all write `type` first. (The
            # reference 1.9.3 keeps the written order, so a document with the value first
            # would hash differently once stored with sorted keys.)
            if size == 2 and "type" in item:
                keys: tuple[str, ...] = ("type", member)
            elif size == 1:
                keys = (member,)
            else:
                raise Fallback  # the reference keeps only the first two keys
            pair = ""
            for key in keys:
                text = piece(key, item[key], c, type_cache if key == "type" else member_cache)
                pair += text if text else key
            pairs.append(pair)
        if not pairs:
            return ""
        pairs.sort()
        return name + "".join(pairs)
    return render


def _ilmd(v: object, c: Ctx) -> str:
    if v.__class__ is not dict:
        raise Fallback
    pieces = []
    for key, value in v.items():  # the usual flat ILMD of namespaced scalars
        if value.__class__ is not str or ":" not in key or key in SKIP:
            return "".join(extension_pieces("ilmd", v, c))
        name = key_name(key, c.ns)
        if "{" not in name:
            return "".join(extension_pieces("ilmd", v, c))
        pieces.extend(extension_pieces(name, value, c))
    if len(pieces) > 1:
        pieces.sort()
    return "ilmd" + "".join(pieces)


_ORDER: tuple[tuple[str, Callable[[object, Ctx], str]], ...] = (
    ("eventTime", _scalar("eventTime")),
    ("eventTimeZoneOffset", _scalar("eventTimeZoneOffset")),
    ("certificationInfo", _scalars("certificationInfo")),
    ("parentID", _scalar("parentID")),
    ("epcList", _epcs("epcList")),
    ("inputEPCList", _epcs("inputEPCList")),
    ("childEPCs", _epcs("childEPCs")),
    ("quantityList", _quantities("quantityList")),
    ("childQuantityList", _quantities("childQuantityList")),
    ("inputQuantityList", _quantities("inputQuantityList")),
    ("outputEPCList", _epcs("outputEPCList")),
    ("outputQuantityList", _quantities("outputQuantityList")),
    ("action", _scalar("action")),
    ("transformationID", _scalar("transformationID")),
    ("bizStep", _scalar("bizStep")),
    ("disposition", _scalar("disposition")),
    ("persistentDisposition", _persistent),
    ("readPoint", _location("readPoint")),
    ("bizLocation", _location("bizLocation")),
    ("sensorElementList", _sensors),
)
# field -> (position in the canonical order, renderer, cache of its plain values: the plain
# scalars only, None for the others)
PLAN: dict[str, tuple[int, Callable[[object, Ctx], str], dict[str, str] | None]] = {
    name: (pos, render, field_cache(name) if name in _SCALARS else None)
    for pos, (name, render) in enumerate(_ORDER)
}
SLOTS = len(PLAN)
# field -> renderer, for the fields whose pieces are sorted after the planned ones
TAIL: dict[str, Callable[[object, Ctx], str]] = {
    "bizTransactionList": _party_list("bizTransactionList", "bizTransaction"),
    "sourceList": _party_list("sourceList", "source"),
    "destinationList": _party_list("destinationList", "destination"),
    "ilmd": _ilmd,
}
IGNORED = frozenset({"recordTime", "eventID", "type"})

