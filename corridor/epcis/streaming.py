"""Event-at-a-time reading of large documents (XML with a pull parser, JSON with json_stream).

Only one event (plus the small document header) is held at a time. JSON-LD may put @context
after the body; events met before it are buffered until it arrives, since their extension
prefixes cannot be resolved without it.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import BinaryIO

from lxml import etree

from corridor.epcis import safe_xml, validation, xml_read
from corridor.epcis.json_stream import JsonWalker
from corridor.epcis.jsonld import context_namespaces
from corridor.epcis.problems import EpcisError, Problem

MAX_EVENT_CHARS = 16 * 1024 * 1024  # the largest single value (event) read in one piece
_ROOT_NAME = re.compile(rb"<(?:[A-Za-z_][\w.-]*:)?(EPCIS[A-Za-z]+)[\s>/]")


# ---- XML ----

def _schema_for(head: bytes) -> etree.XMLSchema | None:
    match = _ROOT_NAME.search(head)
    filename = validation.XSD_FILES.get(match.group(1).decode()) if match else None
    return validation.xml_schema(filename) if filename else None


_EVENT_TAGS = tuple("{}" + name for name in xml_read.EVENT_TYPES)


def _in_event_list(element: etree._Element) -> bool:
    parent = element.getparent()
    if parent is None:
        return False
    if xml_read.is_event_list(parent):
        return True
    grand = parent.getparent()
    return (xml_read.local(parent) == "extension" and grand is not None
            and xml_read.is_event_list(grand))


def iter_xml_events(stream: BinaryIO, *, validate: bool = True, max_bytes: int | None = None,
                    ) -> Iterator[tuple[dict, dict[str, str]]]:
    """Stream XML events; with `validate`, the XSD checks the document as it is parsed."""
    schema = None
    if validate:
        head = stream.head(safe_xml.CHUNK) if hasattr(stream, "head") else b""
        schema = _schema_for(head)
        if schema is None:
            raise EpcisError([Problem("line 1", "epcis-root",
                                      "the root element is not an EPCIS document element")])
    ns = xml_read.Namespaces()
    for element in safe_xml.iter_end_elements(stream, _EVENT_TAGS, max_bytes, schema=schema):
        if not _in_event_list(element):
            continue  # an element that merely shares an event's name
        yield xml_read.event_from_xml(element, ns), dict(ns.by_prefix)
        parent = element.getparent()
        element.clear(keep_tail=False)
        while element.getprevious() is not None:
            del parent[0]


# ---- JSON ----

BATCH = 256  # events validated per call into the schema validator


class _JsonStream:
    """State of one streamed JSON document: events wait in a small batch for validation,
    and (when @context comes late) until the namespaces are known."""

    def __init__(self, validate: bool) -> None:
        self.validate = validate
        self.context_builder_value: object = None
        self.namespaces: dict[str, str] | None = None
        self.batch: list[object] = []
        self.batch_path = ""
        self.checked: list[dict] = []  # validated, waiting for the namespaces
        self.counts: dict[str, int] = {}

    def add_event(self, event: object, path: str) -> Iterator[tuple[dict, dict[str, str]]]:
        if self.batch and path != self.batch_path:
            yield from self.flush()
        self.batch_path = path
        self.batch.append(event)
        if len(self.batch) >= BATCH:
            yield from self.flush()

    def flush(self) -> Iterator[tuple[dict, dict[str, str]]]:
        """Validate the waiting batch, then hand its events out if the namespaces are known."""
        if self.batch:
            path = self.batch_path.split(".")
            first = self.counts.get(self.batch_path, 0)
            self.counts[self.batch_path] = first + len(self.batch)
            if self.validate:
                problems = validation.validate_events(self.batch, path, first)
            else:
                problems = [Problem("/" + "/".join(path) + f"/{first + i}", "json-schema:type",
                                    "an event must be a JSON object")
                            for i, e in enumerate(self.batch) if not isinstance(e, dict)]
            if problems:
                raise EpcisError(problems)
            self.checked.extend(self.batch)  # type: ignore[arg-type]
            self.batch = []
        if self.namespaces is not None:
            for event in self.checked:
                yield event, self.namespaces
            self.checked.clear()

    def context_done(self) -> Iterator[tuple[dict, dict[str, str]]]:
        self.namespaces = context_namespaces(self.context_builder_value)
        yield from self.flush()


def iter_json_events(stream: BinaryIO, *, validate: bool = True, max_bytes: int | None = None,
                     ) -> Iterator[tuple[dict, dict[str, str]]]:
    """Stream the events of a JSON-LD document; with `validate`, events are checked in batches
    against the schema's event definition and the rest of the document once it has been read."""
    limit = safe_xml.default_max_bytes() if max_bytes is None else max_bytes
    reader = safe_xml.LimitedReader(stream, limit)
    state = _JsonStream(validate)

    def on_event(path: tuple, event: object) -> Iterator[tuple[dict, dict[str, str]]]:
        return state.add_event(event, ".".join(path))

    def on_context(context: object) -> Iterator[tuple[dict, dict[str, str]]]:
        state.context_builder_value = context
        return state.context_done()

    walker = JsonWalker(reader, on_event, on_context, max_value=min(limit, MAX_EVENT_CHARS))
    yield from walker.walk()
    if state.namespaces is None:
        yield from state.context_done()
    yield from state.flush()
    if validate:
        problems = validation.validate_shell(walker.shell)
        if problems:
            raise EpcisError(problems)
