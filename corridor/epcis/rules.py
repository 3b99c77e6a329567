"""The rules of EPCIS 2.0 and CBV 2.0 that the official JSON schema leaves out.

The schema is permissive: it leaves `format` to the implementation (Corridor turns it off, as
the official verdict on the GS1 examples does), lets any event type through as an
"Extended-Event", and any string where a CBV value or an identifier goes. The log is
append-only, so what it takes must be right the first time. Each rule names a Problem's rule:

- `epcis:event-type`: an event is one of the five EPCIS 2.0 event types;
- `epcis:context`: a JSON-LD document's @context names the EPCIS 2.0 context (a string, or a
  string in the array; `EPCIS_CONTEXTS`: the standard's URI and the GS1 copies the official
  examples use);
- `cbv:<kind>` (bizStep, disposition, bizTransactionType, sourceDestType, errorReason,
  measurementType, sensorAlertType, component): a standard word of that kind in its exact case
  (bare, or in one of its URI forms: corridor.epcis.cbv), or a URI outside the CBV
  namespace (a user vocabulary value, e.g. `https://example.com/steps/x`; `gs1:` terms of
  the GS1 Web Vocabulary, not the CBV, pass as URIs);
- `rfc3339:date-time`: eventTime, recordTime, declarationTime, creationDate and the sensor
  times are RFC 3339 date-times with an offset (`Z` or +hh:mm), every field in its range:
  what the XML binding's DateTimeStamp type says (offset at most 14:00, `T` and `Z` in upper
  case, no hour 24, no leap second);
- `epcis:uri`: an identifier (EPCs, classes, parent, locations, parties, business
  transactions) is an absolute URI (scheme:...), e.g. a GS1 Digital Link URI;
- `tds:epc-uri`: one in the `urn:epc:` namespace is a well-formed EPC URI (id, class or
  pattern) of a TDS 2.0 scheme (corridor.epcis.identifiers.epc_uri_fault).

The rules read the JSON-LD form of events, which is also what corridor.epcis.xml_read makes of
XML: a JSON and an XML document get the same verdict from the same code (XML problems keep the
JSON pointer, for capture to tell events apart, and name the XML line in their message).
Valid input, the usual case, costs a few set lookups and precompiled matches per value.
"""

from __future__ import annotations

import re
from calendar import monthrange
from datetime import UTC, datetime

from lxml import etree

from corridor.epcis import cbv, xml_read
from corridor.epcis.identifiers import EPC_PURE, epc_uri_fault
from corridor.epcis.problems import Problem, pointer

EVENT_TYPES = frozenset(xml_read.EVENT_TYPES)
DOCUMENT_TYPES = frozenset({"EPCISDocument", "EPCISQueryDocument", "EPCISMasterDataDocument"})
EPCIS_CONTEXTS = frozenset({
    xml_read.CONTEXT_URL,  # the standard's, https://ref.gs1.org/standards/epcis/2.0.0/...
    "https://ref.gs1.org/standards/epcis/epcis-context.jsonld",  # GS1's latest-version alias
    "https://gs1.github.io/EPCIS/epcis-context.jsonld",  # the official OpenAPI examples
    "https://gs1.github.io/EPCIS/epcis-context-simple.jsonld",  # the official JSON examples
})
EVENT_TYPE_RULE, CONTEXT_RULE = "epcis:event-type", "epcis:context"
TIME_RULE, URI_RULE, EPC_RULE = "rfc3339:date-time", "epcis:uri", "tds:epc-uri"
RULE_PREFIXES = ("epcis:", "cbv:", "rfc3339:", "tds:")  # the rules of this module

# a fault: (path inside the value checked, rule, message)
Fault = tuple[tuple, str, str]

_TIME = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(?:\.[0-9]+)?"
                   r"(?:Z|[+-][0-9]{2}:[0-9]{2})\Z")
# a time surely valid (days up to 28, years 0002-9998): the quick yes of time_fault
_good_time = re.compile(
    r"(?!0000|0001|9999)[0-9]{4}-(?:0[1-9]|1[0-2])-(?:0[1-9]|1[0-9]|2[0-8])"
    r"T(?:[01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9](?:\.[0-9]+)?"
    r"(?:Z|[+-](?:0[0-9]|1[0-3]):[0-5][0-9]|[+-]14:00)\Z").match
