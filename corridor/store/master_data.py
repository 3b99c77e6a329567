"""EPCIS master data: the attributes of vocabulary elements (schema_master_data).

A document carries master data in `epcisHeader.epcisMasterData.vocabularyList` (an
EPCISDocument) or `epcisBody.vocabularyList` (an EPCISMasterDataDocument). Capture stores them
itself, in the transaction of the document's events (corridor.capture.master_data reads and
bounds them, the writer calls `write_vocabulary`); `vocabulary_rows` and
`add_vocabulary_attributes` do the same for a caller with a parsed header at hand;
`element_attributes` reads them back, `element_writers` who first wrote elements (the capture
writer's ownership check, corridor.capture.ownership, decides with it).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from corridor.epcis.identifiers import canonical
from corridor.store.db import Connection


@dataclass(frozen=True)
class VocabularyAttribute:
    vtype: str  # vocabulary type URI, e.g. urn:epcglobal:epcis:vtype:BusinessLocation
    element: str  # the element's id as written
    attribute: str  # attribute id, prefixes expanded (urn:epcglobal:cbv:mda:name)
    value: Any  # string, number or object, as the document gave it


def _vocabulary_lists(header: Mapping[str, Any]) -> list[Any]:
    lists: list[Any] = []
    epcis_header = header.get("epcisHeader")
    if isinstance(epcis_header, dict) and isinstance(epcis_header.get("epcisMasterData"), dict):
        lists.append(epcis_header["epcisMasterData"].get("vocabularyList"))
    body = header.get("epcisBody")
    if isinstance(body, dict):
        lists.append(body.get("vocabularyList"))
    return [v for v in lists if isinstance(v, list)]


def _expand(attribute: str, namespaces: Mapping[str, str]) -> str:
    """A compact attribute id (cbvmda:name) in full, with the document's prefixes."""
    prefix, sep, rest = attribute.partition(":")
    if sep and not rest.startswith("//") and prefix in namespaces:
        return namespaces[prefix] + rest
    return attribute


def vocabulary_rows(header: Mapping[str, Any], namespaces: Mapping[str, str]
                    ) -> list[VocabularyAttribute]:
    """Every attribute of every vocabulary element in a parsed document's header
    (corridor.epcis.documents.EpcisDocument.header and .namespaces), in document order."""
    out: list[VocabularyAttribute] = []
    for vocabularies in _vocabulary_lists(header):
        for vocab in vocabularies:
            if not isinstance(vocab, dict) or not isinstance(vocab.get("type"), str):
                continue
            for element in vocab.get("vocabularyElementList") or ():
                if not isinstance(element, dict) or not isinstance(element.get("id"), str):
                    continue
                for attr in element.get("attributes") or ():
                    if isinstance(attr, dict) and isinstance(attr.get("id"), str) \
                            and "attribute" in attr:
                        out.append(VocabularyAttribute(
                            vocab["type"], element["id"], _expand(attr["id"], namespaces),
                            attr["attribute"]))
    return out


def attribute_json(value: Any) -> str:
    """An attribute's value as stored: JSON text (a string, a number or an object)."""
    return json.dumps(value, ensure_ascii=False, sort_keys=True)


# (vocabulary type, element id as written, attribute id in full, value as attribute_json)
VocabularyRow = tuple[str, str, str, str]


def add_vocabulary_attributes(conn: Connection, rows: Sequence[VocabularyAttribute]) -> None:
    """Store attributes (run it inside the caller's transaction): write_vocabulary of
    VocabularyAttributes."""
    write_vocabulary(conn, [(r.vtype, r.element, r.attribute, attribute_json(r.value))
                            for r in rows])


