"""The Event Hash ID pre-hash string, computed the way the GS1 reference generator does.

This is the specification engine: it follows the reference's model step by step (an event
becomes a tree of (name, text, children) nodes shaped like the XML form; the fields named in
the canonical property order are emitted first, each level's values sorted; user extensions of
nested elements follow their element; everything else is appended at the end, sorted). It
handles any input; `hash_fast` computes the same string quicker for the common shapes and
falls back to this module for everything else.

Where the reference generator 1.9.3 and the newer GS1 vectors differ, the vectors win:
`ignore_fields` drops listed top-level fields. Where the reference's JSON and XML readers
disagree, the XML reading wins (booleans `true`/`false`; only GS1 prefixes `gs1:`/`cbv:` are
expanded in values; an element with text and attributes, `{"@value": "3.5", "unit": "KGM"}` in
corridor's JSON-LD, hashes its text as the element's value: `text_with_attributes`).
"""

from __future__ import annotations

from collections.abc import Mapping

from corridor.epcis.cbv import CURIES, VOCAB_ROOTS
from corridor.epcis.hash_values import canon, canon_time
from corridor.epcis.hash_vocab import expand_vocab, replacements

Node = tuple  # (name: str, text: str, children: list[Node])
GROUP = "\x00"  # name of a (type, value) pair of bizTransactionList / sourceList / destinationList
PARTY_LISTS = frozenset({"bizTransactionList", "sourceList", "destinationList"})
_UNSORTED_KEYS = ("bizTransaction", "source", "destination")
_SKIPPED_KEYS = frozenset({"#text", "rdfs:comment", "comment"})
_SKIPPED_WITH_VALUE = _SKIPPED_KEYS | {"@value"}
_SCALARS = (str, int, float, bool)
ALWAYS_IGNORED = frozenset({"recordTime", "eventID", "type", "errorDeclaration"})

_QTY = [("epcClass", None), ("quantity", None), ("uom", None)]
_EPC = [("epc", None)]
# The canonical property order of the reference code (not its README table).
PROP_ORDER: list = [
    ("eventTime", None), ("eventTimeZoneOffset", None), ("certificationInfo", None),
    ("parentID", None), ("epcList", _EPC), ("inputEPCList", _EPC), ("childEPCs", _EPC),
    ("quantityList", [("quantityElement", _QTY)]),
    ("childQuantityList", [("quantityElement", _QTY)]),
    ("inputQuantityList", [("quantityElement", _QTY)]),
    ("outputEPCList", _EPC),
    ("outputQuantityList", [("quantityElement", _QTY)]),
    ("action", None), ("transformationID", None), ("bizStep", None), ("disposition", None),
    ("persistentDisposition", [("set", None), ("unset", None)]),
    ("readPoint", [("id", None)]), ("bizLocation", [("id", None)]),
    # the party lists have no usable sub-order in the reference: they end up in the tail
    ("bizTransactionList", None), ("sourceList", None), ("destinationList", None),
    ("sensorElementList", [("sensorElement", [
        ("sensorMetadata", [(n, None) for n in (
            "time", "startTime", "endTime", "deviceID", "deviceMetadata", "rawData",
            "dataProcessingMethod", "bizRules")]),
        ("sensorReport", [(n, None) for n in (
            "type", "exception", "deviceID", "deviceMetadata", "rawData",
            "dataProcessingMethod", "time", "microorganism", "chemicalSubstance", "value",
            "component", "stringValue", "booleanValue", "hexBinaryValue", "uriValue",
            "minValue", "maxValue", "meanValue", "sDev", "percRank", "percValue", "uom",
            "coordinateReferenceSystem")]),
    ])]),
]


def value_prefixes(namespaces: Mapping[str, str] | None) -> dict[str, str]:
    """Prefixes expanded inside values: the GS1 ones (declared or default)."""
    table = dict(CURIES)
    for prefix, iri in (namespaces or {}).items():
        if iri.startswith(("https://ref.gs1.org", "https://gs1.org")):
            table[prefix] = iri
    return table


def key_name(key: str, namespaces: Mapping[str, str]) -> str:
    """`example:myField` -> `{https://ns.example.com/epcis/}myField` when the prefix is known."""
    prefix, sep, local = key.partition(":")
    if sep:
        iri = namespaces.get(prefix)
        if iri is not None:
            return "{" + iri + "}" + local
    return key


# ---- bare vocabulary words (the reference's JSON-LD expansion heuristic) ----

