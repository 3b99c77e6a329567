"""Fast pre-hash strings for events of the usual shapes.

Produces exactly what `hash_tree` (the step-by-step model of the GS1 reference generator)
produces, but walks the JSON-LD event once with a precompiled plan per field instead of
building and re-sorting a tree. Whenever an event holds something outside the plan (an unknown
field, an extension the reference would place differently, a value of an unexpected type, a
web-vocabulary URI outside a vocabulary field, an error declaration, ...) `prehash` returns None
and the caller uses `hash_tree`, so correctness never depends on this module's coverage.

The hot loop also exists in C (`_hashcore.c`, built by setup.py when a compiler is there): it
handles the usual shapes itself and hands every other value or field to the renderers below
(sharing their caches), or returns None for this module to decide. `NATIVE` tells whether it is
built; `CORRIDOR_PURE_PYTHON=1` (or `set_native(False)`) leaves it unused.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping

from corridor.epcis import hash_values, hash_vocab
from corridor.epcis.cbv import CBV_URN, VOCAB_ROOTS, expand_curie, terms
from corridor.epcis.hash_dl import normalise
from corridor.epcis.hash_tree import (
    _Builder,
    correct,
    generic,
    key_name,
    value_prefixes,
)
from corridor.epcis.hash_values import _NOT_NUMERIC, canon, canon_time, canon_uncached
from corridor.epcis.hash_values import _time_uncached as time_uncached
from corridor.epcis.hash_vocab import replacements

EVENT_TYPES = frozenset({"ObjectEvent", "AggregationEvent", "TransactionEvent",
                         "TransformationEvent", "AssociationEvent"})


class Fallback(Exception):
    """The event needs the full model (hash_tree)."""


class _Setup:
    """Per-namespaces values, kept while the same mapping object is passed in."""
    ns: object = None
    size = -1
    vexp: dict[str, str] = {}  # noqa: RUF012 (replaced, never mutated)
    vpfx: tuple[str, ...] = ()
    special: tuple[str, ...] = VOCAB_ROOTS


class _Ctx:
    __slots__ = ("builder", "ns", "special", "swaps", "uris", "vexp", "vpfx")

    def __init__(self, ns: Mapping[str, str], swaps: dict[str, str], uris: frozenset[str],
                 setup: type[_Setup]) -> None:
        self.ns = ns
        self.swaps = swaps
        self.uris = uris
        self.vexp = setup.vexp
        self.vpfx = setup.vpfx
        self.builder: _Builder | None = None
        # values that may render differently from event to event are never cached
        self.special = setup.special

    def tree(self) -> _Builder:
        if self.builder is None:
            self.builder = _Builder(self.ns, self.swaps)
        return self.builder


def _text(v: object, c: _Ctx) -> str:
    """A scalar as the reference's tree holds it (stripped)."""
    if v.__class__ is str:
        if not v.startswith(c.special) and v not in c.swaps:
            return v.strip()
        if v.startswith(VOCAB_ROOTS) and v not in c.uris:
            raise Fallback  # would change the vocabulary replacements
        if c.swaps:
            v = c.swaps.get(v, v)
        if v.startswith(c.vpfx):
            prefix, _, rest = v.partition(":")
            v = c.vexp[prefix] + rest
        return v.strip()
    if v is True:
        return "true"
    if v is False:
        return "false"
    if v.__class__ is int or v.__class__ is float:
        return str(v)
    raise Fallback


def _field(name: str, v: object, c: _Ctx) -> str:
    t = _text(v, c)
    return name + "=" + canon(t) if t else ""


_CACHE_LIMIT = 100_000
_pieces: dict[str, dict[str, str]] = {}  # valid for the value prefixes in _Setup.vexp


def _cache(name: str) -> dict[str, str]:
    """raw value -> `name=canonical` for values that render the same in every event."""
    return _pieces.setdefault(name, {})


def _piece(name: str, v: object, c: _Ctx, cache: dict[str, str]) -> str:
    """_field through the per-field cache of plain values."""
    if v.__class__ is str and v in c.swaps:  # a bare CBV word: its URI (in c.uris)
        t = c.swaps[v].strip()
        return name + "=" + canon(t) if t else ""
    if v.__class__ is str:
        hit = cache.get(v)
        if hit is None:
            if v.startswith(c.special):
                return _field(name, v, c)
            t = v.strip()
            if t:
                if CBV_URN in t or t[0] not in _NOT_NUMERIC:
                    hit = name + "=" + canon_uncached(t)
                else:
                    hit = name + "=" + (normalise(t) or t)
            else:
                hit = ""
            if len(cache) >= _CACHE_LIMIT:
                cache.clear()
            cache[v] = hit
        return hit
    return _field(name, v, c)


