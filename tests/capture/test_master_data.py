"""Capture stores a document's master data itself (corridor.capture.master_data), JSON-LD and
XML alike, on SQLite and PostgreSQL: vocabulary attributes and the location hierarchy in the
transaction of the document's events, so that a rejected document stores none of it; master
data-only documents (EPCISMasterDataDocument) are captured as documents of no events; master
data past its bounds refuses the document with a problem naming where."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from corridor.capture import (
    Accepted,
    CaptureService,
    InvalidDocument,
    Refused,
    capture_document,
    prepare_document,
    read_job,
)
from corridor.capture import master_data as md
from corridor.capture.prepare import merge_prepared
from corridor.capture.work import CaptureWork
from corridor.config import Settings
from corridor.epcis.documents import read_document, to_jsonld
from corridor.epcis.problems import EpcisError
from corridor.node import open_ledger
from corridor.query.places import stored_places
from corridor.store.db import Connection, Database
from corridor.store.master_data import element_attributes
from corridor.store.migrations import migrate
from corridor.store.parties import add_identifier, add_party

PARTY = "urn:epc:id:pgln:0614141.00001"
CONTEXT = "https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld"
BUSINESS_LOCATION = "urn:epcglobal:epcis:vtype:BusinessLocation"
READ_POINT = "urn:epcglobal:epcis:vtype:ReadPoint"
MDA = "urn:epcglobal:cbv:mda:"
PORT = "urn:epc:id:sgln:0614141.00888.0"
BERTH = "urn:epc:id:sgln:0614141.00888.1"
PORT_KEY = "https://id.gs1.org/414/0614141008889"  # PORT's canonical key (Digital Link)
JSON_LD = "application/ld+json"
XML = "application/xml"


@dataclass
class Node:
    conn: Connection
    db: Database
    ledger: Any
    service: CaptureService
    party_id: int

    def capture(self, body: bytes, media: str = JSON_LD, behaviour: str = "rollback"
                ) -> Any:
        return asyncio.run(self.service.capture_document(
            body, media, party_id=self.party_id, behaviour=behaviour))

    def count(self, table: str) -> int:
        row = self.conn.fetchone(f"SELECT COUNT(*) FROM {table}")
        return int(row[0]) if row else 0

    def master_data_counts(self) -> tuple[int, int, int]:
        return (self.count("vocabulary_elements"), self.count("vocabulary_attributes"),
                self.count("location_children"))

    def attributes(self, vtype: str = BUSINESS_LOCATION) -> dict[str, dict[str, Any]]:
        return {e.written: e.attributes for e in element_attributes(self.conn, [vtype])}


@pytest.fixture
def node(db_url: str, tmp_path: Path) -> Iterator[Node]:
    settings = Settings(data_dir=tmp_path, db_url=db_url, capture_workers=0)
    db = Database(db_url)
    conn = db.connect()
    migrate(db, conn)
    ledger = open_ledger(settings, db)
    party, _ = add_party(conn, "Alice", PARTY)
    service = CaptureService(settings, db, ledger)
    try:
        yield Node(conn, db, ledger, service, party.id)
    finally:
        service.close()
        ledger.close()
        conn.close()


# -- documents ---------------------------------------------------------------------------

def port_vocabulary(name: str = "Port of Aktau") -> dict[str, Any]:
    return {"type": BUSINESS_LOCATION, "vocabularyElementList": [
        {"id": PORT, "attributes": [
            {"id": "cbvmda:name", "attribute": name},
            {"id": "cbvmda:streetAddressOne", "attribute": "1 Port Road"},
            {"id": "cbvmda:city", "attribute": "Aktau"},
            {"id": "cbvmda:countryCode", "attribute": "KZ"},
            {"id": "cbvmda:latitude", "attribute": "43.65"},
            {"id": "cbvmda:longitude", "attribute": "51.16"},
            {"id": "https://ns.example.com/mda/gate",
             "attribute": {"ex:number": "3", "ex:side": "north"}}],
         "children": [BERTH]}]}


def event(serial: str, **extra: Any) -> dict[str, Any]:
    return {"type": "ObjectEvent", "action": "OBSERVE", "eventTime": "2026-03-01T10:00:00Z",
            "eventTimeZoneOffset": "+00:00",
            "epcList": [f"urn:epc:id:sgtin:0614141.812345.{serial}"],
            "bizStep": "shipping", "bizLocation": {"id": BERTH}, **extra}


def json_document(events: list[dict[str, Any]], vocabularies: list[dict[str, Any]]
                  ) -> dict[str, Any]:
    return {"@context": [CONTEXT, {"ex": "https://ns.example.com/"}], "type": "EPCISDocument",
            "schemaVersion": "2.0", "creationDate": "2026-03-01T12:00:00Z",
            "epcisHeader": {"epcisMasterData": {"vocabularyList": vocabularies}},
            "epcisBody": {"eventList": events}}


def master_data_document(vocabularies: list[dict[str, Any]], *, in_body: bool = False
                         ) -> dict[str, Any]:
    doc: dict[str, Any] = {"@context": [CONTEXT, {"ex": "https://ns.example.com/"}],
                           "type": "EPCISMasterDataDocument", "schemaVersion": "2.0",
                           "creationDate": "2026-03-01T12:00:00Z"}
    if in_body:
        doc["epcisBody"] = {"vocabularyList": vocabularies}
    else:
        doc["epcisHeader"] = {"epcisMasterData": {"vocabularyList": vocabularies}}
    return doc


def body(doc: dict[str, Any]) -> bytes:
    return json.dumps(doc).encode()


XML_ELEMENT = f"""<VocabularyElement id="{PORT}">
                <attribute id="{MDA}name">Port of Aktau</attribute>
                <attribute id="{MDA}streetAddressOne">1 Port Road</attribute>
                <attribute id="{MDA}city">Aktau</attribute>
                <attribute id="{MDA}countryCode">KZ</attribute>
                <attribute id="{MDA}latitude">43.65</attribute>
                <attribute id="{MDA}longitude">51.16</attribute>
                <attribute id="https://ns.example.com/mda/gate"><ex:number>3</ex:number><ex:side>north</ex:side></attribute>
                <children><id>{BERTH}</id></children>
              </VocabularyElement>"""


def xml_document(element: str = XML_ELEMENT, action: str = "OBSERVE") -> bytes:
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<epcis:EPCISDocument xmlns:epcis="urn:epcglobal:epcis:xsd:2"
    xmlns:ex="https://ns.example.com/" schemaVersion="2.0"
    creationDate="2026-03-01T12:00:00Z">
  <EPCISHeader>
    <extension>
      <EPCISMasterData>
        <VocabularyList>
          <Vocabulary type="{BUSINESS_LOCATION}">
            <VocabularyElementList>
              {element}
            </VocabularyElementList>
          </Vocabulary>
        </VocabularyList>
      </EPCISMasterData>
    </extension>
  </EPCISHeader>
  <EPCISBody>
    <EventList>
      <ObjectEvent>
        <eventTime>2026-03-01T10:00:00Z</eventTime>
        <eventTimeZoneOffset>+00:00</eventTimeZoneOffset>
        <epcList><epc>urn:epc:id:sgtin:0614141.812345.X1</epc></epcList>
        <action>{action}</action>
        <bizStep>urn:epcglobal:cbv:bizstep:shipping</bizStep>
        <bizLocation><id>{BERTH}</id></bizLocation>
      </ObjectEvent>
    </EventList>
  </EPCISBody>
</epcis:EPCISDocument>
""".encode()


