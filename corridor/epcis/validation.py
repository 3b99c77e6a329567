"""Validation against the normative schemas: the EPCIS 2.0 JSON schema and the XSDs.

JSON documents are checked in two parts with compiled `jsonschema_rs` validators: the document
shell (everything but the events) against the whole schema, then each event against the event
definition the schema applies to `eventList` items. That is the same verdict as validating the
whole document, but lets events be checked one at a time as they stream by.
"""

from __future__ import annotations

import copy
import json
import threading
from functools import cache
from importlib import resources
from pathlib import Path

import jsonschema_rs
from lxml import etree

from corridor.epcis import rules
from corridor.epcis.problems import Problem
from corridor.epcis.problems import pointer as _pointer
from corridor.epcis.safe_xml import xsd_location

SCHEMA_ID = "https://gs1.github.io/EPCIS/EPCIS-JSON-Schema.json"
XSD_FILES = {
    "EPCISDocument": "EPCglobal-epcis-2_0.xsd",
    "EPCISCaptureJob": "EPCglobal-epcis-2_0.xsd",
    "EPCISException": "EPCglobal-epcis-2_0.xsd",
    "EPCISQueryDocument": "EPCglobal-epcis-query-2_0.xsd",
    "EPCISMasterDataDocument": "EPCglobal-epcis-masterdata-2_0.xsd",
}


# Draft 7 leaves `format` to the implementation; the official verdict (and the GS1 examples,
# e.g. "id": "_:document1") treats it as an annotation, so Corridor does too.
_FORMAT_OPTIONS = {"validate_formats": False}


@cache
def json_schema() -> dict:
    """The official EPCIS 2.0 JSON schema shipped in corridor/epcis/data."""
    text = resources.files("corridor.epcis").joinpath("data/EPCIS-JSON-Schema.json").read_text(
        encoding="utf-8")
    return json.loads(text)


@cache
def document_validator() -> jsonschema_rs.Validator:
    return jsonschema_rs.Draft7Validator(json_schema(), **_FORMAT_OPTIONS)


MASTER_DATA_DOCUMENT = "EPCISMasterDataDocument"


@cache
def master_data_schema() -> dict:
    """The schema of a JSON EPCISMasterDataDocument, which the official JSON schema does not
    define (the XML binding has its own XSD): the schema's EPCISDocument shell with that
    type, vocabularies in the header's `epcisMasterData` and/or in `epcisBody.vocabularyList`
    (where the XML binding and `corridor convert` put them), and no events."""
    schema = json_schema()
    shell = copy.deepcopy(schema["definitions"]["epcisDocument"])
    shell["properties"]["type"] = {"type": "string", "enum": [MASTER_DATA_DOCUMENT]}
    shell["properties"]["epcisBody"] = {
        "type": "object",
        "properties": {"vocabularyList": {"$ref": "#/definitions/vocabularyList"},
                       "eventList": False}}  # a master data document carries no events
    shell["required"] = [name for name in shell["required"] if name != "epcisBody"]
    return {"$schema": schema["$schema"], "definitions": schema["definitions"], **shell}


@cache
def master_data_validator() -> jsonschema_rs.Validator:
    return jsonschema_rs.Draft7Validator(master_data_schema(), **_FORMAT_OPTIONS)


def _shell_schema(doc: object) -> tuple[jsonschema_rs.Validator, dict]:
    """The validator of a whole document (and its schema), by the document's type."""
    if type(doc) is dict and doc.get("type") == MASTER_DATA_DOCUMENT:
        return master_data_validator(), master_data_schema()
    return document_validator(), json_schema()


@cache
def _event_schema() -> dict:
    schema = json_schema()
    return {"$schema": schema["$schema"], "definitions": schema["definitions"],
            "$ref": "#/definitions/EPCIS-Document-Event"}


@cache
def event_validator() -> jsonschema_rs.Validator:
    return jsonschema_rs.Draft7Validator(_event_schema(), **_FORMAT_OPTIONS)


def _rule(error: jsonschema_rs.ValidationError) -> str:
    keyword = next((p for p in reversed(error.schema_path) if isinstance(p, str)), "schema")
    return f"json-schema:{keyword}"


def _short(message: str, limit: int = 160) -> str:
    return message if len(message) <= limit else message[: limit - 3] + "..."


def _leaf_message(error) -> str:
    if isinstance(error.instance, (dict, list)):
        where = "/".join(str(p) for p in list(error.schema_path)[-3:])
        if error.validator == "not":
            return f"not allowed here ({where})"
        return f"fails '{error.validator}' ({where})"
    return _short(error.message, 120)


