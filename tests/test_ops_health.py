"""GET /healthz and GET /readyz on a real node (uvicorn on loopback), over SQLite and
PostgreSQL: ready once the log's checkpoint covers the tree; 503 naming the failing check
when the database cannot be reached or the signed checkpoint falls behind."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from corridor.store.db import Database
from tests.api.e1_server import Node, free_port, object_event, start_node


@pytest.fixture
def node(db_url: str, tmp_path: Path) -> Iterator[Node]:
    n, srv = start_node(db_url, tmp_path)
    try:
        yield n
    finally:
        srv.stop()


def test_healthz_answers_without_the_database(node: Node) -> None:
    node.app.state.ctx.db = Database(f"postgresql://nobody@127.0.0.1:{free_port()}/none")
    with node.client() as client:
        r = client.get("/healthz")
    assert r.status_code == 200 and r.json() == {"status": "ok"}


def test_readyz_is_ready_once_the_checkpoint_covers_the_tree(node: Node) -> None:
    with node.client("alice") as alice:
        r = alice.post("/epcis/events", json=object_event("urn:epc:id:sgtin:0614141.812345.R1"))
        assert r.status_code == 201, r.text
        node.ledger.sign_now()
        r = alice.get("/readyz")
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["status"] == "ready" and body["failing"] == []
    assert set(body["checks"]) == {"database", "sequencer", "checkpoint"}
    cp = body["checks"]["checkpoint"]
    assert cp["ok"] and cp["tree_size"] == cp["checkpoint_size"] == 1
    assert body["checks"]["sequencer"]["ok"]


def test_readyz_503_names_an_unreachable_database(node: Node) -> None:
    node.app.state.ctx.db = Database(f"postgresql://nobody@127.0.0.1:{free_port()}/none")
    with node.client() as client:
        r = client.get("/readyz")
    assert r.status_code == 503
    body = r.json()
    assert body["status"] == "not ready"
    assert "database" in body["failing"] and "checkpoint" in body["failing"]
    assert "sequencer" not in body["failing"]
    assert body["checks"]["database"]["error"]


def test_readyz_503_when_the_checkpoint_falls_behind(node: Node) -> None:
    node.ledger.stop()  # the signer stops: the tree grows, nothing signs it
    # (stopping also gives up the sequencer lease; this test is about the checkpoint alone)
    node.ledger.sequencer_status = lambda: {"is_sequencer": True, "sequencer": "self",
                                            "since": None}
    node.ledger.sign_now()  # the empty tree's checkpoint
    node.app.state.readiness.max_age = 0.0
    with node.client("alice") as alice:
        r = alice.post("/epcis/events", json=object_event("urn:epc:id:sgtin:0614141.812345.R2"))
        assert r.status_code == 201, r.text
        r = alice.get("/readyz")
        assert r.status_code == 503, r.text
        assert r.json()["failing"] == ["checkpoint"]
        assert "limit is 0 s" in r.json()["checks"]["checkpoint"]["error"]
        # Within the allowed age the lag is fine; a checkpoint covering the tree is always fine.
        node.app.state.readiness.max_age = 3600.0
        assert alice.get("/readyz").status_code == 200
        node.app.state.readiness.max_age = 0.0
        node.ledger.sign_now()
        assert alice.get("/readyz").status_code == 200


def test_readyz_uses_the_logs_sequencer_status_where_there_is_one(node: Node) -> None:
    ledger = node.ledger
    ledger.sequencer_status = lambda: {"is_sequencer": False, "sequencer": None,
                                       "since": None}
    try:
        with node.client() as client:
            r = client.get("/readyz")
        assert r.status_code == 503 and r.json()["failing"] == ["sequencer"]
        ledger.sequencer_status = lambda: {"is_sequencer": False, "sequencer": "node-b",
                                           "since": "2026-01-01T00:00:00Z"}
        with node.client() as client:
            r = client.get("/readyz")
        assert r.status_code == 200 and r.json()["checks"]["sequencer"]["sequencer"] == "node-b"
    finally:
        del ledger.sequencer_status