def _time_field(name: str, v: object, c: _Ctx) -> str:
    t = _text(v, c)
    return name + "=" + canon_time(t) if t else ""


def _is_time(name: str) -> bool:
    low = name.lower()
    return "time" in low and "offset" not in low


# ---- user extensions inside an element ----

def _extension_piece(name: str, value: object, c: _Ctx) -> list[str]:
    """Generic rendering of one extension field (one piece per value of a list)."""
    if value.__class__ in (str, int, float, bool):
        t = _text(value, c)
        return [name + "=" + canon(t) if t else name]
    if isinstance(value, (dict, list)):
        if _has_vocab_uri(value, c):
            raise Fallback
        nodes = c.tree().node({"x": value})[2]
        return [generic([correct((name, n[1], n[2]))]) for n in nodes]
    raise Fallback


def _has_vocab_uri(obj: object, c: _Ctx) -> bool:
    if isinstance(obj, str):
        return obj.startswith(VOCAB_ROOTS) and obj not in c.uris
    if isinstance(obj, dict):
        return any(_has_vocab_uri(v, c) for v in obj.values())
    if isinstance(obj, list):
        return any(_has_vocab_uri(v, c) for v in obj)
    return False


def _nested_extensions(extra: list[tuple[str, object]], kid_count: int, c: _Ctx) -> str:
    """Extensions of a nested element: appended after its fields, sorted."""
    pieces: list[str] = []
    for key, value in extra:
        name = key_name(key, c.ns)
        # the reference only moves `{iri/}name` keys, and not from levels that look like events
        if "{" not in name or "/}" not in name or "eventTime" in name or "action" in name:
            raise Fallback
        pieces.extend(_extension_piece(name, value, c))
    if kid_count <= 1:
        raise Fallback  # a lone extension stays in place in the reference
    if len(pieces) > 1:
        pieces.sort()
    return "".join(pieces)


_SKIP = frozenset({"rdfs:comment", "comment"})  # "#text" is not skipped: it is a text


def _object(value: object, fields: dict[str, tuple[bool, dict]], c: _Ctx) -> tuple[list[str], str]:
    """An element with scalar fields in `fields` order (name -> (is a timestamp, cache)) and
    extensions: (per-field strings in order, extension string)."""
    if value.__class__ is not dict:
        raise Fallback
    found: dict[str, object] = {}
    extra: list[tuple[str, object]] = []
    for key, v in value.items():
        if key in fields:
            found[key] = v
        elif key in _SKIP:
            if _has_vocab_uri(v, c):
                raise Fallback
        elif ":" in key:
            extra.append((key, v))
        else:
            raise Fallback
    out = []
    for name, (is_time, cache) in fields.items():
        if name in found:
            v = found[name]
            text = _time_field(name, v, c) if is_time else _piece(name, v, c, cache)
            if text:
                out.append(text)
    kids = len(found) + sum(len(v) if v.__class__ is list else 1 for _, v in extra)
    return out, _nested_extensions(extra, kids, c) if extra else ""


# ---- top-level fields ----

def _scalar(name: str) -> Callable[[object, _Ctx], str]:
    if _is_time(name):
        return lambda v, c: _time_field(name, v, c)
    cache = _cache(name)
    return lambda v, c: _piece(name, v, c, cache)


_SCALARS = ("eventTimeZoneOffset", "parentID", "action", "transformationID", "bizStep",
            "disposition")


def _scalars(name: str) -> Callable[[object, _Ctx], str]:
    """A field that may hold one value or a list of values (certificationInfo)."""
    def render(v: object, c: _Ctx) -> str:
        if v.__class__ is list:
            parts = sorted(p for p in (_field(name, x, c) for x in v) if p)
            return "".join(parts)
        return _field(name, v, c)
    return render


_EPC_CACHE = _cache("epc")