def _collect_uris(obj: object, found: set[str]) -> None:
    if isinstance(obj, str):
        if obj.startswith(VOCAB_ROOTS):
            found.add(obj)
    elif isinstance(obj, dict):
        for value in obj.values():
            _collect_uris(value, found)
    elif isinstance(obj, list):
        for value in obj:
            _collect_uris(value, found)


def _items(obj: object) -> list:
    if isinstance(obj, list):
        return obj
    return [] if obj is None else [obj]


def vocabulary_uris(event: Mapping) -> frozenset[str]:
    """Every web-vocabulary URI the reference's JSON-LD expansion yields for this event."""
    found: set[str] = set()
    _collect_uris(dict(event), found)

    def add(kind: str, value: object) -> None:
        uri = expand_vocab(kind, value)
        if uri is not None:
            found.add(uri)

    add("bizStep", event.get("bizStep"))
    add("disposition", event.get("disposition"))
    persistent = event.get("persistentDisposition")
    if isinstance(persistent, dict):
        for word in _items(persistent.get("set")) + _items(persistent.get("unset")):
            add("disposition", word)
    for list_name, kind in (("bizTransactionList", "bizTransactionType"),
                            ("sourceList", "sourceDestType"),
                            ("destinationList", "sourceDestType")):
        for item in _items(event.get(list_name)):
            if isinstance(item, dict):
                add(kind, item.get("type"))
    error = event.get("errorDeclaration")
    if isinstance(error, dict):
        add("errorReason", error.get("reason"))
    for element in _items(event.get("sensorElementList")):
        if isinstance(element, dict):
            for report in _items(element.get("sensorReport")):
                if isinstance(report, dict):
                    add("measurementType", report.get("type"))
                    add("sensorAlertType", report.get("exception"))
                    add("component", report.get("component"))
    return frozenset(found)


# ---- JSON -> the reference's XML-shaped tree ----

def text_with_attributes(obj: Mapping) -> bool:
    """Whether `obj` (holding "@value") is an XML element with text and attributes as
    corridor writes it in JSON-LD (xml_read.extension_value, xml_write._extension): a scalar
    `@value`, no `#text`, and at least one member that is not a JSON-LD keyword. Its text is
    `@value`, as the reference's XML reader takes the element's text (`name=3.5unit=KGM`;
    its JSON reader's spelling of the text is `#text`). A JSON-LD value object (keywords
    only: `{"@value": "3.5"}`, with `@type` or `@language`) keeps `@value` as a member, as
    the reference's JSON reader hashes it (`name@value=3.5`)."""
    return (obj["@value"].__class__ in _SCALARS and "#text" not in obj
            and any(not (key.__class__ is str and key.startswith("@")) for key in obj))


class _Builder:
    def __init__(self, namespaces: Mapping[str, str], swaps: Mapping[str, str]) -> None:
        self.keys = namespaces
        self.values = value_prefixes(namespaces)
        self.swaps = swaps

    def scalar(self, value: object) -> str:
        if isinstance(value, str):
            value = self.swaps.get(value, value)
            prefix, sep, rest = value.partition(":")
            if sep and prefix in self.values:
                return self.values[prefix] + rest
            return value
        if value is True:
            return "true"
        if value is False:
            return "false"
        return str(value)

    def node(self, obj: object, top: bool = False) -> Node:
        """The tree of `obj`; `top`: the event itself (never an element with text)."""
        if isinstance(obj, list):
            kids = [self.node(x) for x in obj]
            if not any(k in obj for k in _UNSORTED_KEYS):
                _sort(kids)
            return ("", "", kids)
        if isinstance(obj, dict):
            name = obj.get("type", "")
            name = self.swaps.get(name, name) if isinstance(name, str) else str(name)
            skipped = _SKIPPED_KEYS
            text = obj.get("#text", "")
            if not top and "@value" in obj and text_with_attributes(obj):
                text, skipped = obj["@value"], _SKIPPED_WITH_VALUE
            text = self.scalar(text) if text != "" else ""
            kids = []
            for key, val in obj.items():
                if key in skipped or key.startswith("@xmlns"):
                    continue
                child = self.node(val)
                key = key_name(key, self.keys)
                if isinstance(val, list):
                    kids.extend((key, el[1], el[2]) for el in child[2])
                else:
                    kids.append((key, child[1], child[2]))
            if not any(k in obj for k in _UNSORTED_KEYS):
                _sort(kids)
            return (name, text, kids)
        return ("", self.scalar(obj), [])


