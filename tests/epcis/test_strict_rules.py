"""The standard's rules the official JSON schema leaves out (corridor.epcis.rules, issue 19):
what the schema let through into the append-only log is refused by `corridor validate`, by
document reading (capture) and by the streaming reader, in JSON and in XML alike, each
problem naming where (JSON pointer; XML line) and which rule. The HTTP side is
tests/api/test_capture_strict.py."""

from __future__ import annotations

import copy
import io
import json

import pytest
from click.testing import CliRunner

from corridor.cli import main
from corridor.epcis import EpcisError, read_document, validate_bytes
from corridor.epcis.documents import iter_events, to_xml
from corridor.epcis.rules import (
    EPCIS_CONTEXTS,
    identifier_fault,
    time_fault,
    vocabulary_fault,
)

CONTEXT = "https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld"
EVENT = "/epcisBody/eventList/0"


def event(**changes: object) -> dict:
    base = {"type": "ObjectEvent", "action": "OBSERVE",
            "eventTime": "2026-03-01T10:00:00.000+05:00", "eventTimeZoneOffset": "+05:00",
            "epcList": ["urn:epc:id:sgtin:4870101.012345.1001"],
            "bizStep": "departing", "disposition": "in_transit",
            "readPoint": {"id": "urn:epc:id:sgln:4870104.00001.0"},
            "bizLocation": {"id": "urn:epc:id:sgln:4870104.00000.0"}}
    return {**base, **changes}


def document(*events: dict, context: object = None) -> dict:
    return {"@context": [CONTEXT] if context is None else context, "type": "EPCISDocument",
            "schemaVersion": "2.0", "creationDate": "2026-03-01T10:00:00Z",
            "epcisBody": {"eventList": list(events)}}


def body(doc: dict) -> bytes:
    return json.dumps(doc).encode()


def xml_of(doc: dict) -> bytes:
    """The XML form of a JSON document (read without validation: it may be faulty)."""
    return to_xml(read_document(body(doc), validate=False))


# The seven inputs of the issue: (JSON document, where, rule)
SEVEN = {
    "event type": (document(event(type="NoSuchEvent")), f"{EVENT}/type", "epcis:event-type"),
    "empty context": (document(event(), context=[]), "/@context", "epcis:context"),
    "unknown bizStep": (document(event(bizStep="teleporting")), f"{EVENT}/bizStep",
                        "cbv:bizStep"),
    "miscased bizStep": (document(event(bizStep="Arriving")), f"{EVENT}/bizStep",
                         "cbv:bizStep"),
    "disposition": (document(event(disposition="in transit")), f"{EVENT}/disposition",
                    "cbv:disposition"),
    "eventTime": (document(event(eventTime="2026-13-45T99:00:00+05:00")),
                  f"{EVENT}/eventTime", "rfc3339:date-time"),
    "epcList": (document(event(epcList=["not-an-epc"])), f"{EVENT}/epcList/0", "epcis:uri"),
    "bizLocation": (document(event(bizLocation={"id": "Aktau"})), f"{EVENT}/bizLocation/id",
                    "epcis:uri"),
}


def test_the_base_document_is_valid_in_both_syntaxes() -> None:
    doc = document(event())
    assert validate_bytes(body(doc)) == []
    assert validate_bytes(xml_of(doc)) == []


@pytest.mark.parametrize("case", sorted(SEVEN))
def test_refused_by_validate_read_and_stream(case: str) -> None:
    doc, where, rule = SEVEN[case]
    assert (where, rule) in [(p.location, p.rule) for p in validate_bytes(body(doc))]
    with pytest.raises(EpcisError) as caught:
        read_document(body(doc))  # what capture does with a document
    assert (where, rule) in [(p.location, p.rule) for p in caught.value.problems]
    with pytest.raises(EpcisError) as caught:
        for _ in iter_events(io.BytesIO(body(doc))):  # large documents, `corridor hash`
            pass
    assert (where, rule) in [(p.location, p.rule) for p in caught.value.problems]


@pytest.mark.parametrize("case", sorted(SEVEN))
def test_corridor_validate_names_location_and_rule(case: str) -> None:
    doc, where, rule = SEVEN[case]
    result = CliRunner().invoke(main, ["validate", "-"], input=body(doc))
    assert result.exit_code == 1
    assert any(line.startswith(f"<stdin>: {where}: ") and line.endswith(f"[{rule}]")
               for line in result.output.splitlines()), result.output


# XML has no @context; an unknown event element and an impossible time are the XSD's own
XML_SAME_RULE = ["unknown bizStep", "miscased bizStep", "disposition", "epcList", "bizLocation"]
BAD_VALUES = {"unknown bizStep": "teleporting", "miscased bizStep": "Arriving",
              "disposition": "in transit", "epcList": "not-an-epc", "bizLocation": "Aktau"}