# RFC 3986 scheme ":" then no space, control or character a URI never holds raw (IRIs may
# hold other Unicode characters)
_URI_TEXT = r"[A-Za-z][A-Za-z0-9+.-]*:[^\s\x00-\x1f\x7f<>\"{}|\\^`]+"
_URI = re.compile(_URI_TEXT + r"\Z")
# a well-formed EPC URI or another absolute URI: the quick yes of identifier_fault
_good_identifier = re.compile(f"(?:{EPC_PURE}|(?!urn:epc:){_URI_TEXT})\\Z").match
# Identifiers found good that come back from event to event (places, parties, parents,
# classes; not the EPCs of lists, mostly new): a set lookup instead of a match. Bounded.
_KNOWN: set[str] = set()
_KNOWN_MAX = 1 << 15
_EPC_KINDS = ("id", "class", "idpat")  # (the GS1 hash vectors put classes in epcList)
_VOCABULARIES = ("bizStep", "disposition", "bizTransactionType", "sourceDestType",
                 "errorReason", "measurementType", "sensorAlertType", "component")
_WORDS = {kind: cbv.words(kind) for kind in _VOCABULARIES}
_TYPES = ", ".join(xml_read.EVENT_TYPES)
_NO_CONTEXT = (f"@context must name the EPCIS 2.0 context {xml_read.CONTEXT_URL} (the string, "
               f"or the string in its array)")


def _show(value: str) -> str:
    return repr(value if len(value) <= 80 else value[:77] + "...")


# ---- single values ----

def time_fault(text: object) -> str | None:
    """What keeps `text` from being an RFC 3339 date-time with offset, or None (None too for
    a non-string, which is the schema's to report)."""
    if type(text) is not str or _good_time(text):
        return None
    if _TIME.match(text) is None:
        return (f"{_show(text)} is not an RFC 3339 date-time with a time zone offset "
                f"(YYYY-MM-DDThh:mm:ss[.fraction] then Z or +hh:mm / -hh:mm)")
    return _time_range_fault(text)


def _time_range_fault(text: str) -> str | None:
    year, month, day = int(text[:4]), int(text[5:7]), int(text[8:10])
    wrong = []
    if year == 0:
        wrong.append("year 0000 (0001-9999)")
    if not 1 <= month <= 12:
        wrong.append(f"month {text[5:7]} (01-12)")
        if not 1 <= day <= 31:
            wrong.append(f"day {text[8:10]} (01-31)")
    else:
        last = monthrange(year or 2000, month)[1]
        if not 1 <= day <= last:
            wrong.append(f"day {text[8:10]} (01-{last} in {year:04d}-{month:02d})")
    for name, part, top in (("hour", text[11:13], "23"), ("minute", text[14:16], "59"),
                            ("second", text[17:19], "59")):
        if part > top:
            wrong.append(f"{name} {part} (00-{top})")
    if text[-1] != "Z" and (text[-5:] > "14:00" or text[-2:] > "59"):
        wrong.append(f"offset {text[-6:]} (-14:00 to +14:00)")
    if not wrong:
        try:  # 0001 or 9999 with an offset may leave the years datetime can hold
            datetime.fromisoformat(text).astimezone(UTC)
        except (ValueError, OverflowError):
            wrong.append("outside years 0001-9999 once in UTC")
    return f"{_show(text)} is not a valid date-time: " + ", ".join(wrong) if wrong else None


def identifier_fault(value: object) -> tuple[str, str] | None:
    """(rule, message) if `value` is not an identifier URI: a well-formed EPC URI, or another
    absolute URI (a GS1 Digital Link URI, or any scheme)."""
    if type(value) is not str:
        return None
    if value.startswith("urn:epc:"):
        fault = epc_uri_fault(value, _EPC_KINDS)
        return None if fault is None else (EPC_RULE, f"{_show(value)}: {fault}")
    if _URI.match(value):
        return None
    return URI_RULE, (f"{_show(value)} is not a URI: an identifier is an EPC URI "
                      f"(urn:epc:id:..., urn:epc:class:...), a GS1 Digital Link URI "
                      f"(https://id.gs1.org/...) or another absolute URI (scheme:...)")


def vocabulary_fault(kind: str, value: object) -> str | None:
    """What keeps `value` from being a CBV value of `kind` (a standard word, exact case, in
    one of its forms) or a user vocabulary URI outside the CBV namespace, or None."""
    if type(value) is not str or value in _WORDS[kind]:
        return None
    near = None
    if value.startswith(cbv.CHECKED_PREFIXES[kind]):
        if cbv.spelled_word(kind, value) is not None:
            return None
        problem = f"{_show(value)} is in the CBV namespace but names no CBV {kind}"
        near = cbv.near_word(kind, value)
    elif _URI.match(value):
        return None  # a user vocabulary value
    elif (near := cbv.near_word(kind, value)) is not None:
        problem = f"{_show(value)} is not a CBV {kind} word: CBV words are written exactly"
    else:
        problem = (f"{_show(value)} is neither a CBV {kind} word nor a URI (a user "
                   f"vocabulary value is an absolute URI, e.g. https://example.com/{kind}/x)")
    return problem + (f" (did you mean {near!r}?)" if near else "")


