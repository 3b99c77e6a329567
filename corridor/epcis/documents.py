"""EPCIS 2.0 documents: read (JSON-LD or XML), validate, stream events, convert.

Events are always handed out in EPCIS 2.0 JSON-LD form, exactly as the standard's JSON examples
write them, whichever syntax the document came in.
"""

from __future__ import annotations

import copy
import io
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import BinaryIO

import orjson
from lxml import etree

from corridor.epcis import rules, safe_xml, streaming, validation, xml_read, xml_write
from corridor.epcis.jsonld import context_namespaces, load_json
from corridor.epcis.problems import EpcisError, Problem

STREAM_FROM = 8 * 1024 * 1024  # validate_bytes streams documents larger than this
KINDS = ("EPCISDocument", "EPCISQueryDocument", "EPCISMasterDataDocument")

__all__ = [
    "EpcisDocument",
    "context_namespaces",
    "iter_events",
    "read_document",
    "read_document_reporting",
    "sniff_media_type",
    "to_jsonld",
    "to_xml",
    "validate_bytes",
]


@dataclass
class EpcisDocument:
    kind: str  # "EPCISDocument" | "EPCISQueryDocument" | "EPCISMasterDataDocument"
    header: dict  # document fields other than the events, JSON-LD form
    events: list[dict]  # each event in EPCIS 2.0 JSON-LD form
    namespaces: dict[str, str] = field(default_factory=dict)  # prefix -> namespace IRI
    # An XML document's vocabulary elements: their lines, by JSON pointer in the JSON-LD form
    # (xml_read.vocabulary_element_lines), for problems found in its master data
    lines: dict[str, int] = field(default_factory=dict, compare=False, repr=False)


def sniff_media_type(data: bytes, media_type: str | None = None) -> str:
    """"json" or "xml", from the media type when given, else from the first significant byte."""
    if media_type:
        lowered = media_type.lower()
        if "json" in lowered:
            return "json"
        if "xml" in lowered:
            return "xml"
    head = data[:64].lstrip(b"\xef\xbb\xbf \t\r\n")
    if head.startswith((b"\xff\xfe", b"\xfe\xff")) or head[:1] == b"<":
        return "xml"
    return "json"


# ---- reading ----

def read_document(data: bytes, media_type: str | None = None, *, validate: bool = True,
                  max_bytes: int | None = None) -> EpcisDocument:
    """Parse a whole document. Raises EpcisError listing every problem found."""
    if isinstance(data, str):
        data = data.encode("utf-8")
    if sniff_media_type(data, media_type) == "xml":
        return _read_xml(data, validate, max_bytes)
    return _read_json(data, validate, max_bytes)


def _read_json(data: bytes, validate: bool, max_bytes: int | None) -> EpcisDocument:
    limit = safe_xml.limit_of(max_bytes)
    if len(data) > limit:
        raise safe_xml.too_large(limit)
    doc = load_json(data)
    if validate:
        check_json_document(doc, data)
    return split_json_document(doc)


def read_document_reporting(data: bytes, media_type: str | None = None, *,
                            max_bytes: int | None = None) -> tuple[EpcisDocument, list[Problem]]:
    """Parse a whole document and validate it once, returning its problems instead of raising
    them (as the GS1 reference hash generator does, which reads documents that are not valid).
    Raises EpcisError only where reading cannot go on: input that does not parse, no EPCIS
    document (JSON: no event list), or a faulty document whose form is beyond conversion."""
    if isinstance(data, str):
        data = data.encode("utf-8")
    if sniff_media_type(data, media_type) == "xml":
        root = safe_xml.parse_bytes(data, max_bytes)
        problems = validation.validate_xml_tree(root)
        doc = _read_faulty(document_from_xml, root, problems)
        return doc, problems or xml_content_problems(root, doc)
    limit = safe_xml.limit_of(max_bytes)
    if len(data) > limit:
        raise safe_xml.too_large(limit)
    parsed = load_json(data)
    problems = validation.validate_json_document(parsed, data) + validation.nul_problems(
        parsed, data)
    return _read_faulty(split_json_document, parsed, problems), problems


def _read_faulty(read: Callable[[object], EpcisDocument], source: object,
                 problems: list[Problem]) -> EpcisDocument:
    """read(source); where a document with problems is beyond it, those problems are why."""
    try:
        return read(source)
    except EpcisError:
        raise
    except (ValueError, TypeError, KeyError, AttributeError, IndexError):
        if not problems:
            raise
        raise EpcisError(problems) from None


