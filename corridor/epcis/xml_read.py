"""EPCIS 2.0 XML -> JSON-LD, following the standard's XML/JSON mapping.

XML events become the dicts the JSON examples write: `<epcList><epc>` -> `"epcList": [...]`,
CBV URNs -> bare words, 1.x `extension` wrappers flattened, extension elements and attributes
-> `"prefix:local"` keys whose namespaces are collected in a `Namespaces` registry.
"""

from __future__ import annotations

import itertools

from lxml import etree

from corridor.epcis import cbv
from corridor.epcis.jsonld import standard_prefixes

EPCIS_NS = "urn:epcglobal:epcis:xsd:2"
EPCIS1_NS = "urn:epcglobal:epcis:xsd:1"
QUERY_NS = "urn:epcglobal:epcis-query:xsd:2"
MASTERDATA_NS = "urn:epcglobal:epcis-masterdata:xsd:2"
SBDH_NS = "http://www.unece.org/cefact/namespaces/StandardBusinessDocumentHeader"
XSI_NS = "http://www.w3.org/2001/XMLSchema-instance"
CONTEXT_URL = "https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld"

_EPCIS_NAMESPACES = frozenset({EPCIS_NS, EPCIS1_NS, QUERY_NS, MASTERDATA_NS, SBDH_NS})
EVENT_TYPES = ("ObjectEvent", "AggregationEvent", "TransactionEvent", "TransformationEvent",
               "AssociationEvent")
_EPC_LISTS = frozenset({"epcList", "childEPCs", "inputEPCList", "outputEPCList"})
_QTY_LISTS = frozenset({"quantityList", "childQuantityList", "inputQuantityList",
                        "outputQuantityList"})
_TEXT = frozenset({"eventTime", "recordTime", "eventTimeZoneOffset", "eventID", "action",
                   "parentID", "transformationID"})
_WRAPPERS = frozenset({"extension", "baseExtension"})
_NUMERIC_ATTRS = frozenset({"value", "minValue", "maxValue", "meanValue", "sDev", "percRank",
                            "percValue"})
_VOCAB_ATTRS = {"type": "measurementType", "exception": "sensorAlertType",
                "component": "component"}


class Namespaces:
    """prefix <-> namespace IRI of extension keys, giving each IRI one stable prefix."""

    def __init__(self) -> None:
        self.by_prefix: dict[str, str] = {}
        self._by_uri: dict[str, str] = {}

    def prefix(self, uri: str, hint: str | None) -> str:
        known = self._by_uri.get(uri)
        if known is not None:
            return known
        standard = standard_prefixes()
        base = hint or "ns"
        candidate, n = base, 1
        # the standard context protects its terms: never rebind one of them to another IRI
        while candidate in self.by_prefix or (candidate == "ns" and not hint) or \
                standard.get(candidate, uri) != uri:
            n += 1
            candidate = f"{base}{n}"
        self.by_prefix[candidate] = uri
        self._by_uri[uri] = candidate
        return candidate

    def key(self, element: etree._Element) -> str:
        qname = etree.QName(element)
        if not qname.namespace:
            return qname.localname
        return f"{self.prefix(qname.namespace, element.prefix)}:{qname.localname}"

    def attr_key(self, element: etree._Element, name: str) -> str:
        qname = etree.QName(name)
        if not qname.namespace:
            return qname.localname
        hint = next((p for p, u in element.nsmap.items() if u == qname.namespace and p), None)
        return f"{self.prefix(qname.namespace, hint)}:{qname.localname}"


def local(element: etree._Element) -> str:
    tag = element.tag
    return tag[tag.index("}") + 1:] if tag[0] == "{" else tag


def namespaced(element: etree._Element) -> bool:
    """Whether an element is in a namespace (EPCIS event content never is)."""
    return element.tag[0] == "{"


def _children(element: etree._Element):
    return element.iterchildren(etree.Element)


def _text(element: etree._Element) -> str:
    return (element.text or "").strip()


def number(text: str) -> int | float | str:
    """An XML decimal/double as a JSON number (integral values as integers, as GS1 writes).
    Text that is no number stays a string, so that validation reports it, not a crash."""
    text = text.strip()
    try:
        return int(text)
    except ValueError:
        try:
            value = float(text)
        except ValueError:
            return text
        return int(value) if value.is_integer() and abs(value) < 2**53 else value


def _put(out: dict, key: str, value: object) -> None:
    """Repeated XML elements become a JSON array."""
    if key in out:
        old = out[key]
        if isinstance(old, list):
            old.append(value)
        else:
            out[key] = [old, value]
    else:
        out[key] = value


