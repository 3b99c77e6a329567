"""Parametric cover end to end on a real node with two real witnesses (C2SP tlog-witness on
loopback, quorum 2): offer and bind (the terms' digest logged), events not yet witnessed that
trigger nothing, the claims a witnessed checkpoint opens with hand-worked payouts, the insured's
access grant, the claim events both parties read, and the claim bundle verified offline, then
refused once tampered, naming the part."""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from corridor.capture import capture_document
from corridor.cli.local_witnesses import LocalWitnesses
from corridor.config import Settings
from corridor.epcis.documents import read_document
from corridor.insurance.bundle import verify_bundle
from corridor.insurance.evidence import claim_bundle
from corridor.insurance.service import InsuranceError, InsuranceService, witnessed_size
from corridor.ledger.note import generate_signer, parse_vkey
from corridor.ledger.policy import threshold_policy
from corridor.monitoring.service import post_notice
from corridor.node import RunningLog, open_ledger
from corridor.node.signer import load_or_create_signer
from corridor.query import Viewer, matching_events
from corridor.store.db import Connection, Database
from corridor.store.migrations import migrate
from corridor.store.parties import Party, add_party

SSCC = "urn:epc:id:sscc:4870101.0000000042"
OTHER = "urn:epc:id:sscc:4870101.0000000043"
PLANT = "urn:epc:id:sgln:4870101.00001.0"
AKTAU = "urn:epc:id:sgln:4870104.00001.0"
BRESCIA = "urn:epc:id:sgln:8010603.00001.0"
# The journeys below are replayed history: the policy is bound, as the demo binds, before the
# container leaves (cover attaches at binding).
BOUND = datetime(2026, 2, 20, tzinfo=UTC)
CTX = ["https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld"]


@dataclass
class Node:
    conn: Connection
    ledger: RunningLog
    service: InsuranceService
    parties: dict[str, Party]

    def viewer(self, slug: str) -> Viewer:
        p = self.parties[slug]
        return Viewer(p.id, (p.identifier,), p.role)

    def capture(self, slug: str, *events: dict[str, Any]) -> list[str]:
        doc = {"@context": CTX, "type": "EPCISDocument", "schemaVersion": "2.0",
               "creationDate": "2026-03-01T00:00:00Z", "epcisBody": {"eventList": list(events)}}
        party = self.parties[slug]
        result = capture_document(self.conn, self.ledger, read_document(
            json.dumps(doc).encode(), "application/ld+json"), party_id=party.id,
            party_identifier=party.identifier)
        assert result.success, result.errors
        return [e.hash_id for e in result.events]


def _move(when: str, place: str, step: str, disposition: str = "in_transit",
          epc: str = SSCC) -> dict[str, Any]:
    return {"type": "ObjectEvent", "eventTime": when, "eventTimeZoneOffset": "+00:00",
            "epcList": [epc], "action": "OBSERVE", "bizStep": step, "disposition": disposition,
            "readPoint": {"id": place}, "bizLocation": {"id": place},
            "sourceList": [{"type": "owning_party",
                            "source": "urn:epc:id:pgln:4870101.00000"}]}


TERMS = {
    "insurer": "urn:epc:id:pgln:8010605.00000", "insured": "urn:epc:id:pgln:4870101.00000",
    "units": [SSCC, OTHER], "sumInsured": "80000.00", "currency": "USD",
    "settlementCurrency": "USD", "premium": "1200.00",
    "coverFrom": "2026-01-01T00:00:00Z", "coverUntil": "2026-12-31T23:59:59Z",
    "triggers": [
        {"id": "late", "type": "delay", "destination": BRESCIA,
         "promisedArrival": "2026-03-20T00:00:00Z",
         "tiers": [{"atLeastHours": 48, "share": "0.25"}, {"atLeastHours": 120, "share": "0.5"},
                   {"atLeastHours": 240, "share": "1"}]},
        {"id": "ferry-wait", "type": "dwell", "node": AKTAU,
         "tiers": [{"atLeastHours": 96, "share": "0.1"}]},
        {"id": "load-cut", "type": "notice", "node": AKTAU, "kinds": ["load_cut"],
         "tiers": [{"atLeastHours": 24, "share": "0.05"}]},
        {"id": "loss", "type": "disposition", "dispositions": ["damaged", "stolen"],
         "tiers": [{"share": "1"}]},
    ],
}


