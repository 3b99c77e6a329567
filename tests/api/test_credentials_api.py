"""The certificates' HTTP surface on a demo node: issue (certifier only, the claim computed by
the node, refusals naming what is missing), the public credential, list, revoke (issuer or
admin), the status list, verify, the certifiers and the node's did:web."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient

from corridor.app import create_app
from corridor.config import Settings
from corridor.credentials import decode_list, verify_proof
from corridor.demo import demo_api_key, load_demo
from tests.api.e2_harness import add_party

SHIPMENTS = 12


def _auth(slug: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {demo_api_key(7, slug)}"}


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    tmp = tmp_path_factory.mktemp("cred-api")
    settings = Settings(data_dir=tmp, db_url=f"sqlite:///{tmp / 'corridor.sqlite3'}",
                        public_url="https://node.example")
    load_demo(settings, shipments=SHIPMENTS)
    with TestClient(create_app(settings)) as found:
        yield found


def _lots(client: TestClient, kind: str) -> list[dict[str, Any]]:
    certifier = client.get("/certifiers").json()[0]
    listed = client.get("/credentials", params={"issuer": certifier["party"]}).json()
    return [c for c in listed if c["type"] == kind]


def test_certifiers_and_did_document_are_public(client: TestClient) -> None:
    certifiers = client.get("/certifiers").json()
    assert certifiers[0]["did"].startswith("did:key:z6Mk")
    assert certifiers[0]["scope"] == ["GreenMetalCredential", "OriginCredential"]
    did = client.get("/.well-known/did.json")
    assert did.headers["content-type"].startswith("application/did+json")
    assert did.json()["id"] == "did:web:node.example"
    assert did.json()["verificationMethod"][0]["publicKeyMultibase"].startswith("z6Mk")


def test_issue_as_certifier_then_get_list_and_verify(client: TestClient) -> None:
    lot = _lots(client, "GreenMetalCredential")[0]["subject"]
    made = client.post("/credentials", json={"type": "GreenMetalCredential", "subject": lot,
                                             "cryptosuite": "eddsa-rdfc-2022"},
                       headers=_auth("certifier"))
    assert made.status_code == 201, made.text
    assert made.headers["content-type"].startswith("application/vc")
    credential = made.json()
    assert credential["credentialSubject"]["id"] == lot
    assert credential["proof"]["cryptosuite"] == "eddsa-rdfc-2022"
    assert credential["credentialStatus"]["statusListCredential"].startswith(
        "https://node.example/credentials/status/")
    got = client.get(made.headers["location"])  # public: no key
    assert got.status_code == 200 and got.json() == credential
    listed = client.get("/credentials", params={"subject": lot}).json()
    assert credential["id"] in [c["id"] for c in listed]
    report = client.post("/credentials/verify", json=credential).json()
    assert report["verified"], report


def test_issue_refusals(client: TestClient) -> None:
    body = {"type": "GreenMetalCredential",
            "subject": "urn:epc:class:lgtin:4870101.076011.NOPE"}
    member = client.post("/credentials", json=body, headers=_auth("smelter"))
    assert member.status_code == 403
    assert member.json()["errors"][0]["rule"] == "not-a-certifier"
    refused = client.post("/credentials", json=body, headers=_auth("certifier"))
    assert refused.status_code == 422
    assert "no TransformationEvent" in refused.json()["detail"]
    assert refused.json()["missing"]
    bad = client.post("/credentials", json={"type": "Nope", "subject": "x"},
                      headers=_auth("certifier"))
    assert bad.status_code == 400 and bad.json()["errors"][0]["pointer"] == "/type"
    assert client.post("/credentials", json=body).status_code == 401


def test_list_needs_a_filter_unless_admin(client: TestClient) -> None:
    answer = client.get("/credentials")
    assert answer.status_code == 400 and "subject" in answer.json()["detail"]
    assert client.get("/credentials", params={"issuer": "x"}).status_code == 400


def test_revoke_by_issuer_only_and_status_list_shows_it(client: TestClient,
                                                         tmp_path: Path) -> None:
    target = next(c for c in _lots(client, "OriginCredential") if not c["revokedAt"])
    path = f"/credentials/{target['id']}/revoke"
    assert client.post(path, json={"reason": "test"}, headers=_auth("buyer")).status_code \
        == 403
    assert client.post(path, json={}, headers=_auth("certifier")).status_code == 400
    done = client.post(path, json={"reason": "mass corrected"}, headers=_auth("certifier"))
    assert done.status_code == 200 and done.json()["revokedAt"]
    credential = client.get(f"/credentials/{target['id']}").json()
    status_url = credential["credentialStatus"]["statusListCredential"]
    status = client.get(status_url.replace("https://node.example", ""))
    assert status.status_code == 200 and "max-age" in status.headers["cache-control"]
    verify_proof(status.json())
    bits = decode_list(status.json()["credentialSubject"]["encodedList"])
    index = int(credential["credentialStatus"]["statusListIndex"])
    assert bits[index // 8] >> (7 - index % 8) & 1
    report = client.post("/credentials/verify", json={"credential": credential}).json()
    status_check = next(c for c in report["checks"] if c["check"] == "status")
    assert not report["verified"] and status_check["detail"].startswith("revoked")


def test_not_found_and_bad_bodies(client: TestClient) -> None:
    assert client.get("/credentials/urn:uuid:nope").status_code == 404
    assert client.get("/credentials/status/999").status_code == 404
    assert client.get("/credentials/status/x").status_code == 404
    assert client.post("/credentials/verify", content=b"[1]",
                       headers={"content-type": "application/json"}).status_code == 400
    answer = client.post("/credentials/verify", json={"credential": {}, "events": 3})
    assert answer.status_code == 400 and answer.json()["errors"][0]["pointer"] == "/events"
    empty = client.post("/credentials/verify", json={"id": "x"}).json()
    assert empty["verified"] is False


def test_accredit_is_admin_only(client: TestClient, tmp_path: Path) -> None:
    body = {"party": "urn:epc:id:pgln:8010606.00000", "name": "Audit Office",
            "accreditation": "ACCREDIA 123"}
    assert client.post("/certifiers", json=body, headers=_auth("auditor")).status_code == 403
    settings: Settings = client.app.state.ctx.settings
    _, admin = add_party(settings.db_url, "Root", "urn:example:root", role="admin")
    made = client.post("/certifiers", json=body, headers={"Authorization": f"Bearer {admin}"})
    assert made.status_code == 201 and made.json()["did"].startswith("did:key:")
    again = client.post("/certifiers", json=body, headers={"Authorization": f"Bearer {admin}"})
    assert again.status_code == 400 and "already a certifier" in again.json()["detail"]