def extension_value(element: etree._Element, ns: Namespaces) -> object:
    """A user extension element as JSON-LD: nested elements -> object, text -> string."""
    attrs = {ns.attr_key(element, k): v for k, v in element.attrib.items()
             if not k.startswith("{" + XSI_NS)}
    kids = list(_children(element))
    if not kids and not attrs:
        return _text(element)
    out: dict = dict(attrs)
    for child in kids:
        _put(out, ns.key(child), extension_value(child, ns))
    if not kids and _text(element):
        out["@value"] = _text(element)
    return out


def _extensions_into(element: etree._Element, out: dict, ns: Namespaces) -> None:
    """Copy namespaced children (and those inside `extension` wrappers) as extension keys."""
    for child in _children(element):
        if namespaced(child):
            _put(out, ns.key(child), extension_value(child, ns))
        elif local(child) in _WRAPPERS:
            _extensions_into(child, out, ns)


def _quantity(element: etree._Element) -> dict:
    out: dict = {}
    for child in _children(element):
        name = local(child)
        if child.get(f"{{{XSI_NS}}}nil") in ("true", "1"):
            continue  # xsi:nil quantity: the JSON form leaves the field out
        if name == "quantity":
            out["quantity"] = number(_text(child))
        else:
            out[name] = _text(child)
    return out


def _location(element: etree._Element, ns: Namespaces) -> dict:
    out: dict = {}
    for child in _children(element):
        if local(child) == "id" and not namespaced(child):
            out["id"] = _text(child)
    _extensions_into(element, out, ns)
    return out


def _sensor_attrs(element: etree._Element, ns: Namespaces) -> dict:
    out: dict = {}
    for name, value in element.attrib.items():
        if name.startswith("{"):
            out[ns.attr_key(element, name)] = value
        elif name in _NUMERIC_ATTRS:
            out[name] = number(value)
        elif name == "booleanValue":
            out[name] = value.strip() in ("true", "1")
        elif name in _VOCAB_ATTRS:
            out[name] = cbv.to_word(_VOCAB_ATTRS[name], value)
        else:
            out[name] = value
    return out


def _sensor_element(element: etree._Element, ns: Namespaces) -> dict:
    out: dict = {}
    for child in _children(element):
        name = local(child)
        if namespaced(child):
            continue
        if name == "sensorMetadata":
            out["sensorMetadata"] = _sensor_attrs(child, ns)
        elif name == "sensorReport":
            out.setdefault("sensorReport", []).append(_sensor_attrs(child, ns))
    _extensions_into(element, out, ns)
    return out


def _error_declaration(element: etree._Element, ns: Namespaces) -> dict:
    out: dict = {}
    for child in _children(element):
        name = local(child)
        if namespaced(child) or name in _WRAPPERS:
            continue
        if name == "reason":
            out["reason"] = cbv.to_word("errorReason", _text(child))
        elif name == "correctiveEventIDs":
            out["correctiveEventIDs"] = [_text(c) for c in _children(child)]
        else:
            out[name] = _text(child)
    _extensions_into(element, out, ns)
    return out


def _party_list(element: etree._Element, role: str) -> list[dict]:
    items = []
    for child in _children(element):
        item: dict = {}
        if child.get("type") is not None:
            item["type"] = cbv.to_word("sourceDestType", child.get("type", ""))
        item[role] = _text(child)
        items.append(item)
    return items


def _biz_transactions(element: etree._Element) -> list[dict]:
    items = []
    for child in _children(element):
        item: dict = {}
        if child.get("type") is not None:
            item["type"] = cbv.to_word("bizTransactionType", child.get("type", ""))
        item["bizTransaction"] = _text(child)
        items.append(item)
    return items


def _persistent(element: etree._Element) -> dict:
    out: dict[str, list[str]] = {}
    for child in _children(element):
        out.setdefault(local(child), []).append(cbv.to_word("disposition", _text(child)))
    return {k: out[k] for k in ("set", "unset") if k in out}


