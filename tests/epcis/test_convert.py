"""XML <-> JSON-LD conversion: the output is valid in the other syntax and a round trip keeps
every event's Event Hash ID."""

from __future__ import annotations

import json

import jsonschema

from corridor.epcis import read_document, to_jsonld, to_xml, validate_bytes
from corridor.epcis.hashid import event_hash_id

# JSON-LD node annotations with no XML counterpart, written only under the simple context:
# an event's "id" (its @id) and a sensor element's "type". Converting to XML drops them.
NODE_ANNOTATIONS = ("id", "type")


def _hashes(doc) -> list[str]:
    return [event_hash_id(event, doc.namespaces) for event in doc.events]


def _readable(examples: dict[str, bytes]):
    for name, data in examples.items():
        if validate_bytes(data) or b"EPCISCaptureJob" in data[:400]:
            continue  # the four examples the official schema rejects; capture job reports
        doc = read_document(data)
        if doc.kind != "EPCISMasterDataDocument":
            yield name, doc


def test_xml_converts_to_json_the_official_schema_accepts(
        standard_xml_examples: dict[str, bytes], official_schema: dict) -> None:
    reference = jsonschema.Draft7Validator(official_schema)
    rejected = {}
    for name, data in standard_xml_examples.items():
        if b"EPCISCaptureJob" in data[:400] or b"EPCISMasterDataDocument" in data[:400]:
            continue
        doc = read_document(data)
        errors = list(reference.iter_errors(to_jsonld(doc)))
        if errors:
            rejected[name] = sorted({e.message for e in errors})
    # The XSD lets a sensorReport go without `type`, the JSON schema does not: that one
    # example stays invalid as JSON, for exactly that reason.
    assert set(rejected) == {"XML/WithSensorData/SensorDataExamples.xml"}
    assert rejected["XML/WithSensorData/SensorDataExamples.xml"] == [
        "'type' is a required property"]


def test_json_converts_to_xml_the_xsd_accepts(json_examples: dict[str, bytes]) -> None:
    count = 0
    for name, doc in _readable(json_examples):
        assert validate_bytes(to_xml(doc)) == [], name
        count += 1
    assert count > 80


def test_master_data_converts_both_ways(xml_examples: dict[str, bytes]) -> None:
    for name in ("XML/Mimasu/Example-masterData.xml",
                 "XML/WithFullCombinationOfFields/masterdata_all_possible_fields.xml"):
        doc = read_document(xml_examples[name])
        again = read_document(to_xml(doc))
        assert validate_bytes(to_xml(doc)) == []
        assert again.header["epcisBody"] == doc.header["epcisBody"], name


def test_round_trip_keeps_every_event_hash_id(
        json_examples: dict[str, bytes], standard_xml_examples: dict[str, bytes]) -> None:
    checked = 0
    for name, doc in _readable({**json_examples, **standard_xml_examples}):
        if name.startswith("JSON-simple-context/") and _annotated(doc.events):
            continue  # covered below
        original = _hashes(doc)
        via_xml = read_document(to_xml(doc))
        # (not re-validated: SensorDataExamples.xml is valid XML but not valid JSON, above)
        via_json = read_document(json.dumps(to_jsonld(doc)).encode(), validate=False)
        assert _hashes(via_xml) == original, name
        assert _hashes(via_json) == original, name
        twice = read_document(to_xml(via_xml))
        assert _hashes(twice) == original, name
        checked += len(original)
    assert checked > 150


def _annotated(value: object) -> bool:
    if isinstance(value, list):
        return any(_annotated(v) for v in value)
    if isinstance(value, dict):
        return any(k in ("id", "type") and isinstance(v, str) and
                   (v.startswith(("ni:", "epcis:"))) for k, v in value.items()) \
            or any(_annotated(v) for v in value.values())
    return False


def test_simple_context_annotations_are_the_only_loss(json_examples: dict[str, bytes]) -> None:
    """Under the simple context, dropping the node annotations is all XML loses."""
    seen = 0
    for name, doc in _readable(json_examples):
        if not (name.startswith("JSON-simple-context/") and _annotated(doc.events)):
            continue
        stripped = [_strip(event) for event in doc.events]
        back = read_document(to_xml(doc))
        expected = [event_hash_id(e, doc.namespaces) for e in stripped]
        assert _hashes(back) == expected, name
        seen += 1
    assert seen >= 3


