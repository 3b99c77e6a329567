"""Validation verdicts agree with the normative schemas: the official EPCIS 2.0 JSON schema
(checked by the independent Python `jsonschema` package) and the GS1 XSDs."""

from __future__ import annotations

import copy
import json
import random
from pathlib import Path

import jsonschema
import pytest
from lxml import etree

from corridor.epcis import EpcisError, read_document, validate_bytes
from corridor.epcis.rules import RULE_PREFIXES
from tests.epcis.conftest import KNOWN_INVALID_XML

XSD_FOR_ROOT = {
    "EPCISDocument": "EPCglobal-epcis-2_0.xsd",
    "EPCISCaptureJob": "EPCglobal-epcis-2_0.xsd",
    "EPCISQueryDocument": "EPCglobal-epcis-query-2_0.xsd",
    "EPCISMasterDataDocument": "EPCglobal-epcis-masterdata-2_0.xsd",
}


def test_json_examples_accepted_except_the_four_known(
        json_examples: dict[str, bytes], known_invalid: frozenset[str]) -> None:
    rejected = {name for name, data in json_examples.items() if validate_bytes(data)}
    assert rejected == known_invalid


def test_known_invalid_examples_name_their_fault(json_examples: dict[str, bytes]) -> None:
    def problems(name: str) -> list[str]:
        return [f"{p.location} {p.rule} {p.message}"
                for p in validate_bytes(json_examples[f"JSON-simple-context/{name}"])]

    found = problems("Example-TransactionEvents-2020_07_03y.jsonld")
    assert any(p.startswith("/epcisBody/eventList/1/sourceList json-schema:type") for p in found)
    found = problems("WithSensorData/SensorDataExample12.jsonld")
    assert any("json-schema:required" in p and "schemaVersion" in p for p in found)
    found = problems("WithSensorData/SensorDataExample17.jsonld")
    assert any(p.startswith("/schemaVersion json-schema:type") for p in found)
    found = problems("WithFullCombinationOfFields/object_event_all_possible_fields.jsonld")
    assert any("/epcisBody/eventList/0/ilmd: not allowed here" in p for p in found)


def test_xml_examples_accepted_except_the_known_one(xml_examples: dict[str, bytes]) -> None:
    bad = {name: validate_bytes(data) for name, data in xml_examples.items()}
    assert {name for name, p in bad.items() if p} == set(KNOWN_INVALID_XML)
    (name,) = KNOWN_INVALID_XML
    found = [(p.location, p.rule) for p in bad[name]]
    assert found == [(f"/epcisBody/eventList/{i}/bizStep", "cbv:bizStep") for i in (12, 13)]
    data = xml_examples[name]
    lines = [data[:data.index(b"Bizstep-", start)].count(b"\n") + 1
             for start in (0, data.index(b"Bizstep-") + 1)]
    assert [p.message.endswith(f"(XML: <bizStep> at line {line})")
            for p, line in zip(bad[name], lines, strict=True)] == [True, True]


def test_master_data_checked_against_the_master_data_xsd(gs1: Path) -> None:
    data = (gs1 / "XML/Mimasu/Example-masterData.xml").read_bytes()
    assert validate_bytes(data) == []
    broken = data.replace(b'<Vocabulary type="urn:epcglobal:epcis:vtype:BusinessLocation">',
                          b"<Vocabulary>", 1)
    problems = validate_bytes(broken)
    assert problems and problems[0].location.startswith("line ")
    assert "Vocabulary" in problems[0].location and problems[0].rule.startswith("xsd:")


def test_xml_problem_location_names_line_and_element(gs1: Path) -> None:
    data = (gs1 / "XML/Example_9.6.1-ObjectEvent-2020_06_18a.xml").read_bytes()
    broken = data.replace(b"<action>OBSERVE</action>", b"<action>WATCH</action>", 1)
    (problem, *_) = validate_bytes(broken)
    line = broken[: broken.index(b"<action>WATCH")].count(b"\n") + 1
    assert problem.location == f"line {line}, element <action>"
    assert problem.rule.startswith("xsd:SCHEMAV")


def test_verdicts_equal_the_python_jsonschema_reference(
        json_examples: dict[str, bytes], official_schema: dict) -> None:
    reference = jsonschema.Draft7Validator(official_schema)
    for name, data in json_examples.items():
        assert reference.is_valid(json.loads(data)) == (validate_bytes(data) == []), name


