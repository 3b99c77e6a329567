"""The EPCIS REST binding end to end over a real uvicorn server, on SQLite and PostgreSQL,
with the official example documents as capture input."""

from __future__ import annotations

import json
import secrets
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
import pytest

from tests.api.e1_server import (
    ALICE_ID,
    Node,
    all_events,
    capture,
    event_doc,
    object_event,
    start_node,
)

pytestmark = pytest.mark.conformance


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def node(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
         ) -> Iterator[Node]:
    data_dir = tmp_path_factory.mktemp(f"node-{request.param}")
    schema = None
    if request.param == "sqlite":
        url = f"sqlite:///{data_dir / 'corridor.sqlite3'}"
    else:
        import psycopg

        server = request.getfixturevalue("pg_server")
        schema = "t_" + secrets.token_hex(6)
        with psycopg.connect(server, autocommit=True) as conn:
            conn.execute(f'CREATE SCHEMA "{schema}"')
        url = f"{server}{'&' if '?' in server else '?'}options=-csearch_path%3D{schema}"
    n, srv = start_node(url, data_dir, max_capture_events=500,
                        max_capture_bytes=2 * 1024 * 1024)
    try:
        yield n
    finally:
        srv.stop()
        if schema:
            import psycopg

            with psycopg.connect(request.getfixturevalue("pg_server"), autocommit=True) as c:
                c.execute(f'DROP SCHEMA "{schema}" CASCADE')


def _examples(conformance: Path) -> list[Path]:
    base = conformance / "gs1-epcis" / "JSON"
    return sorted(p for p in base.rglob("*.jsonld") if "Query" not in p.name)


def test_capture_official_examples_and_job(node: Node, conformance: Path) -> None:
    total = 0
    indices: list[int] = []
    with node.client("alice") as alice:
        for path in _examples(conformance):
            r = capture(alice, path.read_bytes())
            assert r.status_code == 202, (path.name, r.text)
            location = r.headers["Location"]
            assert location.startswith("/epcis/capture/")
            assert r.headers["GS1-EPCIS-Version"] == "2.0.0"
            job = alice.get(location).json()
            assert job["running"] is False and job["success"] is True, (path.name, job)
            assert job["createdAt"] and job["finishedAt"]
            assert all(isinstance(e["logIndex"], int) for e in job["events"])
            total += len(job["events"])
            indices.extend(e["logIndex"] for e in job["events"] if not e["duplicate"])
        listed = alice.get("/epcis/capture", params={"perPage": 3})
        assert listed.status_code == 200 and len(listed.json()) == 3
        assert 'rel="next"' in listed.headers["Link"]
        events = all_events(alice, {"perPage": 1000})
    assert total >= 40
    # Each stored event has its own log entry (the examples reuse some eventIDs).
    assert len(set(indices)) == len(indices) == len(events)
    with node.client("bob") as bob:
        assert bob.get(location).status_code == 404  # someone else's job


def test_recapture_is_idempotent(node: Node, conformance: Path) -> None:
    path = conformance / "gs1-epcis" / "JSON" / "Example_9.6.1-ObjectEvent.jsonld"
    with node.client("alice") as alice:
        before = len(all_events(alice, {"perPage": 5000}))
        first = alice.get(capture(alice, path.read_bytes()).headers["Location"]).json()
        again = alice.get(capture(alice, path.read_bytes()).headers["Location"]).json()
        after = len(all_events(alice, {"perPage": 5000}))
    assert again["success"] and all(e["duplicate"] for e in again["events"])
    assert [e["logIndex"] for e in again["events"]] == [e["logIndex"] for e in first["events"]]
    assert after == before


def test_event_without_id_gets_hash_id(node: Node) -> None:
    ev = object_event("urn:epc:id:sgtin:0614141.812345.6789", when="2026-02-02T08:00:00Z")
    with node.client("alice") as alice:
        r = alice.post("/epcis/events", json=ev)
        assert r.status_code == 201, r.text
        body = r.json()
        assert body["eventID"] == body["eventHashID"]
        assert body["eventID"].startswith("ni:///sha-256;")
        got = alice.get("/epcis/events/" + quote(body["eventID"], safe=""))
        assert got.status_code == 200, got.text
        (event,) = got.json()["epcisBody"]["queryResults"]["resultsBody"]["eventList"]
        assert event["eventID"] == body["eventID"] and "recordTime" in event
        dup = alice.post("/epcis/events", json=ev)
        assert dup.status_code == 409
        assert dup.json()["type"] == "epcisException:ResourceAlreadyExistsException"
    from corridor.epcis.hashid import event_hash_id

    assert event_hash_id(ev) == body["eventHashID"]