def write_vocabulary(conn: Connection, rows: Sequence[VocabularyRow],
                     writers: Sequence[tuple[str, str, int | None]] = ()) -> None:
    """Store attributes, in the caller's transaction. An element is kept under its canonical
    key; an attribute written again replaces the stored value (the last row wins).
    `writers`: (vocabulary type, element as written, party) of each element written, in
    order, attributes or not: an element stored anew records its first party as
    `written_by`, which later writes leave as it is."""
    if not rows and not writers:
        return
    elements: dict[tuple[str, str], str] = {}
    values: dict[tuple[str, str, str], str] = {}
    first: dict[tuple[str, str], int | None] = {}
    for vtype, written, party in writers:
        key = (vtype, canonical(written))
        elements[key] = written
        first.setdefault(key, party)
    for vtype, written, attribute, value in rows:
        key = (vtype, canonical(written))
        elements[key] = written
        values[(*key, attribute)] = value
    conn.executemany(
        "INSERT INTO vocabulary_elements (vtype, element, written, written_by)"
        " VALUES (?, ?, ?, ?)"
        " ON CONFLICT (vtype, element) DO UPDATE SET written = excluded.written",
        [(vtype, element, written, first.get((vtype, element)))
         for (vtype, element), written in elements.items()])
    if not values:
        return
    ids: dict[tuple[str, str], int] = {}
    valued = dict.fromkeys((vtype, element) for vtype, element, _ in values)
    for vtype in sorted({vtype for vtype, _ in valued}):
        wanted = [element for t, element in valued if t == vtype]
        for start in range(0, len(wanted), 500):
            chunk = wanted[start:start + 500]
            marks = ",".join("?" * len(chunk))
            for pk, element in conn.fetchall(
                    "SELECT id, element FROM vocabulary_elements WHERE vtype = ?"
                    f" AND element IN ({marks})", [vtype, *chunk]):
                ids[(vtype, element)] = int(pk)
    conn.executemany(
        "INSERT INTO vocabulary_attributes (element_id, attribute, value) VALUES (?, ?, ?)"
        " ON CONFLICT (element_id, attribute) DO UPDATE SET value = excluded.value",
        [(ids[(vtype, element)], attribute, value)
         for (vtype, element, attribute), value in values.items()])


@dataclass(frozen=True)
class StoredElement:
    vtype: str
    element: str  # canonical key
    written: str  # the id as last written
    attributes: dict[str, Any]  # attribute id -> value


def element_attributes(conn: Connection, vtypes: Iterable[str]) -> list[StoredElement]:
    """The stored elements of these vocabulary types with their attributes, in the order they
    were first captured."""
    wanted = sorted(set(vtypes))
    if not wanted:
        return []
    marks = ",".join("?" * len(wanted))
    rows = conn.fetchall(
        "SELECT v.id, v.vtype, v.element, v.written, a.attribute, a.value"
        " FROM vocabulary_elements v JOIN vocabulary_attributes a ON a.element_id = v.id"
        f" WHERE v.vtype IN ({marks}) ORDER BY v.id, a.attribute", wanted)
    found: dict[int, StoredElement] = {}
    for pk, vtype, element, written, attribute, value in rows:
        if pk not in found:
            found[pk] = StoredElement(vtype, element, written, {})
        found[pk].attributes[attribute] = json.loads(value)
    return list(found.values())


def element_writers(conn: Connection, keys: Iterable[tuple[str, str]]
                    ) -> dict[tuple[str, str], int | None]:
    """Who first wrote the stored ones of these elements ((vocabulary type, canonical key)
    pairs): their `written_by` party, None where not known. Elements not stored are absent."""
    by_type: dict[str, list[str]] = {}
    for vtype, element in set(keys):
        by_type.setdefault(vtype, []).append(element)
    found: dict[tuple[str, str], int | None] = {}
    for vtype, wanted in sorted(by_type.items()):
        for start in range(0, len(wanted), 500):
            chunk = wanted[start:start + 500]
            marks = ",".join("?" * len(chunk))
            for element, party in conn.fetchall(
                    "SELECT element, written_by FROM vocabulary_elements WHERE vtype = ?"
                    f" AND element IN ({marks})", [vtype, *chunk]):
                found[(vtype, element)] = None if party is None else int(party)
    return found
