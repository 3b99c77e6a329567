"""Hypothesis strategies for random valid EPCIS 2.0 events (used by the Event Hash ID tests),
and a test that what they generate is valid per the official JSON schema.

Where the reference generator 1.9.3 is known to disagree with the newer GS1 vectors, or its
JSON reading disagrees with its XML reading, the strategies stay in the area where all agree:
- one event per document (the reference's bare-word expansion looks across the whole document);
- no booleans (its JSON reading writes `True`, its XML reading and the vectors `true`);
- `gs1:` CURIE values only with `gs1` declared in the document context (its JSON reading leaves
  them unexpanded otherwise, its XML reading always expands them); no user-prefix CURIE values;
- no extension names ending in `List` (its JSON reading inserts a wrapper its XML reading does
  not have); bizTransaction/source/destination entries always carry their type, written first
  (it crashes without one and keeps JSON key order);
- timestamps with an offset or Z (it uses the host's zone for the others) whose milliseconds do
  not round up to a full second (it crashes there), no ignoreFields (1.9.3 predates them);
- no text that reads as an infinite number (`inf`, `Infinity`: it crashes there too).
"""

from __future__ import annotations

import math
import string

from hypothesis import given, settings
from hypothesis import strategies as st

from corridor.epcis.cbv import terms

EX = "https://ns.example.com/epcis/"
CONTEXT = ["https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld",
           {"ex": EX, "gs1": "https://gs1.org/voc/"}]

_SERIAL = string.ascii_letters + string.digits + "-_.!'()*+,:;="
digits = st.integers  # alias for readability below


def _num(n: int) -> st.SearchStrategy[str]:
    return st.text(alphabet=string.digits, min_size=n, max_size=n)


@st.composite
def _prefixed(draw: st.DrawFn, total: int) -> str:
    """`companyprefix.reference` with 6..12 prefix digits and `total` digits in all."""
    cp = draw(st.integers(6, 12))
    return draw(_num(cp)) + "." + draw(_num(total - cp))


def _serial(max_size: int = 20) -> st.SearchStrategy[str]:
    return st.text(alphabet=_SERIAL, min_size=1, max_size=max_size)


@st.composite
def epc_urns(draw: st.DrawFn) -> str:
    kind = draw(st.sampled_from(["sgtin", "sscc", "sgln", "grai", "giai", "gsrn", "gdti", "sgcn",
                                 "gsin", "itip", "upui", "pgln", "cpi", "ginc", "lgtin",
                                 "idpat-sgtin"]))
    if kind == "sgtin":
        return f"urn:epc:id:sgtin:{draw(_prefixed(13))}.{draw(_serial())}"
    if kind == "sscc":
        return f"urn:epc:id:sscc:{draw(_prefixed(17))}"
    if kind == "sgln":
        ext = draw(st.one_of(st.just("0"), _serial()))
        return f"urn:epc:id:sgln:{draw(_prefixed(12))}.{ext}"
    if kind == "grai":
        return f"urn:epc:id:grai:{draw(_prefixed(12))}.{draw(_serial(16))}"
    if kind == "giai":
        cp = draw(st.integers(6, 12))
        return f"urn:epc:id:giai:{draw(_num(cp))}.{draw(_serial(30 - cp))}"
    if kind == "gsrn":
        return f"urn:epc:id:gsrn:{draw(_prefixed(17))}"
    if kind == "gdti":
        return f"urn:epc:id:gdti:{draw(_prefixed(12))}.{draw(_serial(17))}"
    if kind == "sgcn":
        return f"urn:epc:id:sgcn:{draw(_prefixed(12))}.{draw(_num(draw(st.integers(1, 12))))}"
    if kind == "gsin":
        return f"urn:epc:id:gsin:{draw(_prefixed(16))}"
    if kind == "itip":
        return f"urn:epc:id:itip:{draw(_prefixed(13))}.{draw(_num(2))}.{draw(_num(2))}." \
               f"{draw(_serial())}"
    if kind == "upui":
        return f"urn:epc:id:upui:{draw(_prefixed(13))}.{draw(_serial(28))}"
    if kind == "pgln":
        return f"urn:epc:id:pgln:{draw(_prefixed(12))}"
    if kind == "cpi":
        cp = draw(st.integers(6, 12))
        ref = draw(st.text(alphabet=string.digits + string.ascii_uppercase + "-", min_size=1,
                           max_size=30 - cp))
        return f"urn:epc:id:cpi:{draw(_num(cp))}.{ref}.{draw(_num(draw(st.integers(1, 12))))}"
    if kind == "ginc":
        cp = draw(st.integers(6, 12))
        return f"urn:epc:id:ginc:{draw(_num(cp))}.{draw(_serial(30 - cp))}"
    if kind == "lgtin":
        return f"urn:epc:class:lgtin:{draw(_prefixed(13))}.{draw(_serial())}"
    return f"urn:epc:idpat:sgtin:{draw(_prefixed(13))}.*"