XML_MASTER_DATA_DOCUMENT = f"""<?xml version="1.0" encoding="UTF-8"?>
<epcismd:EPCISMasterDataDocument xmlns:epcismd="urn:epcglobal:epcis-masterdata:xsd:2"
    xmlns:ex="https://ns.example.com/" schemaVersion="2.0"
    creationDate="2026-03-01T12:00:00Z">
  <EPCISBody>
    <VocabularyList>
      <Vocabulary type="{BUSINESS_LOCATION}">
        <VocabularyElementList>
          {XML_ELEMENT}
        </VocabularyElementList>
      </Vocabulary>
    </VocabularyList>
  </EPCISBody>
</epcismd:EPCISMasterDataDocument>
""".encode()

EXPECTED = {MDA + "name": "Port of Aktau", MDA + "streetAddressOne": "1 Port Road",
            MDA + "city": "Aktau", MDA + "countryCode": "KZ", MDA + "latitude": "43.65",
            MDA + "longitude": "51.16",
            "https://ns.example.com/mda/gate": {"ex:number": "3", "ex:side": "north"}}


def assert_port_stored(node: Node) -> None:
    assert node.attributes() == {PORT: EXPECTED}
    (place,) = stored_places(node.conn)  # what the dashboard names places by
    assert (place.name, place.country, place.lat, place.lon, place.location) == (
        "Port of Aktau", "KZ", 43.65, 51.16, PORT_KEY)
    children = node.conn.fetchall("SELECT parent, child FROM location_children")
    assert children == [(PORT_KEY, PORT_KEY + "/254/1")]


# -- documents with events and master data ------------------------------------------------

