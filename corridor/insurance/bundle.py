"""Offline verification of a claim bundle (corridor.insurance.evidence builds it): every
signature, proof and digest is checked, then the trigger is evaluated again on the bundle's
own events and the payout recomputed. Nothing is fetched; the verifier brings the log's key
and the witnesses' keys and quorum it trusts.

Checks, each named in the report so that a refusal says which part failed:
- `log`: each item's receipt (checkpoint signature, witness quorum, inclusion) and its
  document against the log entry (Event Hash ID and document digest);
- `terms`: the terms' RFC 8785 SHA-256 is the digest the binding event carries, and the
  binding event names the policy;
- `trigger`: the evaluation of the claim's trigger on the bundle's events and notices gives
  the claim's tier, measure, date and events;
- `payout`: the tier's share of the unit's part of the sum insured, capped by what was already
  paid for the unit, is the claim's payout;
- `claim event`: where the bundle carries it, the logged claim event names this claim and
  payout;
- `fx`: where the policy settles in another currency, the payout times the stated central-bank
  rate, rounded to the target's minor unit, is the settled amount, at the trigger date.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from corridor.emissions.events import COR_NS
from corridor.fx.valuation import round_money
from corridor.insurance.claims import payout
from corridor.insurance.model import UnitEvent
from corridor.insurance.policy import TermsError, parse_terms, terms_digest
from corridor.insurance.triggers import evaluate
from corridor.ledger.checkpoint import Checkpoint
from corridor.ledger.entry import EntryError, LogEntry
from corridor.ledger.entry_document import entry_document
from corridor.ledger.merkle import ProofError, leaf_hash, verify_inclusion
from corridor.ledger.note import Verifier
from corridor.ledger.policy import Policy
from corridor.ledger.proof import ReceiptError, parse_receipt, verify_receipt
from corridor.monitoring.notices import Notice, notice_from_event

BUNDLE_TYPE = "CorridorClaimBundle"


@dataclass
class Check:
    name: str
    ok: bool
    detail: str


@dataclass
class BundleReport:
    claim_id: str
    checks: list[Check] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return bool(self.checks) and all(c.ok for c in self.checks)

    def add(self, name: str, ok: bool, detail: str) -> None:
        self.checks.append(Check(name, ok, detail))

    def as_json(self) -> dict[str, Any]:
        return {"claim": self.claim_id, "verified": self.ok,
                "checks": [{"check": c.name, "ok": c.ok, "detail": c.detail}
                           for c in self.checks]}


class _Refused(Exception):
    """One part of the bundle failed; the message names it."""


def _logged_item(item: object, where: str, log: Verifier, policy: Policy,
                 seen: dict[bytes, Checkpoint]) -> UnitEvent:
    """The item's event, once its receipt and its document check out against the log."""
    if not isinstance(item, Mapping) or not isinstance(item.get("event"), Mapping):
        raise _Refused(f"{where}: not an object with an event and a receipt")
    try:
        receipt = parse_receipt(str(item.get("receipt", "")).encode("utf-8"))
        checkpoint = seen.get(receipt.checkpoint)
        if checkpoint is None:
            checkpoint = verify_receipt(receipt, log, policy)
            seen[receipt.checkpoint] = checkpoint
        else:
            verify_inclusion(receipt.index, checkpoint.size, leaf_hash(receipt.extra or b""),
                             receipt.proof, checkpoint.root)
        entry = LogEntry.decode(receipt.extra or b"")
    except (ReceiptError, EntryError, ProofError) as exc:
        raise _Refused(f"{where}/receipt: {exc}") from None
    if item.get("logIndex") != receipt.index:
        raise _Refused(f"{where}/logIndex: {item.get('logIndex')} but the receipt proves "
                       f"entry {receipt.index}")
    if item.get("hashId") != entry.event_hash_id:
        raise _Refused(f"{where}/hashId: {item.get('hashId')} but the log entry is "
                       f"{entry.event_hash_id}")
    event = dict(item["event"])
    if entry_document(event, entry) is None:
        raise _Refused(f"{where}/event: the document is not the one logged as entry "
                       f"{receipt.index} (its digest or Event Hash ID differs)")
    return UnitEvent(entry.event_hash_id, receipt.index, event)