_DL_SAFE = string.ascii_letters + string.digits + "-._"


@st.composite
def digital_links(draw: st.DrawFn) -> str:
    host = draw(st.sampled_from(["https://id.gs1.org", "https://example.com",
                                 "http://shop.example.org/dl", "https://id.gs1.de"]))
    key = draw(st.sampled_from(["01", "gtin", "00", "sscc", "414", "gln", "417", "8004", "253",
                                "8003", "8006", "255", "401", "402", "8017", "8018", "8010"]))
    lengths = {"01": (14, 13, 12, 8), "gtin": (14, 13, 12, 8), "00": (18,), "sscc": (18,),
               "414": (13,), "gln": (13,), "417": (13,), "8017": (18,), "8018": (18,),
               "402": (17,), "8006": (18,), "8003": (14,), "253": (13,), "255": (13,)}
    if key in lengths:
        value = draw(_num(draw(st.sampled_from(lengths[key]))))
    else:
        value = draw(_num(4)) + draw(st.text(alphabet=_DL_SAFE, max_size=12))
    uri = f"{host}/{key}/{value}"
    if key in ("01", "gtin", "8006"):
        if draw(st.booleans()):
            uri += "/" + draw(st.sampled_from(["22", "cpv"])) + "/" + draw(
                st.text(alphabet=_DL_SAFE, min_size=1, max_size=8))
        if draw(st.booleans()):
            uri += "/" + draw(st.sampled_from(["10", "lot"])) + "/" + draw(
                st.text(alphabet=_DL_SAFE, min_size=1, max_size=8))
        if draw(st.booleans()):
            uri += "/" + draw(st.sampled_from(["21", "ser"])) + "/" + draw(
                st.text(alphabet=_DL_SAFE + "%", min_size=1, max_size=8))
    if key in ("414", "gln") and draw(st.booleans()):
        uri += "/254/" + draw(st.text(alphabet=_DL_SAFE, min_size=1, max_size=8))
    if draw(st.booleans()):
        uri += "?" + draw(st.sampled_from(["17=201231", "linkType=gs1:pip", "x=1&y=2"]))
    return uri


def identifiers() -> st.SearchStrategy[str]:
    """EPC URIs, Digital Link URIs, and other identifiers that must stay as they are."""
    return st.one_of(epc_urns(), digital_links(),
                     st.sampled_from(["urn:uuid:8d1c8e56-1a50-4c3f-9a79-6c1f8e1b8a10",
                                      "https://example.com/location/12.5",
                                      "urn:epc:id:sgtin:123.456.7", "geo:47.506694,11.104301",
                                      "http://transaction.acme.com/po/12345678"]))


@st.composite
def timestamps(draw: st.DrawFn) -> str:
    frac = draw(st.one_of(st.just(""), st.text(alphabet=string.digits, min_size=1, max_size=7)))
    micro = int(frac[:6].ljust(6, "0")) if frac else 0
    if round(micro, -3) >= 1_000_000:
        frac = "5"
    zone = draw(st.sampled_from(["Z", "+00:00", "+01:00", "-06:00", "+05:30", "+14:00",
                                 "-12:00", "+06:00", "-03:30"]))
    return (f"{draw(st.integers(1971, 2070))}-{draw(st.integers(1, 12)):02d}-"
            f"{draw(st.integers(1, 28)):02d}T{draw(st.integers(0, 23)):02d}:"
            f"{draw(st.integers(0, 59)):02d}:{draw(st.integers(0, 59)):02d}"
            + (f".{frac}" if frac else "") + zone)


def _words(kind: str) -> st.SearchStrategy[str]:
    table = terms()[kind]
    words = sorted(table)
    uris = sorted(table.values())
    return st.one_of(st.sampled_from(words), st.sampled_from(uris))


def _urn_or_word(kind: str, urn: str) -> st.SearchStrategy[str]:
    """A bare word or its web URI (the JSON schema refuses the CBV 1.x URN form in JSON)."""
    return _words(kind)


def _finite_or_text(text: str) -> bool:
    """False for `inf`, `nan` and the like, on which the reference fails (drops the event)."""
    try:
        return math.isfinite(float(text))
    except ValueError:
        return True


_TEXT = st.text(alphabet=string.ascii_letters + string.digits + " -_.#", min_size=1,
                max_size=12).filter(lambda s: s.strip() and ":" not in s and _finite_or_text(s))