# ---- the members of an event ----
# Each checker takes (value, member name, faults); the usual valid value passes one quick
# test (a set lookup or a precompiled match) and only a failing one gets a closer look.

def _identifier(value: object, path: tuple, out: list[Fault]) -> None:
    fault = identifier_fault(value)
    if fault is not None:
        out.append((path, *fault))


def _vocabulary(kind: str, value: object, path: tuple, out: list[Fault]) -> None:
    fault = vocabulary_fault(kind, value)
    if fault is not None:
        out.append((path, f"cbv:{kind}", fault))


def _time(value: object, path: tuple, out: list[Fault]) -> None:
    fault = time_fault(value)
    if fault is not None:
        out.append((path, TIME_RULE, fault))


def _time_member(value: object, key: str, out: list[Fault]) -> None:
    if not (type(value) is str and _good_time(value)):
        _time(value, (key,), out)


def _recurring(value: str) -> bool:
    """Whether a recurring identifier is good (remembered when it is)."""
    if _good_identifier(value) is None:
        return False
    if len(_KNOWN) >= _KNOWN_MAX:
        _KNOWN.clear()
    _KNOWN.add(value)
    return True


def _identifier_member(value: object, key: str, out: list[Fault]) -> None:
    if not (type(value) is str and (value in _KNOWN or _recurring(value))):
        _identifier(value, (key,), out)


def _vocabulary_member(kind: str):
    words = _WORDS[kind]

    def check(value: object, key: str, out: list[Fault]) -> None:
        if not (type(value) is str and value in words):
            _vocabulary(kind, value, (key,), out)
    return check


def _epcs(value: object, key: str, out: list[Fault]) -> None:
    if type(value) is list:
        good = _good_identifier
        for index, item in enumerate(value):
            if not (type(item) is str and good(item)):
                _identifier(item, (key, index), out)


def _quantities(value: object, key: str, out: list[Fault]) -> None:
    if type(value) is list:
        for index, item in enumerate(value):
            if type(item) is dict and "epcClass" in item:
                name = item["epcClass"]
                if not (type(name) is str and (name in _KNOWN or _recurring(name))):
                    _identifier(name, (key, index, "epcClass"), out)


def _place(value: object, key: str, out: list[Fault]) -> None:
    if type(value) is dict and "id" in value:
        place = value["id"]
        if not (type(place) is str and (place in _KNOWN or _recurring(place))):
            _identifier(place, (key, "id"), out)


def _persistent(value: object, key: str, out: list[Fault]) -> None:
    if type(value) is dict:
        for part in ("set", "unset"):
            words = value.get(part)
            if type(words) is list:
                for index, word in enumerate(words):
                    _vocabulary("disposition", word, (key, part, index), out)


def _typed_list(kind: str, role: str):
    """Checker of a list of {type, <role>} objects: bizTransactionList, sourceList, ..."""
    words = _WORDS[kind]

    def check(value: object, key: str, out: list[Fault]) -> None:
        if type(value) is not list:
            return
        for index, item in enumerate(value):
            if type(item) is not dict:
                continue
            if "type" in item:
                word = item["type"]
                if not (type(word) is str and word in words):
                    _vocabulary(kind, word, (key, index, "type"), out)
            if role in item:
                name = item[role]
                if not (type(name) is str and (name in _KNOWN or _recurring(name))):
                    _identifier(name, (key, index, role), out)
    return check


def _error_declaration(value: object, key: str, out: list[Fault]) -> None:
    if type(value) is dict:
        if "declarationTime" in value:
            _time(value["declarationTime"], (key, "declarationTime"), out)
        if "reason" in value:
            _vocabulary("errorReason", value["reason"], (key, "reason"), out)


_SENSOR_TIMES = ("time", "startTime", "endTime")
_SENSOR_VOCABULARIES = (("type", "measurementType"), ("exception", "sensorAlertType"),
                        ("component", "component"))


def _sensor_elements(value: object, key: str, out: list[Fault]) -> None:
    if type(value) is not list:
        return
    for index, element in enumerate(value):
        if type(element) is not dict:
            continue
        metadata = element.get("sensorMetadata")
        if type(metadata) is dict:
            for name in _SENSOR_TIMES:
                if name in metadata:
                    _time(metadata[name], (key, index, "sensorMetadata", name), out)
        reports = element.get("sensorReport")
        for number, report in enumerate(reports if type(reports) is list else ()):
            if type(report) is not dict:
                continue
            where = (key, index, "sensorReport", number)
            for name in _SENSOR_TIMES:
                if name in report:
                    _time(report[name], (*where, name), out)
            for name, kind in _SENSOR_VOCABULARIES:
                if name in report:
                    _vocabulary(kind, report[name], (*where, name), out)