def test_json_document_stores_its_master_data_with_its_events(node: Node) -> None:
    outcome = node.capture(body(json_document([event("J1")], [port_vocabulary()])))
    assert isinstance(outcome, Accepted), outcome
    assert outcome.job["success"] and outcome.job["eventCount"] == 1
    assert node.count("events") == 1
    assert_port_stored(node)


def test_xml_document_stores_its_master_data_with_its_events(node: Node) -> None:
    outcome = node.capture(xml_document(), XML)
    assert isinstance(outcome, Accepted), outcome
    assert outcome.job["success"] and outcome.job["eventCount"] == 1
    assert node.count("events") == 1
    assert_port_stored(node)


def test_a_later_capture_replaces_an_attribute(node: Node) -> None:
    node.capture(body(json_document([event("L1")], [port_vocabulary()])))
    again = node.capture(body(master_data_document([port_vocabulary("Aktau Sea Port")])))
    assert isinstance(again, Accepted)
    assert node.attributes()[PORT][MDA + "name"] == "Aktau Sea Port"
    assert node.master_data_counts() == (1, 7, 1)  # one element, one hierarchy pair


def test_one_group_commit_writes_each_documents_master_data(node: Node) -> None:
    """Captures sharing one transaction (the writer's group commit): each one's master data
    is written, the later document's value winning for an attribute both give."""
    from corridor.capture.writer import write_captures

    works = []
    for serial, name in (("G1", "First name"), ("G2", "Second name")):
        work = prepare_document(body(json_document([event(serial)], [port_vocabulary(name)])),
                                JSON_LD, behaviour="rollback", party_id=None, party=PARTY,
                                signature=None, limit=10)
        assert isinstance(work, CaptureWork)
        works.append(work)
    results = write_captures(node.conn, node.ledger, works)
    assert [r.stored for r in results] == [1, 1]
    assert node.attributes()[PORT][MDA + "name"] == "Second name"


def test_proceed_keeps_the_master_data_of_the_document_it_accepts(node: Node) -> None:
    doc = json_document([event("P1"), event("P2", action="JUMP")], [port_vocabulary()])
    outcome = node.capture(body(doc), behaviour="proceed")
    assert isinstance(outcome, Accepted) and not outcome.job["success"]
    assert node.count("events") == 1
    assert_port_stored(node)


# -- rejected documents store none of it ----------------------------------------------------

def test_rejected_documents_store_no_master_data(node: Node) -> None:
    bad_event = json_document([event("R1"), event("R2", action="JUMP")], [port_vocabulary()])
    outcome = node.capture(body(bad_event))  # rollback: one bad event rejects all
    assert isinstance(outcome, InvalidDocument)
    assert outcome.problems[0].location == "/epcisBody/eventList/1/action"
    # an event the schema lets through but capture cannot take (a parsed document)
    doc = read_document(body(bad_event), validate=False)
    doc.events[1] = event("R2", eventTime="not a time")
    result = capture_document(node.conn, node.ledger, doc, party_id=node.party_id,
                              party_identifier=PARTY)
    assert not result.success and result.errors[0]["eventIndex"] == 1
    outcome = node.capture(xml_document(action="JUMP"), XML)  # the XSD's enumeration
    assert isinstance(outcome, InvalidDocument)
    invalid = json_document([event("R3")], [port_vocabulary()])
    del invalid["creationDate"]
    outcome = node.capture(body(invalid))
    assert isinstance(outcome, InvalidDocument)
    assert outcome.problems[0].location == "/"
    assert "creationDate" in outcome.problems[0].message
    assert node.master_data_counts() == (0, 0, 0)
    assert node.count("events") == 0


def test_a_write_that_fails_late_rolls_its_master_data_back(
        node: Node, monkeypatch: pytest.MonkeyPatch) -> None:
    """The master data is written in the transaction of the events and the job: a failure
    after it was written (here, writing the jobs) leaves none of it."""
    from corridor.capture import writer

    def broken(*args: Any, **kwargs: Any) -> None:
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(writer, "_write_jobs", broken)
    doc = read_document(body(json_document([event("F1")], [port_vocabulary()])))
    result = capture_document(node.conn, node.ledger, doc, party_id=node.party_id,
                              party_identifier=PARTY)
    assert not result.success and "disk on fire" in result.errors[-1]["message"]
    assert node.master_data_counts() == (0, 0, 0)
    assert node.count("events") == 0
    monkeypatch.undo()
    assert capture_document(node.conn, node.ledger, doc, party_id=node.party_id,
                            party_identifier=PARTY).success
    assert_port_stored(node)


# -- master data-only documents -------------------------------------------------------------

