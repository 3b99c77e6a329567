"""Authentication and party management over HTTP (a real `corridor serve`)."""

from __future__ import annotations

import base64
import itertools
from pathlib import Path
from urllib.parse import quote

import httpx
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from tests.api.e2_harness import Server, add_party, auth, capture, module_db_url, object_event

_serial = itertools.count(1)


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def node(request, tmp_path_factory):
    tmp: Path = tmp_path_factory.mktemp(f"auth-{request.param}")
    url = module_db_url(request.param, tmp, request)
    keys = {"admin": add_party(url, "Root", "urn:example:root", role="admin")[1],
            "a": add_party(url, "Alpha", "urn:epc:id:pgln:5000000.00001")[1],
            "b": add_party(url, "Beta", "urn:epc:id:pgln:5000000.00002")[1]}
    server = Server(url, tmp / "node").start()
    client = httpx.Client(base_url=server.url, timeout=30)
    yield client, keys, url
    client.close()
    server.stop()


def _event() -> dict:
    return object_event(epc=f"urn:epc:id:sgtin:5000000.000001.{next(_serial)}")


def test_whoami_and_401s(node) -> None:
    client, keys, _ = node
    me = client.get("/parties/me", headers=auth(keys["a"]))
    assert me.status_code == 200 and me.json()["name"] == "Alpha"
    assert "key" not in me.text.lower().replace("verifierkey", "")
    for headers in ({}, auth("cor_nope"), {"Authorization": "Bearer"}):
        r = client.get("/parties/me", headers=headers)
        assert r.status_code == 401
        assert r.headers["www-authenticate"].startswith("Bearer")
        assert r.json()["type"] == "epcisException:SecurityException"
        assert r.json()["instance"].startswith("http://127.0.0.1:")


def test_admin_manages_parties(node) -> None:
    client, keys, _ = node
    vkey = base64.b64encode(Ed25519PrivateKey.generate().public_key().public_bytes(
        Encoding.Raw, PublicFormat.Raw)).decode()
    body = {"name": "Gamma", "identifier": "urn:epc:id:pgln:5000000.00003", "verifierKey": vkey,
            "identifiers": ["urn:epc:id:sgln:5000000.00003.0"]}
    assert client.post("/parties", json=body, headers=auth(keys["a"])).status_code == 403
    r = client.post("/parties", json=body, headers=auth(keys["admin"]))
    assert r.status_code == 201, r.text
    new_key = r.json()["apiKey"]
    assert client.get("/parties/me", headers=auth(new_key)).json()["identifiers"] == [
        "urn:epc:id:pgln:5000000.00003", "urn:epc:id:sgln:5000000.00003.0"]
    listed = client.get("/parties", headers=auth(keys["admin"]))
    assert "Gamma" in listed.text and new_key not in listed.text
    dup = client.post("/parties", json=body, headers=auth(keys["admin"]))
    assert dup.status_code == 400 and "identifier" in dup.json()["detail"]
    bad = client.post("/parties", json={**body, "identifier": "x", "verifierKey": "zz"},
                      headers=auth(keys["admin"]))
    assert bad.status_code == 400 and "verifier_key" in bad.json()["detail"]
    assert client.post("/parties/Gamma/revoke", headers=auth(keys["admin"])).status_code == 200
    assert client.get("/parties/me", headers=auth(new_key)).status_code == 401
    assert client.post("/parties/Nobody/revoke", headers=auth(keys["admin"])).status_code == 404


def test_share_over_http(node) -> None:
    client, keys, _ = node
    event = _event()
    capture(client, keys["a"], [event])
    path = f"/epcis/events/{quote(event['eventID'], safe='')}"
    assert client.get(path, headers=auth(keys["b"])).status_code == 404
    # B cannot share A's event to itself; A can.
    share = {"eventID": event["eventID"], "party": "Beta"}
    assert client.post("/parties/shares", json=share, headers=auth(keys["b"])).status_code == 404
    assert client.post("/parties/shares", json=share, headers=auth(keys["a"])).status_code == 201
    assert client.get(path, headers=auth(keys["b"])).status_code == 200
    r = client.delete("/parties/shares", params={"eventID": event["eventID"], "party": "Beta"},
                      headers=auth(keys["a"]))
    assert r.status_code == 204
    assert client.get(path, headers=auth(keys["b"])).status_code == 404
    r = client.post("/parties/shares", json={"eventID": event["eventID"]},
                    headers=auth(keys["a"]))
    assert r.status_code == 400 and "/party" in r.json()["detail"]


def test_auditor_grant_over_http(node) -> None:
    client, keys, _ = node
    r = client.post("/parties", json={"name": "Auditor", "identifier": "urn:example:aud",
                                      "role": "auditor"}, headers=auth(keys["admin"]))
    assert r.status_code == 201, r.text
    aud = r.json()["apiKey"]
    event = _event()
    capture(client, keys["b"], [event])
    path = f"/epcis/events/{quote(event['eventID'], safe='')}"
    assert client.get(path, headers=auth(aud)).status_code == 404
    grant = {"auditor": "Auditor", "party": "Beta"}
    assert client.post("/parties/grants", json=grant, headers=auth(keys["a"])).status_code == 403
    assert client.post("/parties/grants", json=grant,
                       headers=auth(keys["admin"])).status_code == 201
    assert client.get(path, headers=auth(aud)).status_code == 200
    assert client.get("/parties/me", headers=auth(aud)).json()["grants"]
    r = client.delete("/parties/grants", params=grant, headers=auth(keys["admin"]))
    assert r.status_code == 204
    assert client.get(path, headers=auth(aud)).status_code == 404


def _corridor_cli(*args: str) -> None:
    import subprocess

    from tests.api.e2_harness import CORRIDOR

    out = subprocess.run([CORRIDOR, *args], capture_output=True, text=True, timeout=60,
                         check=False)
    assert out.returncode == 0, out.stderr


def _stored(client: httpx.Client, admin_key: str, event: dict) -> bool:
    path = f"/epcis/events/{quote(event['eventID'], safe='')}"
    r = client.get(path, headers=auth(admin_key))
    assert r.status_code in (200, 404), r.text
    return r.status_code == 200


@pytest.mark.parametrize("change", ["revoke", "rotate-key"])
def test_single_event_capture_stops_when_the_key_does(node, change: str) -> None:
    """POST /epcis/events keeps the parties of recent keys in memory; revoking or rotating
    a key from ANOTHER process (the CLI) must still stop its very next capture, valid or
    not, and store nothing."""
    client, keys, db_url = node
    name = f"Temp-{change}"
    _, key = add_party(db_url, name, f"urn:example:{change}")
    first = _event()
    assert client.post("/epcis/events", json=first, headers=auth(key)).status_code == 201
    assert client.post("/epcis/events", json=_event(), headers=auth(key)).status_code == 201
    _corridor_cli("party", change, name, "--db", db_url)
    refused = _event()
    r = client.post("/epcis/events", json=refused, headers=auth(key))
    assert r.status_code == 401, r.text
    assert r.json()["type"] == "epcisException:SecurityException"
    assert not _stored(client, keys["admin"], refused)
    assert _stored(client, keys["admin"], first)
    # a refusal for the event itself, or an unsupported body, is not told to a dead key
    bad = {**_event(), "action": "NOT-AN-ACTION"}
    assert client.post("/epcis/events", json=bad, headers=auth(key)).status_code == 401
    assert client.post("/epcis/events", content=b"<x/>", headers={
        **auth(key), "Content-Type": "application/xml"}).status_code == 401
