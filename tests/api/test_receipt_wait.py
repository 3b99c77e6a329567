"""A receipt that waits for the witness quorum says so: the log, the REST binding and
`corridor log export` name how many witnesses it waits for and what the missing ones answered,
instead of an uncosigned receipt or a bare "not ready"."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

import pytest
from click.testing import CliRunner

from corridor.cli import main
from corridor.config import WitnessConfig
from corridor.ledger.note import generate_signer
from tests.api.e1_server import Node, free_port, object_event, start_node


@pytest.fixture
def node(tmp_path: Path) -> Iterator[Node]:
    """A node whose two witnesses (quorum 2) listen nowhere: nothing gets cosigned."""
    down = [WitnessConfig(f"http://127.0.0.1:{free_port()}",
                          generate_signer(f"w{i}.test").as_cosigner().verifier.vkey)
            for i in (1, 2)]
    n, srv = start_node(f"sqlite:///{tmp_path / 'corridor.sqlite3'}", tmp_path,
                        witnesses=down, witness_quorum=2)
    try:
        yield n
    finally:
        srv.stop()


def test_receipt_waiting_for_witnesses_says_so(node: Node, tmp_path: Path) -> None:
    assert "no signed checkpoint covers entry 0" in node.ledger.waiting_for(0)
    with node.client("alice") as alice:
        r = alice.post("/epcis/events", json=object_event("urn:epc:id:sgtin:0614141.812345.A1"))
        assert r.status_code == 201, r.text
        event_id, index = r.json()["eventID"], r.json()["logIndex"]
        node.ledger.sign_now()
        assert node.ledger.witness_now() == 0
        r = alice.get("/epcis/events/" + quote(event_id, safe="") + "/receipt")
    assert r.status_code == 404 and r.headers["Retry-After"] == "1"
    detail = r.json()["detail"]
    assert f"log index {index}" in detail
    assert "waiting for 2 of 2 witnesses" in detail and "0 cosigned" in detail
    assert "w1.test" in detail and "w2.test" in detail  # what the missing ones answered
    why = node.ledger.waiting_for(index)
    assert why.startswith("waiting for 2 of 2 witnesses to cosign the checkpoint of size")

    # The node's witnesses, as `log export` reads them (from the environment).
    env = {"CORRIDOR_WITNESSES": " ".join(f"{w.url}={w.vkey}" for w in node.settings.witnesses),
           "CORRIDOR_WITNESS_QUORUM": "2"}
    result = CliRunner().invoke(main, ["log", "export", str(tmp_path / "mirror"),
                                       "--data-dir", str(tmp_path), "--db", node.settings.db_url],
                                env=env)
    assert result.exit_code != 0
    assert "waiting for 2 of 2 witnesses" in result.output
    # ... or from the flags `serve` takes, with no environment at all.
    flags = [a for w in node.settings.witnesses for a in ("--witness", f"{w.url}={w.vkey}")]
    result = CliRunner().invoke(main, ["log", "export", str(tmp_path / "mirror2"), *flags,
                                       "--quorum", "2", "--data-dir", str(tmp_path),
                                       "--db", node.settings.db_url],
                                env={"CORRIDOR_WITNESSES": None,
                                     "CORRIDOR_WITNESS_QUORUM": None})
    assert result.exit_code != 0
    assert "waiting for 2 of 2 witnesses" in result.output
    assert not (tmp_path / "mirror2" / "checkpoint").exists()


def test_checkpoint_and_dashboard_receipt_waiting_say_why(node: Node) -> None:
    with node.client("alice") as alice:
        r = alice.post("/epcis/events", json=object_event("urn:epc:id:sgtin:0614141.812345.A2"))
        assert r.status_code == 201, r.text
        index = r.json()["logIndex"]
        node.ledger.sign_now()
        assert node.ledger.witness_now() == 0
        checkpoint = alice.get("/log/checkpoint")
        assert checkpoint.status_code == 404 and checkpoint.headers["Retry-After"] == "1"
        assert "waiting for 2 of 2 witnesses" in checkpoint.text
        download = alice.get(f"/event/{index}/receipt")
    assert download.status_code == 404 and download.headers["Retry-After"] == "1"
    assert f"entry {index}" in download.text and "waiting for 2 of 2 witnesses" in download.text