@pytest.fixture
def node(tmp_path: Path) -> Iterator[Node]:
    settings = Settings(data_dir=tmp_path, db_url=f"sqlite:///{tmp_path / 'node.db'}",
                        log_origin="insurance.test/log")
    witnesses = LocalWitnesses(tmp_path / "witnesses", load_or_create_signer(settings).verifier)
    settings = replace(settings, witnesses=witnesses.start(), witness_quorum=2)
    db = Database(settings.db_url)
    conn = db.connect()
    migrate(db, conn)
    ledger = open_ledger(settings, db)
    parties = {slug: add_party(conn, name, ident, role=role)[0] for slug, name, ident, role in (
        ("insurer", "Adriatica Cargo Insurance", "urn:epc:id:pgln:8010605.00000", "member"),
        ("smelter", "Ertis Aluminium", "urn:epc:id:pgln:4870101.00000", "member"),
        ("aktau", "Aktau Port", "urn:epc:id:pgln:4870104.00000", "member"),
        ("other", "Somebody Else", "urn:epc:id:pgln:4870199.00000", "member"))}
    try:
        yield Node(conn, ledger, InsuranceService(ledger), parties)
    finally:
        ledger.close()
        conn.close()
        witnesses.stop()


def _witness(node: Node) -> int:
    node.ledger.sign_now()
    node.ledger.witness_now()
    return witnessed_size(node.ledger.checkpoint())


def _journey(node: Node) -> None:
    """Departs 2026-03-01 06:00; at Aktau from 03-04 08:00 to 03-09 08:00 (120 h); arrives
    at Brescia 2026-03-25 12:00, 5 days 12 h (132 h) after the promised 03-20 00:00."""
    node.capture("smelter", _move("2026-03-01T06:00:00Z", PLANT, "departing"))
    node.capture("aktau", _move("2026-03-04T08:00:00Z", AKTAU, "arriving"),
                 _move("2026-03-09T08:00:00Z", AKTAU, "departing"))
    node.capture("smelter", _move("2026-03-25T12:00:00Z", BRESCIA, "receiving"))


def test_claims_open_only_on_witnessed_events_with_hand_worked_payouts(node: Node) -> None:
    with pytest.raises(InsuranceError) as refused:
        node.service.offer(node.conn, node.viewer("smelter"), TERMS)
    assert refused.value.status == 403  # only the insurer offers its terms
    policy = node.service.offer(node.conn, node.viewer("insurer"), TERMS)
    with pytest.raises(InsuranceError):
        node.service.bind(node.conn, node.viewer("insurer"), policy.id)  # the insured binds
    bound = node.service.bind(node.conn, node.viewer("smelter"), policy.id, at=BOUND)
    assert bound.bound_at and bound.binding_event and bound.terms_digest.startswith("sha-256:")
    # A load cut at Aktau from 03-05 00:00 to 03-06 12:00 overlaps the stay by 36 h.
    post_notice(node.conn, node.ledger, node.viewer("aktau"), {
        "node": AKTAU, "kind": "load_cut", "value": 30, "validFrom": "2026-03-05T00:00:00Z",
        "validUntil": "2026-03-06T12:00:00Z", "text": "Draft limited by the sea level"})
    _journey(node)

    # Signed but not cosigned: nothing is verified yet, so nothing triggers.
    node.ledger.sign_now()
    assert witnessed_size(node.ledger.checkpoint()) == 0
    assert node.service.evaluate(node.conn).claims == []

    _witness(node)
    done = node.service.evaluate(node.conn)
    claims = {c.trigger_id: c for c in node.service.claims(node.conn, node.viewer("insurer"))}
    assert sorted(claims) == ["ferry-wait", "late", "load-cut"] and len(done.claims) == 3
    # Each unit's part: 80000.00 / 2 = 40000.00 USD.
    # late: 132 h >= 120 h, tier 2: 50 % x 40000.00 = 20000.00
    # ferry-wait: 120 h >= 96 h: 10 % x 40000.00 = 4000.00
    # load-cut: 36 h >= 24 h: 5 % x 40000.00 = 2000.00
    assert {k: (c.payout, c.currency) for k, c in claims.items()} == {
        "late": ("20000.00", "USD"), "ferry-wait": ("4000.00", "USD"),
        "load-cut": ("2000.00", "USD")}
    assert claims["late"].detail["firing"]["measure"] == "132.00"
    assert node.service.evaluate(node.conn).claims == []  # a pass opens each claim once

    # The insured's grant: the insurer reads the unit's events; a stranger reads nothing.
    seen = matching_events(node.conn, node.viewer("insurer"), {"MATCH_anyEPC": [SSCC]})
    assert {e.biz_step for e in seen} >= {"departing", "arriving", "receiving"}
    assert matching_events(node.conn, node.viewer("other"), {"MATCH_anyEPC": [SSCC]}) == []
    # The claim events name both parties, so each reads them (and its subscriptions see them).
    opened = matching_events(node.conn, node.viewer("smelter"), {
        "EQ_bizStep": ["https://ns.corridor.example/epcis/bizstep/claim_opened"]})
    assert len(opened) == 3