_NUMBER = st.one_of(st.integers(-10 ** 6, 10 ** 6),
                    st.floats(-1e6, 1e6, allow_nan=False, allow_infinity=False))
_EXT_NAME = st.text(alphabet=string.ascii_lowercase, min_size=1, max_size=8).filter(
    lambda s: not s.endswith("list") and "action" not in s and "time" not in s).map(
    lambda s: "ex:" + s)


def _extension_value(depth: int = 2) -> st.SearchStrategy[object]:
    leaf = st.one_of(_TEXT, _NUMBER, identifiers())
    if depth == 0:
        return leaf
    return st.one_of(leaf, st.dictionaries(_EXT_NAME, _extension_value(depth - 1), min_size=1,
                                           max_size=3))


def _extensions(max_size: int = 2) -> st.SearchStrategy[dict]:
    return st.dictionaries(_EXT_NAME, _extension_value(), max_size=max_size)


def _quantity() -> st.SearchStrategy[dict]:
    return st.fixed_dictionaries(
        {"epcClass": st.one_of(epc_urns(), digital_links())},
        optional={"quantity": st.one_of(st.integers(0, 10 ** 6),
                                        st.floats(0, 1e6, allow_nan=False)),
                  "uom": st.sampled_from(["KGM", "TNE", "LTR", "MTR"])})


def _location() -> st.SearchStrategy[dict]:
    return st.builds(lambda i, ext: {"id": i, **ext},
                     st.one_of(epc_urns(), digital_links()), _extensions(1))


def _party(kind: str, member: str, urn: str) -> st.SearchStrategy[dict]:
    return st.builds(lambda t, v: {"type": t, member: v}, _urn_or_word(kind, urn),
                     st.one_of(identifiers(), _TEXT))


_METADATA = st.fixed_dictionaries({}, optional={
    "time": timestamps(), "startTime": timestamps(), "endTime": timestamps(),
    "deviceID": identifiers(), "deviceMetadata": identifiers(), "rawData": identifiers(),
    "dataProcessingMethod": identifiers(), "bizRules": identifiers()}).filter(bool)
_MEASUREMENT = st.sampled_from(sorted(terms()["measurementType"]))
_REPORT = st.fixed_dictionaries({
    "type": st.one_of(_MEASUREMENT, _MEASUREMENT.map("gs1:".__add__))}, optional={
    "exception": st.sampled_from(sorted(terms()["sensorAlertType"])), "deviceID": identifiers(),
    "time": timestamps(), "microorganism": identifiers(),
    "chemicalSubstance": identifiers(), "value": _NUMBER,
    "component": _words("component"), "stringValue": _TEXT,
    "hexBinaryValue": st.text(alphabet="0123456789ABCDEF", min_size=2, max_size=8).filter(
        _finite_or_text),  # not `066E8636`, which reads as an infinite number
    "uriValue": identifiers(), "minValue": _NUMBER, "maxValue": _NUMBER,
    "meanValue": _NUMBER, "sDev": _NUMBER, "percRank": _NUMBER, "percValue": _NUMBER,
    "uom": st.sampled_from(["CEL", "KGM", "A93", "DD"]),
    "coordinateReferenceSystem": st.just("http://www.opengis.net/def/crs/OGC/1.3/CRS84"),
})
_SENSOR_ELEMENT = st.builds(
    lambda meta, reports, ext: {**({"sensorMetadata": meta} if meta else {}),
                                "sensorReport": reports, **ext},
    st.one_of(st.none(), _METADATA), st.lists(_REPORT, min_size=1, max_size=3), _extensions(1))


_KIND_FIELDS = {
    "ObjectEvent": ("epcList", "quantityList", "ilmd"),
    "AggregationEvent": ("parentID", "childEPCs", "childQuantityList"),
    "TransactionEvent": ("parentID", "epcList", "quantityList"),
    "TransformationEvent": ("inputEPCList", "outputEPCList", "inputQuantityList",
                            "outputQuantityList", "transformationID", "ilmd"),
    "AssociationEvent": ("parentID", "childEPCs", "childQuantityList"),
}
# what the official schema requires of each type (kept non-empty)
_REQUIRED = {
    "ObjectEvent": ("epcList",), "AggregationEvent": ("parentID", "childEPCs"),
    "AssociationEvent": ("parentID", "childEPCs"), "TransactionEvent": ("epcList",),
    "TransformationEvent": ("inputEPCList", "outputEPCList"),
}
_FIELD = {
    # the schema's epcList (also input and output lists) has uniqueItems
    "epcList": st.lists(st.one_of(epc_urns(), digital_links()), max_size=4, unique=True),
    "childEPCs": st.lists(st.one_of(epc_urns(), digital_links()), max_size=4),
    "inputEPCList": st.lists(st.one_of(epc_urns(), digital_links()), max_size=3, unique=True),
    "outputEPCList": st.lists(st.one_of(epc_urns(), digital_links()), max_size=3,
                              unique=True),
    "quantityList": st.lists(_quantity(), min_size=1, max_size=3),
    "childQuantityList": st.lists(_quantity(), min_size=1, max_size=3),
    "inputQuantityList": st.lists(_quantity(), min_size=1, max_size=3),
    "outputQuantityList": st.lists(_quantity(), min_size=1, max_size=3),
    "parentID": st.one_of(epc_urns(), digital_links()),
    "transformationID": st.one_of(identifiers(), st.just("urn:uuid:12345678-1234-1234-1234-123456789012")),
    "ilmd": st.dictionaries(_EXT_NAME, _extension_value(), min_size=1, max_size=2),
}