def _fields(element: etree._Element, out: dict, ns: Namespaces) -> None:
    for child in _children(element):
        if namespaced(child):
            _put(out, ns.key(child), extension_value(child, ns))
            continue
        name = local(child)
        if name in _WRAPPERS:
            _fields(child, out, ns)
        elif name in _TEXT:
            out[name] = _text(child)
        elif name in _EPC_LISTS:
            out[name] = [_text(c) for c in _children(child)]
        elif name in _QTY_LISTS:
            out[name] = [_quantity(c) for c in _children(child)]
        elif name == "bizStep":
            out[name] = cbv.to_word("bizStep", _text(child))
        elif name == "disposition":
            out[name] = cbv.to_word("disposition", _text(child))
        elif name in ("readPoint", "bizLocation"):
            out[name] = _location(child, ns)
        elif name == "bizTransactionList":
            out[name] = _biz_transactions(child)
        elif name == "sourceList":
            out[name] = _party_list(child, "source")
        elif name == "destinationList":
            out[name] = _party_list(child, "destination")
        elif name == "sensorElementList":
            out[name] = [_sensor_element(c, ns) for c in _children(child)
                         if local(c) == "sensorElement"]
        elif name == "persistentDisposition":
            out[name] = _persistent(child)
        elif name == "ilmd":
            ilmd: dict = {}
            _extensions_into(child, ilmd, ns)
            out[name] = ilmd
        elif name == "errorDeclaration":
            out[name] = _error_declaration(child, ns)
        elif name == "certificationInfo":
            _put(out, name, _text(child))
        else:
            _put(out, name, extension_value(child, ns))


def event_from_xml(element: etree._Element, ns: Namespaces) -> dict:
    """One XML event element (ObjectEvent, ...) as its JSON-LD dict."""
    out: dict = {"type": local(element)}
    _fields(element, out, ns)
    return out


# members whose JSON array lists repeated XML elements (the other arrays list the children
# of one element: <epcList><epc/>...)
_REPEATED = frozenset({"sensorReport", "set", "unset"})


def _named_child(element: etree._Element, name: str) -> etree._Element | None:
    """The first EPCIS child of that name, looking inside `extension` wrappers."""
    for child in _children(element):
        if namespaced(child):
            continue
        if local(child) == name:
            return child
        if local(child) in _WRAPPERS:
            found = _named_child(child, name)
            if found is not None:
                return found
    return None


def element_at(element: etree._Element, path: tuple | list) -> etree._Element:
    """The XML element that the value at `path` (keys and indices) in the JSON-LD form of
    `element` (event_from_xml, or a document root for its header) came from, or its closest
    ancestor found (a value held in an attribute: the element holding it)."""
    node, steps, i = element, list(path), 0
    while i < len(steps):
        step = steps[i]
        if isinstance(step, int):
            found = next(itertools.islice(_children(node), step, None), None)
        elif i + 1 < len(steps) and isinstance(steps[i + 1], int) and step in _REPEATED:
            same = (c for c in _children(node) if local(c) == step and not namespaced(c))
            found = next(itertools.islice(same, steps[i + 1], None), None)
            i += 1
        else:
            found = _named_child(node, step)
        if found is None:
            break
        node = found
        i += 1
    return node


def is_event_list(element: etree._Element) -> bool:
    return local(element) == "EventList" and not namespaced(element)


def events_in(event_list: etree._Element):
    """Event elements of an EventList, looking inside 1.x `extension` wrappers."""
    for child in _children(event_list):
        if local(child) == "extension" and not namespaced(child):
            yield from events_in(child)
        else:
            yield child


def _vocabulary_elements(vocabulary: etree._Element):
    """The VocabularyElements of a Vocabulary, in order (across its element lists)."""
    for vel_list in _children(vocabulary):
        if local(vel_list) == "VocabularyElementList":
            yield from _children(vel_list)


def _vocabulary_list(element: etree._Element, ns: Namespaces) -> list[dict]:
    vocabularies = []
    for vocabulary in _children(element):
        if local(vocabulary) != "Vocabulary":
            continue
        entry: dict = {"type": vocabulary.get("type", "")}
        elements = []
        for vel in _vocabulary_elements(vocabulary):
            item: dict = {"id": vel.get("id", "")}
            attributes = []
            for part in _children(vel):
                name = local(part)
                if name == "attribute":
                    kids = list(_children(part))
                    value: object = _text(part)
                    if kids:
                        value = {}
                        for kid in kids:
                            _put(value, ns.key(kid), extension_value(kid, ns))
                    attributes.append({"id": part.get("id", ""), "attribute": value})
                elif name == "children":
                    item["children"] = [_text(c) for c in _children(part)]
            if attributes:
                item["attributes"] = attributes
            elements.append(item)
        if elements:
            entry["vocabularyElementList"] = elements
        vocabularies.append(entry)
    return vocabularies