def test_bundle_verifies_offline_and_tampering_names_the_part(node: Node) -> None:
    policy = node.service.offer(node.conn, node.viewer("insurer"), TERMS)
    node.service.bind(node.conn, node.viewer("smelter"), policy.id, at=BOUND)
    _journey(node)
    _witness(node)
    node.service.evaluate(node.conn)
    late = next(c for c in node.service.claims(node.conn, node.viewer("smelter"))
                if c.trigger_id == "late")
    with pytest.raises(InsuranceError) as hidden:
        claim_bundle(node.conn, node.service, node.viewer("other"), late.id)
    assert hidden.value.status == 404
    _witness(node)  # the claim event itself gets covered too
    bundle = claim_bundle(node.conn, node.service, node.viewer("insurer"), late.id)
    log_key = node.ledger.signer.verifier
    witnesses = [(parse_vkey(w.vkey), None) for w in node.ledger.settings.witnesses]
    trust = threshold_policy(log_key, witnesses, 2)
    report = verify_bundle(json.loads(json.dumps(bundle)), log_key, trust)
    assert report.ok, report.as_json()
    assert [c.name for c in report.checks] == ["log", "terms", "trigger", "payout", "fx",
                                            "claim event"]

    def refused(change: Any) -> str:
        copy_ = copy.deepcopy(bundle)
        change(copy_)
        result = verify_bundle(copy_, log_key, trust)
        assert not result.ok
        return result.checks[-1].detail

    def later_arrival(b: dict[str, Any]) -> None:
        b["events"][0]["event"]["eventTime"] = "2026-03-30T12:00:00.000Z"

    def richer_terms(b: dict[str, Any]) -> None:
        b["policy"]["terms"]["sumInsured"] = "800000.00"

    def bigger_payout(b: dict[str, Any]) -> None:
        b["claim"]["payout"] = "40000.00"

    assert "/events/0/event" in refused(later_arrival)
    assert "/policy/terms" in refused(richer_terms)
    assert "/claim/payout" in refused(bigger_payout)
    # A verifier that trusts another witness in place of one of the two refuses it: the
    # checkpoint lacks the quorum of cosignatures that verifier asks for.
    stranger = generate_signer("stranger.test").as_cosigner().verifier
    strict = threshold_policy(log_key, [witnesses[0], (stranger, None)], 2)
    result = verify_bundle(bundle, log_key, strict)
    assert not result.ok and "witness quorum" in result.checks[-1].detail
    assert Decimal(bundle["claim"]["payout"]) == Decimal("20000.00")