_OPTIONAL = {
    "bizStep": _urn_or_word("bizStep", "urn:epcglobal:cbv:bizstep:"),
    "disposition": _urn_or_word("disposition", "urn:epcglobal:cbv:disp:"),
    "persistentDisposition": st.fixed_dictionaries({}, optional={
        "set": st.lists(_words("disposition"), min_size=1, max_size=2, unique=True),
        "unset": st.lists(_words("disposition"), min_size=1, max_size=2, unique=True)}
    ).filter(bool),
    "readPoint": _location(),
    "bizLocation": _location(),
    "bizTransactionList": st.lists(
        _party("bizTransactionType", "bizTransaction", "urn:epcglobal:cbv:btt:"), min_size=1,
        max_size=3),
    "sourceList": st.lists(_party("sourceDestType", "source", "urn:epcglobal:cbv:sdt:"),
                           min_size=1, max_size=2),
    "destinationList": st.lists(
        _party("sourceDestType", "destination", "urn:epcglobal:cbv:sdt:"), min_size=1,
        max_size=2),
    "sensorElementList": st.lists(_SENSOR_ELEMENT, min_size=1, max_size=2),
    "certificationInfo": st.one_of(identifiers(), st.lists(identifiers(), min_size=1,
                                                           max_size=2)),
}


@st.composite
def events(draw: st.DrawFn) -> dict:
    """One random valid EPCIS 2.0 event in JSON-LD form."""
    kind = draw(st.sampled_from(sorted(_KIND_FIELDS)))
    when = draw(timestamps())
    zone = draw(st.sampled_from(["+00:00", "+01:00", "-06:00", "+05:30", "+06:00"]))
    event: dict = {"type": kind, "eventTime": when, "eventTimeZoneOffset": zone}
    if draw(st.booleans()):
        event["recordTime"] = draw(timestamps())
    if draw(st.booleans()):
        event["eventID"] = "urn:uuid:" + draw(_num(8)) + "-1234-4234-8234-123456789012"
    action = draw(st.sampled_from(["ADD", "OBSERVE", "DELETE"]))
    for field in _KIND_FIELDS[kind]:
        if field == "ilmd" and action != "ADD" and kind == "ObjectEvent":
            continue  # ILMD only where instances or lots come into being
        if field in _REQUIRED[kind]:
            event[field] = draw(_FIELD[field].filter(bool))
        elif draw(st.booleans()):
            event[field] = draw(_FIELD[field])
    if kind == "TransactionEvent":
        event["bizTransactionList"] = draw(_OPTIONAL["bizTransactionList"])
    if kind != "TransformationEvent":
        event["action"] = action
    for field, strategy in _OPTIONAL.items():
        if field == "persistentDisposition" and kind not in ("ObjectEvent",
                                                             "TransformationEvent"):
            continue
        if field not in event and draw(st.integers(0, 2)) == 0:
            event[field] = draw(strategy)
    event.update(draw(_extensions(2)))
    return event


def document(event: dict) -> dict:
    return {"@context": CONTEXT, "type": "EPCISDocument", "schemaVersion": "2.0",
            "creationDate": "2026-11-27T00:00:00Z", "epcisBody": {"eventList": [event]}}


@settings(max_examples=15, deadline=None)
@given(events())
def test_generated_events_are_valid(event: dict) -> None:
    """The generator stays within the official JSON schema. (Not within all of the standard's
    rules, corridor.epcis.rules: it also draws identifiers that must hash as they are, such as
    a malformed EPC URI or plain text where a URI belongs.)"""
    from corridor.epcis.rules import RULE_PREFIXES
    from corridor.epcis.validation import validate_json_document

    problems = [p for p in validate_json_document(document(event))
                if not p.rule.startswith(RULE_PREFIXES)]
    assert not problems, [str(p) for p in problems]
