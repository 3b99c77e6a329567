"""EPCISMasterDataDocument in JSON-LD: validated against the master data shell (the official
JSON schema defines none, and used to judge such a document an event lacking `eventTime`),
read as a document of no events, converted both ways; `corridor validate` accepts it."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

from click.testing import CliRunner

from corridor.cli import main
from corridor.epcis.documents import read_document, to_jsonld, to_xml, validate_bytes
from corridor.epcis.streaming import check_stream

CONTEXT = "https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld"
PORT = "urn:epc:id:sgln:0614141.00888.0"
VOCABULARY = {"type": "urn:epcglobal:epcis:vtype:BusinessLocation", "vocabularyElementList": [
    {"id": PORT, "attributes": [{"id": "urn:epcglobal:cbv:mda:name", "attribute": "Aktau"},
                                {"id": "urn:epcglobal:cbv:mda:latitude", "attribute": 43.65}],
     "children": ["urn:epc:id:sgln:0614141.00888.1"]}]}


def document(*, in_body: bool = False, **changes: Any) -> dict[str, Any]:
    doc: dict[str, Any] = {"@context": [CONTEXT], "type": "EPCISMasterDataDocument",
                           "schemaVersion": "2.0", "creationDate": "2026-01-01T00:00:00Z"}
    if in_body:
        doc["epcisBody"] = {"vocabularyList": [VOCABULARY]}
    else:
        doc["epcisHeader"] = {"epcisMasterData": {"vocabularyList": [VOCABULARY]}}
    doc.update(changes)
    return doc


def data(doc: dict[str, Any]) -> bytes:
    return json.dumps(doc).encode()


def test_valid_with_vocabularies_in_the_header_or_the_body() -> None:
    assert validate_bytes(data(document())) == []
    assert validate_bytes(data(document(in_body=True))) == []
    check_stream(io.BytesIO(data(document())), "json", max_bytes=1 << 20)  # streamed: same


def test_problems_are_those_of_a_master_data_document() -> None:
    no_date = document()
    del no_date["creationDate"]
    problems = validate_bytes(data(no_date))
    assert [(p.location, p.rule) for p in problems] == [("/", "json-schema:required")]
    assert "creationDate" in problems[0].message and "eventTime" not in str(problems)
    bad = json.loads(json.dumps(document()))
    del bad["epcisHeader"]["epcisMasterData"]["vocabularyList"][0][
        "vocabularyElementList"][0]["id"]
    (problem,) = validate_bytes(data(bad))
    assert problem.location == \
        "/epcisHeader/epcisMasterData/vocabularyList/0/vocabularyElementList/0"
    assert "id" in problem.message
    with_events = document(epcisBody={"eventList": []})
    (problem,) = validate_bytes(data(with_events))
    assert problem.location == "/epcisBody/eventList"


def test_read_as_a_document_of_no_events() -> None:
    doc = read_document(data(document()))
    assert doc.kind == "EPCISMasterDataDocument" and doc.events == []
    assert doc.header["epcisHeader"]["epcisMasterData"]["vocabularyList"] == [VOCABULARY]
    assert doc.namespaces["cbvmda"] == "urn:epcglobal:cbv:mda:"


def test_converts_to_xml_the_master_data_xsd_accepts_and_back() -> None:
    for in_body in (False, True):
        doc = read_document(data(document(in_body=in_body)))
        xml = to_xml(doc)
        assert b"EPCISMasterDataDocument" in xml and validate_bytes(xml) == []
        again = read_document(xml)
        assert again.kind == "EPCISMasterDataDocument"
        assert validate_bytes(data(to_jsonld(again))) == []


def test_the_official_xml_example_as_json_is_valid(gs1: Path) -> None:
    xml = (gs1 / "XML/Mimasu/Example-masterData.xml").read_bytes()
    as_json = data(to_jsonld(read_document(xml)))
    assert validate_bytes(as_json) == []
    assert read_document(as_json).header["epcisBody"] == read_document(xml).header["epcisBody"]


def test_corridor_validate_accepts_master_data_documents(gs1: Path, tmp_path: Path) -> None:
    json_file = tmp_path / "places.jsonld"
    json_file.write_bytes(data(document()))
    xml_file = gs1 / "XML/Mimasu/Example-masterData.xml"
    result = CliRunner().invoke(main, ["validate", str(json_file), str(xml_file)])
    assert result.exit_code == 0, result.output
    assert result.output.count(": valid") == 2
    converted = CliRunner().invoke(main, ["convert", str(json_file), "--to", "xml"])
    assert converted.exit_code == 0 and b"EPCISMasterDataDocument" in converted.stdout_bytes
