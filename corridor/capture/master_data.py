"""The master data of a captured document, read and bounded during preparation.

A document carries EPCIS master data (vocabulary elements: a location's name, address,
country, coordinates... and the locations it contains) in
`epcisHeader.epcisMasterData.vocabularyList`, and an EPCISMasterDataDocument in
`epcisBody.vocabularyList` too. `read_master_data` turns both into what the writer stores in
the transaction of the document's events (corridor.capture.writer): the location hierarchy
as (parent, child) pairs, each attribute as a row with its value already in the JSON text
it is stored as (corridor.store.master_data.write_vocabulary), and each element written (with
attributes or children) with where it is, for the writer's ownership check
(corridor.capture.ownership). It is pure and its result pickles, like the rest of
preparation.

Like every capture input, master data is bounded (MAX_*, docs/capture.md): past a bound the
document is refused as a whole with a problem located by the JSON pointer of the element (in
the JSON-LD form of an XML document, with the XML line of the element) and naming the
element's id.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from corridor.epcis.jsonld import standard_prefixes
from corridor.epcis.problems import EpcisError, Problem
from corridor.store.master_data import VocabularyRow, attribute_json

MAX_ELEMENTS = 10_000  # vocabulary elements in one document
MAX_ATTRIBUTES = 100_000  # attributes in one document
MAX_ELEMENT_ATTRIBUTES = 256  # attributes of one element
MAX_CHILDREN = 100_000  # children (of all elements) in one document
MAX_ATTRIBUTE_CHARS = 65_536  # characters of one attribute's value as JSON text
LIMIT_RULE = "limit:master-data"

# Where documents keep their vocabularies (JSON pointer segments).
HEADER_LIST = ("epcisHeader", "epcisMasterData", "vocabularyList")
BODY_LIST = ("epcisBody", "vocabularyList")


# An element the document writes: (vocabulary type, id as written, JSON pointer of the
# element, its XML line or 0)
WrittenElement = tuple[str, str, str, int]


def xml_note(line: int) -> str:
    """What a problem's message ends with when its element is at `line` of an XML document
    (corridor.epcis.problems.error_entry reads the line from it)."""
    return f" (XML: the <VocabularyElement> at line {line})" if line else ""


@dataclass
class MasterData:
    children: list[tuple[str, str]] = field(default_factory=list)  # (parent, child) ids
    rows: list[VocabularyRow] = field(default_factory=list)  # attributes to store
    elements: list[WrittenElement] = field(default_factory=list)  # elements written


NO_MASTER_DATA = MasterData()  # shared by the documents without any: never changed


def _lists(header: Mapping[str, Any]) -> list[tuple[tuple[str, ...], list[Any]]]:
    """The document's vocabulary lists with where they are."""
    found: list[tuple[tuple[str, ...], list[Any]]] = []
    epcis_header = header.get("epcisHeader")
    if type(epcis_header) is dict:
        md = epcis_header.get("epcisMasterData")
        if type(md) is dict and type(md.get("vocabularyList")) is list:
            found.append((HEADER_LIST, md["vocabularyList"]))
    body = header.get("epcisBody")
    if type(body) is dict and type(body.get("vocabularyList")) is list:
        found.append((BODY_LIST, body["vocabularyList"]))
    return found


def _expander(namespaces: Mapping[str, str]) -> Any:
    """Compact attribute ids (cbvmda:name) in full: the document's prefixes, else those of
    the standard EPCIS context (which an XML document's JSON-LD form refers to)."""
    prefixes = {**standard_prefixes(), **namespaces}

    def expand(attribute: str) -> str:
        prefix, sep, rest = attribute.partition(":")
        if sep and not rest.startswith("//") and prefix in prefixes:
            return prefixes[prefix] + rest
        return attribute

    return expand


def _pointer(path: tuple[Any, ...]) -> str:
    return "".join("/" + str(p).replace("~", "~0").replace("/", "~1") for p in path)


