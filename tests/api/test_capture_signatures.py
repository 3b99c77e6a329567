"""Signed captures (Corridor-Signature) and DELETE of a named query ending its subscriptions
at once, over a real uvicorn server on SQLite and PostgreSQL."""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
import time
import uuid
from collections.abc import Iterator
from typing import Any
from urllib.parse import quote

import httpx
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from corridor.ledger.entry import LogEntry
from corridor.store import parties as party_store
from corridor.subscriptions import store as substore
from tests.api.e1_server import Node, event_doc, object_event, start_node

DORA_ID = "urn:epc:id:pgln:4870000.00001"


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def node(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
         ) -> Iterator[tuple[Node, Ed25519PrivateKey]]:
    data_dir = tmp_path_factory.mktemp(f"signed-{request.param}")
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
    n, srv = start_node(url, data_dir)
    # Dora signs her captures: she registers an Ed25519 verifier key.
    private = Ed25519PrivateKey.generate()
    public = private.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
    with n.db.connect() as conn:
        party, key = party_store.add_party(conn, "dora", DORA_ID, role="member",
                                           verifier_key=base64.b64encode(public).decode())
    n.keys["dora"], n.party_ids["dora"] = key, party.id
    try:
        yield n, private
    finally:
        srv.stop()
        if schema:
            import psycopg

            with psycopg.connect(request.getfixturevalue("pg_server"), autocommit=True) as c:
                c.execute(f'DROP SCHEMA "{schema}" CASCADE')


def _signature(private: Ed25519PrivateKey, body: bytes) -> str:
    sig = private.sign(hashlib.sha256(body).digest())
    return "ed25519=" + base64.b64encode(sig).decode()


def _events(count: int) -> list[dict[str, Any]]:
    return [object_event(f"urn:epc:id:sgtin:4870000.000001.{uuid.uuid4().int % 10**9}",
                         eventID=f"urn:uuid:{uuid.uuid4()}") for _ in range(count)]


def _raw_entry(node: Node, client: httpx.Client, event_id: str) -> bytes:
    node.ledger.sign_now()
    r = client.get("/epcis/events/" + quote(event_id, safe="") + "/receipt")
    assert r.status_code == 200, r.text
    raw = node.ledger.entry(int(r.headers["X-Log-Index"]))
    assert raw is not None
    return raw


def _entry(node: Node, client: httpx.Client, event_id: str) -> LogEntry:
    return LogEntry.decode(_raw_entry(node, client, event_id))


def _post(client: httpx.Client, path: str, body: bytes, **headers: str) -> httpx.Response:
    return client.post(path, content=body,
                       headers={"Content-Type": "application/ld+json", **headers})


def _job_count(client: httpx.Client) -> int:
    r = client.get("/epcis/capture", params={"perPage": 1000})
    assert r.status_code == 200, r.text
    return len(r.json())


def test_signed_capture_records_the_signature_in_every_entry(node) -> None:
    n, private = node
    events = _events(2)
    body = json.dumps(event_doc(events)).encode()
    header = _signature(private, body)
    with n.client("dora") as dora:
        r = _post(dora, "/epcis/capture", body, **{"Corridor-Signature": header})
        assert r.status_code == 202, r.text
        expected = base64.b64decode(header.removeprefix("ed25519="))
        for event in events:
            entry = _entry(n, dora, event["eventID"])
            assert entry.signature == expected
            assert entry.party == DORA_ID
        # The encoded entry carries the `sig` line.
        raw = _raw_entry(n, dora, events[0]["eventID"])
        assert f"\nsig {base64.b64encode(expected).decode()}\n".encode() in raw


def test_signed_single_event(node) -> None:
    n, private = node
    event = _events(1)[0]
    body = json.dumps(event).encode()
    with n.client("dora") as dora:
        r = _post(dora, "/epcis/events", body,
                  **{"Corridor-Signature": _signature(private, body)})
        assert r.status_code == 201, r.text
        assert _entry(n, dora, event["eventID"]).signature is not None