# ---- randomised mutations ----

_REPLACEMENTS: list[object] = [7, -1.5, "", "x", "urn:epcglobal:cbv:bizstep:shipping",
                               "not a uri", [], {}, None, True, ["a", "a"], {"k": 1}]
_NAMES = ["type", "action", "eventTime", "epcList", "quantity", "bizStep", "id", "ilmd",
          "readPoint", "sensorReport", "schemaVersion", "x", "ext:thing", "@context"]


def _paths(value: object, path: tuple = ()) -> list[tuple]:
    found = [path]
    if isinstance(value, dict):
        for key, item in value.items():
            found.extend(_paths(item, path + (key,)))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            found.extend(_paths(item, path + (index,)))
    return found


def mutate_json(doc: dict, rng: random.Random) -> dict:
    """Delete, retype or rename one randomly chosen field (or list item)."""
    doc = copy.deepcopy(doc)
    path = rng.choice(_paths(doc)[1:])
    parent = doc
    for key in path[:-1]:
        parent = parent[key]
    last = path[-1]
    operation = rng.choice(["delete", "retype", "retype", "rename", "duplicate"])
    if operation == "delete":
        del parent[last]
    elif operation == "retype":
        parent[last] = copy.deepcopy(rng.choice(_REPLACEMENTS))
    elif operation == "rename" and isinstance(parent, dict):
        parent[rng.choice(_NAMES)] = parent.pop(last)
    elif isinstance(parent, list):
        parent.append(copy.deepcopy(parent[last]))
    else:
        parent[last] = [copy.deepcopy(parent[last])] * 2
    return doc


def test_json_mutations_rejected_whenever_the_official_schema_rejects(
        json_examples: dict[str, bytes], official_schema: dict,
        known_invalid: frozenset[str]) -> None:
    reference = jsonschema.Draft7Validator(official_schema)
    rng = random.Random(20240517)
    bases = [json.loads(d) for n, d in sorted(json_examples.items()) if n not in known_invalid]
    rejected = stricter = 0
    for _ in range(600):
        mutant = mutate_json(rng.choice(bases), rng)
        data = json.dumps(mutant).encode()
        ours = validate_bytes(data)
        streamed = _stream_verdict(data)
        if not reference.is_valid(mutant):
            rejected += 1
            assert ours, f"official schema rejects, Corridor accepts: {data[:400]!r}"
            assert streamed, f"official schema rejects, streaming accepts: {data[:400]!r}"
        elif ours or streamed:
            # stricter than the schema only by the standard's rules the schema leaves out
            assert _rules_only(ours) and _rules_only(streamed), ours or streamed
            stricter += 1
    assert rejected > 150  # the mutations really exercise the schema
    assert 0 < stricter < 100  # and the rules catch some of what it lets through


@pytest.fixture(scope="session")
def reference_xsds(gs1: Path) -> dict[str, etree.XMLSchema]:
    """The XSDs straight from the conformance folder (not Corridor's packaged copies)."""
    return {root: etree.XMLSchema(etree.parse(str(gs1 / "XSD" / name)))
            for root, name in XSD_FOR_ROOT.items()}


def mutate_xml(data: bytes, rng: random.Random) -> bytes:
    root = etree.fromstring(data, etree.XMLParser(remove_comments=True))
    elements = [e for e in root.iter() if isinstance(e.tag, str) and e is not root]
    target = rng.choice(elements)
    operation = rng.choice(["delete", "rename", "text", "duplicate", "attribute"])
    if operation == "delete":
        target.getparent().remove(target)
    elif operation == "rename":
        target.tag = rng.choice(["bogus", "action", "epc", "eventTime", "quantity"])
    elif operation == "text":
        target.text = rng.choice(["", "WATCH", "12x", "2020-13-45T99:00:00Z", "-7"])
    elif operation == "duplicate":
        target.addnext(copy.deepcopy(target))
    else:
        target.set(rng.choice(["type", "id", "value", "bogus"]), rng.choice(["x", "1.5", ""]))
    return etree.tostring(root)


def _rules_only(problems: list) -> bool:
    return all(p.rule.startswith(RULE_PREFIXES) for p in problems)


def _stream_verdict(data: bytes) -> list:
    import io

    from corridor.epcis import EpcisError
    from corridor.epcis.documents import iter_events

    try:
        for _ in iter_events(io.BytesIO(data)):
            pass
    except EpcisError as exc:
        return exc.problems
    return []