def _find(element: etree._Element, *path: str) -> etree._Element | None:
    """Follow child local names."""
    current: etree._Element | None = element
    for name in path:
        if current is None:
            return None
        current = next((c for c in _children(current) if local(c) == name), None)
    return current


def _header_vocabularies(root: etree._Element) -> etree._Element | None:
    found = _find(root, "EPCISHeader", "extension", "EPCISMasterData", "VocabularyList")
    return found if found is not None else _find(root, "EPCISHeader", "EPCISMasterData",
                                                   "VocabularyList")


def vocabulary_element_lines(root: etree._Element) -> dict[str, int]:
    """The line of each VocabularyElement of a document, by its JSON pointer in the
    document's JSON-LD form (header_from_xml): where a problem found in its master data is."""
    lines: dict[str, int] = {}
    lists = [("/epcisHeader/epcisMasterData/vocabularyList", _header_vocabularies(root))]
    if local(root) == "EPCISMasterDataDocument":
        lists.append(("/epcisBody/vocabularyList", _find(root, "EPCISBody", "VocabularyList")))
    for where, vocab_list in lists:
        vocabularies = (v for v in _children(vocab_list) if local(v) == "Vocabulary") \
            if vocab_list is not None else ()
        for i, vocabulary in enumerate(vocabularies):
            for j, vel in enumerate(_vocabulary_elements(vocabulary)):
                lines[f"{where}/{i}/vocabularyElementList/{j}"] = vel.sourceline or 0
    return lines


def header_from_xml(root: etree._Element, ns: Namespaces) -> dict:
    """Document fields other than the events, in JSON-LD form (without @context)."""
    kind = local(root)
    header: dict = {"type": kind}
    for name in ("schemaVersion", "creationDate"):
        if root.get(name) is not None:
            header[name] = root.get(name)
    sbdh = _find(root, "EPCISHeader", "StandardBusinessDocumentHeader")
    if sbdh is not None:
        for field, path in (("sender", ("Sender", "Identifier")),
                            ("receiver", ("Receiver", "Identifier")),
                            ("instanceIdentifier", ("DocumentIdentification",
                                                    "InstanceIdentifier"))):
            found = _find(sbdh, *path)
            if found is not None:
                header[field] = _text(found)
    vocab_list = _header_vocabularies(root)
    if vocab_list is not None:
        header["epcisHeader"] = {"epcisMasterData": {
            "vocabularyList": _vocabulary_list(vocab_list, ns)}}
    _extensions_of(root, header, ns)  # document-level extensions, e.g. x:ignoreFields
    body = _find(root, "EPCISBody")
    if kind == "EPCISQueryDocument":
        results = _query_results(root)
        query: dict = {}
        if results is not None:
            for name in ("queryName", "subscriptionID"):
                found = _find(results, name)
                if found is not None:
                    query[name] = _text(found)
            if results is not root:
                _extensions_of(results, query, ns)
        query["resultsBody"] = {}
        header["epcisBody"] = {"queryResults": query}
    elif kind == "EPCISMasterDataDocument":
        body_list = _find(root, "EPCISBody", "VocabularyList")
        header["epcisBody"] = {"vocabularyList": _vocabulary_list(body_list, ns)
                               if body_list is not None else []}
    else:
        header["epcisBody"] = {}
    if body is not None:
        _extensions_of(body, header["epcisBody"], ns)
    return header


def _extensions_of(element: etree._Element, out: dict, ns: Namespaces) -> None:
    """Namespaced (user extension) children of a document-level element, as prefixed keys."""
    for child in _children(element):
        if namespaced(child) and etree.QName(child).namespace not in _EPCIS_NAMESPACES:
            _put(out, ns.key(child), extension_value(child, ns))


def _query_results(root: etree._Element) -> etree._Element | None:
    """The QueryResults of a query document; some writers leave out EPCISBody/QueryResults
    and put queryName and resultsBody straight under the root."""
    found = _find(root, "EPCISBody", "QueryResults")
    if found is None and _find(root, "resultsBody") is not None:
        return root
    return found


def context_for(namespaces: dict[str, str]) -> list:
    """The JSON-LD @context of a converted document: the standard context plus prefixes."""
    standard = standard_prefixes()
    return [CONTEXT_URL] + [{p: u} for p, u in namespaces.items() if standard.get(p) != u]


def event_list_of(root: etree._Element) -> etree._Element | None:
    if local(root) == "EPCISQueryDocument":
        results = _query_results(root)
        return _find(results, "resultsBody", "EventList") if results is not None else None
    return _find(root, "EPCISBody", "EventList")