@pytest.mark.parametrize("in_body", [False, True], ids=["header", "body"])
def test_json_master_data_document_is_captured(node: Node, in_body: bool) -> None:
    size = node.ledger.size()
    outcome = node.capture(body(master_data_document([port_vocabulary()], in_body=in_body)))
    assert isinstance(outcome, Accepted), outcome
    job = outcome.job
    assert job["success"] and job["eventCount"] == 0 and job["events"] == []
    assert job == read_job(node.conn, outcome.job_id)
    assert node.count("events") == 0 and node.ledger.size() == size  # nothing logged
    assert_port_stored(node)


def test_xml_master_data_document_is_captured(node: Node) -> None:
    outcome = node.capture(XML_MASTER_DATA_DOCUMENT, XML)
    assert isinstance(outcome, Accepted), outcome
    assert outcome.job["success"] and outcome.job["eventCount"] == 0
    assert node.count("events") == 0
    assert_port_stored(node)


def test_the_official_master_data_example_in_xml_and_as_json(node: Node, conformance: Path
                                                            ) -> None:
    data = (conformance / "gs1-epcis" / "XML" / "Mimasu" / "Example-masterData.xml").read_bytes()
    # its locations are of GS1 Company Prefix 0037000: the party answers to that prefix too
    add_identifier(node.conn, node.party_id, "urn:epc:id:pgln:0037000.00000")
    assert isinstance(node.capture(data, XML), Accepted)
    from_xml = (node.attributes(), node.attributes(READ_POINT), node.master_data_counts())
    assert from_xml[0]["urn:epc:id:sgln:0037000.00729.0"][
        "http://epcis.example.com/mda/address"]["example:Address"]["City"] == "Fancy"
    assert from_xml[1]["urn:epc:id:sgln:0037000.00729.8201"] == {
        MDA + "site": "0037000007296", MDA + "sst": "201"}
    assert from_xml[2] == (7, 13, 4)
    as_json = json.dumps(to_jsonld(read_document(data))).encode()
    assert isinstance(node.capture(as_json), Accepted)  # the same again: nothing changes
    assert (node.attributes(), node.attributes(READ_POINT), node.master_data_counts()) \
        == from_xml


def test_the_demo_captures_its_places_as_master_data_documents(node: Node) -> None:
    """Each operator sends its own sites (their SGLNs carry its GS1 Company Prefix)."""
    from corridor.demo.actors import ACTOR_BY_SLUG
    from corridor.demo.scenario import master_data_documents

    for slug, doc in master_data_documents():
        assert doc["type"] == "EPCISMasterDataDocument"
        actor = ACTOR_BY_SLUG[slug]
        operator, _ = add_party(node.conn, actor.name, actor.pgln)
        outcome = asyncio.run(node.service.capture_document(body(doc), JSON_LD,
                                                            party_id=operator.id))
        assert isinstance(outcome, Accepted) and outcome.job["eventCount"] == 0
    places = stored_places(node.conn)
    assert len(places.all) > 5 and all(p.name for p in places)


# -- bounds -------------------------------------------------------------------------------

def test_too_many_attributes_refuse_the_document_naming_the_element(node: Node) -> None:
    vocab = port_vocabulary()
    vocab["vocabularyElementList"].append({"id": BERTH, "attributes": [
        {"id": f"https://ns.example.com/mda/a{i}", "attribute": str(i)}
        for i in range(md.MAX_ELEMENT_ATTRIBUTES + 1)]})
    outcome = node.capture(body(json_document([event("B1")], [vocab])))
    assert isinstance(outcome, InvalidDocument), outcome
    (problem,) = outcome.problems
    assert problem.location == \
        "/epcisHeader/epcisMasterData/vocabularyList/0/vocabularyElementList/1/attributes"
    assert problem.rule == md.LIMIT_RULE and BERTH in problem.message
    assert f"at most {md.MAX_ELEMENT_ATTRIBUTES}" in problem.message
    job = read_job(node.conn, outcome.job_id)
    assert job is not None and not job["success"]
    assert problem.location in json.dumps(job["errors"])
    assert node.master_data_counts() == (0, 0, 0) and node.count("events") == 0