@pytest.mark.parametrize("case", XML_SAME_RULE)
def test_xml_gets_the_same_verdict_from_the_same_rule(case: str) -> None:
    doc, where, rule = SEVEN[case]
    xml = xml_of(doc)
    json_verdict = [(p.location, p.rule) for p in validate_bytes(body(doc))]
    problems = validate_bytes(xml)
    assert [(p.location, p.rule) for p in problems] == json_verdict == [(where, rule)]
    element = {"epcList": "epc", "bizLocation": "id"}.get(case, where.rsplit("/", 1)[1])
    value = BAD_VALUES[case]
    line = next(n for n, text in enumerate(xml.decode().splitlines(), 1)
                if f"<{element}>{value}</{element}>" in text)
    assert problems[0].message.endswith(f"(XML: <{element}> at line {line})")
    for problems in (_read_problems(xml), _stream_problems(xml)):
        assert [(p.location, p.rule) for p in problems] == [(where, rule)]


def _read_problems(data: bytes) -> list:
    try:
        read_document(data)
    except EpcisError as exc:
        return exc.problems
    return []


def _stream_problems(data: bytes) -> list:
    try:
        for _ in iter_events(io.BytesIO(data)):
            pass
    except EpcisError as exc:
        return exc.problems
    return []


def test_xml_event_type_and_time_are_refused_by_the_xsd() -> None:
    xml = xml_of(document(event()))
    for wrong, element in ((xml.replace(b"ObjectEvent>", b"NoSuchEvent>"), "NoSuchEvent"),
                           (xml.replace(b"2026-03-01T10:00:00.000+05:00",
                                        b"2026-13-45T99:00:00+05:00"), "eventTime"),
                           (xml.replace(b"2026-03-01T10:00:00.000+05:00",
                                        b"2026-03-01T10:00:00"), "eventTime")):
        (problem, *_) = validate_bytes(wrong)
        assert problem.location.startswith("line ") and f"<{element}>" in problem.location
        assert problem.rule.startswith("xsd:")


def test_cbv_urn_forms_in_xml() -> None:
    """XML writes CBV values as URNs: a standard word there passes, anything else in the
    CBV namespace is named."""
    xml = xml_of(document(event()))
    assert b"urn:epcglobal:cbv:bizstep:departing" in xml
    assert validate_bytes(xml.replace(b":departing", b":arriving")) == []
    for wrong in (b":teleporting", b":Arriving"):
        (problem,) = validate_bytes(xml.replace(b":departing", wrong))
        assert (problem.location, problem.rule) == (f"{EVENT}/bizStep", "cbv:bizStep")
        assert "is in the CBV namespace but names no CBV bizStep" in problem.message


def test_a_time_without_offset_and_an_impossible_day() -> None:
    for when, fault in (("2026-03-01T10:00:00", "with a time zone offset"),
                        ("2027-02-29T10:00:00Z", "day 29 (01-28 in 2027-02)")):
        (problem,) = validate_bytes(body(document(event(eventTime=when))))
        assert (problem.location, problem.rule) == (f"{EVENT}/eventTime", "rfc3339:date-time")
        assert fault in problem.message


def test_every_place_of_the_rules_in_one_event() -> None:
    """Times, identifiers and CBV values wherever an event holds them."""
    bad = event(
        recordTime="2026-03-01T10:00:00", parentID="pallet 7",
        childEPCs=["urn:epc:id:sgtin:1.2.3"],
        quantityList=[{"epcClass": "lot 4", "quantity": 1}],
        readPoint={"id": "dock 3"},
        persistentDisposition={"set": ["Completeness_verified"], "unset": ["in_transit"]},
        bizTransactionList=[{"type": "purchase order", "bizTransaction": "PO 1"}],
        sourceList=[{"type": "owner", "source": "Ertis"}],
        destinationList=[{"type": "location", "destination": "Poti"}],
        errorDeclaration={"declarationTime": "yesterday", "reason": "oops"},
        sensorElementList=[{"sensorMetadata": {"time": "2026-02-30T00:00:00Z"},
                            "sensorReport": [{"type": "temperature", "value": 1,
                                              "time": "2026-03-01T24:00:00Z"}]}])
    doc = document(bad)
    found = {(p.location[len(EVENT):], p.rule) for p in validate_bytes(body(doc))}
    assert found == {
        ("/recordTime", "rfc3339:date-time"), ("/parentID", "epcis:uri"),
        ("/childEPCs/0", "tds:epc-uri"), ("/quantityList/0/epcClass", "epcis:uri"),
        ("/readPoint/id", "epcis:uri"),
        ("/persistentDisposition/set/0", "cbv:disposition"),
        ("/bizTransactionList/0/type", "cbv:bizTransactionType"),
        ("/bizTransactionList/0/bizTransaction", "epcis:uri"),
        ("/sourceList/0/type", "cbv:sourceDestType"), ("/sourceList/0/source", "epcis:uri"),
        ("/destinationList/0/destination", "epcis:uri"),
        ("/errorDeclaration/declarationTime", "rfc3339:date-time"),
        ("/errorDeclaration/reason", "cbv:errorReason"),
        ("/sensorElementList/0/sensorMetadata/time", "rfc3339:date-time"),
        ("/sensorElementList/0/sensorReport/0/type", "cbv:measurementType"),
        ("/sensorElementList/0/sensorReport/0/time", "rfc3339:date-time"),
    }


