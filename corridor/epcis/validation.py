"""Validation against the normative schemas: the EPCIS 2.0 JSON schema and the XSDs.

JSON documents are checked in two parts with compiled `jsonschema_rs` validators: the document
shell (everything but the events) against the whole schema, then each event against the event
definition the schema applies to `eventList` items. That is the same verdict as validating the
whole document, but lets events be checked one at a time as they stream by.
"""

from __future__ import annotations

import threading
from functools import cache
from importlib import resources
from pathlib import Path

import jsonschema_rs
from lxml import etree

from corridor.epcis import vocab
from corridor.epcis.problems import Problem
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


def _pointer(path: list) -> str:
    """RFC 6901 JSON pointer of an instance path."""
    return "".join("/" + str(p).replace("~", "~0").replace("/", "~1") for p in path) or "/"


@cache
def document_validator() -> jsonschema_rs.Validator:
    return jsonschema_rs.Draft7Validator(vocab.json_schema(), **_FORMAT_OPTIONS)


@cache
def _event_schema() -> dict:
    schema = vocab.json_schema()
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
            message += _closest(schema or vocab.json_schema(), instance, prefix)
        problems.append(Problem(location, rule, message))
    return problems


def validate_event(event: object, pointer_prefix: list) -> list[Problem]:
    """Problems of one event in a document's eventList (located by `pointer_prefix`)."""
    return _problems(event_validator(), event, pointer_prefix, _event_schema())


def validate_shell(shell: object) -> list[Problem]:
    """Problems of a document whose eventList has been emptied (events checked separately)."""
    return _problems(document_validator(), shell, [])


@cache
def _events_validator() -> jsonschema_rs.Validator:
    schema = vocab.json_schema()
    array_schema = {"$schema": schema["$schema"], "definitions": schema["definitions"],
                    "type": "array", "items": {"$ref": "#/definitions/EPCIS-Document-Event"}}
    return jsonschema_rs.Draft7Validator(array_schema, **_FORMAT_OPTIONS)


def validate_events(events: list, path: list, first_index: int) -> list[Problem]:
    """Problems of a run of consecutive events (one call into the validator for the common
    all-valid case, which is much cheaper than one call per event)."""
    if _events_validator().is_valid(events):
        return []
    problems: list[Problem] = []
    for offset, event in enumerate(events):
        problems.extend(validate_event(event, path + [first_index + offset]))
    return problems


def validate_json_document(doc: object) -> list[Problem]:
    """Every problem of a whole JSON document."""
    if document_validator().is_valid(doc):
        return []  # the fast path: one pass over the whole document
    if not isinstance(doc, dict) or not isinstance(doc.get("type"), str):
        # without a type the schema tries every document and event shape and reports them
        # all; the one fault worth naming is the missing type
        where, what = ("/", "a document must be a JSON object") if not isinstance(doc, dict) \
            else ("/type", '"type" is required and must be a string (e.g. "EPCISDocument")')
        return [Problem(where, "json-schema:required" if isinstance(doc, dict)
                        else "json-schema:type", what)]
    events, path = _take_events(doc)
    problems = validate_shell(doc)
    if events is not None:
        _restore_events(doc, events)
        for index, event in enumerate(events):
            problems.extend(validate_event(event, path + [index]))
    return problems


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