def test_rollback_and_proceed(node: Node) -> None:
    good = object_event("urn:epc:id:sgtin:0614141.812345.1001")
    bad = object_event("urn:epc:id:sgtin:0614141.812345.1002", action="JUMP")
    with node.client("alice") as alice:
        r = capture(alice, event_doc([good, bad]))
        assert r.status_code == 400, r.text
        problem = r.json()
        assert problem["type"] == "epcisException:ValidationException"
        assert "/epcisBody/eventList/1" in problem["detail"]
        job = alice.get(r.headers["Location"]).json()
        assert job["success"] is False and job["running"] is False
        assert not all_events(alice, {"MATCH_epc": "urn:epc:id:sgtin:0614141.812345.1001"})
        r = capture(alice, event_doc([good, bad]), **{"GS1-Capture-Error-Behaviour": "proceed"})
        assert r.status_code == 202, r.text
        job = alice.get(r.headers["Location"]).json()
        assert job["success"] is False
        assert {e.get("eventIndex") for e in job["errors"]} == {1}
        assert job["errors"][0]["type"] == "epcisException:ValidationException"
        assert len(all_events(alice, {"MATCH_epc": "urn:epc:id:sgtin:0614141.812345.1001"})) == 1
        assert capture(alice, event_doc([good]),
                       **{"GS1-Capture-Error-Behaviour": "maybe"}).status_code == 400


def test_nul_in_a_string_is_named_on_every_database(node: Node) -> None:
    """U+0000 is valid JSON but XML cannot carry it and PostgreSQL cannot store it: refused
    up front like any invalid value, naming where, on SQLite and PostgreSQL alike."""
    ctx = {"ex": "https://example.com/ns/"}
    good = object_event("urn:epc:id:sgtin:0614141.812345.N1")
    bad = object_event("urn:epc:id:sgtin:0614141.812345.N2", **{"ex:note": "a\x00b"})
    with node.client("alice") as alice:
        r = capture(alice, event_doc([good, bad], ctx))
        assert r.status_code == 400, r.text
        assert "/epcisBody/eventList/1/ex:note" in r.json()["detail"]
        assert not all_events(alice, {"MATCH_epc": "urn:epc:id:sgtin:0614141.812345.N1"})
        r = capture(alice, event_doc([good, bad], ctx),
                    **{"GS1-Capture-Error-Behaviour": "proceed"})
        assert r.status_code == 202, r.text
        job = alice.get(r.headers["Location"]).json()
        assert {e.get("eventIndex") for e in job["errors"]} == {1}, job
        assert "/epcisBody/eventList/1/ex:note" in json.dumps(job["errors"]), job
        assert len(all_events(alice, {"MATCH_epc": "urn:epc:id:sgtin:0614141.812345.N1"})) == 1
        assert not all_events(alice, {"MATCH_epc": "urn:epc:id:sgtin:0614141.812345.N2"})
        r = alice.post("/epcis/events", content=json.dumps({**bad, "@context": [ctx]}),
                       headers={"Content-Type": "application/ld+json"})
        assert r.status_code == 400 and "/ex:note" in r.json()["detail"], r.text


def test_limits_and_media_types(node: Node) -> None:
    with node.client("alice") as alice:
        opts = alice.options("/epcis/capture")
        assert opts.status_code == 204
        assert opts.headers["GS1-EPCIS-Capture-Limit"] == "500"
        assert opts.headers["GS1-EPCIS-Capture-File-Size-Limit"] == str(2 * 1024 * 1024)
        many = event_doc([object_event(f"urn:epc:id:sgtin:0614141.812345.L{i}")
                          for i in range(501)])
        r = capture(alice, many)
        assert r.status_code == 413 and "CaptureLimitExceeded" in r.json()["type"]
        r = capture(alice, b"{" + b" " * (2 * 1024 * 1024) + b"}")
        assert r.status_code == 413
        r = alice.post("/epcis/capture", content=b"hello", headers={"Content-Type": "text/plain"})
        assert r.status_code == 415
        r = capture(alice, b"{not json")
        assert r.status_code == 400 and r.headers["content-type"] == "application/problem+json"
    with node.client() as anonymous:
        assert capture(anonymous, event_doc([])).status_code == 401
    with node.client("carol") as auditor:
        assert capture(auditor, event_doc([object_event("urn:x:1")])).status_code == 403