def check_json_document(doc: object, data: bytes) -> None:
    """Raise EpcisError listing every problem of a parsed JSON document (schema, U+0000);
    `data` holds the text its strings came from, for the quick U+0000 test."""
    problems = validation.validate_json_document(doc, data) + validation.nul_problems(doc, data)
    if problems:
        raise EpcisError(problems)


def split_json_document(doc: object) -> EpcisDocument:
    """An already-parsed JSON document as an EpcisDocument (structure checked, not schema)."""
    if not isinstance(doc, dict):
        raise EpcisError([Problem("/", "epcis-document", "a document must be a JSON object")])
    kind = doc.get("type")
    if kind == "EPCISMasterDataDocument":  # vocabularies only: the header is the document
        return EpcisDocument(kind, dict(doc), [], context_namespaces(doc.get("@context")))
    if kind not in ("EPCISDocument", "EPCISQueryDocument"):
        raise EpcisError([Problem("/type", "epcis-document",
                                  f"type must be one of {', '.join(KINDS)}, not {kind!r}")])
    path = validation.event_list_path(doc)
    if path is None:
        where = "/epcisBody/eventList" if kind == "EPCISDocument" \
            else "/epcisBody/queryResults/resultsBody/eventList"
        raise EpcisError([Problem(where, "json-schema:required", "the event list is missing")])
    header = dict(doc)
    node, holder = header, header
    for key in path[:-1]:  # copy the path down to the event list, leave the events out
        holder = dict(node[key])
        node[key] = holder
        node = holder
    events = holder.pop("eventList")
    bad = [i for i, e in enumerate(events) if not isinstance(e, dict)]
    if bad:
        raise EpcisError([Problem("/" + "/".join(path) + f"/{i}", "json-schema:type",
                                  "an event must be a JSON object") for i in bad])
    return EpcisDocument(kind, header, events, context_namespaces(doc.get("@context")))


def _read_xml(data: bytes, validate: bool, max_bytes: int | None) -> EpcisDocument:
    root = safe_xml.parse_bytes(data, max_bytes)
    if validate:
        problems = validation.validate_xml_tree(root)
        if problems:
            raise EpcisError(problems)
    doc = document_from_xml(root)
    if validate:
        problems = xml_content_problems(root, doc)
        if problems:
            raise EpcisError(problems)
    return doc


def xml_content_problems(root: etree._Element, doc: EpcisDocument) -> list[Problem]:
    """The size limits of JSON documents (validation.limit_problems) and the standard's
    rules (corridor.epcis.rules) applied to an XML document's JSON-LD form: located by the
    JSON pointer of that form (so that a faulty event is that event's problem) and the XML
    line of the event (of the element at fault, for a rule)."""
    problems = validation.limit_problems(doc.header, [])
    problems += rules.xml_header_problems(doc.header, root)
    if doc.events:
        path = (["epcisBody", "queryResults", "resultsBody", "eventList"]
                if doc.kind == "EPCISQueryDocument" else ["epcisBody", "eventList"])
        elements = xml_read.events_in(xml_read.event_list_of(root))
        for index, (event, element) in enumerate(zip(doc.events, elements, strict=False)):
            problems.extend(Problem(p.location, p.rule, f"{p.message} (XML: the"
                                    f" <{xml_read.local(element)}> at line"
                                    f" {element.sourceline})")
                            for p in validation.limit_problems(event, [*path, index]))
            problems.extend(rules.xml_event_problems(event, element, [*path, index]))
    return problems


def document_from_xml(root: etree._Element) -> EpcisDocument:
    kind = xml_read.local(root)
    if kind not in KINDS:
        raise EpcisError([Problem(f"line {root.sourceline}, element <{kind}>", "epcis-root",
                                  f"<{kind}> is not an EPCIS document")])
    ns = xml_read.Namespaces()
    header = xml_read.header_from_xml(root, ns)
    events: list[dict] = []
    event_list = xml_read.event_list_of(root)
    if event_list is not None:
        events = [xml_read.event_from_xml(e, ns) for e in xml_read.events_in(event_list)]
    namespaces = dict(ns.by_prefix)
    lines = xml_read.vocabulary_element_lines(root) \
        if "epcisHeader" in header or kind == "EPCISMasterDataDocument" else {}
    header = {"@context": xml_read.context_for(namespaces), **header}
    return EpcisDocument(kind, header, events, namespaces, lines)


# ---- validation ----

