"""schemathesis against the official EPCIS 2.0 OpenAPI (REST-Bindings/openapi.yaml), run on a
real `corridor serve` holding data: a party's key, captured events and the named queries the
specification's own examples use (`myQuery`, `UniqueQueryName`).

Two runs, each bounded (fixed seed, few examples per operation, a time budget), each with every
response check (no 5xx; status code, content type, headers and body as the specification
documents them):
- every operation, from the specification's examples and by fuzzing;
- the subscription operations again, with more examples.

The specification refers to its JSON-Schema stub by an absolute URL; we point that reference
at the stub in the conformance folder so that nothing is fetched from the network. A few
defects of the specification itself are corrected in that copy (`_fix_spec`, each named);
everything else is checked as published.
"""

from __future__ import annotations

import copy
import re
import subprocess
from pathlib import Path

import httpx
import pytest
import yaml

from tests.api.e2_harness import Server, add_party, auth, capture, create_query, object_event

SCHEMATHESIS = str(Path(__file__).resolve().parents[2] / ".venv" / "bin" / "schemathesis")
STUB_URL = "https://gs1.github.io/EPCIS/REST%20Bindings/JSON-Schema-Stub.json"

pytestmark = pytest.mark.conformance


@pytest.fixture(scope="module")
def spec(conformance: Path, tmp_path_factory) -> Path:
    bindings = conformance / "gs1-epcis" / "REST-Bindings"
    out = tmp_path_factory.mktemp("openapi")
    (out / "JSON-Schema-Stub.json").write_bytes((bindings / "JSON-Schema-Stub.json").read_bytes())
    text = (bindings / "openapi.yaml").read_text(encoding="utf-8")
    document = yaml.safe_load(text.replace(STUB_URL, "JSON-Schema-Stub.json"))
    _fix_spec(document)
    (out / "schemathesis.toml").write_text(CONFIG, encoding="utf-8")
    (out / "openapi.yaml").write_text(yaml.safe_dump(document, sort_keys=False,
                                                     allow_unicode=True), encoding="utf-8")
    return out / "openapi.yaml"


# DELETE /nextPageToken/{token} is optional; the specification documents 501 for a server
# that does not offer it, which is our answer (page tokens are signed and hold no server
# resources), and `not_a_server_error` counts every 5xx. Its other checks stay on.
CONFIG = """\
[[operations]]
include-path = "/nextPageToken/{token}"
include-method = "DELETE"
checks.not_a_server_error.enabled = false
"""

_QUERY_400 = {"$ref": "#/components/responses/400QueryIssues"}
_SUBSCRIPTION_400 = {"$ref": "#/components/responses/400SubscriptionIssues"}
# 400 is the standard's answer to a bad query parameter (QueryParameterException, EPCIS 2.0
# section 8.2.7) or a bad request body (ValidationException), and the specification
# documents it (400QueryIssues) on every /{resource}/{value} and .../events operation, but
# not on these, which take the same `perPage`/`nextPageToken` (GET /events: every
# SimpleEventQuery parameter) or a body (POST /queries: a query definition). The
# subscription controls of POST .../subscriptions are refused with
# SubscriptionControlsException: the specification attaches its 400SubscriptionIssues to
# GET .../subscriptions, which takes no controls, and not to the POST, which does.
_UNDOCUMENTED_400 = {
    ("/capture", "get"): _QUERY_400, ("/events", "get"): _QUERY_400,
    ("/eventTypes", "get"): _QUERY_400, ("/epcs", "get"): _QUERY_400,
    ("/bizSteps", "get"): _QUERY_400, ("/bizLocations", "get"): _QUERY_400,
    ("/readPoints", "get"): _QUERY_400, ("/dispositions", "get"): _QUERY_400,
    ("/queries", "get"): _QUERY_400, ("/queries", "post"): _QUERY_400,
    ("/queries/{queryName}/subscriptions", "post"): _SUBSCRIPTION_400,
}