def test_an_oversized_attribute_value_is_refused_in_json_and_xml(node: Node) -> None:
    big = {"ex:a": "x" * 40_000, "ex:b": "y" * 40_000}
    vocab = {"type": BUSINESS_LOCATION, "vocabularyElementList": [
        {"id": PORT, "attributes": [{"id": "cbvmda:name", "attribute": "Port"},
                                    {"id": "https://ns.example.com/mda/big",
                                     "attribute": big}]}]}
    outcome = node.capture(body(master_data_document([vocab])))
    assert isinstance(outcome, InvalidDocument), outcome
    (problem,) = outcome.problems
    assert problem.location == ("/epcisHeader/epcisMasterData/vocabularyList/0"
                                "/vocabularyElementList/0/attributes/1/attribute")
    assert PORT in problem.message and "at most 65,536" in problem.message
    element = XML_ELEMENT.replace(
        "<children>", '<attribute id="https://ns.example.com/mda/big">'
        f"<ex:a>{'x' * 40_000}</ex:a><ex:b>{'y' * 40_000}</ex:b></attribute><children>")
    outcome = node.capture(xml_document(element), XML)
    assert isinstance(outcome, InvalidDocument), outcome
    (problem,) = outcome.problems
    assert problem.location.endswith("/vocabularyElementList/0/attributes/7/attribute")
    assert PORT in problem.message
    assert node.master_data_counts() == (0, 0, 0) and node.count("events") == 0


def test_document_bounds_on_elements_and_children(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(md, "MAX_ELEMENTS", 3)
    monkeypatch.setattr(md, "MAX_CHILDREN", 4)
    many = {"type": READ_POINT, "vocabularyElementList": [
        {"id": f"urn:epc:id:sgln:0614141.00888.{i}"} for i in range(4)]}
    with pytest.raises(EpcisError) as caught:
        md.read_master_data(master_data_document([many]), {})
    assert caught.value.problems[0].location.endswith("/vocabularyElementList/3")
    assert "more than 3 vocabulary elements" in caught.value.problems[0].message
    kids = {"type": READ_POINT, "vocabularyElementList": [
        {"id": PORT, "children": [BERTH] * 3}, {"id": BERTH, "children": [PORT] * 2}]}
    with pytest.raises(EpcisError) as caught:
        md.read_master_data(master_data_document([kids], in_body=True), {})
    assert caught.value.problems[0].location == \
        "/epcisBody/vocabularyList/0/vocabularyElementList/1/children"


def test_a_document_without_master_data_reads_none() -> None:
    doc = read_document(body(json_document([event("N1")], [])))
    assert md.read_master_data(doc.header, doc.namespaces) == md.MasterData()
    doc.header.pop("epcisHeader")
    assert md.read_master_data(doc.header, doc.namespaces) is md.NO_MASTER_DATA


def test_a_split_document_carries_its_master_data_once() -> None:
    """A document prepared in slices (worker processes): part 0 carries the master data and
    its refusal, which wins over the other parts."""
    data = body(json_document([event(f"S{i}") for i in range(4)], [port_vocabulary()]))
    parts = [prepare_document(data, JSON_LD, behaviour="rollback", party_id=None, party=PARTY,
                              signature=None, limit=10, record_time="2026-03-01T12:00:00Z",
                              part=(k, 2)) for k in range(2)]
    assert [len(p.vocabulary) for p in parts if isinstance(p, CaptureWork)] == [7, 0]
    merged = merge_prepared(parts)
    assert isinstance(merged, CaptureWork) and len(merged.prepared) == 4
    assert len(merged.vocabulary) == 7 and merged.children == [(PORT, BERTH)]
    vocab = port_vocabulary()
    vocab["vocabularyElementList"][0]["attributes"] *= 100
    data = body(json_document([event(f"S{i}") for i in range(4)], [vocab]))
    parts = [prepare_document(data, JSON_LD, behaviour="rollback", party_id=None, party=PARTY,
                              signature=None, limit=10, part=(k, 2)) for k in range(2)]
    assert isinstance(merge_prepared(parts), Refused)


def test_the_configured_size_limit_is_passed_down(tmp_path: Path) -> None:
    """CaptureService hands Settings.max_capture_bytes to the parser (corridor.epcis reads no
    configuration)."""
    data = body(master_data_document([port_vocabulary()]))
    db_url = f"sqlite:///{tmp_path / 'c.sqlite3'}"
    settings = Settings(data_dir=tmp_path, db_url=db_url, capture_workers=0,
                        max_capture_bytes=len(data) - 1)
    db = Database(db_url)
    with db.connect() as conn:
        migrate(db, conn)
        party, _ = add_party(conn, "Alice", PARTY)
    ledger = open_ledger(settings, db)
    service = CaptureService(settings, db, ledger)
    try:
        outcome = asyncio.run(service.capture_document(data, JSON_LD, party_id=party.id))
        assert isinstance(outcome, InvalidDocument)
        assert outcome.problems[0].rule == "size-limit"
        assert f"{len(data) - 1} bytes" in outcome.problems[0].message
    finally:
        service.close()
        ledger.close()
