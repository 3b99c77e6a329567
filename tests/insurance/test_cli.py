"""`corridor policy`, `corridor claim` and `corridor insurance` on a demo node's data
directory: bind terms in one step, show them, list claims, refuse a bundle until a witnessed
checkpoint covers its evidence, and verify a bundle offline: exit 0 when the payout is
reproduced, 1 (naming the part) once one byte of an event is changed."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from corridor.cli import main
from corridor.config import Settings
from corridor.demo import load_demo
from corridor.demo.actors import ACTOR_BY_SLUG
from corridor.insurance.service import InsuranceService
from corridor.node import open_ledger
from corridor.query import Viewer
from corridor.store.db import Database

INSURER = ACTOR_BY_SLUG["insurer"].pgln
INSURED = ACTOR_BY_SLUG["buyer"].pgln
CONTAINER = "urn:epc:id:sscc:4870101.1000000004"
# The demo's first container of lot AL26-0002 arrives at the port 4870104.00010.0 on
# 2026-02-06T21:23:49+05:00 and departs 2026-02-08T13:42:27+05:00: a stay of 40.31 hours.
PORT = "urn:epc:id:sgln:4870104.00010.0"


def _terms(**changes: Any) -> dict[str, Any]:
    return {"insurer": INSURER, "insured": INSURED, "units": [CONTAINER],
            "sumInsured": "120000.00", "currency": "USD", "premium": "1800.00",
            "coverFrom": "2026-01-01T00:00:00Z", "coverUntil": "2026-12-31T00:00:00Z",
            "triggers": [{"id": "port", "type": "dwell", "node": PORT,
                          "tiers": [{"atLeastHours": 24, "share": "0.1"},
                                    {"atLeastHours": 36, "share": "0.25"},
                                    {"atLeastHours": 48, "share": "0.5"}]}],
            **changes}


@pytest.fixture(scope="module")
def node(tmp_path_factory: pytest.TempPathFactory) -> Path:
    tmp = tmp_path_factory.mktemp("insurance-cli")
    load_demo(_settings(tmp), shipments=6)
    return tmp


def _settings(node: Path) -> Settings:
    return Settings(data_dir=node, db_url=f"sqlite:///{node / 'corridor.sqlite3'}")


def _run(node: Path | None, *args: str):
    where = ["--data-dir", str(node)] if node is not None else []
    return CliRunner().invoke(main, [*args, *where], catch_exceptions=False)


def _write(path: Path, value: Any) -> str:
    path.write_text(json.dumps(value), encoding="utf-8")
    return str(path)


def _bind(node: Path, tmp_path: Path, **changes: Any) -> str:
    done = _run(node, "policy", "bind", _write(tmp_path / "terms.json", _terms(**changes)))
    assert done.exit_code == 0, done.output
    first = done.output.splitlines()[0]
    assert first.startswith("policy urn:uuid:") and " bound at " in first
    assert "binding event ni:///sha-256;" in done.output and "terms sha-256:" in done.output
    return first.split()[1]


def _sign(node: Path) -> str:
    """Sign a checkpoint over every entry (this node needs no witness cosignature); the
    log's verifier key."""
    settings = _settings(node)
    ledger = open_ledger(settings, Database(settings.db_url))
    try:
        ledger.sign_now()
        return ledger.signer.verifier.vkey
    finally:
        ledger.close()


def test_bind_then_show(node: Path, tmp_path: Path) -> None:
    policy_id = _bind(node, tmp_path, premium="900.00")
    shown = _run(node, "policy", "show", policy_id)
    assert shown.exit_code == 0, shown.output
    assert f"policy {policy_id}: bound at " in shown.output
    assert "insurer Adriatica Cargo Insurance S.p.A., insured Metalli Padani S.p.A." in \
        shown.output
    assert '"premium": "900.00"' in shown.output and "claims: none" in shown.output
    as_json = json.loads(_run(node, "policy", "show", policy_id, "--json").output)
    assert as_json["status"] == "bound" and as_json["claims"] == []
    assert as_json["terms"]["triggers"][0]["node"] == PORT


