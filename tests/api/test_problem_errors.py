"""Clear answers (issue 19): every problem response carries `errors`, one `{pointer, message,
rule}` per problem found (docs/api.md, "Errors"), as the OpenAPI description's Problem schema
says; query errors name each parameter once; a posted event's pointers are into the event
posted; and /epcis/ (but its top level and OPTIONS) answers a request without a good key with
401 and a Bearer challenge, not with an empty 200."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from jsonschema import Draft202012Validator

from corridor.serving import openapi
from tests.api.e1_server import Node, capture, event_doc, object_event, start_node

EPC = "urn:epc:id:sgtin:0614141.107346.{}"


@pytest.fixture(scope="module")
def node(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Node]:
    data_dir = tmp_path_factory.mktemp("problems")
    n, srv = start_node(f"sqlite:///{data_dir / 'corridor.sqlite3'}", data_dir,
                        max_capture_events=3, max_capture_bytes=64 * 1024)
    try:
        with n.client("alice") as alice:
            r = capture(alice, event_doc([object_event(EPC.format(i)) for i in range(2)]))
            assert r.status_code == 202, r.text
            r = alice.post("/epcis/queries", json={"name": "mine", "query": {}})
            assert r.status_code == 201, r.text
        yield n
    finally:
        srv.stop()


_PROBLEM = Draft202012Validator({"$ref": "#/components/schemas/Problem",
                                 "components": openapi.document()["components"]})


def _problem(r: httpx.Response, status: int) -> dict[str, Any]:
    """The problem of `r`, checked against the OpenAPI description's Problem schema and the
    errors convention."""
    assert r.status_code == status, r.text
    assert r.headers["content-type"].startswith("application/problem+json"), r.headers
    body = r.json()
    errors = sorted(_PROBLEM.iter_errors(body), key=str)
    assert not errors, [e.message for e in errors]
    assert body["errors"], body
    for entry in body["errors"]:
        assert isinstance(entry["pointer"], str) and entry["message"] and entry["rule"], entry
        assert entry["pointer"] == "" or entry["pointer"].startswith("/"), entry
    return body


def test_every_kind_of_problem_carries_errors(node: Node) -> None:
    with node.client("alice") as alice:
        big = json.dumps(event_doc([object_event(EPC.format(9), note="x" * 70000)])).encode()
        cases = [
            (alice.get("/epcis/capture/99999"), 404, "", "no-such-name"),
            (alice.get("/epcis/events/urn:uuid:nothing-here"), 404, "", "no-such-name"),
            (alice.get("/epcis/queries/nothing"), 404, "", "no-such-name"),
            (capture(alice, big), 413, "", "size-limit"),
            (capture(alice, event_doc([object_event(EPC.format(i)) for i in range(5)])), 413,
             "/epcisBody/eventList", "capture-limit"),
            (capture(alice, b"x", media="text/plain"), 415, "", "media-type"),
            (alice.get("/epcis/events", headers={"GS1-EPCIS-Version": "1.2"}), 406, "",
             "not-acceptable"),
            (alice.delete("/epcis/nextPageToken/abc"), 501, "", "implementation"),
            (alice.get("/epcis/events", headers={"GS1-EPC-Format": "Sometimes"}), 400, "",
             "gs1-epc-format"),
            (alice.post("/epcis/queries", json={"name": "bad name!", "query": {}}), 400,
             "/name", "query-name"),
            (alice.post("/epcis/queries/mine/subscriptions", json={"dest": "ftp://x"}), 400,
             "/dest", "subscription-controls"),
        ]
        for r, status, pointer, rule in cases:
            body = _problem(r, status)
            assert [(e["pointer"], e["rule"]) for e in body["errors"]] == [(pointer, rule)], \
                (r.request.method, r.request.url, body)
            if status != 400 or pointer == "":
                assert body["errors"][0]["message"] == body["detail"]
    # the pages' FX API keeps RFC 9457's invalid-params beside errors
    fx = httpx.get(node.url + "/api/fx/rates", params={"base": "KZT", "quote": "USD", "date": "soon"})
    body = _problem(fx, 400)
    assert body["invalid-params"][0]["name"] == "date"
    assert [e["pointer"] for e in body["errors"]] == ["/query/date"]


def test_query_errors_name_each_parameter_once(node: Node) -> None:
    with node.client("alice") as alice:
        r = alice.get("/epcis/events", params={"EQ_bizStep": "", "GE_eventTime": "yesterday",
                                               "EQ_nonsense": "1"})
        body = _problem(r, 400)
        assert body["type"] == "epcisException:QueryParameterException"
        for name in ("EQ_bizStep", "GE_eventTime", "EQ_nonsense"):
            assert body["detail"].count(name) == 1, body["detail"]
        assert {e["pointer"]: e["rule"] for e in body["errors"]} == {
            "/query/EQ_bizStep": "query-parameter", "/query/GE_eventTime": "query-parameter",
            "/query/EQ_nonsense": "unknown-parameter"}
        assert all(not e["message"].startswith(e["pointer"][7:]) for e in body["errors"])
        assert {p["name"] for p in body["parameters"]} == {"EQ_bizStep", "GE_eventTime",
                                                          "EQ_nonsense"}
        body = _problem(alice.get("/epcis/events", params={"GE_eventTime": "x"}), 400)
        assert body["detail"] == "GE_eventTime: 'x' is not an ISO 8601 date-time"
        body = _problem(alice.get("/epcis/events", params={"perPage": "0"}), 400)
        assert [e["pointer"] for e in body["errors"]] == ["/query/perPage"]
        # in a named query's definition, /query/<name> is where the parameter is
        r = alice.post("/epcis/queries", json={"name": "bad", "query": {"GE_eventTime": "x"}})
        body = _problem(r, 400)
        assert [e["pointer"] for e in body["errors"]] == ["/query/GE_eventTime"]
        body = _problem(alice.post("/epcis/queries", json={"name": "bad", "query": "x"}), 400)
        assert [e["pointer"] for e in body["errors"]] == ["/query"]


def test_a_posted_events_pointers_are_into_the_event(node: Node) -> None:
    with node.client("alice") as alice:
        bad = object_event(EPC.format(20), biz_step="teleporting", action="NOPE")
        body = _problem(alice.post("/epcis/events", json=bad), 400)
        assert {e["pointer"] for e in body["errors"]} >= {"/bizStep", "/action"}, body
        assert "/epcisBody" not in json.dumps(body), body
        body = _problem(alice.post("/epcis/events", content=b'{"type":\n  nope}',
                                   headers={"Content-Type": "application/json"}), 400)
        (entry,) = body["errors"]
        assert (entry["pointer"], entry["rule"], entry["line"]) == ("", "json-syntax", 2)
        # the same fault in a document is pointed at in the document
        r = capture(alice, event_doc([bad]))
        body = _problem(r, 400)
        assert "/epcisBody/eventList/0/action" in {e["pointer"] for e in body["errors"]}


# Every /epcis/ operation that reads or writes data: GET (and POST, DELETE) need a party.
_GUARDED = [("GET", "/epcis/events"), ("GET", "/epcis/events/urn:uuid:x"),
            ("GET", "/epcis/events/urn:uuid:x/receipt"), ("GET", "/epcis/eventTypes"),
            ("GET", "/epcis/eventTypes/ObjectEvent"),
            ("GET", "/epcis/eventTypes/ObjectEvent/events"),
            ("GET", "/epcis/bizSteps"), ("GET", "/epcis/bizSteps/shipping/events"),
            ("GET", "/epcis/epcs"), ("GET", "/epcis/bizLocations"), ("GET", "/epcis/readPoints"),
            ("GET", "/epcis/dispositions"), ("GET", "/epcis/capture"),
            ("GET", "/epcis/capture/1"), ("POST", "/epcis/capture"), ("POST", "/epcis/events"),
            ("GET", "/epcis/queries"), ("GET", "/epcis/queries/mine"),
            ("GET", "/epcis/queries/mine/events"), ("GET", "/epcis/queries/mine/subscriptions"),
            ("DELETE", "/epcis/nextPageToken/abc")]


@pytest.mark.parametrize(("method", "path"), _GUARDED)
def test_epcis_needs_a_key(node: Node, method: str, path: str) -> None:
    for headers, challenge in (({}, 'Bearer realm="corridor"'),
                               ({"Authorization": "Bearer cor_wrong"},
                                'Bearer realm="corridor", error="invalid_token"')):
        r = httpx.request(method, node.url + path, headers=headers)
        body = _problem(r, 401)
        assert r.headers["WWW-Authenticate"] == challenge, (method, path, headers)
        assert body["type"] == "epcisException:SecurityException"
        assert body["errors"][0]["rule"] in ("missing-credentials", "invalid-token")
        assert EPC.format(0) not in r.text


def test_the_api_itself_stays_discoverable(node: Node) -> None:
    for path in ("/epcis", "/epcis/"):
        r = httpx.get(node.url + path)
        assert r.status_code == 200 and "events" in r.json()["member"], r.text
    for _, path in _GUARDED:
        if path.startswith("/epcis/nextPageToken"):
            continue
        r = httpx.options(node.url + path)
        assert r.status_code == 204 and r.headers["Allow"], (path, r.text)