class _Bounds:
    """Counts against the MAX_* bounds; the first bound broken raises EpcisError."""

    def __init__(self, lines: Mapping[str, int]) -> None:
        self.elements = self.attributes = self.children = 0
        self.lines = lines
        self.line = 0  # of the element being read, in an XML document

    def refuse(self, path: tuple[Any, ...], element: str, what: str) -> EpcisError:
        return EpcisError([Problem(_pointer(path), LIMIT_RULE,
                                   f"master data of {element!r}: {what}{xml_note(self.line)}")])


def read_master_data(header: Mapping[str, Any], namespaces: Mapping[str, str],
                     lines: Mapping[str, int] | None = None) -> MasterData:
    """The master data of a parsed document (EpcisDocument.header, .namespaces and, for XML,
    .lines), in document order: what capture stores. Raises EpcisError past a bound. A
    document without master data costs two dictionary lookups (and allocates nothing)."""
    if "epcisHeader" not in header:  # the usual document: one more lookup and done
        body = header.get("epcisBody")
        if type(body) is not dict or "vocabularyList" not in body:
            return NO_MASTER_DATA
    lists = _lists(header)
    if not lists:
        return NO_MASTER_DATA
    out = MasterData()
    bounds = _Bounds(lines or {})
    expand = _expander(namespaces)
    for where, vocabularies in lists:
        for v, vocab in enumerate(vocabularies):
            if type(vocab) is not dict or not isinstance(vocab.get("type"), str):
                continue
            vtype = vocab["type"]
            elements = vocab.get("vocabularyElementList")
            for e, element in enumerate(elements if type(elements) is list else ()):
                if type(element) is not dict or not isinstance(element.get("id"), str):
                    continue
                _read_element(out, bounds, expand, vtype, element,
                              (*where, v, "vocabularyElementList", e))
    return out


def _read_element(out: MasterData, bounds: _Bounds, expand: Any, vtype: str,
                  element: dict[str, Any], path: tuple[Any, ...]) -> None:
    ident = element["id"]
    where = _pointer(path)
    bounds.line = bounds.lines.get(where, 0)
    bounds.elements += 1
    if bounds.elements > MAX_ELEMENTS:
        raise bounds.refuse(path, ident, f"more than {MAX_ELEMENTS:,} vocabulary elements in"
                            " one document")
    attributes = element.get("attributes")
    if type(attributes) is list:
        if len(attributes) > MAX_ELEMENT_ATTRIBUTES:
            raise bounds.refuse((*path, "attributes"), ident,
                                f"{len(attributes):,} attributes (at most"
                                f" {MAX_ELEMENT_ATTRIBUTES:,} per element)")
        bounds.attributes += len(attributes)
        if bounds.attributes > MAX_ATTRIBUTES:
            raise bounds.refuse((*path, "attributes"), ident,
                                f"more than {MAX_ATTRIBUTES:,} attributes in one document")
        for a, attr in enumerate(attributes):
            if type(attr) is not dict or not isinstance(attr.get("id"), str) \
                    or "attribute" not in attr:
                continue
            value = attribute_json(attr["attribute"])
            if len(value) > MAX_ATTRIBUTE_CHARS:
                raise bounds.refuse((*path, "attributes", a, "attribute"), ident,
                                    f"the value of {attr['id']!r} is {len(value):,}"
                                    f" characters of JSON (at most {MAX_ATTRIBUTE_CHARS:,})")
            out.rows.append((vtype, ident, expand(attr["id"]), value))
    children = element.get("children")
    if type(children) is list:
        bounds.children += len(children)
        if bounds.children > MAX_CHILDREN:
            raise bounds.refuse((*path, "children"), ident,
                                f"more than {MAX_CHILDREN:,} children in one document")
        out.children.extend((ident, child) for child in children if isinstance(child, str))
    if (type(attributes) is list and attributes) or (type(children) is list and children):
        out.elements.append((vtype, ident, where, bounds.line))

