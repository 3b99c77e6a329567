"""The standard's rules at the HTTP door (issue 19): POST /epcis/capture (JSON and XML) and
POST /epcis/events refuse what the official schema lets through, naming location and rule,
and nothing of it reaches the log. The rules themselves: tests/epcis/test_strict_rules.py."""

from __future__ import annotations

import json
from collections.abc import Iterator

import httpx
import pytest

from tests.api.e1_server import Node, all_events, capture, start_node
from tests.epcis.test_strict_rules import (
    BAD_VALUES,
    EVENT,
    SEVEN,
    XML_SAME_RULE,
    body,
    document,
    event,
    xml_of,
)

EPC = "urn:epc:id:sgtin:4870101.012345.1001"  # the EPC of every faulty event


@pytest.fixture(scope="module")
def node(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Node]:
    data_dir = tmp_path_factory.mktemp("strict")
    n, srv = start_node(f"sqlite:///{data_dir / 'corridor.sqlite3'}", data_dir)
    try:
        yield n
    finally:
        srv.stop()


def _refused(client: httpx.Client, response: httpx.Response, where: str, rule: str) -> dict:
    """Assert a 400 naming `where` and `rule`, and a failed job naming them too; the first
    matching entry of the problem's `errors`."""
    assert response.status_code == 400, response.text
    problem = response.json()
    assert problem["type"] == "epcisException:ValidationException"
    assert f"{where}: " in problem["detail"] and f"[{rule}]" in problem["detail"]
    errors = [e for e in problem["errors"] if (e["pointer"], e["rule"]) == (where, rule)]
    assert errors, problem["errors"]
    assert all(set(e) >= {"pointer", "message", "rule"} for e in problem["errors"])
    job = client.get(response.headers["Location"]).json()
    assert job["success"] is False and job["running"] is False
    assert (where, rule) in [(e["pointer"], e["rule"]) for e in job["errors"]], job["errors"]
    return errors[0]


@pytest.mark.parametrize("case", sorted(SEVEN))
def test_capture_refuses_the_json_document(node: Node, case: str) -> None:
    doc, where, rule = SEVEN[case]
    with node.client("alice") as alice:
        entry = _refused(alice, capture(alice, doc), where, rule)
        assert "line" not in entry  # a JSON document: the pointer says where
        assert all_events(alice, {"MATCH_epc": EPC}) == []


@pytest.mark.parametrize("case", XML_SAME_RULE)
def test_capture_refuses_the_xml_document(node: Node, case: str) -> None:
    doc, where, rule = SEVEN[case]
    xml = xml_of(doc)
    with node.client("alice") as alice:
        entry = _refused(alice, capture(alice, xml, media="application/xml"), where, rule)
        message = entry["message"]
        assert BAD_VALUES[case] in message and "(XML: <" in message and "at line " in message
        # the pointer of the JSON-LD form, and the line of the XML sent
        assert message.endswith(f" at line {entry['line']})"), entry
        assert xml.splitlines()[entry["line"] - 1].strip().startswith(b"<"), entry
        assert all_events(alice, {"MATCH_epc": EPC}) == []


@pytest.mark.parametrize(("wrong", "right", "element"), [
    (b"ObjectEvent>", b"NoSuchEvent>", "NoSuchEvent"),
    (b"2026-03-01T10:00:00.000+05:00", b"2026-13-45T99:00:00+05:00", "eventTime")])
def test_capture_refuses_xml_the_xsd_refuses(node: Node, wrong: bytes, right: bytes,
                                             element: str) -> None:
    xml = xml_of(document(event())).replace(wrong, right)
    with node.client("alice") as alice:
        r = capture(alice, xml, media="application/xml")
        assert r.status_code == 400, r.text
        (first, *_) = r.json()["errors"]
        # no JSON-LD form to point into: the pointer is empty, the XML line says where
        assert first["pointer"] == "" and f"{element}'" in first["message"], first
        assert element.encode() in xml.splitlines()[first["line"] - 1], first
        assert first["rule"].startswith("xsd:")


@pytest.mark.parametrize("case", sorted(set(SEVEN) - {"empty context"}))
def test_post_events_refuses_the_event(node: Node, case: str) -> None:
    """A single posted event takes the standard context from the server, so the @context
    rule is the documents' only."""
    doc, where, rule = SEVEN[case]
    (bad,) = doc["epcisBody"]["eventList"]
    with node.client("alice") as alice:
        r = alice.post("/epcis/events", content=json.dumps(bad),
                       headers={"Content-Type": "application/ld+json"})
        assert r.status_code == 400, r.text
        problem = r.json()
        assert problem["type"] == "epcisException:ValidationException"
        assert f"{where[len(EVENT):]}: " in problem["detail"], problem
        assert f"[{rule}]" in problem["detail"], problem
        assert "ValueError" not in problem["detail"]
        # pointers into the event posted, not into the document the server wrapped it in
        assert (where[len(EVENT):], rule) in [(e["pointer"], e["rule"])
                                              for e in problem["errors"]], problem
        assert EVENT not in r.text, problem
        assert all_events(alice, {"MATCH_epc": EPC}) == []


def test_proceed_keeps_the_good_events(node: Node) -> None:
    """The rules' problems name their event: behaviour `proceed` drops that one only."""
    good = event(epcList=["urn:epc:id:sgtin:4870101.012345.2001"])
    bad = event(epcList=["urn:epc:id:sgtin:4870101.012345.2002"], bizStep="teleporting")
    with node.client("alice") as alice:
        r = capture(alice, body(document(good, bad)),
                    **{"GS1-Capture-Error-Behaviour": "proceed"})
        assert r.status_code == 202, r.text
        job = alice.get(r.headers["Location"]).json()
        assert job["success"] is False
        assert [(e["eventIndex"], e["pointer"], e["rule"]) for e in job["errors"]] == [
            (1, "/epcisBody/eventList/1/bizStep", "cbv:bizStep")]
        assert set(job["errors"][0]) >= {"type", "title", "pointer", "message", "rule"}
        assert len(all_events(alice, {"MATCH_epc": "urn:epc:id:sgtin:4870101.012345.2001"})) == 1
        assert all_events(alice, {"MATCH_epc": "urn:epc:id:sgtin:4870101.012345.2002"}) == []
