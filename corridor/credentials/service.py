"""The node's credentials: accrediting certifiers, issuing a credential from the logged events
a certifier may read, revoking, serving status lists, and verifying with what the node knows
(its certifiers, its status lists, its log).

A certifier issues; the node computes the claim itself from the events (it never signs figures
a client sent) and refuses, naming the missing figure or event, when they do not support it.
The issuer key is held by the node for the certifier (in `certifiers.secret_key`).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from corridor.config import Settings
from corridor.credentials import claims
from corridor.credentials.credential import (
    CRYPTOSUITES,
    KINDS,
    build,
    evidence_entry,
    new_id,
)
from corridor.credentials.data_integrity import add_proof
from corridor.credentials.errors import CredentialError
from corridor.credentials.keys import IssuerKey, multikey_public
from corridor.credentials.status_list import (
    MIN_ENTRIES,
    encode_list,
    set_bit,
    status_entry,
    status_list_credential,
)
from corridor.credentials.verify import LogTrust, Report, verify_credential
from corridor.epcis.identifiers import canonical
from corridor.ledger.entry import EntryError, LogEntry
from corridor.node import RunningLog
from corridor.query import Viewer, known_namespaces, matching_events, stored_places
from corridor.store import credentials as store
from corridor.store.db import Connection, Database
from corridor.store.parties import find_party

PURPOSE = "revocation"


class IssueRefused(CredentialError):
    """The events do not support the claim, or evidence is not yet provable; `status` is the
    HTTP status the API answers with and `missing` names what is lacking."""

    def __init__(self, message: str, *, status: int = 422, missing: list[str] | None = None,
                 retry_after: int | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.missing = missing or []
        self.retry_after = retry_after


class NotCertifier(CredentialError):
    """The party is not an accredited certifier, or not for this credential type."""


@dataclass(frozen=True)
class IssueRequest:
    kind: str
    subject: str  # the lot: an LGTIN class URN (or its Digital Link)
    cryptosuite: str = "eddsa-jcs-2022"


class CredentialService:
    def __init__(self, settings: Settings, db: Database, log: RunningLog) -> None:
        self.settings = settings
        self.db = db
        self.log = log

    # -- URLs ----------------------------------------------------------------------------
    @property
    def base_url(self) -> str:
        return self.settings.public_url.rstrip("/")

    def status_url(self, list_id: int) -> str:
        return f"{self.base_url}/credentials/status/{list_id}"

    def node_did(self) -> str:
        """did:web of the node: its host, with a port percent-encoded (did:web spec)."""
        host = urlsplit(self.base_url).netloc.replace(":", "%3A")
        return f"did:web:{host}"

    # -- certifiers ----------------------------------------------------------------------
    def accredit(self, conn: Connection, party_ref: str, *, display_name: str,
                 accreditation: str, scope: tuple[str, ...] = KINDS) -> store.Certifier:
        """Make a party a certifier with a new issuer key (admin). The party should be an
        auditor: it reads the lots' events through the grants the exporters give it."""
        unknown = [s for s in scope if s not in KINDS]
        if unknown:
            raise CredentialError(f"scope: unknown credential type {unknown[0]!r}; one of "
                                  f"{', '.join(KINDS)}")
        party = find_party(conn, party_ref)
        key = IssuerKey.generate()
        return store.add_certifier(conn, party.id, did=key.did, secret_key=key.secret_multibase(),
                                   display_name=display_name, accreditation=accreditation,
                                   scope=scope)

    def trusted_issuers(self, conn: Connection) -> list[str]:
        return [c.did for c in store.certifiers(conn)]

    # -- issuing -------------------------------------------------------------------------
    def issue(self, conn: Connection, viewer: Viewer, request: IssueRequest
              ) -> store.StoredCredential:
        if request.kind not in KINDS:
            raise CredentialError(f"/type: must be one of {', '.join(KINDS)}")
        if request.cryptosuite not in CRYPTOSUITES:
            raise CredentialError(f"/cryptosuite: must be one of {', '.join(CRYPTOSUITES)}")
        certifier = store.certifier(conn, viewer.party_id or -1)
        if certifier is None:
            raise NotCertifier("only an accredited certifier may issue credentials")
        if request.kind not in certifier.scope:
            raise NotCertifier(f"this certifier is not accredited for {request.kind}")
        claim = self._claim(conn, viewer, request)
        evidence = [self._evidence(e) for e in claim.evidence]
        key = IssuerKey.from_secret_multibase(certifier.secret_key)
        credential_id = new_id()
        with conn.transaction():
            status = store.open_status_list(conn, viewer.party_id or -1, PURPOSE, MIN_ENTRIES)
            index = store.free_index(conn, status)
            document = build(
                request.kind, credential_id=credential_id, issuer=key.did,
                issuer_name=certifier.display_name, valid_from=store.now(),
                subject=claim.subject, evidence=evidence,
                status=status_entry(self.status_url(status.id), index, PURPOSE))
            signed = add_proof(document, key, cryptosuite=request.cryptosuite)
            stored = store.StoredCredential(
                credential_id, certifier.party_id, request.kind, str(claim.subject["id"]),
                json.dumps(signed, ensure_ascii=False), status.id, index, signed["validFrom"],
                None, None)
            store.insert_credential(conn, stored)
        return stored

    def _claim(self, conn: Connection, viewer: Viewer, request: IssueRequest) -> claims.Claim:
        lot = request.subject
        if request.kind == "GreenMetalCredential":
            return claims.green_metal_claim(lot, self._events(conn, viewer, lot))
        places = stored_places(conn)

        def country_of(location: str) -> str | None:
            place = places.by_location.get(canonical(location))
            return place.country if place and place.country else None

        return claims.origin_claim(lot, lambda x: self._events(conn, viewer, x),
                                   country_of=country_of)

    def _events(self, conn: Connection, viewer: Viewer, what: str) -> list[claims.LoggedEvent]:
        param = "MATCH_anyEPCClass" if ":class:" in what or "/10/" in what else "MATCH_anyEPC"
        rows = matching_events(conn, viewer, {param: [what]}, limit=5000)
        namespaces = known_namespaces(conn)
        return [claims.LoggedEvent(r.hash_id, r.log_index, r.doc, namespaces=namespaces,
                                   party=r.party) for r in rows if r.log_index is not None]

    def _evidence(self, event: claims.LoggedEvent) -> dict[str, Any]:
        receipt = self.log.receipt(event.log_index)
        if receipt is None:
            why = self.log.waiting_for(event.log_index)
            raise IssueRefused(f"evidence {event.hash_id} (log index {event.log_index}) has no "
                               f"receipt yet: {why}", status=409, retry_after=1)
        return evidence_entry(event.hash_id, event.log_index, self.log.origin, receipt)

    # -- status and revocation -----------------------------------------------------------
    def revoke(self, conn: Connection, viewer: Viewer, credential_id: str, reason: str
               ) -> store.StoredCredential:
        found = store.get_credential(conn, credential_id)
        if found is None:
            raise store.CredentialStoreError(f"no credential {credential_id!r}")
        if not viewer.is_admin and found.issuer_party != viewer.party_id:
            raise NotCertifier("only the credential's issuer (or an admin) may revoke it")
        return store.revoke_credential(conn, credential_id, reason)

    def status_list_document(self, conn: Connection, list_id: int) -> dict[str, Any] | None:
        """The signed BitstringStatusListCredential, signed anew after a revocation."""
        status = store.status_list(conn, list_id)
        if status is None:
            return None
        if status.document is not None:
            return json.loads(status.document)
        certifier = store.certifier(conn, status.issuer_party)
        assert certifier is not None
        bits = bytearray(status.size // 8)
        for index in store.revoked_indexes(conn, list_id):
            set_bit(bits, index, True)
        key = IssuerKey.from_secret_multibase(certifier.secret_key)
        unsigned = status_list_credential(self.status_url(list_id), key.did, encode_list(bits),
                                          store.now(), status.purpose)
        signed = add_proof(unsigned, key)
        store.save_status_document(conn, list_id, json.dumps(signed, ensure_ascii=False))
        return signed

    # -- verifying -----------------------------------------------------------------------
    def verify(self, conn: Connection, credential: Mapping[str, Any],
               events: list[dict[str, Any]] | None = None) -> Report:
        """With the node's certifiers as the trusted issuers, its own status lists and log."""
        status = None
        entry = credential.get("credentialStatus")
        url = entry.get("statusListCredential") if isinstance(entry, dict) else None
        prefix = f"{self.base_url}/credentials/status/"
        if isinstance(url, str) and url.startswith(prefix) and url[len(prefix):].isdigit():
            status = self.status_list_document(conn, int(url[len(prefix):]))
        trust = LogTrust(tuple(self.log.log_keys()), self.log.policy)
        report = verify_credential(credential, trusted=self.trusted_issuers(conn),
                                   status_list=status, log=trust, events=events,
                                   recompute=claims.recompute_pairs)
        self._in_this_log(conn, credential, report)
        return report

    def _in_this_log(self, conn: Connection, credential: Mapping[str, Any],
                     report: Report) -> None:
        """Each evidence entry is the one this node's log holds at that index."""
        items = credential.get("evidence")
        size = self.log.size()
        for n, item in enumerate(items if isinstance(items, list) else []):
            index = item.get("logIndex") if isinstance(item, dict) else None
            held = self.log.entry(index) if isinstance(index, int) and 0 <= index < size \
                else None
            if held is None:
                report.add(f"evidence {n} in log", False,
                           f"/evidence/{n}: no entry {index} in this node's log")
            elif _entry_event(held) != item.get("id"):
                report.add(f"evidence {n} in log", False,
                           f"/evidence/{n}: entry {index} of this log is another event")

    def did_document(self) -> dict[str, Any]:
        """The node's did:web: its log key as a Multikey, and where its log and credentials
        are served."""
        did = self.node_did()
        verifier = self.log.signer.verifier
        return {
            "@context": ["https://www.w3.org/ns/did/v1", "https://w3id.org/security/multikey/v1"],
            "id": did,
            "verificationMethod": [{"id": f"{did}#log-key", "type": "Multikey",
                                    "controller": did,
                                    "publicKeyMultibase": multikey_public(verifier.public)}],
            "service": [
                {"id": f"{did}#log", "type": "TransparencyLog",
                 "serviceEndpoint": f"{self.base_url}/log/", "origin": self.log.origin,
                 "verifierKey": verifier.vkey},
                {"id": f"{did}#credentials", "type": "VerifiableCredentialService",
                 "serviceEndpoint": f"{self.base_url}/credentials"},
            ],
        }



def _entry_event(entry: bytes) -> str | None:
    try:
        return LogEntry.decode(entry).event_hash_id
    except EntryError:
        return None
