"""Parametric cover over HTTP on a demo node: the insurer offers terms (refusals naming the
field), the insured binds them (a binding event carrying the terms' digest), and a policy and
its claims are seen by its two parties and admins only: 404 to anyone else, 401 without a
key. Responses are checked against the OpenAPI description's schemas."""

from __future__ import annotations

import copy
import hashlib
import json
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from jsonschema import Draft202012Validator
from starlette.testclient import TestClient

from corridor.app import create_app
from corridor.config import Settings
from corridor.demo import demo_api_key, load_demo
from corridor.demo.actors import ACTOR_BY_SLUG
from corridor.ledger.jcs import canonicalize
from corridor.serving import openapi
from tests.api.e2_harness import add_party

INSURER = ACTOR_BY_SLUG["insurer"].pgln
INSURED = ACTOR_BY_SLUG["buyer"].pgln
CONTAINER = "urn:epc:id:sscc:4870101.1000000004"
# A container the demo does not have, which reaches the port after its policy is bound.
FRESH = "urn:epc:id:sscc:4870101.1000009999"
PORT = "urn:epc:id:sgln:4870104.00010.0"
ELSEWHERE = "urn:epc:id:sgln:4760202.00010.0"
TERMS: dict[str, Any] = {
    "insurer": INSURER, "insured": INSURED, "units": [CONTAINER],
    "sumInsured": "120000.00", "currency": "USD", "premium": "1800.00",
    "coverFrom": "2026-01-01T00:00:00Z", "coverUntil": "2026-12-31T00:00:00Z",
    "triggers": [{"id": "port", "type": "dwell", "node": PORT,
                  "tiers": [{"atLeastHours": 24, "share": "0.1"},
                            {"atLeastHours": 36, "share": "0.25"}]}],
}