def _items(bundle: Mapping[str, Any], key: str) -> list[Any]:
    items = bundle.get(key)
    if not isinstance(items, list):
        raise _Refused(f"/{key}: must be a list")
    return items


def _field(event: Mapping[str, Any], local: str) -> Any:
    return event.get(f"cor:{local}", event.get(COR_NS + local))


def _check_terms(bundle: Mapping[str, Any], binding: UnitEvent) -> Any:
    policy = bundle.get("policy")
    if not isinstance(policy, Mapping):
        raise _Refused("/policy: missing")
    try:
        terms = parse_terms(policy.get("terms"))
    except TermsError as exc:
        raise _Refused(f"/policy/terms{exc.pointer}: {exc.message}") from None
    digest = terms_digest(terms)
    if digest != policy.get("termsDigest") or digest != _field(binding.event, "policyTerms"):
        raise _Refused(f"/policy/terms: their digest {digest} is not the one the binding event "
                       f"carries ({_field(binding.event, 'policyTerms')}): the terms changed")
    named = [bt.get("bizTransaction") for bt in binding.event.get("bizTransactionList") or []
             if isinstance(bt, Mapping)]
    if policy.get("id") not in named:
        raise _Refused(f"/policy/binding: the binding event does not name policy "
                       f"{policy.get('id')}")
    return terms


def _decimal(value: object, where: str) -> Decimal:
    try:
        return Decimal(str(value))
    except InvalidOperation:
        raise _Refused(f"{where}: {value!r} is not a decimal number") from None


def _bound_at(binding: UnitEvent) -> datetime:
    try:
        return datetime.fromisoformat(str(binding.event.get("eventTime")))
    except ValueError:
        raise _Refused("/policy/binding/event/eventTime: not an RFC 3339 time") from None


def _check_claim_event(claim: Mapping[str, Any], item: object, log: Verifier, policy: Policy,
                       seen: dict[bytes, Checkpoint]) -> str:
    """The claim event, when the bundle carries it: logged, naming this claim and payout."""
    if item is None:
        return "the claim event was not yet covered when the bundle was built"
    logged = _logged_item(item, "/claim/claimEventReceipt", log, policy, seen)
    named = [bt.get("bizTransaction") for bt in logged.event.get("bizTransactionList") or []
             if isinstance(bt, Mapping)]
    if claim.get("id") not in named or _field(logged.event, "payout") != claim.get("payout"):
        raise _Refused("/claim/claimEventReceipt: the logged claim event names another claim "
                       "or payout")
    return f"claim event logged as entry {logged.log_index}"


def _check_trigger(claim: Mapping[str, Any], terms: Any, events: list[UnitEvent],
                   notices: list[Notice], bound_at: datetime) -> Any:
    unit = claim.get("unit")
    if unit not in terms.units:  # else any logged unit's events could be paid on these terms
        raise _Refused(f"/claim/unit: {unit!r} is not a unit the policy insures")
    firings = evaluate(terms, str(unit), events, notices, bound_at)
    firing = next((f for f in firings if f.trigger_id == claim.get("trigger")), None)
    if firing is None:
        raise _Refused(f"/claim/trigger: {claim.get('trigger')!r} does not fire on the "
                       "bundle's events")
    stated = (claim.get("tier"), claim.get("measure"), claim.get("events"))
    computed = (firing.tier, str(firing.measure), list(firing.events))
    if stated != computed:
        raise _Refused(f"/claim: the bundle's events give tier {firing.tier}, measure "
                       f"{firing.measure}, events {list(firing.events)}; the claim states "
                       f"tier {stated[0]}, measure {stated[1]}, events {stated[2]}")
    return firing