def test_xml_capture(node: Node, conformance: Path) -> None:
    path = conformance / "gs1-epcis" / "XML" / "Example_9.6.1-ObjectEvent-2020_06_18a.xml"
    with node.client("alice") as alice:
        r = capture(alice, path.read_bytes(), media="application/xml")
        assert r.status_code == 202, r.text
        job = alice.get(r.headers["Location"]).json()
        assert job["success"] and job["events"]


def test_urn_and_digital_link_match_each_other(node: Node) -> None:
    urn = "urn:epc:id:sgtin:0614141.812345.DL1"
    dl = "https://id.gs1.org/01/80614141123458/21/DL1"
    sscc_dl = "https://example.com/00/106141419999999991"
    with node.client("alice") as alice:
        assert capture(alice, event_doc([object_event(urn), object_event(sscc_dl)])
                       ).status_code == 202
        assert len(all_events(alice, {"MATCH_epc": dl})) == 1
        assert len(all_events(alice, {"MATCH_epc": urn})) == 1
        assert len(all_events(alice, {"MATCH_anyEPC": "urn:epc:id:sscc:0614141.1999999999"})) == 1
        assert len(all_events(alice, {"MATCH_epc": "urn:epc:idpat:sgtin:0614141.812345.*"})) >= 1
        by_path = alice.get("/epcis/epcs/" + quote(dl, safe="") + "/events")
        assert by_path.status_code == 200, by_path.text
        assert len(by_path.json()["epcisBody"]["queryResults"]["resultsBody"]["eventList"]) == 1


def test_query_parameters(node: Node, conformance: Path) -> None:
    with node.client("alice") as alice:
        for path in _examples(conformance):
            capture(alice, path.read_bytes())
        shipping = all_events(alice, {"EQ_bizStep": "shipping", "perPage": 1000})
        assert shipping and all(e["bizStep"].endswith("shipping") for e in shipping)
        urn_form = all_events(alice, {"EQ_bizStep": "urn:epcglobal:cbv:bizstep:shipping",
                                      "perPage": 1000})
        assert len(urn_form) == len(shipping)
        # 2005-04-03T20:33:31.116-06:00 is 02:33 UTC the next day: windows compare instants.
        window = all_events(alice, {"GE_eventTime": "2005-04-04T02:00:00Z",
                                    "LT_eventTime": "2005-04-03T21:00:00-06:00",
                                    "perPage": 1000})
        instants = {datetime.fromisoformat(e["eventTime"])
                    for e in window}
        assert instants == {datetime(2005, 4, 4, 2, 33, 31, 116000, tzinfo=UTC)}
        assert all_events(alice, {"eventType": "AggregationEvent"})
        assert all(e["type"] == "TransformationEvent"
                   for e in all_events(alice, {"eventType": "TransformationEvent"}))
        errs = all_events(alice, {"EXISTS_errorDeclaration": ""})
        assert errs and all("errorDeclaration" in e for e in errs)
        assert all_events(alice, {"EQ_errorReason": "incorrect_data"})
        temp = all_events(alice, {"EQ_type": "Temperature", "GE_value_CEL": "26.1"})
        assert temp and all("sensorElementList" in e for e in temp)
        assert all_events(alice, {"EQ_bizTransaction_po": "http://transaction.acme.com/po/12345678"})
        assert all_events(alice, {"MATCH_epcClass": "urn:epc:class:lgtin:4012345.012345.998877"})
        assert all_events(alice, {"GE_quantity": "200"})
        ext = all_events(alice, {"EQ_example:myField": "Example of a vendor/user extension"},
                         **{"GS1-Extensions": "example=http://ns.example.com/epcis/"})
        assert ext
        assert all_events(alice, {"EXISTS_example:myField": ""})
        asc = all_events(alice, {"orderBy": "eventTime", "orderDirection": "ASC",
                                 "perPage": 1000})
        times = [e["eventTime"] for e in asc]
        assert len(asc) > 5
        desc = all_events(alice, {"orderBy": "eventTime", "perPage": 1000})
        assert [e["eventID"] for e in desc] == [e["eventID"] for e in asc][::-1] or \
            len(set(times)) < len(times)
        assert len(all_events(alice, {"eventCountLimit": "3", "perPage": 1000})) == 3
        too_many = alice.get("/epcis/events", params={"maxEventCount": "2"})
        assert too_many.status_code == 413
        assert too_many.json()["type"] == "epcisException:QueryTooLargeException"