def _fix_spec(spec: dict) -> None:
    """Corrects defects of the published specification (each checked to be still there, so
    that a corrected specification makes this fail rather than silently patch it)."""
    paths, components = spec["paths"], spec["components"]
    for (path, method), response in _UNDOCUMENTED_400.items():
        responses = paths[path][method]["responses"]
        assert "400" not in responses, (method, path)
        responses["400"] = response
    # 400SubscriptionIssues is served as application/json and application/xml, unlike every
    # other problem response of the specification (application/problem+json and
    # application/problem+xml, the media types RFC 7807 registers for problem details).
    content = components["responses"]["400SubscriptionIssues"]["content"]
    assert set(content) == {"application/json", "application/xml"}
    components["responses"]["400SubscriptionIssues"]["content"] = {
        "application/problem+json": content["application/json"],
        "application/problem+xml": content["application/xml"]}
    # 409ResourceAlreadyExistsException requires `status` 406 (its own example: 409; RFC 7807
    # section 3.1: `status` is the HTTP status code of the response).
    for media in components["responses"]["409ResourceAlreadyExistsException"]["content"].values():
        status = media["schema"]["allOf"][0]["properties"]["status"]
        assert status["enum"] == [406]
        status.update(enum=[409], default=409)
    # GET /queries/{queryName}/events documents 400SubscriptionIssues (SubscriptionControls-
    # or ValidationException) only, though it takes `perPage` and `nextPageToken`, whose
    # errors the specification documents as QueryParameterException (400QueryIssues) on every
    # other .../events operation.
    get_events = paths["/queries/{queryName}/events"]["get"]
    assert get_events["responses"]["400"] == _SUBSCRIPTION_400
    issues = components["responses"]["400SubscriptionIssues"]
    union = copy.deepcopy(issues)
    for media in union["content"].values():
        types = media["schema"]["allOf"][0]["properties"]["type"]["enum"]
        types.append("epcisException:QueryParameterException")
    get_events["responses"]["400"] = union
    # GET /queries/{queryName} "Returns the query definition": its example is one object
    # {name, query}, but its schema is an array of them (copied from GET /queries).
    body = paths["/queries/{queryName}"]["get"]["responses"]["200"]["content"][
        "application/json"]
    assert body["schema"]["type"] == "array" and isinstance(body["example"], dict)
    body["schema"] = body["schema"]["items"]
    # CaptureJob ends in `oneOf: [{properties: {errors}}, {properties: {errorFile}}]`, with
    # nothing required in either branch: every object matches both, so no capture job, not
    # even the schema's own example (`errors: []`), can be valid. `anyOf` is what is meant.
    capture_job = components["schemas"]["CaptureJob"]["allOf"]
    assert "oneOf" in capture_job[1] and len(capture_job[1]["oneOf"]) == 2
    capture_job[1] = {"anyOf": capture_job[1]["oneOf"]}
    # GET /queries/{queryName}/events declares the WebSocket handshake as two optional
    # headers, `Upgrade` and `Connection`, without Sec-WebSocket-Key and -Version (RFC 6455
    # section 4.1): every request generated with them is a malformed handshake, answered 400
    # by the server's WebSocket layer before the application sees it. The WebSocket
    # subscriptions are tested by tests/api/test_subscriptions.py instead.
    before = len(get_events["parameters"])
    get_events["parameters"] = [p for p in get_events["parameters"] if p.get("$ref") not in (
        "#/components/parameters/Upgrade", "#/components/parameters/Connection")]
    assert len(get_events["parameters"]) == before - 2


@pytest.fixture(scope="module")
def node(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("st-node")
    url = f"sqlite:///{tmp / 'corridor.sqlite3'}"
    _, key = add_party(url, "Alpha", "urn:epc:id:pgln:4900000.00001")
    server = Server(url, tmp / "node").start()
    with httpx.Client(base_url=server.url, timeout=30) as client:
        capture(client, key, [object_event(epc=f"urn:epc:id:sgtin:0614141.107346.{i}",
                                           location="urn:epc:id:sgln:0012345.11111.0")
                              for i in range(5)])
        create_query(client, key, "myQuery", {"EQ_bizStep": ["shipping"]})
        create_query(client, key, "GetIlmdExtension", {})
        r = client.post("/epcis/queries/myQuery/subscriptions", headers=auth(key),
                        json={"dest": "http://127.0.0.1:9/hook", "stream": True})
        assert r.status_code == 201, r.text
    yield server, key
    server.stop()


def _run(spec: Path, server: Server, key: str, *extra: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [SCHEMATHESIS, "--config-file", str(spec.parent / "schemathesis.toml"),
         "run", str(spec), "--url", server.url + "/epcis",
         "--header", f"Authorization: Bearer {key}", "--seed", "20240501",
         "--workers", "1", "--warnings", "off",
         "--request-timeout", "20", "--output-truncate", "true", *extra],
        capture_output=True, text=True, timeout=600, check=False,
        cwd=spec.parent)  # schemathesis keeps a .schemathesis/ cache in its working directory


# Operations whose examples in the specification cannot be generated at all (schemathesis
# reports a "Schema Error", not a finding about the server): the capture bodies are a oneOf
# of two identical stubs, and the Disposition example "in_progress" is not a `uri`.
SPEC_DEFECTS = {"POST /capture", "POST /events", "GET /dispositions/{disposition}/events"}


def _assert_clean(out: subprocess.CompletedProcess) -> None:
    text = out.stdout + out.stderr
    if out.returncode == 0:
        return
    assert "Failures:" not in text, text[-8000:]
    blocks = re.findall(r"\n_{3,} (\S+ \S+) _{3,}\n(.*?)\n", text)
    assert blocks, text[-8000:]
    for operation, kind in blocks:
        assert kind == "Schema Error" and operation in SPEC_DEFECTS, text[-8000:]


# Every response check schemathesis has stays on (not_a_server_error,
# status_code_conformance, content_type_conformance, response_headers_conformance,
# response_schema_conformance); the checks about requests are off. (Checks are excluded rather
# than listed: a --checks list would override the per-operation setting of CONFIG.)
REQUEST_CHECKS = ("negative_data_rejection,positive_data_acceptance,missing_required_header,"
                  "unsupported_method,allow_header_conformance,use_after_free,"
                  "ensure_resource_availability,ignored_auth,object_level_authorization")


def test_every_response_of_every_operation_matches_the_specification(spec: Path, node) -> None:
    server, key = node
    out = _run(spec, server, key, "--exclude-checks", REQUEST_CHECKS,
               "--phases", "examples,fuzzing", "--max-examples", "5", "--max-time", "60")
    _assert_clean(out)
    assert "generated" in out.stdout


def test_subscription_responses_match_the_schema(spec: Path, node) -> None:
    server, key = node
    out = _run(spec, server, key, "--exclude-checks", REQUEST_CHECKS,
               "--include-path-regex", "subscriptions", "--phases", "examples,fuzzing",
               "--max-examples", "10", "--max-time", "20")
    _assert_clean(out)