def _closest(schema: dict, instance: object, prefix: list) -> str:
    """For anyOf/oneOf failures, the specific reasons (leaves of the Python `jsonschema`
    package's best match), since "not valid under any of the schemas" names no field."""
    import jsonschema
    from jsonschema.exceptions import best_match

    best = best_match(jsonschema.Draft7Validator(schema).iter_errors(instance))
    if best is None:
        return ""
    leaves: list[str] = []
    stack = [best]
    while stack and len(leaves) < 3:
        error = stack.pop(0)
        if error.context:
            stack.extend(error.context)
            continue
        text = f"{_pointer(prefix + list(error.absolute_path))}: {_leaf_message(error)}"
        if text not in leaves:
            leaves.append(text)
    return "; closest reasons: " + "; ".join(leaves) if leaves else ""


def _problems(validator: jsonschema_rs.Validator, instance: object, prefix: list,
              schema: dict | None = None) -> list[Problem]:
    if validator.is_valid(instance):
        return []
    problems = []
    seen: set[tuple[str, str]] = set()
    explained = False
    for error in validator.iter_errors(instance):
        location = _pointer(prefix + list(error.instance_path))
        key = (location, error.message)
        if key in seen:
            continue
        seen.add(key)
        rule = _rule(error)
        message = _short(error.message)
        if rule in ("json-schema:anyOf", "json-schema:oneOf") and not explained:
            explained = True  # one explanation per instance keeps this off the hot path
            message += _closest(schema or json_schema(), instance, prefix)
        problems.append(Problem(location, rule, message))
    return problems


def validate_event(event: object, pointer_prefix: list) -> list[Problem]:
    """Problems of one event in a document's eventList (located by `pointer_prefix`): its
    size limits, else its schema (not run on an over-deep event) and the standard's rules."""
    return (limit_problems(event, pointer_prefix)
            or _problems(event_validator(), event, pointer_prefix, _event_schema())
            + rules.event_problems(event, pointer_prefix))


def validate_shell(shell: object) -> list[Problem]:
    """Problems of a document whose eventList has been emptied (events checked separately)."""
    validator, schema = _shell_schema(shell)
    return limit_problems(shell, []) or (_problems(validator, shell, [], schema)
                                         + rules.shell_problems(shell))


@cache
def _events_validator() -> jsonschema_rs.Validator:
    schema = json_schema()
    array_schema = {"$schema": schema["$schema"], "definitions": schema["definitions"],
                    "type": "array", "items": {"$ref": "#/definitions/EPCIS-Document-Event"}}
    return jsonschema_rs.Draft7Validator(array_schema, **_FORMAT_OPTIONS)


def validate_events(events: list, path: list, first_index: int) -> list[Problem]:
    """Problems of a run of consecutive events (one call into the validator for the common
    all-valid case, which is much cheaper than one call per event)."""
    within = not any(limit_problems(event, path + [first_index + offset])
                     for offset, event in enumerate(events))
    if within and _events_validator().is_valid(events):
        return rules.events_problems(events, path, first_index)
    problems: list[Problem] = []
    for offset, event in enumerate(events):
        problems.extend(validate_event(event, path + [first_index + offset]))
    return problems


def validate_json_document(doc: object, data: bytes | None = None) -> list[Problem]:
    """Every problem of a whole JSON document (`data`: the text it was parsed from, if at
    hand: a short one is not walked for the size limits). An event or a shell over the size
    limits is not checked against the schema (whose validator would recurse through it)."""
    limits = document_limit_problems(doc, data)
    if not limits and _shell_schema(doc)[0].is_valid(doc):
        # the fast path: one pass over the whole document, then the standard's rules
        return rules.document_problems(doc, event_list_path(doc))
    if not isinstance(doc, dict) or not isinstance(doc.get("type"), str):
        # without a type the schema tries every document and event shape and reports them
        # all; the one fault worth naming is the missing type
        where, what = ("/", "a document must be a JSON object") if not isinstance(doc, dict) \
            else ("/type", '"type" is required and must be a string (e.g. "EPCISDocument")')
        return [Problem(where, "json-schema:required" if isinstance(doc, dict)
                        else "json-schema:type", what), *limits]
    events, path = _take_events(doc)
    problems = validate_shell(doc)
    if events is not None:
        _restore_events(doc, events)
        for index, event in enumerate(events):
            problems.extend(validate_event(event, path + [index]))
    return problems