def test_bad_parameters_are_named(node: Node) -> None:
    with node.client("alice") as alice:
        r = alice.get("/epcis/events", params={"EQ_colour": "red", "GE_eventTime": "yesterday",
                                               "EQ_action": "JUMP"})
        assert r.status_code == 400
        body = r.json()
        assert body["type"] == "epcisException:QueryParameterException"
        named = {p["name"] for p in body["parameters"]}
        assert named == {"EQ_colour", "GE_eventTime", "EQ_action"}
        for name in named:
            assert name in body["detail"]
        r = alice.get("/epcis/events", params={"perPage": "0"})
        assert r.status_code == 400 and "perPage" in r.json()["detail"]
        r = alice.get("/epcis/events", params={"MATCH_epc": "urn:epc:idpat:sgtin:*.123.*"})
        assert r.status_code == 400 and "MATCH_epc" in r.json()["detail"]


def _pages(client: httpx.Client, path: str, params: dict[str, Any]) -> list[list[Any]]:
    pages = []
    url: str | None = path
    first = True
    while url:
        r = client.get(url, params=params if first else None)
        assert r.status_code == 200, r.text
        first = False
        body = r.json()
        pages.append(body["epcisBody"]["queryResults"]["resultsBody"]["eventList"]
                     if isinstance(body, dict) and "epcisBody" in body else body["member"])
        link = r.headers.get("Link")
        url = link[1:link.index(">")] if link else None
    return pages


def test_pagination_and_token_binding(node: Node) -> None:
    with node.client("alice") as alice:
        evs = [object_event(f"urn:epc:id:sgtin:0614141.812345.P{i}", biz_step="picking",
                            when=f"2026-04-01T10:00:{i:02d}Z") for i in range(7)]
        assert capture(alice, event_doc(evs)).status_code == 202
        pages = _pages(alice, "/epcis/events", {"EQ_bizStep": "picking", "perPage": 3})
        assert [len(p) for p in pages] == [3, 3, 1]
        ids = [e["eventID"] for p in pages for e in p]
        assert len(set(ids)) == 7
        r = alice.get("/epcis/events", params={"EQ_bizStep": "picking", "perPage": 3})
        link = r.headers["Link"]
        next_url = link[1:link.index(">")]
        limited = _pages(alice, "/epcis/events", {"EQ_bizStep": "picking", "perPage": 2,
                                                  "eventCountLimit": 5})
        assert sum(len(p) for p in limited) == 5
    with node.client("bob") as bob:
        stolen = bob.get(next_url)
        assert stolen.status_code == 400
        assert "nextPageToken" in stolen.json()["detail"]
    with node.client("alice") as alice:
        changed = next_url.replace("picking", "shipping")
        assert alice.get(changed).status_code == 400
        forged = alice.get("/epcis/events", params={"nextPageToken": "AAAA"})
        assert forged.status_code == 400


def test_visibility(node: Node) -> None:
    shared_with_bob = object_event(
        "urn:epc:id:sgtin:0614141.812345.V2",
        destinationList=[{"type": "owning_party", "destination": "urn:epc:id:pgln:4012345.00001"}])
    step = "https://example.com/bizstep/vis_private"  # a user vocabulary value
    private = object_event("urn:epc:id:sgtin:0614141.812345.V1", biz_step=step)
    with node.client("alice") as alice:
        r = capture(alice, event_doc([private, shared_with_bob]))
        job = alice.get(r.headers["Location"]).json()
    private_id = job["events"][0]["eventID"]
    with node.client("bob") as bob:
        assert bob.get("/epcis/events/" + quote(private_id, safe="")).status_code == 404
        assert not all_events(bob, {"MATCH_epc": "urn:epc:id:sgtin:0614141.812345.V1"})
        assert len(all_events(bob, {"MATCH_epc": "urn:epc:id:sgtin:0614141.812345.V2"})) == 1
        steps = bob.get("/epcis/bizSteps").json()["member"]
        assert step not in steps
        assert bob.get("/epcis/bizSteps/" + quote(step, safe="")).status_code == 404
    with node.client() as anonymous:  # no key, no events: 401, not an empty list
        for path in ("/epcis/events", "/epcis/bizSteps"):
            r = anonymous.get(path)
            assert r.status_code == 401 and r.headers["WWW-Authenticate"].startswith("Bearer")
    with node.client("admin") as admin:
        assert len(all_events(admin, {"MATCH_epc": "urn:epc:id:sgtin:0614141.812345.V1"})) == 1
    with node.client("carol") as carol:
        assert not all_events(carol, {"MATCH_epc": "urn:epc:id:sgtin:0614141.812345.V1"})
    with node.db.connect() as conn, conn.transaction():
        conn.execute("INSERT INTO auditor_grants (auditor_id, party_id) VALUES (?, ?)",
                     (node.party_ids["carol"], node.party_ids["alice"]))
    with node.client("carol") as carol:
        assert len(all_events(carol, {"MATCH_epc": "urn:epc:id:sgtin:0614141.812345.V1"})) == 1
        assert step in carol.get("/epcis/bizSteps").json()["member"]