def _strip(value: object, top: bool = True) -> object:
    if isinstance(value, list):
        return [_strip(v, False) for v in value]
    if isinstance(value, dict):
        return {k: _strip(v, False) for k, v in value.items()
                if not (k in NODE_ANNOTATIONS and isinstance(v, str)
                        and (v.startswith(("ni:", "epcis:"))))}
    return value


def test_paired_gs1_vectors_hash_equal_as_xml_and_json(hash_examples) -> None:
    for name in ("epcisDocWithVariousEventTypes", "CertificationInfoAndSensorReportWithCRS",
                 "epcisDocWithShippingAndTransportingEvent", "epcisEventWithCURIEs"):
        xml_doc = read_document((hash_examples / f"{name}.xml").read_bytes(), validate=False)
        json_doc = read_document((hash_examples / f"{name}.jsonld").read_bytes(),
                                 validate=False)
        assert _hashes(xml_doc) == _hashes(json_doc), name
        expected = (hash_examples / f"{name}.hashes").read_text().split()
        assert _hashes(xml_doc) == expected, name


def test_xml_output_uses_cbv_urns_and_declares_prefixes(json_examples: dict[str, bytes]) -> None:
    doc = read_document(json_examples["JSON/Example_9.6.1-ObjectEvent.jsonld"])
    xml = to_xml(doc)
    assert b"<bizStep>urn:epcglobal:cbv:bizstep:shipping</bizStep>" in xml
    assert b'type="urn:epcglobal:cbv:btt:po"' in xml
    assert xml.startswith(b"<?xml version='1.0' encoding='UTF-8'?>")


def test_events_without_an_xml_form_are_refused_clearly(json_examples: dict[str, bytes]) -> None:
    import pytest

    from corridor.epcis import EpcisError

    doc = read_document(json_examples["JSON/Example_9.6.1-ObjectEvent.jsonld"])
    doc.events.append({"type": "https://example.com/MyEvent", "eventTime": "x"})
    with pytest.raises(EpcisError) as caught:
        to_xml(doc)
    problem = caught.value.problems[0]
    assert problem.location == f"/epcisBody/eventList/{len(doc.events) - 1}/type"
    assert "no EPCIS XML form" in problem.message


def test_unvalidated_odd_shapes_give_problems_not_crashes(json_examples: dict[str, bytes]) -> None:
    """Documents read with validate=False may hold anything; to_xml reports, never crashes."""
    import random

    from corridor.epcis import EpcisError

    rng = random.Random(11)
    base = json.loads(json_examples["JSON/WithFullCombinationOfFields/"
                                    "object_event_all_possible_fields.jsonld"])
    event = base["epcisBody"]["eventList"][0]
    odd_values: list[object] = [None, 3, "x", [], {}, [1, {"a": None}], {"id": []}, True]
    for _ in range(300):
        mutant = json.loads(json.dumps(base))
        target = mutant["epcisBody"]["eventList"][0]
        if rng.random() < 0.2:
            mutant[rng.choice(["epcisHeader", "creationDate", "sender"])] = \
                rng.choice(odd_values)
        else:
            target[rng.choice(sorted(event))] = rng.choice(odd_values)
        doc = read_document(json.dumps(mutant).encode(), validate=False)
        try:
            out = to_xml(doc)
        except EpcisError as exc:
            assert exc.problems[0].location.startswith(("/epcisBody/eventList/0", "/"))
        else:
            assert out.startswith(b"<?xml")


def test_header_master_data_and_sbdh_survive_xml(json_examples: dict[str, bytes]) -> None:
    doc = json.loads(json_examples["JSON/Example_9.6.1-ObjectEvent.jsonld"])
    doc["sender"] = "urn:epc:id:sgln:0353579.00001.0"
    doc["receiver"] = "urn:epc:id:sgln:5012345.00001.0"
    doc["instanceIdentifier"] = "1234567890"
    doc["epcisHeader"] = {"epcisMasterData": {"vocabularyList": [{
        "type": "urn:epcglobal:epcis:vtype:BusinessLocation",
        "vocabularyElementList": [{
            "id": "urn:epc:id:sgln:0614141.00777.0",
            "attributes": [{"id": "urn:epcglobal:cbv:mda#name", "attribute": "Depot"}],
            "children": ["urn:epc:id:sgln:0614141.00777.1"]}]}]}}
    assert validate_bytes(json.dumps(doc).encode()) == []
    xml = to_xml(read_document(json.dumps(doc).encode()))
    assert validate_bytes(xml) == []
    back = read_document(xml)
    for key in ("sender", "receiver", "instanceIdentifier", "epcisHeader"):
        assert back.header[key] == doc[key], key