def _epcs(name: str) -> Callable[[object, _Ctx], str]:
    def render(v: object, c: _Ctx) -> str:
        if v.__class__ is not list:
            raise Fallback
        parts = []
        swaps = c.swaps
        for x in v:
            p = _EPC_CACHE.get(x) if x.__class__ is str and x not in swaps else None
            if p is None:
                p = _piece("epc", x, c, _EPC_CACHE)
            if p:
                parts.append(p)
        if not parts:
            return ""
        parts.sort()
        return name + "".join(parts)
    return render


def _fields(*names: str) -> dict[str, tuple[bool, dict]]:
    return {n: (_is_time(n), _cache(n)) for n in names}


_QTY_FIELDS = _fields("epcClass", "quantity", "uom")
_QTY_NAMES = frozenset(_QTY_FIELDS)
_QTY_ORDER = tuple((name, cache) for name, (_, cache) in _QTY_FIELDS.items())


def _quantities(name: str) -> Callable[[object, _Ctx], str]:
    def render(v: object, c: _Ctx) -> str:
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
                        body += _piece(field, q[field], c, cache)
            else:
                fields, ext = _object(q, _QTY_FIELDS, c)
                body = "".join(fields) + ext
            if body:
                parts.append("quantityElement" + body)
        if not parts:
            return ""
        parts.sort()
        return name + "".join(parts)
    return render


def _persistent(v: object, c: _Ctx) -> str:
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
        out.extend(sorted(p for p in (_field(key, w, c) for w in words) if p))
    return "persistentDisposition" + "".join(out) if out else ""


_ID_FIELDS = _fields("id")


_ID_CACHE = _cache("id")


def _location(name: str) -> Callable[[object, _Ctx], str]:
    def render(v: object, c: _Ctx) -> str:
        if v.__class__ is dict and len(v) == 1 and "id" in v:  # the usual shape
            body = _piece("id", v["id"], c, _ID_CACHE)
            return name + body if body else ""
        fields, ext = _object(v, _ID_FIELDS, c)
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


def _sensor_element(element: object, c: _Ctx) -> str:
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
            fields, ext = _object(v, _METADATA, c)
            body = "".join(fields) + ext
            head = "sensorMetadata" + body if body else ""
        elif key == "sensorReport":
            items = v if v.__class__ is list else [v]
            kids += len(items)
            for report in items:
                if not report:
                    raise Fallback
                fields, ext = _object(report, _REPORT, c)
                body = "".join(fields) + ext
                if body:
                    reports.append("sensorReport" + body)
        elif ":" in key:
            extra.append((key, v))
            kids += len(v) if v.__class__ is list else 1
        else:
            raise Fallback
    reports.sort()
    ext = _nested_extensions(extra, kids, c) if extra else ""
    body = head + "".join(reports) + ext
    return "sensorElement" + body if body else ""


def _sensors(v: object, c: _Ctx) -> str:
    if v.__class__ is not list:
        raise Fallback
    parts = [p for p in (_sensor_element(e, c) for e in v) if p]
    if not parts:
        return ""
    parts.sort()
    return "sensorElementList" + "".join(parts)


def _party_list(name: str, member: str) -> Callable[[object, _Ctx], str]:
    """bizTransactionList / sourceList / destinationList: `type` then the value."""
    type_cache, member_cache = _cache("type"), _cache(member)

    def render(v: object, c: _Ctx) -> str:
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
                text = _piece(key, item[key], c, type_cache if key == "type" else member_cache)
                pair += text if text else key
            pairs.append(pair)
        if not pairs:
            return ""
        pairs.sort()
        return name + "".join(pairs)
    return render


def _ilmd(v: object, c: _Ctx) -> str:
    if v.__class__ is not dict:
        raise Fallback
    pieces = []
    for key, value in v.items():  # the usual flat ILMD of namespaced scalars
        if value.__class__ is not str or ":" not in key or key in _SKIP:
            return "".join(_extension_piece("ilmd", v, c))
        name = key_name(key, c.ns)
        if "{" not in name:
            return "".join(_extension_piece("ilmd", v, c))
        pieces.extend(_extension_piece(name, value, c))
    if len(pieces) > 1:
        pieces.sort()
    return "ilmd" + "".join(pieces)