def test_refusals_say_why(node: Path, tmp_path: Path) -> None:
    bad = _run(node, "policy", "bind", _write(tmp_path / "bad.json", _terms(currency="GBP")))
    assert bad.exit_code == 1 and "/currency: must be one of" in bad.output
    garbled = tmp_path / "garbled.json"
    garbled.write_text("{", encoding="utf-8")
    done = _run(node, "policy", "bind", str(garbled))
    assert done.exit_code == 1 and "terms is not readable JSON" in done.output
    missing = _run(node, "policy", "show", "urn:uuid:nope")
    assert missing.exit_code == 1 and "no policy 'urn:uuid:nope'" in missing.output
    assert _run(node, "claim", "bundle", "urn:uuid:nope", "--out",
                str(tmp_path / "b.json")).exit_code == 1


def test_verify_refuses_unreadable_files(tmp_path: Path) -> None:
    garbled = tmp_path / "bundle.json"
    garbled.write_bytes(b"\xff\x00")
    done = _run(None, "claim", "verify", str(garbled), "--vkey", "x+1+AAAA")
    assert done.exit_code == 1 and "not readable JSON" in done.output
    absent = _run(None, "claim", "verify", str(tmp_path / "none.json"), "--vkey", "x")
    assert absent.exit_code == 2 and "does not exist" in absent.output
    _write(garbled, {"type": "CorridorClaimBundle"})
    bad_key = _run(None, "claim", "verify", str(garbled), "--vkey", "not a key")
    assert bad_key.exit_code == 1 and "Error:" in bad_key.output


def _bind_before_departure(node: Path) -> str:
    """Bound (as the demo does) before the container left: cover attaches at binding, so a
    policy bound now would pay nothing for the demo's past journeys."""
    settings = _settings(node)
    db = Database(settings.db_url)
    ledger = open_ledger(settings, db)
    conn = db.connect()
    try:
        service = InsuranceService(ledger)
        admin = Viewer(0, (), "admin")
        policy = service.offer(conn, admin, _terms())
        return service.bind(conn, admin, policy.id, at=datetime(2026, 1, 10, tzinfo=UTC)).id
    finally:
        conn.close()
        ledger.close()


def test_a_claim_fires_bundles_and_verifies_offline(node: Path, tmp_path: Path) -> None:
    policy_id = _bind_before_departure(node)
    vkey = _sign(node)
    done = _run(node, "insurance", "evaluate")
    assert done.exit_code == 0, done.output
    assert "claims opened" in done.output
    listed = _run(node, "claim", "list", "--policy", policy_id)
    assert listed.exit_code == 0, listed.output
    rows = [line.split("\t") for line in listed.output.splitlines()]
    # 40.31 hours at the port reaches the 36-hour tier: 25 % of 120000.00 = 30000.00 USD
    assert [(r[1], r[2], r[3], r[5]) for r in rows] == [
        (policy_id, "port", CONTAINER, "30000.00 USD")]
    claim_id = rows[0][0]
    bundle_path = tmp_path / "bundle.json"
    done = _run(node, "claim", "bundle", claim_id, "--out", str(bundle_path))
    assert done.exit_code == 0, done.output
    assert "payout 30000.00 USD" in done.output
    verified = _run(None, "claim", "verify", str(bundle_path), "--vkey", vkey, "--quorum", "0")
    assert verified.exit_code == 0, verified.output
    assert [line.split(":")[0] for line in verified.output.splitlines()[:-1]] == [
        "PASS  log", "PASS  terms", "PASS  trigger", "PASS  payout", "PASS  fx",
        "PASS  claim event"]
    report = json.loads(_run(None, "claim", "verify", str(bundle_path), "--vkey", vkey,
                             "--json").output)
    assert report["verified"] and report["claim"] == claim_id
    bundle = json.loads(bundle_path.read_text(encoding="utf-8"))
    last = len(bundle["events"]) - 1
    time = bundle["events"][last]["event"]["eventTime"]
    # one byte: the last digit of the seconds (YYYY-MM-DDTHH:MM:SS)
    bundle["events"][last]["event"]["eventTime"] = time[:18] + str((int(time[18]) + 1) % 10) \
        + time[19:]
    tampered = _write(tmp_path / "tampered.json", bundle)
    refused = _run(None, "claim", "verify", tampered, "--vkey", vkey)
    assert refused.exit_code == 1, refused.output
    assert f"FAIL  log: /events/{last}/event:" in refused.output
    assert refused.output.splitlines()[-1] == "NOT verified"