def validate_bytes(data: bytes, media_type: str | None = None, *,
                   max_bytes: int | None = None) -> list[Problem]:
    """Every problem of a document (empty list when it is valid).

    Documents over STREAM_FROM bytes are checked as a stream, so that their parsed form is
    never held whole; that check stops at the first faulty run of events."""
    if isinstance(data, str):
        data = data.encode("utf-8")
    syntax = sniff_media_type(data, media_type)
    try:
        limit = safe_xml.limit_of(max_bytes)
        if len(data) > limit:
            raise safe_xml.too_large(limit)
        if len(data) > STREAM_FROM:
            streaming.check_stream(io.BytesIO(data), syntax, max_bytes=limit)
            return []
        if syntax == "xml":
            root = safe_xml.parse_bytes(data, limit)
            problems = validation.validate_xml_tree(root)
            if problems or xml_read.local(root) not in KINDS:
                return problems
            return xml_content_problems(root, document_from_xml(root))
        doc = load_json(data)
        problems = validation.validate_json_document(doc, data)
        return problems + validation.nul_problems(doc, data)
    except EpcisError as exc:
        return list(exc.problems)


# ---- streaming ----

def iter_events(stream: BinaryIO, media_type: str | None = None, *, validate: bool = True,
                max_bytes: int | None = None,
                report: Callable[[list[Problem]], None] | None = None,
                ) -> Iterator[tuple[dict, dict[str, str]]]:
    """Yield (event, namespaces) one at a time without holding the whole document.

    XML streams through a safe incremental parser that drops each event once converted; JSON
    through json_stream (the C `json` scanner on one value at a time). With `validate`, JSON
    events are checked in batches of 256 against the schema's event definition (the rest of
    the document at the end) and XML against the XSD while parsing; the first fault raises
    EpcisError, after the events before it have been yielded. With `report` (and `validate`),
    problems go to that callback instead and reading goes on (streaming's module docstring
    says where it still raises). A seekable stream whose size is over the limit is refused
    before anything is read."""
    limit = safe_xml.limit_of(max_bytes)
    size = _remaining_size(stream)
    if size is not None and size > limit:
        raise safe_xml.too_large(limit)  # known too large: refuse before reading anything
    peek = _Peekable(stream)
    if sniff_media_type(peek.head(64), media_type) == "xml":
        yield from streaming.iter_xml_events(peek, validate=validate, max_bytes=limit,
                                             report=report)
    else:
        yield from streaming.iter_json_events(peek, validate=validate, max_bytes=limit,
                                              report=report)


def _remaining_size(stream: BinaryIO) -> int | None:
    """Bytes left in a seekable stream (a file), or None when that cannot be known."""
    try:
        if not stream.seekable():
            return None
        here = stream.tell()
        end = stream.seek(0, 2)
        stream.seek(here)
        return end - here
    except (AttributeError, OSError, ValueError):
        return None


class _Peekable:
    """A binary stream whose first bytes can be looked at before parsing starts."""

    def __init__(self, stream: BinaryIO) -> None:
        self._stream = stream
        self._buffer = b""

    def head(self, size: int) -> bytes:
        while len(self._buffer) < size:
            chunk = self._stream.read(size - len(self._buffer))
            if not chunk:
                break
            self._buffer += chunk
        return self._buffer[:size]

    def read(self, size: int = -1) -> bytes:
        if self._buffer:
            if size is None or size < 0:
                data, self._buffer = self._buffer + self._stream.read(), b""
                return data
            data, self._buffer = self._buffer[:size], self._buffer[size:]
            return data
        return self._stream.read(size)


# ---- conversion ----

def to_jsonld(doc: EpcisDocument) -> dict:
    """The whole document as a JSON-LD dict (events put back where the kind keeps them)."""
    out = copy.deepcopy(doc.header)
    body = out.setdefault("epcisBody", {})
    if doc.kind == "EPCISQueryDocument":
        results = body.setdefault("queryResults", {})
        results.setdefault("resultsBody", {})["eventList"] = list(doc.events)
    elif doc.kind == "EPCISDocument":
        body["eventList"] = list(doc.events)
    return out


def to_json_bytes(doc: EpcisDocument) -> bytes:
    return orjson.dumps(to_jsonld(doc), option=orjson.OPT_INDENT_2)


def to_xml(doc: EpcisDocument) -> bytes:
    """The document in EPCIS 2.0 XML (event XSD order, CBV words as URNs)."""
    return xml_write.document_to_xml(doc)