# field -> (position in the canonical order, renderer); position -1: the sorted tail
_PLAN: dict[str, tuple[int, Callable[[object, _Ctx], str], dict[str, str] | None]] = {}
for _pos, (_name, _render) in enumerate([
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
]):
    _PLAN[_name] = (_pos, _render, _cache(_name) if _name in _SCALARS else None)
_SLOTS = len(_PLAN)
_TAIL: dict[str, Callable[[object, _Ctx], str]] = {
    "bizTransactionList": _party_list("bizTransactionList", "bizTransaction"),
    "sourceList": _party_list("sourceList", "source"),
    "destinationList": _party_list("destinationList", "destination"),
    "ilmd": _ilmd,
}
_IGNORED = frozenset({"recordTime", "eventID", "type"})


# ---- vocabulary words ----

_vocab_memo: dict[str, dict[str, str]] = {}


def _vocab_uri(kind: str, value: object) -> str:
    """The URI a vocabulary field's value adds to the event's URIs ("" for none)."""
    if value.__class__ is not str:
        if value is None or value.__class__ is list:
            return ""  # absent, or a shape the renderer refuses
        raise Fallback
    memo = _vocab_memo.setdefault(kind, {})
    uri = memo.get(value)
    if uri is None:
        uri = terms()[kind].get(value)
        if uri is None:
            uri = value
            if uri.startswith(("cbv:", "gs1:")):
                uri = expand_curie(uri)
            if not uri.startswith(VOCAB_ROOTS):
                uri = ""
        if len(memo) < 10_000:
            memo[value] = uri
    return uri


_PARTY_KINDS = (("bizTransactionList", "bizTransactionType"), ("sourceList", "sourceDestType"),
                ("destinationList", "sourceDestType"))


def _uris(event: Mapping) -> frozenset[str]:
    """The web-vocabulary URIs of the event, read from the vocabulary fields only (a URI
    anywhere else sends the event to hash_tree, see _text)."""
    found = {_vocab_uri("bizStep", event.get("bizStep")),
             _vocab_uri("disposition", event.get("disposition"))}
    persistent = event.get("persistentDisposition")
    if persistent.__class__ is dict:
        for key in ("set", "unset"):
            words = persistent.get(key)
            if words.__class__ is list:
                for word in words:
                    found.add(_vocab_uri("disposition", word))
    for list_name, kind in _PARTY_KINDS:
        items = event.get(list_name)
        if items.__class__ is list:
            for item in items:
                if item.__class__ is dict:
                    found.add(_vocab_uri(kind, item.get("type")))
    sensors = event.get("sensorElementList")
    if sensors.__class__ is list:
        for element in sensors:
            if element.__class__ is dict:
                reports = element.get("sensorReport")
                for report in reports if reports.__class__ is list else [reports]:
                    if report.__class__ is dict:
                        found.add(_vocab_uri("measurementType", report.get("type")))
                        found.add(_vocab_uri("sensorAlertType", report.get("exception")))
                        found.add(_vocab_uri("component", report.get("component")))
    found.discard("")
    return frozenset(found)


def _setup(ns: Mapping[str, str]) -> type[_Setup]:
    if ns is not _Setup.ns or len(ns) != _Setup.size:
        vexp = value_prefixes(ns)
        if vexp != _Setup.vexp:  # cached pieces hold values read with the old prefixes
            for cache in _pieces.values():
                cache.clear()
            _Setup.vexp = vexp
            _Setup.vpfx = tuple(p + ":" for p in vexp)
            _Setup.special = VOCAB_ROOTS + _Setup.vpfx
        _Setup.ns, _Setup.size = ns, len(ns)
    return _Setup


# ---- the pre-hash string ----

def _extension_tail(key: str, value: object, c: _Ctx) -> list[str]:
    """A top-level `prefix:name` field (for the C core)."""
    name = key_name(key, c.ns)
    if "{" not in name:
        raise Fallback
    return _extension_piece(name, value, c)


def _make_ctx(ns: Mapping[str, str], swaps: dict[str, str], uris: frozenset[str]) -> _Ctx:
    return _Ctx(ns, swaps, uris, _setup(ns))


try:
    from corridor.epcis import _hashcore  # type: ignore[attr-defined]
except ImportError:  # not built (no compiler at install time): the Python path alone
    _hashcore = None
NATIVE = _hashcore is not None
_native: Callable[[object, object], str | None] | None = None


