"""Reading EPCIS 2.0 documents: JSON-LD and XML into the same JSON-LD event form."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

from corridor.epcis import EpcisError, read_document, validate_bytes
from corridor.epcis.documents import iter_events, to_jsonld
from corridor.epcis.jsonld import context_namespaces


def test_json_document_parts(hash_examples: Path) -> None:
    doc = read_document((hash_examples / "epcisDocWithVariousEventTypes.jsonld").read_bytes())
    assert doc.kind == "EPCISDocument"
    assert len(doc.events) == 13
    assert {e["type"] for e in doc.events} == {"ObjectEvent", "AggregationEvent",
                                               "TransactionEvent", "TransformationEvent"}
    assert doc.namespaces["example"] == "https://ns.example.com/epcis/"
    assert doc.namespaces["cbvmda"] == "urn:epcglobal:cbv:mda:"
    assert "eventList" not in doc.header["epcisBody"]
    assert doc.header["creationDate"] == "2022-02-17T11:30:47.0Z"


def test_xml_matches_the_paired_jsonld_example(hash_examples: Path) -> None:
    """The GS1 vectors give the same events as XML and as JSON-LD; the standard mapping
    turns the XML into exactly the JSON-LD events."""
    for name in ("epcisDocWithVariousEventTypes", "CertificationInfoAndSensorReportWithCRS",
                 "ReferenceEventHashAlgorithm", "epcisDocWithShippingAndTransportingEvent",
                 "epcisDocWithXMLstartTagAndErrorDeclaration", "epcisEventWithCURIEs"):
        xml_doc = read_document((hash_examples / f"{name}.xml").read_bytes(), validate=False)
        json_doc = read_document((hash_examples / f"{name}.jsonld").read_bytes(),
                                 validate=False)
        assert xml_doc.events == json_doc.events, name


def test_xml_extensions_become_prefixed_keys(gs1: Path) -> None:
    path = gs1 / "XML/WithFullCombinationOfFields/object_event_all_possible_fields.xml"
    doc = read_document(path.read_bytes())
    event = doc.events[0]
    assert doc.namespaces["ext1"] == "http://example.com/ext1/"
    element = event["sensorElementList"][0]
    assert element["sensorMetadata"]["ext1:someFurtherMetadata"] == "someText"
    report = element["sensorReport"][0]
    assert report["type"] == "Temperature"
    assert report["value"] == 26 and report["maxValue"] == 26.2
    assert report["booleanValue"] is True
    assert report["ext1:someFurtherReportData"] == "someText"
    assert element["ext1:object"]["ext2:object"]["ext3:string"] == "stringInObjectInObject"
    assert event["persistentDisposition"] == {"set": ["completeness_verified"],
                                              "unset": ["completeness_inferred"]}
    assert event["bizTransactionList"][1] == {"type": "pedigree",
                                              "bizTransaction":
                                              "urn:epc:id:gsrn:0614141.0000010253"}
    assert doc.header["@context"][0].endswith("epcis-context.jsonld")
    assert {"ext1": "http://example.com/ext1/"} in doc.header["@context"]


def test_error_declaration_and_ilmd(gs1: Path) -> None:
    doc = read_document((gs1 / "XML/WithErrorDeclaration/ErrorDeclarationAndCorrectiveEvent.xml"
                         ).read_bytes())
    declared = [e for e in doc.events if "errorDeclaration" in e]
    assert declared, "the example declares an error"
    decl = declared[0]["errorDeclaration"]
    assert decl["reason"] == "incorrect_data"
    assert all(i.startswith(("urn:uuid:", "ni:")) for i in decl["correctiveEventIDs"])
    # xsi:nil quantities are left out, as the JSON form has no null quantity
    for event in doc.events:
        for q in event.get("inputQuantityList", []):
            assert "quantity" not in q or isinstance(q["quantity"], (int, float))


def test_query_document_json_and_xml(gs1: Path, hash_examples: Path) -> None:
    doc = read_document((gs1 / "JSON/EPCISQueryDocument.jsonld").read_bytes())
    assert doc.kind == "EPCISQueryDocument"
    assert doc.events and doc.header["epcisBody"]["queryResults"]["queryName"]
    assert to_jsonld(doc)["epcisBody"]["queryResults"]["resultsBody"]["eventList"] == \
        doc.events
    xml_doc = read_document((hash_examples / "epcisQueryDocument.xml").read_bytes(),
                            validate=False)
    assert xml_doc.kind == "EPCISQueryDocument"
    assert xml_doc.header["epcisBody"]["queryResults"]["subscriptionID"]
    assert len(xml_doc.events) == 2


def test_master_data_document(gs1: Path) -> None:
    doc = read_document((gs1 / "XML/Mimasu/Example-masterData.xml").read_bytes())
    assert doc.kind == "EPCISMasterDataDocument" and doc.events == []
    vocabularies = doc.header["epcisBody"]["vocabularyList"]
    first = vocabularies[0]
    assert first["type"] == "urn:epcglobal:epcis:vtype:BusinessLocation"
    element = first["vocabularyElementList"][0]
    assert element["id"] == "urn:epc:id:sgln:0037000.00729.0"
    assert element["children"][0] == "urn:epc:id:sgln:0037000.00729.8201"
    address = element["attributes"][2]["attribute"]
    assert address["example:Address"]["City"] == "Fancy"


def test_every_example_reads_the_same_streaming_or_whole(
        json_examples: dict[str, bytes], standard_xml_examples: dict[str, bytes],
        known_invalid: frozenset[str]) -> None:
    checked = 0
    for name, data in {**json_examples, **standard_xml_examples}.items():
        if name in known_invalid or "CaptureJob" in name or "CBV/" in name \
                or "masterData" in name or "masterdata" in name:
            continue
        doc = read_document(data)
        streamed = list(iter_events(io.BytesIO(data)))
        assert [e for e, _ in streamed] == doc.events, name
        for event, namespaces in streamed:
            assert _prefixes(event) <= set(namespaces), name
        checked += 1
    assert checked > 80


def _prefixes(value: object) -> set[str]:
    """Prefixes of the extension keys used anywhere in a JSON value."""
    found: set[str] = set()
    if isinstance(value, dict):
        for key, item in value.items():
            if ":" in key and not key.startswith(("http:", "https:", "urn:")):
                found.add(key.split(":", 1)[0])
            found |= _prefixes(item)
    elif isinstance(value, list):
        for item in value:
            found |= _prefixes(item)
    return found


def test_stream_waits_for_a_trailing_context(gs1: Path) -> None:
    """@context after the body (allowed in JSON) still gives each event its prefixes."""
    data = (gs1 / "JSON/WithFullCombinationOfFields/object_event_all_possible_fields.jsonld"
            ).read_bytes()
    assert data.rstrip().endswith(b"]\n}") or b'"@context"' in data[-400:]
    (event, namespaces), = list(iter_events(io.BytesIO(data)))
    assert namespaces["ext1"] == "http://example.com/ext1/"
    assert event["ilmd"]["cbvmda:lotNumber"] == "ABC123"


def test_context_namespaces() -> None:
    context = ["https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld",
               {"ex": "https://ex.example/ns/", "@vocab": "https://x/"},
               {"term": {"@id": "https://term.example/"}, "cbvmda": "urn:override:"}]
    found = context_namespaces(context)
    assert found["ex"] == "https://ex.example/ns/"
    assert found["term"] == "https://term.example/"
    assert found["gs1"] == "https://gs1.org/voc/"  # declared by the standard context
    assert found["cbvmda"] == "urn:override:"  # later entries win
    assert "@vocab" not in found
    assert context_namespaces(None) == {}


@pytest.mark.parametrize("data, where", [
    (b'{"type": "EPCISDocument", ', "line 1"),
    (b"[1, 2]", "/"),
    (b'{"type": "Nope"}', "/type"),
])
def test_bad_json_is_refused_with_location(data: bytes, where: str) -> None:
    with pytest.raises(EpcisError) as caught:
        read_document(data, validate=False)
    assert caught.value.problems[0].location.startswith(where)


def test_validation_errors_list_every_problem(gs1: Path) -> None:
    doc = json.loads((gs1 / "JSON/Example_9.6.1-ObjectEvent.jsonld").read_bytes())
    event = doc["epcisBody"]["eventList"][0]
    del event["action"]
    event["eventTimeZoneOffset"] = "+25:00"
    doc["epcisBody"]["eventList"].append({"type": "ObjectEvent"})
    last = len(doc["epcisBody"]["eventList"]) - 1
    with pytest.raises(EpcisError) as caught:
        read_document(json.dumps(doc).encode())
    locations = {p.location for p in caught.value.problems}
    assert "/epcisBody/eventList/0/eventTimeZoneOffset" in locations
    assert f"/epcisBody/eventList/{last}" in locations
    assert len(caught.value.problems) >= 3


def test_streaming_stops_at_the_first_invalid_batch_with_its_location(gs1: Path) -> None:
    doc = json.loads((gs1 / "JSON/Example_9.6.1-ObjectEvent.jsonld").read_bytes())
    good = doc["epcisBody"]["eventList"][0]
    doc["epcisBody"]["eventList"] = [good] * 300 + [dict(good, action="WATCH")] + [good] * 5
    with pytest.raises(EpcisError) as caught:
        list(iter_events(io.BytesIO(json.dumps(doc).encode())))
    assert caught.value.problems[0].location == "/epcisBody/eventList/300/action"
    # events before the faulty batch were already handed out, in order
    handed: list[dict] = []
    with pytest.raises(EpcisError):
        for event, _ in iter_events(io.BytesIO(json.dumps(doc).encode())):
            handed.append(event)
    assert len(handed) == 256 and handed[0] == good


def test_streaming_xml_is_checked_against_the_xsd(gs1: Path) -> None:
    data = (gs1 / "XML/Example_9.6.1-ObjectEvent-2020_06_18a.xml").read_bytes()
    broken = data.replace(b"<action>OBSERVE</action>", b"<action>WATCH</action>", 1)
    with pytest.raises(EpcisError) as caught:
        list(iter_events(io.BytesIO(broken)))
    problem = caught.value.problems[0]
    line = broken[: broken.index(b"<action>WATCH")].count(b"\n") + 1
    assert problem.location == f"line {line}, element <action>"
    assert problem.rule.startswith("xsd:")
    assert problem == validate_bytes(broken)[0]  # the same verdict as the whole-tree check
    assert len(list(iter_events(io.BytesIO(broken), validate=False))) == 2
    # a fault outside the events is found once the document has been read
    no_version = data.replace(b'schemaVersion="2.0"', b"", 1)
    assert validate_bytes(no_version)
    with pytest.raises(EpcisError) as caught:
        list(iter_events(io.BytesIO(no_version)))
    assert caught.value.problems == validate_bytes(no_version)


def test_streaming_a_query_document(gs1: Path) -> None:
    data = (gs1 / "JSON/EPCISQueryDocument.jsonld").read_bytes()
    events = [e for e, _ in iter_events(io.BytesIO(data))]
    assert events == read_document(data).events and events


EPCIS_1X = b"""<?xml version="1.0" encoding="UTF-8"?>
<epcis:EPCISDocument xmlns:epcis="urn:epcglobal:epcis:xsd:1" xmlns:ex="https://ex.example/"
    schemaVersion="1.2" creationDate="2020-01-01T00:00:00Z">
  <EPCISBody><EventList>
    <ObjectEvent>
      <eventTime>2020-01-01T00:00:00Z</eventTime><eventTimeZoneOffset>+00:00</eventTimeZoneOffset>
      <baseExtension><eventID>urn:uuid:6a3e1c0b-7b43-4d0e-9a8e-2b3f3f0c1a11</eventID>
      </baseExtension>
      <epcList/><action>ADD</action>
      <extension>
        <quantityList><quantityElement><epcClass>urn:epc:class:lgtin:4012345.012345.1</epcClass>
          <quantity>2.5</quantity><uom>KGM</uom></quantityElement></quantityList>
        <ilmd><ex:lot>L1</ex:lot></ilmd>
      </extension>
      <ex:note ex:lang="en">hello</ex:note>
    </ObjectEvent>
    <extension>
      <TransformationEvent>
        <eventTime>2020-01-01T00:00:00Z</eventTime><eventTimeZoneOffset>+00:00</eventTimeZoneOffset>
        <inputEPCList><epc>urn:epc:id:sgtin:4012345.011122.25</epc></inputEPCList>
      </TransformationEvent>
    </extension>
  </EventList></EPCISBody>
