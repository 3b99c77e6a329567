"""A claim's evidence bundle, built on the node: one JSON file with everything an insurer (or
a court, or a reinsurer) needs to re-check the claim offline (docs/insurance.md, "The claim
bundle"; corridor.insurance.bundle checks it).

Every logged item (the binding event, the trigger events, the notices, the claim event when
a checkpoint covers it) is its stored document with a C2SP tlog-proof receipt against ONE
witness-quorum checkpoint, the newest at the time of building; the FX valuation is the one
the claim was opened with, its central bank and rule named.
"""

from __future__ import annotations

import json
from typing import Any

from corridor.insurance.service import InsuranceError, InsuranceService, claim_json
from corridor.ledger.checkpoint import parse_checkpoint
from corridor.ledger.note import parse_note
from corridor.ledger.proof import Receipt
from corridor.query import Viewer
from corridor.store import insurance as store
from corridor.store.db import Connection

BUNDLE_TYPE = "CorridorClaimBundle"
BUNDLE_VERSION = 1


def _logged(conn: Connection, ledger: Any, note: bytes, size: int, hash_id: str,
            log_index: int) -> dict[str, Any]:
    row = conn.fetchone("SELECT doc, hash_id FROM events WHERE log_index = ?", (log_index,))
    if row is None or row[1] != hash_id:
        raise InsuranceError(f"log entry {log_index} is not the event {hash_id} on this node",
                             status=500)
    proof = ledger.inclusion_proof(log_index, size)
    receipt = Receipt(log_index, proof, note, ledger.entry(log_index)).encode()
    return {"hashId": hash_id, "logIndex": log_index, "event": json.loads(row[0]),
            "receipt": receipt.decode()}


def claim_bundle(conn: Connection, service: InsuranceService, viewer: Viewer,
                 claim_id: str) -> dict[str, Any]:
    """The bundle of a claim the viewer may read; InsuranceError 409 while no witnessed
    checkpoint covers every item it rests on."""
    claim = service.readable_claim(conn, viewer, claim_id)
    policy = store.get_policy(conn, claim.policy_id)
    assert policy is not None and policy.binding_event is not None
    ledger = service.ledger
    note = ledger.checkpoint()
    size = -1 if note is None else parse_checkpoint(parse_note(note).text).size
    firing = claim.detail["firing"]
    indices: dict[str, int] = claim.detail["logIndices"]
    needed = [policy.binding_log_index or 0, *indices.values()]
    if note is None or max(needed) >= size:
        raise InsuranceError("the claim's evidence is not all covered by a witnessed "
                             f"checkpoint yet: {ledger.waiting_for(max(needed))}", status=409)

    def logged(hash_id: str, index: int) -> dict[str, Any]:
        return _logged(conn, ledger, note, size, hash_id, index)

    claim_view = claim_json(claim)
    claim_view["alreadyPaid"] = claim.detail.get("alreadyPaid", "0")
    if claim.claim_event is not None and claim.claim_log_index is not None \
            and claim.claim_log_index < size:
        claim_view["claimEventReceipt"] = logged(claim.claim_event, claim.claim_log_index)
    return {
        "type": BUNDLE_TYPE, "version": BUNDLE_VERSION,
        "log": {"origin": ledger.origin, "checkpoint": note.decode()},
        "policy": {"id": policy.id, "terms": policy.terms_json,
                   "termsDigest": policy.terms_digest,
                   "binding": logged(policy.binding_event, policy.binding_log_index or 0)},
        "claim": claim_view,
        "events": [logged(h, indices[h]) for h in firing["events"]],
        "notices": [logged(h, indices[h]) for h in firing["notices"]],
        "trace": [firing["rule"], claim.detail.get("note", "")],
    }