def test_xml_mutations_rejected_whenever_the_xsd_rejects(
        standard_xml_examples: dict[str, bytes],
        reference_xsds: dict[str, etree.XMLSchema]) -> None:
    rng = random.Random(7)
    bases = sorted(standard_xml_examples.items())
    rejected = stricter = 0
    for _ in range(300):
        name, data = rng.choice(bases)
        mutant = mutate_xml(data, rng)
        root = etree.fromstring(mutant)
        schema = reference_xsds[etree.QName(root).localname]
        ours = validate_bytes(mutant)
        streamed = _stream_verdict(mutant)
        if not schema.validate(root):
            rejected += 1
            assert ours, f"XSD rejects, Corridor accepts a mutant of {name}"
            assert streamed, f"XSD rejects, streaming accepts a mutant of {name}"
        else:  # stricter than the XSD only by the standard's rules (e.g. `<epc>WATCH</epc>`)
            assert _rules_only(ours), f"Corridor rejects what the XSD accepts: {ours[:2]}"
            assert _rules_only(streamed), f"streaming rejects what the XSD accepts: {streamed[:2]}"
            assert bool(ours) == bool(streamed), (ours, streamed)
            stricter += bool(ours)
    assert rejected > 100
    assert stricter < 100


def test_packaged_schemas_are_the_official_files(gs1: Path) -> None:
    from importlib import resources

    data = resources.files("corridor.epcis").joinpath("data")
    assert data.joinpath("EPCIS-JSON-Schema.json").read_bytes() == \
        (gs1 / "EPCIS-JSON-Schema.json").read_bytes()
    for xsd in (gs1 / "XSD").glob("*.xsd"):
        assert data.joinpath(xsd.name).read_bytes() == xsd.read_bytes(), xsd.name
    assert data.joinpath("GS1-LICENSE.txt").read_bytes() == (gs1 / "LICENSE").read_bytes()


def test_concurrent_xml_validation_keeps_verdicts_apart(gs1: Path) -> None:
    """A threaded server validates documents at once; each verdict stays its own."""
    from concurrent.futures import ThreadPoolExecutor

    good = (gs1 / "XML/Example_9.6.1-ObjectEvent-2020_06_18a.xml").read_bytes()
    bad = good.replace(b"<action>OBSERVE</action>", b"<action>WATCH</action>", 1)
    jobs = [good, bad] * 40
    with ThreadPoolExecutor(max_workers=4) as pool:
        verdicts = list(pool.map(validate_bytes, jobs))
    for data, problems in zip(jobs, verdicts, strict=True):
        if data is good:
            assert problems == []
        else:
            assert len(problems) == 1 and problems[0].location.endswith("<action>")


def test_nul_is_named_where_it_is_and_only_there() -> None:
    """U+0000 in a value or a key is a problem at its JSON pointer (read_document and
    validate_bytes alike); the text backslash-u-0000 (an escaped backslash) is not."""
    event = {"type": "ObjectEvent", "action": "OBSERVE", "eventTime": "2026-01-01T00:00:00Z",
             "eventTimeZoneOffset": "+00:00", "epcList": ["urn:epc:id:sgtin:0614141.812345.1"],
             "ex:list": ["ok", "a\x00b"], "ex:a\x00b": 1, "ex:text": "back\\u0000slash"}
    doc = {"@context": ["https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld",
                        {"ex": "https://example.com/ns/"}],
           "type": "EPCISDocument", "schemaVersion": "2.0",
           "creationDate": "2026-01-01T00:00:00Z", "epcisBody": {"eventList": [event]}}
    body = json.dumps(doc).encode()
    where = ["/epcisBody/eventList/0/ex:list/1", "/epcisBody/eventList/0/ex:a\x00b"]
    assert [(p.location, p.rule) for p in validate_bytes(body)] == [
        (w, "json-string:nul") for w in where]
    with pytest.raises(EpcisError) as caught:
        read_document(body)
    assert [p.location for p in caught.value.problems] == where
    del event["ex:list"], event["ex:a\x00b"]
    clean = json.dumps(doc).encode()
    assert b"\\u0000" in clean and validate_bytes(clean) == []  # the escaped backslash
    assert read_document(clean).events[0]["ex:text"] == "back\\u0000slash"