</epcis:EPCISDocument>"""


def test_epcis_1x_extension_wrappers_are_flattened() -> None:
    doc = read_document(EPCIS_1X, validate=False)
    first, second = doc.events
    assert first["eventID"] == "urn:uuid:6a3e1c0b-7b43-4d0e-9a8e-2b3f3f0c1a11"
    assert first["quantityList"] == [{"epcClass": "urn:epc:class:lgtin:4012345.012345.1",
                                      "quantity": 2.5, "uom": "KGM"}]
    assert first["ilmd"] == {"ex:lot": "L1"}
    assert first["ex:note"] == {"ex:lang": "en", "@value": "hello"}
    assert first["epcList"] == []
    assert second["type"] == "TransformationEvent"
    assert doc.namespaces == {"ex": "https://ex.example/"}
    streamed = [e for e, _ in iter_events(io.BytesIO(EPCIS_1X), validate=False)]
    assert streamed == doc.events


def test_document_level_extensions_and_bodyless_query_documents(hash_examples: Path) -> None:
    """Namespaced children of the root (e.g. a repository's ignoreFields) reach the header
    as prefixed keys, as the JSON form writes them; a query document without EPCISBody /
    QueryResults still gives its events."""
    doc = read_document((hash_examples / "epcisXmlDocHavingEventWithIgnoreFields.xml"
                         ).read_bytes(), validate=False)
    assert doc.header["repository-x:ignoreFields"] == {"example:testField1": "",
                                                       "example:testField2": ""}
    assert doc.namespaces["repository-x"] == "https://repository-x.example.com/"
    query = read_document((hash_examples / "epcisXmlQueryDocHavingEventWithIgnoreFields.xml"
                           ).read_bytes(), validate=False)
    assert query.kind == "EPCISQueryDocument" and len(query.events) == 2
    assert query.header["epcisBody"]["queryResults"]["queryName"] == "SimpleEventQuery"
    assert "repository-x:ignoreFields" in query.header