def _configure_native() -> None:
    order = sorted(_PLAN.items(), key=lambda item: item[1][0])
    _hashcore.configure({
        "plan": [(name, render, cache) for name, (_, render, cache) in order],
        "tail": [(name, render) for name, render in _TAIL.items()],
        "caches": {name: _cache(name) for name in (
            "epc", "id", "type", "bizTransaction", "source", "destination", "epcClass",
            "quantity", "uom")},
        "cache_limit": _CACHE_LIMIT,
        "Fallback": Fallback, "piece": _piece, "time_uncached": time_uncached,
        "make_ctx": _make_ctx, "setup": _setup, "Setup": _Setup,
        "extension": _extension_tail, "has_vocab_uri": _has_vocab_uri,
        "vocab_memo": _vocab_memo, "vocab_uri": _vocab_uri,
        "replacement_cache": hash_vocab._replacement_cache, "replacements": replacements,
        "uris": _uris, "canon_cache": hash_values._canon_cache, "event_types": EVENT_TYPES,
        "vocab_prefixes": VOCAB_ROOTS,
    })


def set_native(enabled: bool) -> bool:
    """Use the C core (when built) or not; returns whether it is in use now."""
    global _native
    _native = _hashcore.prehash if enabled and NATIVE else None
    return _native is not None


# the field positions the C core is written for (its P_* and T_* constants)
_C_PLAN = ("eventTime", "eventTimeZoneOffset", "certificationInfo", "parentID", "epcList",
           "inputEPCList", "childEPCs", "quantityList", "childQuantityList",
           "inputQuantityList", "outputEPCList", "outputQuantityList", "action",
           "transformationID", "bizStep", "disposition", "persistentDisposition", "readPoint",
           "bizLocation", "sensorElementList")
_C_TAIL = ("bizTransactionList", "sourceList", "destinationList", "ilmd")
if tuple(sorted(_PLAN, key=lambda name: _PLAN[name][0])) != _C_PLAN or tuple(_TAIL) != _C_TAIL:
    NATIVE = False  # the C core no longer matches this module's plan: not used
elif NATIVE:
    _configure_native()
set_native(NATIVE and os.environ.get("CORRIDOR_PURE_PYTHON") != "1")


def native_enabled() -> bool:
    return _native is not None


def prehash(event: Mapping, namespaces: Mapping[str, str]) -> str | None:
    """The pre-hash string, or None when the event needs hash_tree."""
    if _native is not None:
        fast = _native(event, namespaces)
        if fast is not None:
            return fast
    return prehash_python(event, namespaces)


def prehash_python(event: Mapping, namespaces: Mapping[str, str]) -> str | None:
    """prehash without the C core."""
    etype = event.get("type")
    if etype not in EVENT_TYPES or ("eventTime" not in event and "action" not in event):
        return None
    try:
        uris = _uris(event)
        swaps = replacements(uris) if uris else {}
        c = _Ctx(namespaces, swaps, uris, _setup(namespaces))  # small; one per event
        slots = [""] * _SLOTS
        tail: list[str] = []
        special = c.special
        for key, value in event.items():
            planned = _PLAN.get(key)
            if planned is not None:
                pos, render, cache = planned
                if value.__class__ is str and value not in swaps:
                    if cache is not None:  # a plain scalar seen before
                        hit = cache.get(value)
                        if hit is not None:
                            slots[pos] = hit
                            continue
                    elif pos == 0 and not value.startswith(special):  # eventTime: unique
                        text = value.strip()
                        slots[0] = "eventTime=" + time_uncached(text) if text else ""
                        continue
                slots[pos] = render(value, c)
            elif key in _TAIL:
                piece = _TAIL[key](value, c)
                if piece:
                    tail.append(piece)
            elif key in _IGNORED or key in _SKIP:
                if value.__class__ is str:
                    if value.startswith(VOCAB_ROOTS) and value not in uris:
                        return None
                elif _has_vocab_uri(value, c):
                    return None
            elif ":" in key:
                name = key_name(key, namespaces)
                if "{" not in name:
                    return None
                tail.extend(_extension_piece(name, value, c))
            else:
                return None  # errorDeclaration and anything unknown
    except Fallback:
        return None
    if len(tail) > 1:
        tail.sort()
    return "eventType=" + etype + "".join(slots) + "".join(tail)
