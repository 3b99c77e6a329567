"""POST /epcis/capture of master data over HTTP, on SQLite and PostgreSQL: an
EPCISMasterDataDocument (JSON-LD or XML) is a capture job of no events whose vocabulary the
store keeps; master data past its bounds, or naming an element of another party's GS1
Company Prefix, is a 400 naming the element."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from corridor.capture.master_data import MAX_ELEMENT_ATTRIBUTES
from corridor.capture.ownership import OWNER_RULE
from corridor.query.places import stored_places
from tests.api.e1_server import Node, all_events, capture, start_node
from tests.api.e2_harness import module_db_url

BUSINESS_LOCATION = "urn:epcglobal:epcis:vtype:BusinessLocation"
PORT = "urn:epc:id:sgln:0614141.00999.0"


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def node(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
         ) -> Iterator[Node]:
    data_dir = tmp_path_factory.mktemp(f"md-{request.param}")
    n, srv = start_node(module_db_url(request.param, data_dir, request), data_dir,
                        capture_workers=0)
    try:
        yield n
    finally:
        srv.stop()


def master_data_document(attributes: list[dict[str, str]]) -> dict[str, object]:
    return {"@context": ["https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld"],
            "type": "EPCISMasterDataDocument", "schemaVersion": "2.0",
            "creationDate": "2026-01-01T00:00:00Z",
            "epcisHeader": {"epcisMasterData": {"vocabularyList": [{
                "type": BUSINESS_LOCATION,
                "vocabularyElementList": [{"id": PORT, "attributes": attributes}]}]}}}


def test_json_master_data_document_is_a_job_of_no_events(node: Node) -> None:
    doc = master_data_document([{"id": "cbvmda:name", "attribute": "Port of Baku"},
                                {"id": "cbvmda:countryCode", "attribute": "AZ"}])
    with node.client("alice") as alice:
        before = len(all_events(alice, {"perPage": 5000}))
        r = capture(alice, doc)
        assert r.status_code == 202, r.text
        job = alice.get(r.headers["Location"]).json()
        assert job["success"] and job["eventCount"] == 0 and job["events"] == []
        assert len(all_events(alice, {"perPage": 5000})) == before
    with node.db.connect() as conn:
        names = {p.sgln: (p.name, p.country) for p in stored_places(conn)}
    assert names[PORT] == ("Port of Baku", "AZ")


def test_xml_master_data_document_is_a_job_of_no_events(node: Node, conformance: Path) -> None:
    """Its places are of GS1 Company Prefix 0037000, nobody's here: an admin may write them,
    a member not."""
    data = (conformance / "gs1-epcis" / "XML" / "Mimasu" / "Example-masterData.xml").read_bytes()
    with node.client("alice") as alice:
        r = capture(alice, data, media="application/xml")
        assert r.status_code == 400, r.text
        assert {e["rule"] for e in r.json()["errors"]} == {OWNER_RULE}
        assert all(e["line"] > 1 for e in r.json()["errors"])
    with node.client("admin") as admin:
        r = capture(admin, data, media="application/xml")
        assert r.status_code == 202, r.text
        job = admin.get(r.headers["Location"]).json()
        assert job["success"] and job["eventCount"] == 0


def test_another_partys_place_is_a_400_naming_the_element(node: Node) -> None:
    doc = master_data_document([{"id": "cbvmda:name", "attribute": "Bob's port"}])
    with node.client("bob") as bob:
        r = capture(bob, doc)
        assert r.status_code == 400, r.text
        problem = r.json()
        assert problem["type"] == "epcisException:ValidationException"
        (error,) = problem["errors"]
        assert error["pointer"] == \
            "/epcisHeader/epcisMasterData/vocabularyList/0/vocabularyElementList/0"
        assert error["rule"] == OWNER_RULE
        assert PORT in error["message"] and BUSINESS_LOCATION in error["message"]
        assert "0614141" in error["message"]
        job = bob.get(r.headers["Location"]).json()
        assert job["success"] is False and job["errors"][0]["rule"] == OWNER_RULE
    with node.db.connect() as conn:
        names = {p.sgln: p.name for p in stored_places(conn)}
    assert names.get(PORT) != "Bob's port"


def test_master_data_past_its_bounds_is_a_400_naming_the_element(node: Node) -> None:
    doc = master_data_document([{"id": f"https://ns.example.com/mda/a{i}", "attribute": "x"}
                                for i in range(MAX_ELEMENT_ATTRIBUTES + 1)])
    with node.client("alice") as alice:
        r = capture(alice, doc)
        assert r.status_code == 400, r.text
        problem = r.json()
        assert problem["detail"].startswith(
            "/epcisHeader/epcisMasterData/vocabularyList/0/vocabularyElementList/0/attributes")
        assert PORT in problem["detail"]
        job = alice.get(r.headers["Location"]).json()
        assert job["success"] is False