def test_a_lone_event_is_checked_as_an_event() -> None:
    """The schema's root takes a lone event too (what POST /epcis/events carries): `corridor
    validate` of one gets the event's rules."""
    lone = {"@context": [CONTEXT], **event(type="NoSuchEvent", bizLocation={"id": "Aktau"})}
    assert [(p.location, p.rule) for p in validate_bytes(body(lone))] == [
        ("/type", "epcis:event-type"), ("/bizLocation/id", "epcis:uri")]
    assert validate_bytes(body({"@context": [CONTEXT], **event()})) == []


def test_creation_date_is_a_time_in_json_and_xml() -> None:
    doc = document(event())
    doc["creationDate"] = "2026-03-01T10:00:00"
    (problem,) = validate_bytes(body(doc))
    assert (problem.location, problem.rule) == ("/creationDate", "rfc3339:date-time")
    for problems in (validate_bytes(xml_of(doc)), _read_problems(xml_of(doc)),
                     _stream_problems(xml_of(doc))):
        assert [(p.location, p.rule) for p in problems] == [("/creationDate",
                                                             "rfc3339:date-time")]
        assert problems[0].message.endswith("(XML: <EPCISDocument> at line 2)")


def test_what_stays_accepted() -> None:
    """Vendor vocabulary URIs, CBV words in their URI forms, every form of identifier."""
    good = event(
        bizStep="https://example.com/steps/x", disposition="urn:example:disp:sealed",
        epcList=["urn:epc:id:sgtin:4870101.012345.A%2Fb", "https://id.gs1.org/01/04870101123453/21/7",
                 "urn:uuid:8d1c8e56-1a50-4c3f-9a79-6c1f8e1b8a10"],
        readPoint={"id": "geo:47.506694,11.104301"},
        quantityList=[{"epcClass": "urn:epc:class:lgtin:4870101.012345.L1", "quantity": 2},
                      {"epcClass": "urn:epc:idpat:sgtin:4870101.012345.*"}],
        bizTransactionList=[{"type": "https://ref.gs1.org/cbv/BTT-po",
                             "bizTransaction": "urn:epcglobal:cbv:bt:4870101000005:77"}],
        sourceList=[{"type": "cbv:SDT-owning_party", "source": "urn:epc:id:pgln:4870101.00000"}],
        sensorElementList=[{"sensorReport": [{"type": "gs1:Temperature", "value": 4},
                                             {"type": "Mass", "value": 1},
                                             {"type": "gs1:EffectiveDoseRate", "value": 1}]}],
        eventTime="2024-02-29T23:59:59.123456789-14:00")
    assert validate_bytes(body(document(good))) == []
    for context in (CONTEXT, [{"ex": "https://example.com/"}, *sorted(EPCIS_CONTEXTS)[:1]]):
        assert validate_bytes(body(document(event(), context=context))) == []


def test_single_values() -> None:
    assert time_fault("2026-03-01T10:00:00+14:00") is None
    assert "offset +14:30" in str(time_fault("2026-03-01T10:00:00+14:30"))
    assert "with a time zone offset" in str(time_fault("2026-03-01t10:00:00z"))
    assert "years 0001-9999" in str(time_fault("0001-01-01T00:30:00+01:00"))
    assert "month 13 (01-12), day 45 (01-31), hour 99 (00-23)" in str(
        time_fault("2026-13-45T99:00:00+05:00"))
    assert identifier_fault("urn:epc:id:sgtin:4870101.12345.1") == (
        "tds:epc-uri", ("'urn:epc:id:sgtin:4870101.12345.1': not a well-formed sgtin EPC URI"
                        " (TDS 2.0: CompanyPrefix.IndicatorItemReference.Serial, 13 digits"
                        " before the serial)"))
    assert identifier_fault("urn:epc:id:nosuch:1")[0] == "tds:epc-uri"  # type: ignore[index]
    assert identifier_fault("Aktau")[0] == "epcis:uri"  # type: ignore[index]
    assert "did you mean 'arriving'?" in str(vocabulary_fault("bizStep", "Arriving"))
    assert "did you mean 'in_transit'?" in str(vocabulary_fault("disposition", "in transit"))
    assert vocabulary_fault("bizStep", "https://ref.gs1.org/cbv/BizStep-arriving") is None
    assert "names no CBV bizStep" in str(
        vocabulary_fault("bizStep", "https://ref.gs1.org/cbv/Disp-in_transit"))


def test_rules_run_on_schema_invalid_events_without_crashing() -> None:
    """The rules meet whatever the schema refused too (wrong types): no exception, only the
    schema's problems there."""
    weird = event(bizStep=["a"], epcList=[{"x": 1}], eventTime=7, readPoint="x",
                  sourceList={"a": 1}, sensorElementList=[{"sensorReport": "x"}])
    weird["type"] = {"bad": 1}
    problems = validate_bytes(body(document(copy.deepcopy(weird))))
    assert problems and all(p.rule.startswith("json-schema:") for p in problems)