def _sort(kids: list) -> None:
    try:
        kids.sort()
    except TypeError:  # mixed shapes cannot be ordered; keep document order
        pass


def _rename(name: str, text: str, kids: list) -> Node:
    """The JSON names that differ from the XML element names."""
    if name == "inputEPC" or name == "outputEPC":
        return ("epc", text, kids)
    if name in ("inputQuantity", "outputQuantity", "childQuantity") or (
            name == "quantity" and kids):
        return ("quantityElement", text, kids)
    return (name, text, kids)


def _type_first(pair: list) -> list:
    return sorted(pair, key=lambda kid: kid[0] != "type")


def correct(node: Node) -> Node:
    """Give a JSON-born tree the XML shape: `xList: [..]` -> `xList/x`, childEPCs -> epc."""
    name, text, kids = node
    kids = list(kids)
    lists: dict[str, list] = {}
    # only EPCIS names: an extension `{ns}xList` keeps its children as written, like the
    # reference's XML reading (its JSON reading would invent an `{ns}x` wrapper)
    for el in [e for e in kids if e[0].endswith("List") and not e[0].startswith("{")]:
        lists.setdefault(el[0], []).append((el[0][:-4], el[1], el[2]))
        kids.remove(el)
    for list_name, elements in lists.items():
        if list_name in PARTY_LISTS:
            # `type` first, whatever the JSON key order (see hash_plan._party_list)
            kids.append((list_name, "", [(GROUP, "", _type_first(e[2][:2])) for e in elements]))
        else:
            kids.append((list_name, "", elements))
    epcs = [("epc", e[1], []) for e in kids if e[0] == "childEPCs"]
    if epcs:
        kids = [e for e in kids if e[0] != "childEPCs"]
        kids.append(("childEPCs", "", epcs))
    out = [el if el[0] in PARTY_LISTS else correct(el) for el in kids]
    return _rename(name, text, out)


# ---- the pre-hash string ----

def _gather_extensions(kids: list) -> list:
    """User extensions of a nested element, taken out to be appended after its fields."""
    if len(kids) <= 1:
        return []
    for k in kids:
        if "eventTime" in k[0] or "action" in k[0]:
            return []  # the event level itself: extensions go to the tail
    found = [k for k in kids if "{" in k[0] and "/}" in k[0]]
    for k in found:
        kids.remove(k)
    return found


def _child(node: Node, order: list | None) -> str:
    grand = ordered(node[2], order) if order else ""
    text = ""
    if node[1]:
        text = node[1].strip()
        low = node[0].lower()
        text = canon_time(text) if "time" in low and "offset" not in low else canon(text)
        if text:
            text = "=" + text
    if text or grand:
        return node[0] + text + grand
    return ""


def ordered(kids: list, order: list) -> str:
    """Fields in `order` (consumed from `kids`), each name's values sorted."""
    extensions = _gather_extensions(kids)
    out = ""
    for name, sub in order:
        values = []
        for k in [k for k in kids if k[0] == name]:
            text = _child(k, sub)
            if text:
                values.append(text)
            if not k[2]:
                kids.remove(k)
        if values:
            values.sort()
            out += "".join(values)
    if extensions:
        out += generic(extensions)
    return out


def generic(kids: list) -> str:
    """Anything outside the canonical order: name=value, children after, siblings sorted."""
    values = []
    for k in kids:
        if k[0] == GROUP:
            values.append(generic(k[2]))
            continue
        text = k[1].strip()
        if text:
            text = "=" + canon(text)
        values.append(k[0] + text + generic(k[2]))
    if len(kids) > 1 and not any(k[0] in _UNSORTED_KEYS for k in kids):
        values.sort()
    return "".join(values)


def prehash(event: Mapping, namespaces: Mapping[str, str], ignore: frozenset[str]) -> str:
    """Pre-hash string of one JSON-LD event; `ignore` holds expanded top-level names."""
    swaps = replacements(vocabulary_uris(event))
    root = correct(_Builder(namespaces, swaps).node(dict(event), top=True))
    skip = ALWAYS_IGNORED | ignore if ignore else ALWAYS_IGNORED
    kids = [k for k in root[2] if k[0] not in ignore] if ignore else root[2]
    head = ordered(kids, PROP_ORDER)
    rest = [k for k in kids if k[0] not in skip]
    return "eventType=" + root[0] + head + (generic(rest) if rest else "")
