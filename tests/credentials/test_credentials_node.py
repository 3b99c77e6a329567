"""Certificates on a node with the demo loaded (SQLite and PostgreSQL): what the demo's certifier
issued verifies with the node's certifiers, status lists and log; a revoked credential fails with
"revoked"; evidence whose event is not in the log fails; the node refuses claims its events do
not support, and parties that are not certifiers; the demo's own credentials pass the npm
verifier; `corridor credential verify` works offline and exits 1 on any failed check."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from corridor.cli import main
from corridor.config import Settings
from corridor.credentials.data_integrity import add_proof
from corridor.credentials.errors import CredentialError
from corridor.credentials.keys import IssuerKey
from corridor.credentials.service import CredentialService, IssueRequest, NotCertifier
from corridor.demo import load_demo
from corridor.demo.actors import ACTOR_BY_SLUG
from corridor.node import open_ledger
from corridor.query import Viewer
from corridor.store import credentials as store
from corridor.store.db import Database
from tests.api.e2_harness import module_db_url

SHIPMENTS = 24


class Node:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.db = Database(settings.db_url)
        self.ledger = open_ledger(settings, self.db)
        self.conn = self.db.connect()
        self.service = CredentialService(settings, self.db, self.ledger)

    def close(self) -> None:
        self.conn.close()
        self.ledger.close()

    def credentials(self) -> list[store.StoredCredential]:
        return store.list_credentials(self.conn)

    def viewer(self, slug: str) -> Viewer:
        actor = ACTOR_BY_SLUG[slug]
        row = self.conn.fetchone("SELECT id, role FROM parties WHERE identifier = ?",
                                 (actor.pgln,))
        return Viewer(int(row[0]), (actor.pgln,), row[1])


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def node(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory):
    tmp = tmp_path_factory.mktemp(f"cred-{request.param}")
    settings = Settings(data_dir=tmp, db_url=module_db_url(request.param, tmp, request))
    summary = load_demo(settings, shipments=SHIPMENTS)
    assert summary.credentials_issued > 0 and summary.credentials_revoked == 1
    found = Node(settings)
    yield found
    found.close()


def _document(c: store.StoredCredential) -> dict[str, Any]:
    return json.loads(c.document)


def test_demo_credentials_verify_and_the_revoked_one_says_revoked(node: Node) -> None:
    kinds = set()
    for stored in node.credentials():
        report = node.service.verify(node.conn, _document(stored))
        failed = [c for c in report.checks if not c.ok]
        kinds.add(stored.kind)
        if stored.revoked_at:
            assert [c.name for c in failed] == ["status"]
            assert failed[0].detail.startswith("revoked")
        else:
            assert report.ok, failed
    assert kinds == {"GreenMetalCredential", "OriginCredential"}


def test_changed_figure_fails_the_signature(node: Node) -> None:
    document = _document(node.credentials()[0])
    document["credentialSubject"]["netMass"] = document["credentialSubject"]["netMass"] + 1
    report = node.service.verify(node.conn, document)
    assert not report.ok and not report.checks[0].ok and report.checks[0].name == "signature"


def _certifier_key(node: Node) -> IssuerKey:
    certifier = store.certifiers(node.conn)[0]
    return IssuerKey.from_secret_multibase(certifier.secret_key)


def test_evidence_whose_event_is_missing_from_the_log_fails(node: Node) -> None:
    """Even signed by the trusted issuer, evidence naming an event the log does not hold at
    that index fails: the receipt proves another entry, and this log holds another event."""
    document = _document(next(c for c in node.credentials() if not c.revoked_at))
    del document["proof"]
    missing = "ni:///sha-256;" + "0" * 64 + "?ver=CBV2.0"
    document["evidence"][0]["id"] = missing
    signed = add_proof(document, _certifier_key(node))
    report = node.service.verify(node.conn, signed)
    failed = {c.name: c.detail for c in report.checks if not c.ok}
    assert "signature" not in failed
    assert missing in failed["evidence 0"] and "the log entry is" in failed["evidence 0"]
    assert "another event" in failed["evidence 0 in log"]


def test_evidence_beyond_the_log_fails(node: Node) -> None:
    document = _document(next(c for c in node.credentials() if not c.revoked_at))
    del document["proof"]
    document["evidence"][0]["logIndex"] = 10**9
    report = node.service.verify(node.conn, add_proof(document, _certifier_key(node)))
    failed = {c.name: c.detail for c in report.checks if not c.ok}
    assert "10000000" in failed["evidence 0"] or "1000000000" in failed["evidence 0"]
    assert "no entry 1000000000" in failed["evidence 0 in log"]


def test_untrusted_issuer_fails(node: Node) -> None:
    document = _document(next(c for c in node.credentials() if not c.revoked_at))
    del document["proof"]
    stranger = IssuerKey.generate()
    document["issuer"]["id"] = stranger.did
    report = node.service.verify(node.conn, add_proof(document, stranger))
    failed = {c.name: c.detail for c in report.checks if not c.ok}
    assert "is not among the trusted issuers" in failed["issuer trusted"]
    assert "status" in failed  # the status list is the real issuer's, not the stranger's


def test_only_a_certifier_issues(node: Node) -> None:
    lot = next(c.subject for c in node.credentials() if c.kind == "GreenMetalCredential")
    for slug in ("smelter", "auditor"):
        with pytest.raises(NotCertifier):
            node.service.issue(node.conn, node.viewer(slug),
                               IssueRequest("GreenMetalCredential", lot))


def test_refusal_names_what_is_missing(node: Node) -> None:
    certifier = node.viewer("certifier")
    with pytest.raises(CredentialError, match="no TransformationEvent .*produced it"):
        node.service.issue(node.conn, certifier, IssueRequest(
            "GreenMetalCredential", "urn:epc:class:lgtin:4870101.076011.NO-SUCH-LOT"))
    aluminium = next(c.subject for c in node.credentials()
                     if c.kind == "GreenMetalCredential" and ".076011." in c.subject)
    with pytest.raises(CredentialError) as refused:
        node.service.issue(node.conn, certifier, IssueRequest("OriginCredential", aluminium))
    assert "IT" in str(refused.value) or "Italy" in str(refused.value)


def test_certifier_sees_only_granted_events(node: Node, tmp_path: Path) -> None:
    """A certifier without grants reads no events: the claim is refused, not computed from
    events it may not see."""
    from corridor.store.parties import add_party

    party, _ = add_party(node.conn, "Lone Certifier", "urn:epc:id:pgln:4870199.00000",
                         role="auditor")
    node.service.accredit(node.conn, str(party.id), display_name="Lone",
                          accreditation="test")
    lot = next(c.subject for c in node.credentials() if c.kind == "GreenMetalCredential")
    viewer = Viewer(party.id, (party.identifier,), "auditor")
    with pytest.raises(CredentialError, match="no TransformationEvent .*produced it"):
        node.service.issue(node.conn, viewer, IssueRequest("GreenMetalCredential", lot))


def test_status_list_is_signed_and_large_enough(node: Node) -> None:
    from corridor.credentials import decode_list, verify_proof

    stored = node.credentials()[0]
    status = node.service.status_list_document(node.conn, stored.status_list)
    assert status is not None
    verify_proof(status)
    bits = decode_list(status["credentialSubject"]["encodedList"])
    assert len(bits) * 8 >= 131072


def _cli_verify(node: Node, tmp: Path, document: dict[str, Any], *extra: str) -> tuple[int, str]:
    path = tmp / "credential.json"
    path.write_text(json.dumps(document), encoding="utf-8")
    status_id = int(document["credentialStatus"]["statusListCredential"].rsplit("/", 1)[1])
    status = tmp / "status.json"
    status.write_text(json.dumps(node.service.status_list_document(node.conn, status_id)))
    trust = store.certifiers(node.conn)[0].did
    args = ["credential", "verify", str(path), "--trust", trust, "--vkey",
            node.ledger.signer.verifier.vkey, "--status-list", str(status), *extra]
    result = CliRunner().invoke(main, args)
    return result.exit_code, result.output


def _evidence_events(node: Node, document: dict[str, Any], tmp: Path) -> Path:
    """The evidence events as GET /epcis/events/{id} would give them (stored documents)."""
    ids = [e["id"] for e in document["evidence"]]
    marks = ",".join("?" * len(ids))
    rows = node.conn.fetchall(f"SELECT doc FROM events WHERE hash_id IN ({marks})", ids)
    path = tmp / "events.json"
    path.write_text(json.dumps([json.loads(r[0]) for r in rows]), encoding="utf-8")
    return path


def test_cli_verify_offline(node: Node, tmp_path: Path) -> None:
    good = next(c for c in node.credentials() if not c.revoked_at and c.kind ==
                "OriginCredential")
    document = _document(good)
    events = _evidence_events(node, document, tmp_path)
    code, out = _cli_verify(node, tmp_path, document, "--events", str(events))
    assert code == 0, out
    assert "PASS  signature" in out and "PASS  claim" in out and out.strip().endswith("verified")
    # a changed figure in a supplied event: the claim check fails, naming the event
    changed = json.loads(events.read_text())
    changed[0]["eventTime"] = "2020-01-01T00:00:00.000Z"
    events.write_text(json.dumps(changed))
    code, out = _cli_verify(node, tmp_path, document, "--events", str(events))
    assert code == 1 and "FAIL  claim" in out


def test_cli_verify_revoked_and_missing_key(node: Node, tmp_path: Path) -> None:
    revoked = next(c for c in node.credentials() if c.revoked_at)
    code, out = _cli_verify(node, tmp_path, _document(revoked))
    assert code == 1 and "FAIL  status: revoked" in out
    good = _document(next(c for c in node.credentials() if not c.revoked_at))
    path = tmp_path / "c.json"
    path.write_text(json.dumps(good))
    result = CliRunner().invoke(main, ["credential", "verify", str(path)])
    assert result.exit_code == 1
    assert "no log key given" in result.output and "no trusted issuer given" in result.output


def test_demo_credentials_pass_the_npm_verifier(node: Node, node_js: str) -> None:
    from tests.credentials.test_npm_verifier import run_batch

    items, documents = [], {}
    for stored in node.credentials():
        document = _document(stored)
        items.append((stored.id, {"credential": document}))
        url = document["credentialStatus"]["statusListCredential"]
        documents[url] = node.service.status_list_document(node.conn, stored.status_list)
        tampered = copy.deepcopy(document)
        tampered["validFrom"] = "2020-01-01T00:00:00Z"
        items.append((stored.id + " tampered", {"credential": tampered}))
    results = run_batch(node_js, items, documents)
    suites = set()
    for stored in node.credentials():
        suites.add(_document(stored)["proof"]["cryptosuite"])
        assert results[stored.id]["verified"] is (stored.revoked_at is None), \
            results[stored.id]["error"]
        assert not results[stored.id + " tampered"]["verified"]
    assert suites == {"eddsa-jcs-2022", "eddsa-rdfc-2022"}


def test_cli_issue_list_revoke(node: Node, tmp_path: Path) -> None:
    where = ["--db", node.settings.db_url, "--data-dir", str(node.settings.data_dir)]
    runner = CliRunner()
    listed = runner.invoke(main, ["certifier", "list", *where])
    assert listed.exit_code == 0 and "did:key:z6Mk" in listed.output
    lot = next(c.subject for c in node.credentials() if c.kind == "GreenMetalCredential")
    out = tmp_path / "issued.json"
    issued = runner.invoke(main, ["credential", "issue", "GreenMetalCredential", lot, "--as",
                                  ACTOR_BY_SLUG["certifier"].pgln, "--out", str(out), *where])
    assert issued.exit_code == 0, issued.output
    document = json.loads(out.read_text())
    assert document["credentialSubject"]["id"] == lot
    refused = runner.invoke(main, ["credential", "issue", "GreenMetalCredential", lot, "--as",
                                   ACTOR_BY_SLUG["smelter"].pgln, *where])
    assert refused.exit_code == 1 and "only an accredited certifier" in refused.output
    rows = runner.invoke(main, ["credential", "list", "--subject", lot, *where])
    assert document["id"] in rows.output
    revoked = runner.invoke(main, ["credential", "revoke", document["id"], "--reason", "test",
                                   "--as", ACTOR_BY_SLUG["certifier"].pgln, *where])
    assert revoked.exit_code == 0 and "revoked at" in revoked.output
    code, text = _cli_verify(node, tmp_path, document)
    assert code == 1 and "FAIL  status: revoked" in text