def test_receipt(node: Node) -> None:
    with node.client("alice") as alice:
        r = alice.post("/epcis/events",
                       json=object_event("urn:epc:id:sgtin:0614141.812345.R1"))
        event_id = r.json()["eventID"]
        node.ledger.sign_now()
        got = alice.get("/epcis/events/" + quote(event_id, safe="") + "/receipt")
        assert got.status_code == 200, got.text
        assert node.settings.log_origin in got.text
        assert int(got.headers["X-Log-Index"]) == r.json()["logIndex"]
    with node.client("bob") as bob:
        assert bob.get("/epcis/events/" + quote(event_id, safe="") + "/receipt"
                       ).status_code == 404


def test_discovery(node: Node) -> None:
    with node.client("alice") as alice:
        capture(alice, event_doc([object_event("urn:epc:id:sgtin:0614141.812345.D1",
                                               biz_step="receiving")]))
        types = alice.get("/epcis/eventTypes").json()
        assert "ObjectEvent" in types["member"] and types["type"] == "Collection"
        assert "receiving" in alice.get("/epcis/bizSteps").json()["member"]
        locs = alice.get("/epcis/bizLocations").json()["member"]
        assert "https://id.gs1.org/414/0614141007776" in locs
        assert alice.get("/epcis/bizSteps/receiving").json()["member"] == ["events"]
        evs = alice.get("/epcis/bizSteps/receiving/events").json()
        assert all(e["bizStep"] == "receiving"
                   for e in evs["epcisBody"]["queryResults"]["resultsBody"]["eventList"])
        pages = _pages(alice, "/epcis/epcs", {"perPage": 2})
        flat = [m for p in pages for m in p]
        assert len(flat) == len(set(flat)) >= 3
        assert alice.get("/epcis/readPoints").status_code == 200
        assert alice.get("/epcis/dispositions").status_code == 200
        assert alice.get("/epcis/nothing").status_code == 404
        root = alice.get("/epcis/").json()
        assert "events" in root["member"]


def test_named_queries(node: Node) -> None:
    with node.client("alice") as alice:
        capture(alice, event_doc([object_event("urn:epc:id:sgtin:0614141.812345.Q1",
                                               biz_step="loading")]))
        body = {"name": "loads", "query": {"EQ_bizStep": ["loading"], "eventType": ["ObjectEvent"]}}
        r = alice.post("/epcis/queries", json=body)
        assert r.status_code == 201 and r.headers["Location"] == "/epcis/queries/loads"
        assert alice.post("/epcis/queries", json=body).status_code == 409
        bad = alice.post("/epcis/queries", json={"name": "x", "query": {"EQ_nonsense": ["1"]}})
        # a name ending in a line break would reach the Location header
        assert alice.post("/epcis/queries", json={"name": "nl\n", "query": {}}).status_code == 400
        assert bad.status_code == 400 and "EQ_nonsense" in bad.json()["detail"]
        assert [q["name"] for q in alice.get("/epcis/queries").json()] == ["loads"]
        assert alice.get("/epcis/queries/loads").json()["query"] == body["query"]
        evs = alice.get("/epcis/queries/loads/events").json()
        events = evs["epcisBody"]["queryResults"]["resultsBody"]["eventList"]
        assert events and all(e["bizStep"] == "loading" for e in events)
        assert evs["epcisBody"]["queryResults"]["queryName"] == "loads"
    with node.client("bob") as bob:
        assert bob.get("/epcis/queries/loads").status_code == 404
    with node.client("alice") as alice:
        assert alice.delete("/epcis/queries/loads").status_code == 204
        assert alice.get("/epcis/queries/loads").status_code == 404


