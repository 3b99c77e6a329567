"""Checking a credential offline: each check named, each failure saying why.

The checks, in order: the Data Integrity proof (signature) and that the proof's key is the
issuer's; the issuer is trusted; the validity period; the status (the issuer's signed Bitstring
Status List, fetched earlier and cached); each evidence receipt against the log's key and its
witnesses' quorum, and that the receipt's entry is the evidence's event at its log index; and,
when the events are supplied, that each is the logged document of its evidence entry and that
the claim recomputed from them is the credential's.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from corridor.credentials.credential import EVIDENCE_TYPE, issuer_of, kind_of
from corridor.credentials.data_integrity import verify_proof
from corridor.credentials.errors import CredentialError
from corridor.credentials.status_list import bit, decode_list
from corridor.ledger.checkpoint import Checkpoint
from corridor.ledger.entry import EntryError, LogEntry
from corridor.ledger.entry_document import entry_document
from corridor.ledger.merkle import ProofError, leaf_hash, verify_inclusion
from corridor.ledger.note import Verifier
from corridor.ledger.policy import Policy
from corridor.ledger.proof import Receipt, ReceiptError, parse_receipt, verify_receipt


@dataclass(frozen=True)
class Check:
    name: str
    ok: bool
    detail: str


@dataclass
class Report:
    credential_id: str
    checks: list[Check] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return bool(self.checks) and all(c.ok for c in self.checks)

    def add(self, name: str, ok: bool, detail: str) -> None:
        self.checks.append(Check(name, ok, detail))

    def as_json(self) -> dict[str, Any]:
        return {"id": self.credential_id, "verified": self.ok,
                "checks": [{"check": c.name, "ok": c.ok, "detail": c.detail}
                           for c in self.checks]}


@dataclass
class LogTrust:
    """The log the evidence must be in: its key (or its keys over time, where it was
    rotated), and the witnesses' policy (quorum)."""
    log: Verifier | tuple[Verifier, ...]
    policy: Policy


# Recomputes a credential's claim from (evidence entry, event) pairs; returns the differences.
Recompute = Callable[[Mapping[str, Any], list[tuple[LogEntry, dict[str, Any]]]], list[str]]


def verify_credential(credential: Mapping[str, Any], *, trusted: Iterable[str] | None,
                      status_list: Mapping[str, Any] | None, log: LogTrust | None,
                      events: list[dict[str, Any]] | None = None,
                      recompute: Recompute | None = None,
                      now: datetime | None = None) -> Report:
    report = Report(str(credential.get("id", "")))
    issuer = issuer_of(dict(credential))
    _signature(report, credential, issuer)
    _trust(report, issuer, trusted)
    _validity(report, credential, now or datetime.now(UTC))
    _status(report, credential, status_list, issuer)
    entries = _evidence(report, credential, log)
    if events is not None:
        _claim(report, credential, entries, events, recompute)
    return report


def _signature(report: Report, credential: Mapping[str, Any], issuer: str | None) -> None:
    try:
        proof = verify_proof(dict(credential), expected_purpose="assertionMethod")
    except CredentialError as exc:
        report.add("signature", False, str(exc))
        return
    if issuer is None or proof.verification_method.split("#")[0] != issuer:
        report.add("signature", False, f"signed by {proof.verification_method}, which is not "
                   f"a key of the issuer {issuer}")
        return
    report.add("signature", True, f"{proof.cryptosuite} proof by {proof.verification_method}")


def _trust(report: Report, issuer: str | None, trusted: Iterable[str] | None) -> None:
    if trusted is None:
        report.add("issuer trusted", False, "no trusted issuer given (--trust DID)")
    elif issuer in set(trusted):
        report.add("issuer trusted", True, f"{issuer} is trusted")
    else:
        report.add("issuer trusted", False, f"{issuer} is not among the trusted issuers")


def _instant(value: object) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        found = datetime.fromisoformat(value)
    except ValueError:
        return None
    return found if found.tzinfo else None


def _validity(report: Report, credential: Mapping[str, Any], now: datetime) -> None:
    start = _instant(credential.get("validFrom"))
    end = _instant(credential.get("validUntil")) if "validUntil" in credential else None
    if start is None:
        report.add("validity", False, "validFrom is missing or not a date-time with offset")
    elif now < start:
        report.add("validity", False, f"not valid before {credential['validFrom']}")
    elif "validUntil" in credential and (end is None or now > end):
        report.add("validity", False, f"expired or unreadable validUntil "
                   f"{credential.get('validUntil')!r}")
    else:
        report.add("validity", True, f"valid from {credential['validFrom']}")