def _check_fx(claim: Mapping[str, Any], terms: Any, firing: Any) -> str:
    settlement = claim.get("settlement")
    if terms.settlement_currency == terms.currency:
        return "settled in the policy currency"
    if not isinstance(settlement, Mapping):
        raise _Refused(f"/claim/settlement: the policy settles in {terms.settlement_currency} "
                       "but the bundle has no valuation")
    rate = _decimal(settlement.get("rate"), "/claim/settlement/rate")
    expected = round_money(_decimal(claim.get("payout"), "/claim/payout") * rate,
                           terms.settlement_currency)
    if (settlement.get("currency"), settlement.get("target")) != (
            terms.currency, terms.settlement_currency):
        raise _Refused("/claim/settlement: converts "
                       f"{settlement.get('currency')}->{settlement.get('target')}, not "
                       f"{terms.currency}->{terms.settlement_currency}")
    if settlement.get("date") != firing.at.date().isoformat():
        raise _Refused(f"/claim/settlement/date: {settlement.get('date')}, not the trigger "
                       f"date {firing.at.date().isoformat()}")
    if _decimal(settlement.get("result"), "/claim/settlement/result") != expected:
        raise _Refused(f"/claim/settlement/result: {settlement.get('result')}, but "
                       f"{claim.get('payout')} x {rate} is {expected}")
    return (f"{claim.get('payout')} {terms.currency} x {rate} ({settlement.get('source')}, "
            f"{settlement.get('rule')}, rate of {settlement.get('rateDate')}) = {expected} "
            f"{terms.settlement_currency}")


def verify_bundle(bundle: object, log: Verifier, policy: Policy) -> BundleReport:
    """Check a claim bundle offline; the report names each part checked and what failed."""
    claim = bundle.get("claim") if isinstance(bundle, Mapping) else None
    report = BundleReport(str(claim.get("id")) if isinstance(claim, Mapping) else "?")
    if not isinstance(bundle, Mapping) or bundle.get("type") != BUNDLE_TYPE \
            or not isinstance(claim, Mapping):
        report.add("bundle", False, f"not a {BUNDLE_TYPE} with a claim")
        return report
    seen: dict[bytes, Checkpoint] = {}
    step = "log"
    try:
        policy_part = bundle.get("policy")
        binding_item = policy_part.get("binding") if isinstance(policy_part, Mapping) else None
        binding = _logged_item(binding_item, "/policy/binding", log, policy, seen)
        events = [_logged_item(e, f"/events/{n}", log, policy, seen)
                  for n, e in enumerate(_items(bundle, "events"))]
        notices = []
        for n, item in enumerate(_items(bundle, "notices")):
            logged = _logged_item(item, f"/notices/{n}", log, policy, seen)
            notice = notice_from_event(logged.hash_id, logged.log_index, logged.event)
            if notice is None:
                raise _Refused(f"/notices/{n}/event: not a notice event")
            notices.append(notice)
        sizes = sorted({c.size for c in seen.values()})
        report.add("log", True, f"{len(events) + len(notices) + 1} items, each in the log "
                   f"(checkpoint size {', '.join(map(str, sizes))}, witness quorum met)")
        step = "terms"
        terms = _check_terms(bundle, binding)
        report.add("terms", True, f"terms digest {terms_digest(terms)} is the one logged at "
                   f"binding (entry {binding.log_index})")
        step = "trigger"
        firing = _check_trigger(claim, terms, events, notices, _bound_at(binding))
        report.add("trigger", True, firing.rule)
        step = "payout"
        paid = _decimal(claim.get("alreadyPaid", "0"), "/claim/alreadyPaid")
        pay = payout(terms, firing, paid)
        if str(pay.amount) != claim.get("payout") or claim.get("currency") != terms.currency:
            raise _Refused(f"/claim/payout: {claim.get('payout')} {claim.get('currency')}, but "
                           f"the terms give {pay.amount} {terms.currency} ({pay.note})")
        report.add("payout", True, pay.note)
        step = "fx"
        report.add("fx", True, _check_fx(claim, terms, firing))
        step = "claim event"
        report.add("claim event", True, _check_claim_event(
            claim, claim.get("claimEventReceipt"), log, policy, seen))
    except _Refused as exc:
        report.add(step, False, str(exc))
    return report