def test_unsigned_capture_has_no_sig_line(node) -> None:
    n, _ = node
    events = _events(1)
    with n.client("dora") as dora:
        r = _post(dora, "/epcis/capture", json.dumps(event_doc(events)).encode())
        assert r.status_code == 202, r.text
        assert _entry(n, dora, events[0]["eventID"]).signature is None


@pytest.mark.parametrize("path", ["/epcis/capture", "/epcis/events"])
def test_bad_signature_is_refused_and_stores_nothing(node, path: str) -> None:
    n, private = node
    events = _events(1)
    body = json.dumps(event_doc(events) if path == "/epcis/capture" else events[0]).encode()
    other = Ed25519PrivateKey.generate()
    with n.client("dora") as dora:
        jobs = _job_count(dora)
        for header in (_signature(private, body + b" "),  # signs other bytes
                       _signature(other, body),  # someone else's key
                       "ed25519=" + base64.b64encode(b"short").decode(),
                       "ed25519=not base64!",
                       "rsa=" + _signature(private, body).removeprefix("ed25519=")):
            r = _post(dora, path, body, **{"Corridor-Signature": header})
            assert r.status_code == 401, (header, r.text)
            assert r.headers["content-type"].startswith("application/problem+json")
            assert "Corridor-Signature" in r.json()["detail"]
        get = dora.get("/epcis/events/" + quote(events[0]["eventID"], safe=""))
        assert get.status_code == 404
        assert _job_count(dora) == jobs


def test_party_without_key_may_not_sign(node) -> None:
    n, private = node
    events = _events(1)
    body = json.dumps(event_doc(events)).encode()
    with n.client("alice") as alice:
        jobs = _job_count(alice)
        r = _post(alice, "/epcis/capture", body,
                  **{"Corridor-Signature": _signature(private, body)})
        assert r.status_code == 403, r.text
        assert r.headers["content-type"].startswith("application/problem+json")
        assert "Corridor-Signature" in r.json()["detail"]
        assert _job_count(alice) == jobs
        assert alice.get("/epcis/events/" + quote(events[0]["eventID"], safe="")
                         ).status_code == 404


def test_deleting_a_query_deletes_its_subscriptions_at_once(node) -> None:
    n, _ = node
    # Nothing listens on port 9: deliveries fail and wait in the outbox.
    dest = "http://127.0.0.1:9/hook"
    subs: dict[str, str] = {}
    for who in ("alice", "bob"):  # same query name, two owners
        with n.client(who) as c:
            r = c.post("/epcis/queries", json={"name": "short-lived", "query": {}})
            assert r.status_code == 201, r.text
            r = c.post("/epcis/queries/short-lived/subscriptions",
                       json={"dest": dest, "stream": True, "initialRecordTime":
                             "2000-01-01T00:00:00Z"})
            assert r.status_code == 201, r.text
            subs[who] = r.json()["subscriptionID"]
    with n.client("alice") as alice:
        r = _post(alice, "/epcis/capture", json.dumps(event_doc(_events(1))).encode())
        assert r.status_code == 202, r.text

    def outbox(who: str) -> dict[str, int]:
        with n.db.connect() as conn:
            return substore.outbox_counts(conn, subs[who])

    deadline = time.monotonic() + 15
    while outbox("alice")["pending"] == 0 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert outbox("alice")["pending"] > 0
    with n.client("alice") as alice:
        assert alice.delete("/epcis/queries/short-lived").status_code == 204
    # At once, not at the subscription task's next round.
    with n.db.connect() as conn:
        assert substore.get(conn, subs["alice"]) is None
        assert substore.list_for(conn, "short-lived", n.party_ids["alice"]) == []
        assert substore.outbox_counts(conn, subs["alice"]) == {"pending": 0, "delivered": 0,
                                                               "failed": 0}
        # Bob's query of the same name and its subscription are untouched.
        assert substore.get(conn, subs["bob"]) is not None
    with n.client("bob") as bob:
        assert bob.get("/epcis/queries/short-lived").status_code == 200
        assert bob.delete("/epcis/queries/short-lived").status_code == 204
    with n.db.connect() as conn:
        assert substore.get(conn, subs["bob"]) is None