def _auth(slug: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {demo_api_key(7, slug)}"}


@pytest.fixture(scope="module")
def node(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[TestClient, str]]:
    tmp = tmp_path_factory.mktemp("insurance-api")
    settings = Settings(data_dir=tmp, db_url=f"sqlite:///{tmp / 'corridor.sqlite3'}",
                        public_url="https://node.example")
    load_demo(settings, shipments=6)
    _, admin = add_party(settings.db_url, "Root", "urn:example:root", role="admin")
    with TestClient(create_app(settings)) as client:
        yield client, admin


@pytest.fixture(scope="module")
def client(node: tuple[TestClient, str]) -> TestClient:
    return node[0]


def _conforms(value: Any, schema: str) -> None:
    components = openapi.document()["components"]
    validator = Draft202012Validator({"$ref": f"#/components/schemas/{schema}",
                                      "components": components})
    errors = [f"{e.json_path}: {e.message}" for e in validator.iter_errors(value)]
    assert not errors, errors[:5]


def _offer(client: TestClient, terms: dict[str, Any] | None = None, slug: str = "insurer"):
    return client.post("/api/policies", json=terms or TERMS, headers=_auth(slug))


@pytest.fixture(scope="module")
def bound(client: TestClient) -> dict[str, Any]:
    made = _offer(client)
    assert made.status_code == 201, made.text
    done = client.post(f"/api/policies/{made.json()['id']}/bind", headers=_auth("buyer"))
    assert done.status_code == 200, done.text
    return done.json()


def test_the_insurer_offers_and_the_insured_binds(client: TestClient) -> None:
    made = _offer(client)
    assert made.status_code == 201, made.text
    policy = made.json()
    _conforms(policy, "Policy")
    assert made.headers["location"] == f"/api/policies/{policy['id']}"
    assert policy["status"] == "offered" and policy["boundAt"] is None
    # the canonical terms: the settlement currency filled in, every decimal a string
    assert policy["terms"]["settlementCurrency"] == "USD"
    assert policy["terms"]["triggers"][0]["tiers"][0] == {"share": "0.1", "atLeastHours": "24"}
    digest = hashlib.sha256(canonicalize(policy["terms"])).hexdigest()
    assert policy["termsDigest"] == f"sha-256:{digest}"
    path = f"/api/policies/{policy['id']}/bind"
    insurer = client.post(path, headers=_auth("insurer"))
    assert insurer.status_code == 403, insurer.text
    stranger = client.post(path, headers=_auth("smelter"))
    assert stranger.status_code == 404, stranger.text
    done = client.post(path, headers=_auth("buyer"))
    assert done.status_code == 200, done.text
    bound = done.json()
    _conforms(bound, "Policy")
    assert bound["status"] == "bound" and bound["bindingEvent"].startswith("ni:///sha-256;")
    assert isinstance(bound["bindingLogIndex"], int)
    again = client.post(path, headers=_auth("buyer"))  # binding twice changes nothing
    assert again.status_code == 200 and again.json() == bound


def test_the_binding_event_carries_the_terms_digest(client: TestClient,
                                                     bound: dict[str, Any]) -> None:
    events = client.get("/epcis/events", params={"MATCH_anyEPC": CONTAINER},
                        headers=_auth("buyer")).json()["epcisBody"]["queryResults"]
    found = [e for e in events["resultsBody"]["eventList"]
             if bound["id"] in json.dumps(e.get("bizTransactionList", []))]
    assert len(found) == 1, found
    digests = [v for k, v in found[0].items() if k.endswith("policyTerms")]
    assert digests == [bound["termsDigest"]]


def test_offer_refused_for_another_party(client: TestClient) -> None:
    made = _offer(client, slug="buyer")  # the insured cannot offer in the insurer's name
    assert made.status_code == 403, made.text
    assert made.json()["type"] == "epcisException:SecurityException"


@pytest.mark.parametrize(("path", "value", "pointer"), [
    (("triggers", 0, "tiers", 1, "share"), "0.05", "/triggers/0/tiers/1"),
    (("triggers", 0, "tiers", 0, "share"), "1.5", "/triggers/0/tiers/0/share"),
    (("currency",), "GBP", "/currency"),
    (("coverUntil",), "2025-01-01T00:00:00Z", "/coverUntil"),
    (("units", 0), "urn:epc:id:sgtin:4870101.076011.1", "/units/0"),
    (("triggers", 0, "type"), "flood", "/triggers/0/type"),
    (("sumInsured",), 0.5, "/sumInsured"),
])
def test_bad_terms_name_the_field(client: TestClient, path: tuple[Any, ...], value: Any,
                                  pointer: str) -> None:
    terms = copy.deepcopy(TERMS)
    target: Any = terms
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    refused = _offer(client, terms)
    assert refused.status_code == 400, refused.text
    problem = refused.json()
    assert refused.headers["content-type"].startswith("application/problem+json")
    assert problem["errors"][0]["pointer"] == pointer, problem
    assert problem["detail"].startswith(pointer + ":")


def test_bad_bodies(client: TestClient) -> None:
    not_json = client.post("/api/policies", content=b"{", headers=_auth("insurer"))
    assert not_json.status_code == 400 and "not valid JSON" in not_json.json()["detail"]
    extra = _offer(client, {**TERMS, "deductible": "10"})
    assert extra.status_code == 400
    assert extra.json()["errors"][0]["pointer"] == "/deductible"
    nul = _offer(client, {**TERMS, "units": [CONTAINER + "\x00"]})
    assert nul.status_code == 400 and nul.json()["errors"][0]["pointer"] == "/units/0"
    unknown = _offer(client, {**TERMS, "insured": "urn:epc:id:pgln:9999999.00000"})
    assert unknown.status_code == 422 and unknown.json()["errors"][0]["pointer"] == "/insured"
    big = client.post("/api/policies", content=b" " * (4 * 1024 * 1024 + 1),
                      headers=_auth("insurer"))
    assert big.status_code == 413


def test_who_sees_a_policy(node: tuple[TestClient, str], bound: dict[str, Any]) -> None:
    client, admin = node
    path = f"/api/policies/{bound['id']}"
    for slug in ("insurer", "buyer"):
        seen = client.get(path, headers=_auth(slug))
        assert seen.status_code == 200, seen.text
        assert {k: v for k, v in seen.json().items() if k != "claims"} == bound
    assert client.get(path, headers={"Authorization": f"Bearer {admin}"}).status_code == 200
    stranger = client.get(path, headers=_auth("smelter"))
    assert stranger.status_code == 404
    assert stranger.json()["type"] == "epcisException:NoSuchNameException"
    anonymous = client.get(path)
    assert anonymous.status_code == 401 and "www-authenticate" in anonymous.headers
    assert client.get("/api/policies/urn:uuid:nope", headers=_auth("insurer")).status_code \
        == 404


def test_listing_policies_and_claims(node: tuple[TestClient, str],
                                     bound: dict[str, Any]) -> None:
    client, admin = node
    listed = client.get("/api/policies", headers=_auth("insurer"))
    assert listed.status_code == 200
    for policy in listed.json():
        _conforms(policy, "Policy")
    assert bound["id"] in [p["id"] for p in listed.json()]
    assert bound["id"] not in [p["id"] for p in client.get(
        "/api/policies", headers=_auth("smelter")).json()]
    everything = client.get("/api/policies", headers={"Authorization": f"Bearer {admin}"})
    assert {p["id"] for p in listed.json()} <= {p["id"] for p in everything.json()}
    assert client.get("/api/policies").status_code == 401
    claims = client.get("/api/claims", params={"policy": bound["id"]}, headers=_auth("buyer"))
    assert claims.status_code == 200 and isinstance(claims.json(), list)
    assert client.get("/api/claims", headers=_auth("insurer")).status_code == 200
    assert client.get("/api/claims", params={"policy": bound["id"]},
                      headers=_auth("smelter")).status_code == 404
    assert client.get("/api/claims", params={"policy": "a b"},
                      headers=_auth("buyer")).status_code == 400
    assert client.get("/api/claims").status_code == 401


def test_unknown_claims_are_not_found(client: TestClient) -> None:
    for path in ("/api/claims/urn:uuid:nope", "/api/claims/urn:uuid:nope/bundle"):
        answer = client.get(path, headers=_auth("insurer"))
        assert answer.status_code == 404, answer.text
        assert client.get(path).status_code == 401


def _at_port(when: datetime, place: str, step: str) -> dict[str, Any]:
    stamp = when.strftime("%Y-%m-%dT%H:%M:%S.000Z")
    return {"type": "ObjectEvent", "eventTime": stamp, "eventTimeZoneOffset": "+00:00",
            "epcList": [FRESH], "action": "OBSERVE", "bizStep": step,
            "disposition": "in_transit", "readPoint": {"id": place},
            "bizLocation": {"id": place}}


def test_the_node_opens_the_claim_and_serves_its_bundle(node: tuple[TestClient, str]) -> None:
    """Cover attaches at binding: a container that reaches the port after it, stays 40 h and
    moves on opens a claim once the node has signed and evaluated its events."""
    client, admin = node
    made = _offer(client, {**TERMS, "units": [FRESH]})
    assert made.status_code == 201, made.text
    policy = client.post(f"/api/policies/{made.json()['id']}/bind", headers=_auth("buyer"))
    assert policy.status_code == 200, policy.text
    bound = policy.json()
    start = datetime.now(UTC) + timedelta(minutes=1)
    for when, place, step in ((start, PORT, "arriving"),
                              (start + timedelta(hours=40), PORT, "departing"),
                              (start + timedelta(hours=50), ELSEWHERE, "arriving")):
        sent = client.post("/epcis/events", json=_at_port(when, place, step),
                           headers=_auth("buyer"))
        assert sent.status_code == 201, sent.text
    deadline = time.monotonic() + 30
    claims: list[dict[str, Any]] = []
    while not claims and time.monotonic() < deadline:
        time.sleep(0.25)
        claims = client.get("/api/claims", params={"policy": bound["id"]},
                            headers=_auth("insurer")).json()
    assert len(claims) == 1, claims
    claim = claims[0]
    _conforms(claim, "Claim")
    # 40 hours at the port reaches the 36-hour tier: 25 % of 120000.00 = 30000.00 USD
    assert (claim["trigger"], claim["unit"], claim["tier"], claim["payout"],
            claim["currency"]) == ("port", FRESH, 1, "30000.00", "USD")
    path = f"/api/claims/{claim['id']}"
    assert client.get(path, headers=_auth("buyer")).json() == claim
    assert client.get(path, headers=_auth("smelter")).status_code == 404
    assert client.get(f"/api/policies/{bound['id']}",
                      headers=_auth("insurer")).json()["claims"] == [claim]
    bundle = client.get(path + "/bundle", headers={"Authorization": f"Bearer {admin}"})
    assert bundle.status_code == 200, bundle.text
    _conforms(bundle.json(), "ClaimBundle")
    assert bundle.json()["claim"]["payout"] == "30000.00"
    assert client.get(path + "/bundle", headers=_auth("smelter")).status_code == 404