# ---- size limits of values (docs/capture.md, "Limits on what is accepted") ----

MAX_DEPTH = 64  # objects and arrays nested in an event (the event is level 1) or a document
MAX_STRING = 65_536  # characters of any string value
MAX_IDENTIFIER = 2_048  # characters of a member name and of an IDENTIFIER_MEMBERS value
# Members whose value is (or, for IDENTIFIER_LISTS, lists) an identifier, a URI, a code or a
# time: EPCs and classes, event IDs, locations, parties, transactions, vocabulary words.
IDENTIFIER_MEMBERS = frozenset({
    "eventID", "parentID", "epcClass", "transformationID", "id", "bizTransaction", "source",
    "destination", "bizStep", "disposition", "action", "type", "uom", "reason", "exception",
    "component", "deviceID", "deviceMetadata", "rawData", "dataProcessingMethod", "bizRules",
    "microorganism", "chemicalSubstance", "uriValue", "coordinateReferenceSystem",
    "certificationInfo", "eventTime", "recordTime", "eventTimeZoneOffset", "declarationTime",
    "time", "startTime", "endTime"})
IDENTIFIER_LISTS = frozenset({"epcList", "childEPCs", "inputEPCList", "outputEPCList",
                              "correctiveEventIDs", "set", "unset", "certificationInfo"})
LIMIT_RULE = "limit"
_LIMIT_PROBLEMS = 100
# a walk node: (value, depth, parent node, key or index in the parent)
_Node = tuple


def _node_pointer(prefix: list, node: _Node | None, last: object = None) -> str:
    path: list = [] if last is None else [last]
    while node is not None and node[2] is not None:
        path.append(node[3])
        node = node[2]
    return _pointer(prefix + path[::-1])


def limit_problems(value: object, prefix: list, events: object = None) -> list[Problem]:
    """Where `value` (found at `prefix`) breaks the size limits: objects and arrays nested
    deeper than MAX_DEPTH, a member name longer than MAX_IDENTIFIER, a string longer than
    MAX_STRING, or longer than MAX_IDENTIFIER in an identifier member. `events`, the
    document's event list if any: each event in it counts its depth from 1 again.
    One pass without recursion (any depth is safe); pointers are built only for problems."""
    problems: list[Problem] = []
    stack: list[_Node] = [(value, 1, None, None)]
    pop, push = stack.pop, stack.append
    while stack:
        node = pop()
        item, depth = node[0], node[1]
        if depth > MAX_DEPTH:
            problems.append(Problem(_node_pointer(prefix, node), f"{LIMIT_RULE}:depth",
                                    f"objects and arrays nest deeper than {MAX_DEPTH} levels"))
            if len(problems) >= _LIMIT_PROBLEMS:
                break
            continue
        if type(item) is dict:
            for key, inner in item.items():
                kind = type(inner)
                if len(key) > MAX_IDENTIFIER:
                    problems.append(Problem(
                        _node_pointer(prefix, node), f"{LIMIT_RULE}:name",
                        f"a member name of {len(key)} characters (at most {MAX_IDENTIFIER})"))
                elif kind is str:
                    if len(inner) > MAX_IDENTIFIER and (
                            key in IDENTIFIER_MEMBERS or len(inner) > MAX_STRING):
                        problems.append(_too_long(prefix, node, key, inner))
                elif kind is dict or kind is list:
                    push((inner, 0 if inner is events else depth + 1, node, key))
        elif type(item) is list:
            listed = node[3] in IDENTIFIER_LISTS
            for index, inner in enumerate(item):
                kind = type(inner)
                if kind is str:
                    if len(inner) > MAX_IDENTIFIER and (listed or len(inner) > MAX_STRING):
                        problems.append(_too_long(prefix, node, index, inner, listed))
                elif kind is dict or kind is list:
                    push((inner, depth + 1, node, index))
        if len(problems) >= _LIMIT_PROBLEMS:
            break
    return problems


def _too_long(prefix: list, node: _Node, key: object, text: str,
              listed: bool = False) -> Problem:
    identifier = listed or key in IDENTIFIER_MEMBERS
    limit = MAX_IDENTIFIER if identifier else MAX_STRING
    what = "an identifier" if identifier else "a string"
    return Problem(_node_pointer(prefix, node, key), f"{LIMIT_RULE}:length",
                   f"{what} of {len(text)} characters (at most {limit})")


