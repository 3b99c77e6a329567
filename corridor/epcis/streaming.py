"""Event-at-a-time reading of large documents (XML with a pull parser, JSON with json_stream).

Only one event (plus the small document header) is held at a time. JSON-LD may put @context
after the body; events met before it are buffered until it arrives, since their extension
prefixes cannot be resolved without it.

With `report`, a validating reader hands the problems it finds to that callback and goes on
(the events are still converted and handed out, as the GS1 reference hash generator reads
them); it raises only where it cannot go on: input that does not parse, or no EPCIS document.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Callable, Iterator
from copy import deepcopy
from typing import BinaryIO

from lxml import etree

from corridor.epcis import rules, safe_xml, validation, xml_read
from corridor.epcis.json_stream import JsonWalker
from corridor.epcis.jsonld import context_namespaces
from corridor.epcis.problems import EpcisError, Problem

MAX_EVENT_CHARS = 16 * 1024 * 1024  # the largest single value (event) read in one piece
_ROOT_NAME = re.compile(rb"<(?:[A-Za-z_][\w.-]*:)?(EPCIS[A-Za-z]+)[\s>/]")


# ---- XML ----

def _head(stream: BinaryIO) -> bytes:
    """The first bytes of a stream, left in place for the parser."""
    if hasattr(stream, "head"):
        return stream.head(safe_xml.CHUNK)
    position = stream.tell()
    head = stream.read(safe_xml.CHUNK)
    stream.seek(position)
    return head


def _schema_for(head: bytes) -> etree.XMLSchema | None:
    match = _ROOT_NAME.search(head)
    filename = validation.XSD_FILES.get(match.group(1).decode()) if match else None
    return validation.xml_schema(filename) if filename else None


_EVENT_TAGS = tuple("{}" + name for name in xml_read.EVENT_TYPES)
_EVENT_NAMES = frozenset(xml_read.EVENT_TYPES)


def _in_event_list(element: etree._Element) -> bool:
    parent = element.getparent()
    if parent is None:
        return False
    if xml_read.is_event_list(parent):
        return True
    grand = parent.getparent()
    return (xml_read.local(parent) == "extension" and grand is not None
            and xml_read.is_event_list(grand))


BATCH = 256  # events validated per call into a schema validator
Report = Callable[[list[Problem]], None]  # takes the problems of a lenient read


def _fault(problems: list[Problem], report: Report | None) -> None:
    """Problems found by validation: raised, or handed to `report` to read on."""
    if report is None:
        raise EpcisError(problems)
    report(problems)


def _skeleton(event: etree._Element) -> etree._Element:
    """A copy of the document around `event` with an empty event list: every ancestor of the
    event list with the (complete) elements before it, e.g. the header, but no events. Events
    placed in its event list can be validated against the XSD as a real document, and keep
    their source line numbers for the problems found."""
    chain = []
    node = event.getparent()
    while node is not None and not xml_read.is_event_list(node):
        node = node.getparent()  # a 1.x `extension` wrapper inside the EventList
    while node is not None:
        chain.append(node)
        node = node.getparent()
    chain.reverse()  # root ... EventList
    top = copy = etree.Element(chain[0].tag, attrib=dict(chain[0].attrib), nsmap=chain[0].nsmap)
    copy.sourceline = chain[0].sourceline
    for original, following in itertools.pairwise(chain):
        for sibling in original:
            if sibling is following:
                break
            copy.append(deepcopy(sibling))
        inner = etree.SubElement(copy, following.tag, attrib=dict(following.attrib))
        inner.sourceline = following.sourceline
        copy = inner
    return top


def _event_list_of(skeleton: etree._Element) -> etree._Element:
    node = skeleton
    while len(node) and not xml_read.is_event_list(node):
        node = node[-1]
    return node


def _check_batch(schema: etree.XMLSchema, batch: list[etree._Element],
                 report: Report | None = None) -> bool:
    """Validate a run of events inside a skeleton of their document; raise on any fault (or
    report it and return False). The events move into the skeleton: out of the document tree,
    which so stays small."""
    skeleton = _skeleton(batch[0])
    event_list = _event_list_of(skeleton)
    for element in batch:
        event_list.append(element)
    if schema.validate(skeleton):
        return True
    _fault([Problem(safe_xml.xsd_location(e), f"xsd:{e.type_name}", e.message)
            for e in schema.error_log], report)
    return False


def check_stream(stream: BinaryIO, syntax: str, *, max_bytes: int) -> None:
    """Validate a whole document as a stream (nothing converted, nothing kept); raises
    EpcisError at the first faulty run of events, or for the rest of the document."""
    if syntax == "xml":  # converted: the size limits are checked on the JSON-LD form
        for _ in iter_xml_events(stream, max_bytes=max_bytes):
            pass
    else:
        for _ in iter_json_events(stream, max_bytes=max_bytes):
            pass


def _convert(element: etree._Element, ns: xml_read.Namespaces, faulty: bool) -> dict:
    """An event element as JSON-LD; one that failed the XSD may be beyond conversion."""
    if not faulty:
        return xml_read.event_from_xml(element, ns)
    try:
        return xml_read.event_from_xml(element, ns)
    except (ValueError, TypeError, KeyError, AttributeError, IndexError) as exc:
        raise EpcisError([Problem(f"line {element.sourceline}", "epcis-event",
                                  f"the <{xml_read.local(element)}> cannot be read: {exc}")]
                         ) from None


def iter_xml_events(stream: BinaryIO, *, validate: bool = True, max_bytes: int | None = None,
                    convert: bool = True, report: Report | None = None,
                    ) -> Iterator[tuple[dict, dict[str, str]]]:
    """Stream XML events. With `validate`, events are checked against the XSD in batches
    (inside a copy of the surrounding document, so problems keep their line numbers) before
    they are handed out, and the rest of the document once it has been read; converted
    events are checked against the size limits and the standard's rules too
    (validation.limit_problems, corridor.epcis.rules; not for a batch that failed the XSD).
    Problems raise EpcisError, or go to `report` (see the module docstring)."""
    schema = None
    if validate:
        head = _head(stream)
        schema = _schema_for(head)
        if schema is None:
            raise EpcisError([Problem("line 1", "epcis-root",
                                      "the root element is not an EPCIS document element")])
    ns = xml_read.Namespaces()
    batch: list[etree._Element] = []
    roots: list[etree._Element] = []
    count = itertools.count()

    def emit() -> Iterator[tuple[dict, dict[str, str]]]:
        faulty = schema is not None and not _check_batch(schema, batch, report)
        if convert:
            for element in batch:
                event = _convert(element, ns, faulty)
                index = next(count)
                if schema is not None and not faulty:
                    query = xml_read.local(element.getroottree().getroot()) == \
                        "EPCISQueryDocument"
                    path = (["epcisBody", "queryResults", "resultsBody", "eventList"] if query
                            else ["epcisBody", "eventList"])
                    problems = [Problem(
                        p.location, p.rule, f"{p.message} (XML: the"
                        f" <{xml_read.local(element)}> at line {element.sourceline})")
                        for p in validation.limit_problems(event, [*path, index])]
                    problems += rules.xml_event_problems(event, element, [*path, index])
                    if problems:
                        _fault(problems, report)
                yield event, dict(ns.by_prefix)
        if schema is None:  # (validated events have already left the tree)
            last = batch[-1]
            parent = last.getparent()
            for element in batch:
                element.clear(keep_tail=False)
            while last.getprevious() is not None:  # drop the handled events from the tree
                del parent[0]
        batch.clear()

    for element in safe_xml.iter_end_elements(stream, _EVENT_TAGS, max_bytes, roots):
        if not _in_event_list(element):
            continue  # an element that merely shares an event's name
        if batch and schema is None and element.getparent() is not batch[-1].getparent():
            yield from emit()
        batch.append(element)
        if len(batch) >= BATCH:
            yield from emit()
    if batch:
        yield from emit()
    if schema is not None and roots:
        root = roots[0]
        for event_list in root.iter("EventList"):
            for element in [e for e in event_list if xml_read.local(e) in _EVENT_NAMES]:
                event_list.remove(element)  # handled (and cleared) events
        problems = validation.validate_xml_tree(root) or rules.xml_header_problems(
            xml_read.header_from_xml(root, xml_read.Namespaces()), root)
        if problems:
            _fault(problems, report)


# ---- JSON ----


class _JsonStream:
    """State of one streamed JSON document: events wait in a small batch for validation,
    and (when @context comes late) until the namespaces are known."""

    def __init__(self, validate: bool, report: Report | None = None) -> None:
        self.validate = validate
        self.report = report
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
                if self.report is None or not all(isinstance(e, dict) for e in self.batch):
                    raise EpcisError(problems)
                self.report(problems)
            self.checked.extend(self.batch)  # type: ignore[arg-type]
            self.batch = []
        if self.namespaces is not None:
            for event in self.checked:
                yield event, self.namespaces
            self.checked.clear()

    def context_done(self) -> Iterator[tuple[dict, dict[str, str]]]:
        self.namespaces = context_namespaces(self.context_builder_value)
        yield from self.flush()


_KINDS = ("EPCISDocument", "EPCISQueryDocument", "EPCISMasterDataDocument")


def _not_a_document(shell: object) -> list[Problem]:
    """Why a JSON document read leniently is no EPCIS document at all (none if it is one)."""
    if not isinstance(shell, dict):
        return [Problem("/", "epcis-document", "a document must be a JSON object")]
    kind = shell.get("type")
    if kind not in _KINDS:
        return [Problem("/type", "epcis-document",
                        f"type must be one of {', '.join(_KINDS)}, not {kind!r}")]
    if kind != "EPCISMasterDataDocument" and validation.event_list_path(shell) is None:
        where = "/epcisBody/eventList" if kind == "EPCISDocument" \
            else "/epcisBody/queryResults/resultsBody/eventList"
        return [Problem(where, "json-schema:required", "the event list is missing")]
    return []


def iter_json_events(stream: BinaryIO, *, validate: bool = True, max_bytes: int | None = None,
                     report: Report | None = None) -> Iterator[tuple[dict, dict[str, str]]]:
    """Stream the events of a JSON-LD document; with `validate`, events are checked in batches
    against the schema's event definition and the rest of the document once it has been read.
    Problems raise EpcisError, or go to `report` (see the module docstring); a document that
    is no EPCIS document at all (no type of one, no event list) still raises at the end."""
    limit = safe_xml.limit_of(max_bytes)
    reader = safe_xml.LimitedReader(stream, limit)
    state = _JsonStream(validate, report)

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
        if problems and report is not None and (refused := _not_a_document(walker.shell)):
            raise EpcisError(refused)
        if problems:
            _fault(problems, report)