def test_xml_query_response(node: Node) -> None:
    with node.client("alice", Accept="application/xml") as alice:
        r = alice.get("/epcis/events", params={"perPage": 2})
        assert r.status_code == 200
        assert r.headers["content-type"].startswith("application/xml")
        assert b"EPCISQueryDocument" in r.content


def test_problem_shape_on_unknown_event(node: Node) -> None:
    with node.client("alice") as alice:
        r = alice.get("/epcis/events/urn:uuid:00000000-0000-0000-0000-000000000000")
        assert r.status_code == 404
        body = r.json()
        # the binding's 404 schema allows only NoSuchNameException (its JSON example says
        # NoSuchResourceException, its XML example and both schemas NoSuchNameException)
        assert body["type"] == "epcisException:NoSuchNameException"
        assert body["status"] == 404 and body["title"]
        assert json.dumps(body)
        assert ALICE_ID not in body["detail"]


def test_epc_format_digital_link(node: Node) -> None:
    urn = "urn:epc:id:sgtin:0614141.812345.FMT1"
    with node.client("alice") as alice:
        capture(alice, event_doc([object_event(urn)]))
        (plain,) = all_events(alice, {"MATCH_epc": urn})
        assert plain["epcList"] == [urn]
        (dl,) = all_events(alice, {"MATCH_epc": urn},
                           **{"GS1-EPC-Format": "Always_GS1_Digital_Link"})
        assert dl["epcList"] == ["https://id.gs1.org/01/80614141123458/21/FMT1"]
        assert dl["readPoint"]["id"] == "https://id.gs1.org/414/0614141007776"
        bad = alice.get("/epcis/events", headers={"GS1-EPC-Format": "Sometimes"})
        assert bad.status_code == 400 and "GS1-EPC-Format" in bad.json()["detail"]


def test_wd_follows_master_data_hierarchy(node: Node) -> None:
    site = "urn:epc:id:sgln:0614141.77700.0"
    dock = "urn:epc:id:sgln:0614141.77701.0"
    doc = event_doc([object_event("urn:epc:id:sgtin:0614141.812345.WD1", location=dock,
                                  biz_step="storing")])
    doc["epcisHeader"] = {"epcisMasterData": {"vocabularyList": [{
        "type": "urn:epcglobal:epcis:vtype:BusinessLocation",
        "vocabularyElementList": [{"id": site, "children": [dock]}]}]}}
    with node.client("alice") as alice:
        r = capture(alice, doc)
        assert r.status_code == 202, r.text
        assert len(all_events(alice, {"WD_bizLocation": site})) == 1
        assert all_events(alice, {"EQ_bizLocation": site}) == []
        assert len(all_events(alice, {"WD_readPoint": "https://id.gs1.org/414/0614141777006"})) == 1
        bad = alice.get("/epcis/events", headers={"GS1-Extensions": "no-equals-sign"})
        assert bad.status_code == 400 and "GS1-Extensions" in bad.json()["detail"]


def test_version_negotiation(node: Node) -> None:
    with node.client("alice") as alice:
        ok = alice.get("/epcis/eventTypes", headers={"GS1-EPCIS-Version": "2.0.0",
                                                     "GS1-CBV-Min": "2.0"})
        assert ok.status_code == 200 and ok.headers["GS1-EPCIS-Version"] == "2.0.0"
        for headers in ({"GS1-EPCIS-Version": "1.2"}, {"GS1-EPCIS-Min": "2.1.0"},
                        {"GS1-CBV-Max": "1.2.2"}, {"GS1-EPCIS-Version": "two"}):
            r = alice.get("/epcis/events", headers=headers)
            assert r.status_code == 406, headers
            assert r.json()["type"] == "epcisException:NotAcceptableException"
            assert next(iter(headers)) in r.json()["detail"]


def test_location_path_segments_are_percent_encoded_as_quote_does() -> None:
    """The Location of a captured event escapes its eventID as urllib's quote(safe="")
    would, for ASCII and for any other text."""
    import random
    from urllib.parse import quote

    from corridor.api.event_routes import _path_segment

    rng = random.Random(7)
    texts = ["", "ni:///sha-256;" + "ab" * 32 + "?ver=CBV2.0", "urn:uuid:1-2", "a b/c%d",
             "ünï €/x", "\x00\x7f~_.-"]
    texts += ["".join(chr(rng.choice([rng.randrange(128), rng.randrange(0x300)]))
                      for _ in range(rng.randrange(40))) for _ in range(3000)]
    for text in texts:
        assert _path_segment(text) == quote(text, safe=""), text
