"""Safe XML intake: no DTDs, no entities, no network, bounded size and depth.

Every XML byte Corridor reads goes through here. The prolog is checked by hand before lxml sees
the document, so entity declarations (billion laughs, external entities) are refused without any
expansion, and lxml itself is configured to resolve nothing as a second line of defence.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import BinaryIO

from lxml import etree

from corridor.epcis.problems import EpcisError, Problem

# Deepest element nesting accepted: libxml2's own limit without XML_PARSE_HUGE (huge_tree is
# never set), enforced inside the parser so it costs nothing per element here.
MAX_DEPTH = 256
CHUNK = 64 * 1024

# A DOCTYPE with nothing but a name (`<!DOCTYPE project>`, found in the GS1 examples) declares
# nothing and loads nothing, so it is harmless; anything more is refused.
_BARE_DOCTYPE = re.compile(rb"<!DOCTYPE\s+[A-Za-z_:][\w:.-]*\s*>")


# The size limit of one document when the caller passes none. Every reader here takes
# `max_bytes`; the capture service and the command line pass their configured limit
# (corridor.config.Settings.max_capture_bytes, whose default this is): corridor.epcis reads
# no configuration itself.
DEFAULT_MAX_BYTES = 64 * 1024 * 1024


def limit_of(max_bytes: int | None) -> int:
    """The size limit a reader applies: `max_bytes`, else DEFAULT_MAX_BYTES."""
    return DEFAULT_MAX_BYTES if max_bytes is None else max_bytes


def too_large(limit: int) -> EpcisError:
    return EpcisError([Problem("document", "size-limit",
                               f"document is larger than the limit of {limit} bytes")])


def _safety(message: str) -> EpcisError:
    return EpcisError([Problem("line 1, prolog", "xml-safety", message)])


def check_prolog(head: bytes) -> None:
    """Walk the prolog (XML declaration, comments, processing instructions, DOCTYPE) up to
    the root element and refuse DTD subsets, entity declarations and external identifiers.
    The root must start within the first CHUNK bytes, so a huge prolog is refused too."""
    head = head[:CHUNK]
    if not head.strip():
        raise EpcisError([Problem("line 1", "xml-well-formed", "the document is empty")])
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):
        head = head[: (len(head) // 2) * 2].decode("utf-16", errors="replace").encode()
    pos = 0
    while True:
        lt = head.find(b"<", pos)
        if lt < 0 or lt + 1 >= len(head):
            raise _safety(f"no root element within the first {CHUNK} bytes")
        if head.startswith(b"<?", lt):
            end = head.find(b"?>", lt)
            step = 2
        elif head.startswith(b"<!--", lt):
            end = head.find(b"-->", lt)
            step = 3
        elif head.startswith(b"<!DOCTYPE", lt):
            bare = _BARE_DOCTYPE.match(head, lt)
            if bare is None:
                if b"<!ENTITY" in head:
                    raise _safety("entity declarations are not accepted "
                                  "(XML entity expansion is unsafe)")
                raise _safety("a DOCTYPE with an internal subset or external identifier is "
                              "not accepted (DTDs and external entities are unsafe)")
            end, step = bare.end(), 0
        elif head.startswith(b"<!", lt):
            raise _safety("markup declarations are not accepted before the root element")
        else:
            return  # the root element starts here
        if end < 0:
            raise _safety(f"no root element within the first {CHUNK} bytes")
        pos = end + step


def parser_options() -> dict[str, bool]:
    """lxml options shared by every parser here."""
    return {"resolve_entities": False, "no_network": True, "load_dtd": False,
            "dtd_validation": False, "huge_tree": False, "remove_comments": True,
            "remove_pis": True}


_SAFETY_ERRORS = ("ERR_RESOURCE_LIMIT", "ENTITY", "DTD", "DOCTYPE", "EXTERNAL")


def xml_problem(exc: etree.XMLSyntaxError, parser: object = None) -> EpcisError:
    """A libxml2 parse error as Problems."""
    log = getattr(parser, "error_log", None) or exc.error_log
    problems: list[Problem] = []
    for entry in log:
        if entry.domain_name == "SCHEMASV":
            continue  # left in libxml2's thread log by an earlier validation
        if "depth" in entry.message.lower():
            problem = Problem(f"line {entry.line}", "xml-safety",
                              f"elements nest deeper than {MAX_DEPTH} levels")
        else:
            rule = "xml-safety" if any(w in entry.type_name for w in _SAFETY_ERRORS) \
                else "xml-well-formed"
            problem = Problem(f"line {entry.line}", rule, entry.message)
        if problem not in problems:
            problems.append(problem)
    if not problems:
        line = getattr(exc, "lineno", None) or 0
        problems.append(Problem(f"line {line}", "xml-well-formed", str(exc)))
    return EpcisError(problems)


_ELEMENT_IN_MESSAGE = re.compile(r"Element '([^']+)'")


def xsd_location(entry: etree._LogEntry) -> str:
    """"line N, element <name>" of an XSD error log entry."""
    match = _ELEMENT_IN_MESSAGE.search(entry.message)
    if match:
        name = re.sub(r"^\{[^}]*\}", "", match.group(1))
        return f"line {entry.line}, element <{name}>"
    return f"line {entry.line}"


def parse_bytes(data: bytes, max_bytes: int | None = None) -> etree._Element:
    """Parse a whole XML document safely and return its root element."""
    limit = limit_of(max_bytes)
    if len(data) > limit:
        raise too_large(limit)
    check_prolog(data[:CHUNK])  # the prolog must fit in CHUNK, so this sees all of it
    parser = etree.XMLParser(**parser_options())
    etree.clear_error_log()
    try:
        root = etree.fromstring(data, parser)
    except etree.XMLSyntaxError as exc:
        raise xml_problem(exc, parser) from None
    _check_dtd(root)
    return root


def _check_dtd(root: etree._Element) -> None:
    """Second line of defence behind check_prolog: a DTD may name the root, nothing more."""
    info = root.getroottree().docinfo
    dtd = info.internalDTD
    if dtd is not None and (any(True for _ in dtd.iterentities())
                            or any(True for _ in dtd.iterelements())
                            or dtd.system_url or dtd.external_id):
        raise _safety("a DOCTYPE with declarations or an external identifier is not accepted")
    if info.system_url or info.public_id:
        raise _safety("a DOCTYPE with an external identifier is not accepted")


class LimitedReader:
    """A read-only view of a stream that refuses to deliver more than `limit` bytes."""

    def __init__(self, stream: BinaryIO, limit: int) -> None:
        self._stream = stream
        self._limit = limit
        self.count = 0

    def read(self, size: int = -1) -> bytes:
        want = CHUNK if size is None or size < 0 else size
        data = self._stream.read(min(want, self._limit + 1 - self.count))
        self.count += len(data)
        if self.count > self._limit:
            raise too_large(self._limit)
        return data


def iter_end_elements(stream: BinaryIO, tags: tuple[str, ...], max_bytes: int | None = None,
                      root_out: list | None = None) -> Iterator[etree._Element]:
    """Stream the elements named `tags` ("{ns}name", "{}name" for no namespace) as each one
    ends, from a safe incremental parse. The tag filter runs inside libxml2, so Python sees
    only those elements; the caller clears each one when done so memory stays bounded. Once
    the document is complete its root is appended to `root_out` (when given)."""
    limit = limit_of(max_bytes)
    reader = LimitedReader(stream, limit)
    head = b""
    while len(head) < CHUNK:  # pipes and sockets may deliver less per read
        more = reader.read(CHUNK - len(head))
        if not more:
            break
        head += more
    check_prolog(head)
    parser = etree.XMLPullParser(events=("end",), tag=tags, **parser_options())
    etree.clear_error_log()
    data = head
    try:
        while data:
            parser.feed(data)
            for _event, element in parser.read_events():
                yield element
            data = reader.read(CHUNK)
        root = parser.close()
        for _event, element in parser.read_events():
            yield element
    except etree.XMLSyntaxError as exc:
        raise xml_problem(exc, parser) from None
    _check_dtd(root)
    if root_out is not None:
        root_out.append(root)
