"""JSON-LD -> EPCIS 2.0 XML: the inverse of xml_read, writing elements in XSD sequence order."""

from __future__ import annotations

from lxml import etree

from corridor.epcis import cbv
from corridor.epcis.problems import EpcisError, Problem
from corridor.epcis.xml_read import EPCIS_NS, MASTERDATA_NS, QUERY_NS, SBDH_NS

_BASE = ("eventTime", "recordTime", "eventTimeZoneOffset", "eventID", "errorDeclaration",
         "certificationInfo")
_TAIL = ("bizStep", "disposition", "readPoint", "bizLocation")
_ORDER: dict[str, tuple[str, ...]] = {
    "ObjectEvent": _BASE + ("epcList", "action") + _TAIL + (
        "bizTransactionList", "quantityList", "sourceList", "destinationList",
        "sensorElementList", "persistentDisposition", "ilmd"),
    "AggregationEvent": _BASE + ("parentID", "childEPCs", "action") + _TAIL + (
        "bizTransactionList", "childQuantityList", "sourceList", "destinationList",
        "sensorElementList", "persistentDisposition"),
    "TransactionEvent": _BASE + ("bizTransactionList", "parentID", "epcList", "action")
    + _TAIL + ("quantityList", "sourceList", "destinationList", "sensorElementList",
               "persistentDisposition"),
    "TransformationEvent": _BASE + ("inputEPCList", "inputQuantityList", "outputEPCList",
                                    "outputQuantityList", "transformationID") + _TAIL + (
        "bizTransactionList", "sourceList", "destinationList", "sensorElementList",
        "persistentDisposition", "ilmd"),
    "AssociationEvent": _BASE + ("parentID", "childEPCs", "childQuantityList", "action")
    + _TAIL + ("bizTransactionList", "sourceList", "destinationList", "sensorElementList",
               "persistentDisposition"),
}
_EPC_LISTS = {"epcList", "childEPCs", "inputEPCList", "outputEPCList"}
_QTY_LISTS = {"quantityList", "childQuantityList", "inputQuantityList", "outputQuantityList"}
_COMMENT_KEYS = {"rdfs:comment", "http://www.w3.org/2000/01/rdf-schema#comment"}
_SENSOR_VOCAB = {"type": "measurementType", "exception": "sensorAlertType",
                 "component": "component"}