def document_limit_problems(doc: object, data: bytes | None = None) -> list[Problem]:
    """limit_problems of a whole JSON document, each event counting its depth from 1.
    `data`, the JSON text it was parsed from: too short to break any limit, it is not walked
    (a single small event, the most frequent capture)."""
    if data is not None and len(data) <= MAX_IDENTIFIER and \
            data.count(b"{") + data.count(b"[") <= MAX_DEPTH:
        return []
    path = event_list_path(doc)
    events = _container(doc, path)["eventList"] if path else None  # type: ignore[arg-type]
    return limit_problems(doc, [], events)


NUL_RULE = "json-string:nul"
_NUL_LIMIT = 100


def nul_problems(doc: object, data: bytes) -> list[Problem]:
    """Each string (key or value) of `doc`, parsed from the JSON `data`, holding U+0000,
    which the schema allows but XML cannot carry and PostgreSQL cannot store: refused on
    every database alike. At most _NUL_LIMIT. The walk runs only when the text has the
    escape (an escaped backslash before "u0000" matches too), which is rare."""
    if b"\\u0000" not in data:
        return []
    problems: list[Problem] = []
    stack: list[tuple[list, object]] = [([], doc)]  # popped in document order
    while stack and len(problems) < _NUL_LIMIT:
        path, value = stack.pop()
        if path and isinstance(path[-1], str) and "\x00" in path[-1]:
            problems.append(Problem(_pointer(path), NUL_RULE,
                                    "U+0000 (NUL) is not allowed in a key"))
        if isinstance(value, str):
            if "\x00" in value:
                problems.append(Problem(_pointer(path), NUL_RULE,
                                        "U+0000 (NUL) is not allowed in a string"))
        elif isinstance(value, dict):
            stack.extend((path + [key], item) for key, item in reversed(value.items()))
        elif isinstance(value, list):
            stack.extend((path + [i], item) for i, item in reversed(list(enumerate(value))))
    return problems


def event_list_path(doc: object) -> list | None:
    """Where a document keeps its events, if it has an event list."""
    if not isinstance(doc, dict):
        return None
    body = doc.get("epcisBody")
    if not isinstance(body, dict):
        return None
    if doc.get("type") == "EPCISQueryDocument":
        results = body.get("queryResults")
        rbody = results.get("resultsBody") if isinstance(results, dict) else None
        if isinstance(rbody, dict) and isinstance(rbody.get("eventList"), list):
            return ["epcisBody", "queryResults", "resultsBody", "eventList"]
        return None
    if doc.get("type") == "EPCISDocument" and isinstance(body.get("eventList"), list):
        return ["epcisBody", "eventList"]
    return None


def _container(doc: dict, path: list) -> dict:
    node = doc
    for key in path[:-1]:
        node = node[key]
    return node


def _take_events(doc: object) -> tuple[list | None, list]:
    path = event_list_path(doc)
    if path is None:
        return None, []
    holder = _container(doc, path)  # type: ignore[arg-type]
    events = holder["eventList"]
    holder["eventList"] = []
    return events, path


def _restore_events(doc: dict, events: list) -> None:
    path = event_list_path(doc)
    if path is not None:
        _container(doc, path)["eventList"] = events


# ---- XML ----

def _data_dir() -> Path:
    return Path(str(resources.files("corridor.epcis").joinpath("data")))


_per_thread = threading.local()


def xml_schema(filename: str) -> etree.XMLSchema:
    """A compiled XSD from the package data (imports resolve to sibling files, no network).
    One per thread: an lxml XMLSchema keeps its error log on the object, so concurrent
    validations (a threaded server) must not share one."""
    schemas = getattr(_per_thread, "schemas", None)
    if schemas is None:
        schemas = _per_thread.schemas = {}
    schema = schemas.get(filename)
    if schema is None:
        parser = etree.XMLParser(no_network=True, resolve_entities=False)
        schema = schemas[filename] = etree.XMLSchema(
            etree.parse(str(_data_dir() / filename), parser))
    return schema


def validate_xml_tree(root: etree._Element) -> list[Problem]:
    """Problems of a parsed XML document against the XSD its root element calls for."""
    name = etree.QName(root).localname
    filename = XSD_FILES.get(name)
    if filename is None:
        return [Problem(f"line {root.sourceline}, element <{name}>", "epcis-root",
                        f"<{name}> is not an EPCIS document element (expected one of "
                        f"{', '.join(sorted(XSD_FILES))})")]
    schema = xml_schema(filename)
    if schema.validate(root):
        return []
    return [Problem(xsd_location(e), f"xsd:{e.type_name}", e.message) for e in schema.error_log]
