"""The insurance service of a node: offering and binding policies, and evaluating their
triggers on the events a witnessed checkpoint covers (docs/insurance.md).

- *offer*: the insurer posts terms (corridor.insurance.policy); they are stored verbatim.
- *bind*: the insured accepts. The node captures, as the insured, a binding event that names
  the units, both parties and the SHA-256 of the canonical terms, so the log holds the terms'
  fingerprint from that moment on; and the insured's access grant starts: every event of the
  units the insured may read is shared with the insurer.
- *evaluate*: for the log entries a witness-quorum checkpoint covers since the last pass, the
  policies whose units they name are evaluated again on the verified events (the insured's
  view), new events shared with the insurer, and each new firing opens a claim: its payout,
  converted at the central bank's rate of the trigger date where the policy settles in
  another currency, and a claim event (captured as the insurer, naming both parties, so
  their subscriptions deliver it) in the same transaction.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from corridor.capture import capture_document
from corridor.epcis.documents import read_document
from corridor.epcis.identifiers import canonical
from corridor.fx.valuation import value
from corridor.insurance.claims import payout
from corridor.insurance.evaluation import Planner
from corridor.insurance.model import Firing
from corridor.insurance.policy import Terms, canonical_terms, parse_terms, terms_digest
from corridor.ledger.checkpoint import parse_checkpoint
from corridor.ledger.note import parse_note
from corridor.query import Viewer
from corridor.store import insurance as store
from corridor.store.db import Connection
from corridor.store.parties import Party, PartyError, find_party

COR_NS = "https://ns.corridor.example/epcis/"
EPCIS_CONTEXT = "https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld"
BIND_STEP = COR_NS + "bizstep/insuring"
CLAIM_STEP = COR_NS + "bizstep/claim_opened"
POLICY_BT = COR_NS + "btt/insurance_policy"
CLAIM_BT = COR_NS + "btt/insurance_claim"
INSURER_TYPE = COR_NS + "sdt/insurer"
INSURED_TYPE = COR_NS + "sdt/insured"


class InsuranceError(ValueError):
    """A request the service refuses; `status` is the HTTP status it maps to."""

    def __init__(self, message: str, *, status: int = 422, pointer: str | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.pointer = pointer


@dataclass
class Evaluated:
    """What one evaluation pass did."""

    from_size: int
    to_size: int
    policies: int = 0
    shared: int = 0
    claims: list[str] = field(default_factory=list)


def now_utc() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def _party(conn: Connection, uri: str, pointer: str) -> Party:
    try:
        return find_party(conn, uri)
    except PartyError:
        row = conn.fetchone("SELECT party_id FROM party_identifiers WHERE identifier = ? "
                            "OR canonical = ?", (uri, canonical(uri)))
        if row is None:
            raise InsuranceError(f"{pointer}: no party has the identifier {uri!r}",
                                 pointer=pointer) from None
        return find_party(conn, int(row[0]))


def witnessed_size(checkpoint: bytes | None) -> int:
    """The size of the newest checkpoint that meets the witness quorum (0 without one)."""
    if checkpoint is None:
        return 0
    return parse_checkpoint(parse_note(checkpoint).text).size


def _document(event: dict[str, Any]) -> bytes:
    doc = {"@context": [EPCIS_CONTEXT, {"cor": COR_NS}], "type": "EPCISDocument",
           "schemaVersion": "2.0", "creationDate": event["eventTime"],
           "epcisBody": {"eventList": [event]}}
    return json.dumps(doc).encode()


def is_class(unit: str) -> bool:
    """Whether a unit (URN or Digital Link) is a lot (an LGTIN class), not an SSCC."""
    return ":class:" in unit or "/10/" in unit


def _units_fields(units: Sequence[str]) -> dict[str, Any]:
    epcs = [u for u in units if not is_class(u)]
    lots = [u for u in units if u not in epcs]
    out: dict[str, Any] = {"epcList": epcs}
    if lots:
        out["quantityList"] = [{"epcClass": lot} for lot in lots]
    return out


class InsuranceService:
    def __init__(self, ledger: Any) -> None:
        self.ledger = ledger
        self.planner = Planner()

    # -- policies -----------------------------------------------------------------------
    def offer(self, conn: Connection, viewer: Viewer, raw: object) -> store.StoredPolicy:
        """The insurer's terms, stored as offered (the insurer itself, or an admin)."""
        try:
            terms = parse_terms(raw)
        except ValueError as exc:
            raise InsuranceError(str(exc), status=400,
                                 pointer=getattr(exc, "pointer", None)) from exc
        insurer = _party(conn, terms.insurer, "/insurer")
        insured = _party(conn, terms.insured, "/insured")
        if not viewer.is_admin and viewer.party_id != insurer.id:
            raise InsuranceError("only the insurer named in the terms (or an admin) may offer "
                                 "them", status=403, pointer="/insurer")
        policy = store.StoredPolicy(
            f"urn:uuid:{uuid.uuid4()}", insurer.id, insured.id,
            canonical_terms(terms).decode(), terms_digest(terms), now_utc(), None, None, None)
        store.insert_policy(conn, policy, [canonical(u) for u in terms.units])
        return policy

    def bind(self, conn: Connection, viewer: Viewer, policy_id: str, *,
             at: datetime | None = None) -> store.StoredPolicy:
        """The insured accepts: the binding event carries the terms digest into the log, and
        cover attaches at its time. `at` dates it in the past: only for the demo, which
        replays a history (the HTTP API and the command always bind now)."""
        policy = self.readable_policy(conn, viewer, policy_id)
        if not viewer.is_admin and viewer.party_id != policy.insured_party:
            raise InsuranceError("only the insured (or an admin) binds a policy", status=403)
        if policy.bound_at is not None:
            return policy
        terms = parse_terms(policy.terms_json)
        insured = find_party(conn, policy.insured_party)
        bound_at = now_utc() if at is None else iso(at)
        # A TransactionEvent: it associates the units with a business transaction (the
        # policy) and says nothing of where they are.
        event = {
            "type": "TransactionEvent", "action": "ADD", "eventTime": bound_at,
            "eventTimeZoneOffset": "+00:00", **_units_fields(terms.units),
            "bizStep": BIND_STEP,
            "bizTransactionList": [{"type": POLICY_BT, "bizTransaction": policy.id}],
            "sourceList": [{"type": INSURER_TYPE, "source": terms.insurer}],
            "destinationList": [{"type": INSURED_TYPE, "destination": terms.insured}],
            "cor:policyTerms": policy.terms_digest,
        }
        with conn.transaction():
            hash_id, log_index = self._capture(conn, insured, event)
            store.mark_bound(conn, policy.id, bound_at, hash_id, log_index)
            for lot in (canonical(u) for u in terms.units if is_class(u)):
                store.add_units(conn, policy.id,
                                [(c, lot) for c in store.containers_of_lot(conn, lot)])
        bound = store.get_policy(conn, policy.id)
        assert bound is not None
        return bound

    def readable_policy(self, conn: Connection, viewer: Viewer, policy_id: str
                        ) -> store.StoredPolicy:
        """The policy, if the viewer is its insurer or insured (or an admin): else 404, so
        that a policy's existence does not leak."""
        policy = store.get_policy(conn, policy_id)
        if policy is None or not (viewer.is_admin or viewer.party_id in (
                policy.insurer_party, policy.insured_party)):
            raise InsuranceError(f"no policy {policy_id!r} you may read", status=404)
        return policy

    def policies(self, conn: Connection, viewer: Viewer) -> list[store.StoredPolicy]:
        """The policies the viewer is insurer or insured of (every one for an admin)."""
        if viewer.is_public:
            return []
        return store.policies_of(conn, None if viewer.is_admin else viewer.party_id)

    def claims(self, conn: Connection, viewer: Viewer, policy_id: str | None = None
               ) -> list[store.StoredClaim]:
        """Claims of one policy, or of every policy the viewer may read."""
        if policy_id is not None:
            ids = [self.readable_policy(conn, viewer, policy_id).id]
        else:
            ids = [p.id for p in self.policies(conn, viewer)]
        return store.claims_of_policies(conn, ids)

    def readable_claim(self, conn: Connection, viewer: Viewer, claim_id: str
                       ) -> store.StoredClaim:
        claim = store.get_claim(conn, claim_id)
        if claim is None:
            raise InsuranceError(f"no claim {claim_id!r} you may read", status=404)
        try:
            self.readable_policy(conn, viewer, claim.policy_id)
        except InsuranceError:
            raise InsuranceError(f"no claim {claim_id!r} you may read", status=404) from None
        return claim

    def _capture(self, conn: Connection, party: Party, event: dict[str, Any]
                 ) -> tuple[str, int]:
        parsed = read_document(_document(event), "application/ld+json")
        result = capture_document(conn, self.ledger, parsed, party_id=party.id,
                                  party_identifier=party.identifier)
        if not result.success or not result.events or result.events[0].log_index is None:
            raise InsuranceError(f"the node could not log the event: {result.errors[:2]}",
                                 status=500)
        return result.events[0].hash_id, int(result.events[0].log_index)

    # -- evaluation ---------------------------------------------------------------------
    def evaluate(self, conn: Connection) -> Evaluated:
        """One pass over the entries witnessed since the last (see the module docstring).
        Everything is read first, outside a transaction (a SQLite writer would hold up the
        node's captures meanwhile); the shares, the claims and the new cursor are then
        written in one short transaction."""
        size = witnessed_size(self.ledger.checkpoint())
        start = store.evaluated_size(conn)
        done = Evaluated(start, max(size, start))
        if size <= start:
            return done
        with conn.transaction():
            keys, packed = store.keys_logged_in(conn, start, size)
            for policy_id, lot, container in store.lots_packed(conn, packed):
                store.add_units(conn, policy_id, [(container, lot)])
        touched = store.bound_policies_touching(conn, sorted(keys))
        plan = self.planner.plan(conn, touched, start, size)
        with conn.transaction():
            for party_id, pks in plan.shares.items():
                done.shared += store.share_with(conn, sorted(pks), party_id)
            for policy, terms, firing, claims, indices in plan.firings:
                claim = self._open_claim(conn, policy, terms, firing, claims, indices)
                claims.append(claim)
                done.claims.append(claim.id)
            store.set_evaluated_size(conn, size)
        done.policies = len(touched)
        return done

    def _open_claim(self, conn: Connection, policy: store.StoredPolicy, terms: Terms,
                    firing: Firing, claims: Sequence[store.StoredClaim],
                    indices: dict[str, int]) -> store.StoredClaim:
        paid = sum((Decimal(c.payout) for c in claims if c.unit == firing.unit), Decimal(0))
        pay = payout(terms, firing, paid)
        settlement = None
        if terms.settlement_currency != terms.currency:
            settlement = value(conn, pay.amount, terms.currency, terms.settlement_currency,
                               firing.at.date()).as_dict()
        claim_id = f"urn:uuid:{uuid.uuid4()}"
        detail = {"firing": firing_json(firing), "note": pay.note,
                  "uncapped": str(pay.uncapped), "alreadyPaid": str(paid),
                  "settlement": settlement,
                  "logIndices": {h: indices[h] for h in (*firing.events, *firing.notices)}}
        insurer = find_party(conn, policy.insurer_party)
        event = {
            "type": "TransactionEvent", "action": "OBSERVE", "eventTime": now_utc(),
            "eventTimeZoneOffset": "+00:00", **_units_fields([firing.unit]),
            "bizStep": CLAIM_STEP,
            "bizTransactionList": [{"type": POLICY_BT, "bizTransaction": policy.id},
                                   {"type": CLAIM_BT, "bizTransaction": claim_id}],
            "sourceList": [{"type": INSURER_TYPE, "source": terms.insurer}],
            "destinationList": [{"type": INSURED_TYPE, "destination": terms.insured}],
            "cor:trigger": firing.trigger_id, "cor:payout": str(pay.amount),
            "cor:currency": terms.currency, "cor:triggerEvents": list(firing.events),
        }
        hash_id, log_index = self._capture(conn, insurer, event)
        claim = store.StoredClaim(claim_id, policy.id, firing.trigger_id, firing.unit,
                                  iso(firing.at), str(pay.amount), terms.currency, detail,
                                  event["eventTime"], hash_id, log_index)
        store.insert_claim(conn, claim)
        return claim