def _status(report: Report, credential: Mapping[str, Any],
            status_list: Mapping[str, Any] | None, issuer: str | None) -> None:
    entry = credential.get("credentialStatus")
    if not isinstance(entry, dict):
        report.add("status", False, "credential has no credentialStatus")
        return
    url = entry.get("statusListCredential")
    if status_list is None:
        report.add("status", False, f"status list {url} not available (fetch it once online)")
        return
    problem = _status_list_problem(status_list, url, issuer)
    if problem:
        report.add("status", False, problem)
        return
    try:
        index = int(str(entry.get("statusListIndex")))
        bits = decode_list(str(status_list["credentialSubject"]["encodedList"]))
        revoked = bit(bits, index)
    except (CredentialError, ValueError, KeyError, TypeError, IndexError) as exc:
        report.add("status", False, f"status entry or list unreadable: {exc}")
        return
    when = status_list.get("validFrom", "")
    if revoked:
        report.add("status", False, f"revoked (bit {index} of {url} is set, list of {when})")
    else:
        report.add("status", True, f"not revoked (bit {index} of {url}, list of {when})")


def _status_list_problem(status_list: Mapping[str, Any], url: object,
                         issuer: str | None) -> str | None:
    if status_list.get("id") != url:
        return f"the status list supplied is {status_list.get('id')}, not {url}"
    try:
        proof = verify_proof(dict(status_list), expected_purpose="assertionMethod")
    except CredentialError as exc:
        return f"status list {url}: {exc}"
    if issuer_of(dict(status_list)) != issuer or \
            proof.verification_method.split("#")[0] != issuer:
        return f"status list {url} is not signed by the credential's issuer {issuer}"
    return None


def _evidence(report: Report, credential: Mapping[str, Any], log: LogTrust | None
              ) -> list[LogEntry | None]:
    items = credential.get("evidence")
    if not isinstance(items, list) or not items:
        report.add("evidence", False, "credential has no evidence")
        return []
    if log is None:
        report.add("evidence", False, f"{len(items)} receipts not checked: no log key given "
                   "(--vkey)")
        return [None] * len(items)
    seen: dict[bytes, Checkpoint] = {}
    entries = [_one_evidence(report, n, item, log, seen) for n, item in enumerate(items)]
    return entries


def _one_evidence(report: Report, n: int, item: object, log: LogTrust,
                  seen: dict[bytes, Checkpoint]) -> LogEntry | None:
    name = f"evidence {n}"
    if not isinstance(item, dict) or EVIDENCE_TYPE not in (item.get("type") or []):
        report.add(name, False, f"/evidence/{n}: not a {EVIDENCE_TYPE} entry")
        return None
    try:
        receipt = parse_receipt(str(item.get("receipt", "")).encode("utf-8"))
        checkpoint = seen.get(receipt.checkpoint)
        if checkpoint is None:
            checkpoint = verify_receipt(receipt, log.log, log.policy)
            seen[receipt.checkpoint] = checkpoint
        else:  # a checkpoint already verified: only the inclusion proof is left to check
            _inclusion(receipt, checkpoint)
        entry = LogEntry.decode(receipt.extra or b"")
    except (ReceiptError, EntryError) as exc:
        report.add(name, False, f"/evidence/{n}/receipt: {exc}")
        return None
    if receipt.index != item.get("logIndex"):
        report.add(name, False, f"/evidence/{n}/logIndex: {item.get('logIndex')} but the "
                   f"receipt proves entry {receipt.index}")
        return None
    if entry.event_hash_id != item.get("id"):
        report.add(name, False, f"/evidence/{n}/id: {item.get('id')} but the log entry is "
                   f"{entry.event_hash_id}")
        return None
    if item.get("logOrigin") != checkpoint.origin:
        report.add(name, False, f"/evidence/{n}/logOrigin: {item.get('logOrigin')} but the "
                   f"checkpoint is of {checkpoint.origin}")
        return None
    report.add(name, True, f"entry {receipt.index} of {checkpoint.origin} (size "
               f"{checkpoint.size}) is {entry.event_hash_id}")
    return entry


def _inclusion(receipt: Receipt, checkpoint: Checkpoint) -> None:
    try:
        verify_inclusion(receipt.index, checkpoint.size, leaf_hash(receipt.extra or b""),
                         receipt.proof, checkpoint.root)
    except ProofError as exc:
        raise ReceiptError(f"inclusion of entry {receipt.index}: {exc}") from exc


def _claim(report: Report, credential: Mapping[str, Any], entries: list[LogEntry | None],
           events: list[dict[str, Any]], recompute: Recompute | None) -> None:
    """Pair each supplied event with the evidence entry whose document it is, then recompute."""
    pairs: list[tuple[LogEntry, dict[str, Any]]] = []
    unmatched: list[str] = []
    for entry in entries:
        if entry is None:
            continue
        event = next((e for e in events if entry_document(e, entry) is not None), None)
        if event is None:
            unmatched.append(entry.event_hash_id)
        else:
            pairs.append((entry, event))
    if unmatched:
        report.add("claim", False, f"{len(unmatched)} evidence events not among those supplied "
                   f"(or changed): {', '.join(unmatched[:3])}")
        return
    if recompute is None:
        report.add("claim", False, f"no rule to recompute a {kind_of(dict(credential))}")
        return
    differences = recompute(credential, pairs)
    if differences:
        report.add("claim", False, "; ".join(differences))
    else:
        report.add("claim", True, f"recomputed from {len(pairs)} logged events: the same")