def scalar_text(value: object) -> str:
    """A JSON scalar as XML text (numbers without a spurious `.0`, booleans lower-case)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() and abs(value) < 2**53 else repr(value)
    return "" if value is None else str(value)


class _Names:
    """Turns JSON-LD keys into XML names, declaring namespaces as it goes."""

    def __init__(self, namespaces: dict[str, str]) -> None:
        self.namespaces = dict(namespaces)
        self.used: dict[str, str] = {}

    def qname(self, key: str) -> str:
        if ":" not in key:
            return key
        prefix, _, localname = key.partition(":")
        uri = self.namespaces.get(prefix)
        if uri is None or localname.startswith("//"):
            # an absolute IRI used as a key: split it into namespace and local name
            cut = max(key.rfind("/"), key.rfind("#"), key.rfind(":")) + 1
            uri, localname = key[:cut], key[cut:]
            prefix = next((p for p, u in self.namespaces.items() if u == uri), None) or \
                f"ns{len(self.namespaces) + 1}"
            self.namespaces[prefix] = uri
        self.used[prefix] = uri
        return f"{{{uri}}}{localname}"


def _is_extension(key: str) -> bool:
    return ":" in key


def _sub(parent: etree._Element, tag: str, text: str | None = None) -> etree._Element:
    element = etree.SubElement(parent, tag)
    if text is not None:
        element.text = text
    return element


def _extension(parent: etree._Element, key: str, value: object, names: _Names) -> None:
    tag = names.qname(key)
    items = value if isinstance(value, list) else [value]
    for item in items:
        element = _sub(parent, tag)
        if isinstance(item, dict):
            # {"@value": text, name: scalar...} is an element with text and attributes
            simple = "@value" in item
            for k, v in item.items():
                if k == "@value":
                    element.text = scalar_text(v)
                elif simple and not isinstance(v, (dict, list)):
                    element.set(names.qname(k), scalar_text(v))
                else:
                    _extension(element, k, v, names)
        else:
            element.text = scalar_text(item)


def _quantity_list(parent: etree._Element, tag: str, items: list) -> None:
    holder = _sub(parent, tag)
    for item in items:
        q = _sub(holder, "quantityElement")
        for name in ("epcClass", "quantity", "uom"):
            if name in item:
                _sub(q, name, scalar_text(item[name]))


def _sensor_attrs(element: etree._Element, data: dict, names: _Names) -> None:
    for key, value in data.items():
        if _is_extension(key) and not key.startswith("http"):
            element.set(names.qname(key), scalar_text(value))
        elif key in _SENSOR_VOCAB and isinstance(value, str):
            element.set(key, cbv.to_uri(_SENSOR_VOCAB[key], value))
        else:
            element.set(key, scalar_text(value))


def _sensor_list(parent: etree._Element, items: list, names: _Names) -> None:
    holder = _sub(parent, "sensorElementList")
    for item in items:
        element = _sub(holder, "sensorElement")
        if "sensorMetadata" in item:
            _sensor_attrs(_sub(element, "sensorMetadata"), item["sensorMetadata"], names)
        for report in item.get("sensorReport", []):
            _sensor_attrs(_sub(element, "sensorReport"), report, names)
        for key, value in item.items():
            if _is_extension(key):
                _extension(element, key, value, names)


def _field(parent: etree._Element, name: str, value: object, names: _Names) -> None:
    if name in _EPC_LISTS:
        holder = _sub(parent, name)
        for epc in value:  # type: ignore[union-attr]
            _sub(holder, "epc", scalar_text(epc))
    elif name in _QTY_LISTS:
        _quantity_list(parent, name, value)  # type: ignore[arg-type]
    elif name == "bizStep":
        _sub(parent, name, cbv.to_uri("bizStep", str(value)))
    elif name == "disposition":
        _sub(parent, name, cbv.to_uri("disposition", str(value)))
    elif name in ("readPoint", "bizLocation"):
        holder = _sub(parent, name)
        _sub(holder, "id", scalar_text(value.get("id")))  # type: ignore[union-attr]
        for key, ext in value.items():  # type: ignore[union-attr]
            if _is_extension(key):
                _extension(holder, key, ext, names)
    elif name == "bizTransactionList":
        holder = _sub(parent, name)
        for item in value:  # type: ignore[union-attr]
            element = _sub(holder, "bizTransaction", scalar_text(item.get("bizTransaction")))
            if "type" in item:
                element.set("type", cbv.to_uri("bizTransactionType", item["type"]))
    elif name in ("sourceList", "destinationList"):
        role = name[: -len("List")]
        holder = _sub(parent, name)
        for item in value:  # type: ignore[union-attr]
            element = _sub(holder, role, scalar_text(item.get(role)))
            if "type" in item:
                element.set("type", cbv.to_uri("sourceDestType", item["type"]))
    elif name == "sensorElementList":
        _sensor_list(parent, value, names)  # type: ignore[arg-type]
    elif name == "persistentDisposition":
        holder = _sub(parent, name)
        for part in ("unset", "set"):
            for disp in value.get(part, []):  # type: ignore[union-attr]
                _sub(holder, part, cbv.to_uri("disposition", disp))
    elif name == "ilmd":
        holder = _sub(parent, name)
        for key, ext in value.items():  # type: ignore[union-attr]
            _extension(holder, key, ext, names)
    elif name == "errorDeclaration":
        holder = _sub(parent, name)
        for part in ("declarationTime", "reason"):
            if part in value:  # type: ignore[operator]
                text = value[part]  # type: ignore[index]
                _sub(holder, part, cbv.to_uri("errorReason", text) if part == "reason" else text)
        if "correctiveEventIDs" in value:  # type: ignore[operator]
            ids = _sub(holder, "correctiveEventIDs")
            for event_id in value["correctiveEventIDs"]:  # type: ignore[index]
                _sub(ids, "correctiveEventID", event_id)
        for key, ext in value.items():  # type: ignore[union-attr]
            if _is_extension(key):
                _extension(holder, key, ext, names)
    elif name == "certificationInfo":
        for info in value if isinstance(value, list) else [value]:
            _sub(parent, name, scalar_text(info))
    else:
        _sub(parent, name, scalar_text(value))


def event_to_xml(parent: etree._Element, event: dict, names: _Names) -> etree._Element:
    """Append one JSON-LD event to an EventList element."""
    kind = str(event.get("type", ""))
    element = _sub(parent, kind)
    for name in _ORDER.get(kind, ()):
        if name in event:
            _field(element, name, event[name], names)
    for key, value in event.items():
        if key in _COMMENT_KEYS:
            # rdfs:comment is commentary, outside the event's data (and its hash)
            element.append(etree.Comment(" " + scalar_text(value).replace("--", "- -") + " "))
        elif _is_extension(key) and key != "@context":
            _extension(element, key, value, names)
    return element


def _vocabulary_list(parent: etree._Element, vocabularies: list, names: _Names) -> None:
    holder = _sub(parent, "VocabularyList")
    for vocabulary in vocabularies:
        element = _sub(holder, "Vocabulary")
        element.set("type", str(vocabulary.get("type", "")))
        items = vocabulary.get("vocabularyElementList") or []
        if not items:
            continue
        elements = _sub(element, "VocabularyElementList")
        for item in items:
            vel = _sub(elements, "VocabularyElement")
            vel.set("id", str(item.get("id", "")))
            for attribute in item.get("attributes", []):
                attr = _sub(vel, "attribute")
                attr.set("id", str(attribute.get("id", "")))
                value = attribute.get("attribute")
                if isinstance(value, dict):
                    for key, ext in value.items():
                        _extension(attr, key, ext, names)
                elif value is not None:
                    attr.text = scalar_text(value)
            if item.get("children"):
                kids = _sub(vel, "children")
                for child in item["children"]:
                    _sub(kids, "id", child)


def _extensions_after(parent: etree._Element, fields: dict, names: _Names) -> None:
    """Document-level user extensions (prefixed keys) as the element's trailing children,
    where the XSDs allow elements of other namespaces."""
    for key, value in fields.items():
        if _is_extension(key) and key != "@context" and key not in _COMMENT_KEYS:
            _extension(parent, key, value, names)


def _sbdh(parent: etree._Element, header: dict) -> None:
    """A minimal Standard Business Document Header carrying sender, receiver and instance."""
    def s(p: etree._Element, name: str, text: str | None = None) -> etree._Element:
        return _sub(p, f"{{{SBDH_NS}}}{name}", text)

    sbdh = s(parent, "StandardBusinessDocumentHeader")
    s(sbdh, "HeaderVersion", "1.0")
    for role, key in (("Sender", "sender"), ("Receiver", "receiver")):
        if key in header:
            s(s(sbdh, role), "Identifier", str(header[key]))
    ident = s(sbdh, "DocumentIdentification")
    s(ident, "Standard", "EPCglobal")
    s(ident, "TypeVersion", "2.0")
    s(ident, "InstanceIdentifier", str(header.get("instanceIdentifier", "1")))
    s(ident, "Type", "Events")
    s(ident, "CreationDateAndTime", str(header.get("creationDate", "")))


def document_to_xml(doc) -> bytes:  # doc: EpcisDocument (import cycle avoided)
    try:
        return _document_to_xml(doc)
    except EpcisError:
        raise
    except (AttributeError, TypeError, KeyError, ValueError) as exc:
        # only reachable for documents read with validate=False
        raise EpcisError([Problem("/", "xml-mapping", f"document header has a shape EPCIS "
                                  f"XML cannot express: {type(exc).__name__}: {exc}")]) from None


def _document_to_xml(doc) -> bytes:
    unknown = [i for i, e in enumerate(doc.events)
               if not isinstance(e.get("type"), str) or e["type"] not in _ORDER]
    if unknown:
        raise EpcisError([Problem(f"/epcisBody/eventList/{i}/type", "xml-mapping",
                                  f"event type {doc.events[i].get('type')!r} has no EPCIS XML "
                                  "form (only the five standard event types do)")
                          for i in unknown])
    header = doc.header
    names = _Names(doc.namespaces)
    root_ns = {"EPCISQueryDocument": QUERY_NS,
               "EPCISMasterDataDocument": MASTERDATA_NS}.get(doc.kind, EPCIS_NS)
    prefix = {QUERY_NS: "epcisq", MASTERDATA_NS: "epcismd"}.get(root_ns, "epcis")
    root = etree.Element(f"{{{root_ns}}}{doc.kind}", nsmap={prefix: root_ns})
    root.set("schemaVersion", str(header.get("schemaVersion", "2.0")))
    root.set("creationDate", str(header.get("creationDate", "")))
    master = (header.get("epcisHeader") or {}).get("epcisMasterData")
    if master or any(k in header for k in ("sender", "receiver")):
        epcis_header = _sub(root, "EPCISHeader")
        if any(k in header for k in ("sender", "receiver")):
            _sbdh(epcis_header, header)
        if master:
            holder = _sub(_sub(epcis_header, "extension"), "EPCISMasterData")
            _vocabulary_list(holder, master.get("vocabularyList", []), names)
    body = _sub(root, "EPCISBody")
    if doc.kind == "EPCISMasterDataDocument":
        _vocabulary_list(body, header.get("epcisBody", {}).get("vocabularyList", []), names)
    else:
        if doc.kind == "EPCISQueryDocument":
            query = header.get("epcisBody", {}).get("queryResults", {})
            results = _sub(body, f"{{{QUERY_NS}}}QueryResults")
            _sub(results, "queryName", str(query.get("queryName", "SimpleEventQuery")))
            if "subscriptionID" in query:
                _sub(results, "subscriptionID", str(query["subscriptionID"]))
            event_parent = _sub(results, "resultsBody")
            _extensions_after(results, query, names)
        else:
            event_parent = body
        event_list = _sub(event_parent, "EventList")
        for index, event in enumerate(doc.events):
            try:
                event_to_xml(event_list, event, names)
            except EpcisError:
                raise
            except (AttributeError, TypeError, KeyError, ValueError) as exc:
                # only reachable for documents read with validate=False
                raise EpcisError([Problem(f"/epcisBody/eventList/{index}", "xml-mapping",
                                          f"event has a shape EPCIS XML cannot express: "
                                          f"{type(exc).__name__}: {exc}")]) from None
    _extensions_after(body, header.get("epcisBody", {}), names)
    _extensions_after(root, header, names)  # e.g. x:ignoreFields
    # declare every extension prefix once, on the root, with the document's own prefixes
    final = etree.Element(root.tag, nsmap={**root.nsmap, **names.used})
    final.attrib.update(root.attrib)
    final.extend(list(root))
    etree.cleanup_namespaces(final, top_nsmap={**final.nsmap})
    return etree.tostring(final, xml_declaration=True, encoding="UTF-8", pretty_print=True)