def iso(when: datetime) -> str:
    return when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def firing_json(firing: Firing) -> dict[str, Any]:
    return {"trigger": firing.trigger_id, "unit": firing.unit, "tier": firing.tier,
            "share": str(firing.share), "measure": str(firing.measure), "at": iso(firing.at),
            "events": list(firing.events), "notices": list(firing.notices),
            "rule": firing.rule}



def policy_json(policy: store.StoredPolicy) -> dict[str, Any]:
    """A policy as the API shows it: its terms, digest and binding."""
    return {"id": policy.id, "status": "bound" if policy.bound_at else "offered",
            "terms": policy.terms_json, "termsDigest": policy.terms_digest,
            "offeredAt": policy.offered_at, "boundAt": policy.bound_at,
            "bindingEvent": policy.binding_event, "bindingLogIndex": policy.binding_log_index}


def claim_json(claim: store.StoredClaim) -> dict[str, Any]:
    """A claim as the API shows it: the payout, the firing it rests on, its claim event."""
    firing = claim.detail.get("firing", {})
    return {"id": claim.id, "policy": claim.policy_id, "trigger": claim.trigger_id,
            "unit": claim.unit, "triggeredAt": claim.triggered_at, "payout": claim.payout,
            "currency": claim.currency, "tier": firing.get("tier"),
            "share": firing.get("share"), "measure": firing.get("measure"),
            "rule": firing.get("rule"), "note": claim.detail.get("note"),
            "events": firing.get("events", []), "notices": firing.get("notices", []),
            "settlement": claim.detail.get("settlement"), "openedAt": claim.opened_at,
            "claimEvent": claim.claim_event, "claimLogIndex": claim.claim_log_index}