_FIELDS = {
    "eventTime": _time_member, "recordTime": _time_member,
    "epcList": _epcs, "childEPCs": _epcs, "inputEPCList": _epcs, "outputEPCList": _epcs,
    "parentID": _identifier_member,
    "quantityList": _quantities, "childQuantityList": _quantities,
    "inputQuantityList": _quantities, "outputQuantityList": _quantities,
    "readPoint": _place, "bizLocation": _place,
    "bizStep": _vocabulary_member("bizStep"),
    "disposition": _vocabulary_member("disposition"),
    "persistentDisposition": _persistent,
    "bizTransactionList": _typed_list("bizTransactionType", "bizTransaction"),
    "sourceList": _typed_list("sourceDestType", "source"),
    "destinationList": _typed_list("sourceDestType", "destination"),
    "errorDeclaration": _error_declaration,
    "sensorElementList": _sensor_elements,
}


# ---- events and documents ----

def event_faults(event: object) -> list[Fault]:
    """The faults of one event in JSON-LD form (none for a non-object: the schema's)."""
    if type(event) is not dict:
        return []
    out: list[Fault] = []
    kind = event.get("type")
    if type(kind) is str and kind not in EVENT_TYPES:
        out.append((("type",), EVENT_TYPE_RULE,
                    f"{_show(kind)} is not an EPCIS 2.0 event type (one of {_TYPES})"))
    fields = _FIELDS
    for key, value in event.items():
        check = fields.get(key)
        if check is not None:
            check(value, key, out)
    return out


def _placed(faults: list[Fault], prefix: list) -> list[Problem]:
    return [Problem(pointer([*prefix, *path]), rule, message) for path, rule, message in faults]


def event_problems(event: object, prefix: list) -> list[Problem]:
    """The problems of one event found at `prefix` (a list of keys and indices)."""
    faults = event_faults(event)
    return _placed(faults, prefix) if faults else []


def events_problems(events: list, path: list, first_index: int) -> list[Problem]:
    """The problems of a run of consecutive events, the first at path + [first_index]."""
    problems: list[Problem] = []
    for offset, event in enumerate(events):
        faults = event_faults(event)
        if faults:
            problems.extend(_placed(faults, [*path, first_index + offset]))
    return problems


def header_faults(doc: object) -> list[Fault]:
    """The faults of a document's own members (its creationDate), whatever its syntax."""
    when = doc.get("creationDate") if type(doc) is dict else None
    if when is None or (type(when) is str and _good_time(when)):
        return []
    out: list[Fault] = []
    _time(when, ("creationDate",), out)
    return out


def context_faults(doc: object) -> list[Fault]:
    """A JSON-LD document's @context must name the EPCIS 2.0 context (a missing one is the
    schema's to report)."""
    if type(doc) is not dict or "@context" not in doc:
        return []
    context = doc["@context"]
    for entry in context if type(context) is list else (context,):
        if type(entry) is str and entry in EPCIS_CONTEXTS:
            return []
    return [(("@context",), CONTEXT_RULE, _NO_CONTEXT)]


def shell_problems(doc: object) -> list[Problem]:
    """The problems of a JSON document's own members (its events are checked apart). A lone
    event, which the schema's root accepts too, is checked as an event."""
    faults = context_faults(doc) + header_faults(doc)
    if type(doc) is dict and type(doc.get("type")) is str and doc["type"] not in DOCUMENT_TYPES:
        faults += event_faults(doc)
    return _placed(faults, []) if faults else []


def document_problems(doc: object, event_path: list | None) -> list[Problem]:
    """Every problem of a whole JSON document whose events are at `event_path` (if any)."""
    problems = shell_problems(doc)
    if event_path is not None:
        holder = doc
        for key in event_path:
            holder = holder[key]  # type: ignore[index]
        problems.extend(events_problems(holder, event_path, 0))  # type: ignore[arg-type]
    return problems


# ---- XML: the same rules on the JSON-LD form, named at their XML line ----

def _located(element: etree._Element, path: tuple, prefix: list, rule: str,
             message: str) -> Problem:
    found = xml_read.element_at(element, path)
    return Problem(pointer([*prefix, *path]), rule,
                   f"{message} (XML: <{xml_read.local(found)}> at line {found.sourceline})")


def xml_event_problems(event: dict, element: etree._Element, prefix: list) -> list[Problem]:
    """The problems of an XML event element converted to `event` (xml_read.event_from_xml),
    found at `prefix` in the JSON-LD form of its document."""
    return [_located(element, path, prefix, rule, message)
            for path, rule, message in event_faults(event)]


def xml_header_problems(header: dict, root: etree._Element) -> list[Problem]:
    """The problems of an XML document's own members (`header`: xml_read.header_from_xml)."""
    return [_located(root, path, [], rule, message)
            for path, rule, message in header_faults(header)]
