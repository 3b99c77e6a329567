"""The credential document: a W3C Verifiable Credential 2.0 about one lot, its claim computed
from logged events (corridor.credentials.claims), its evidence those events' log receipts, its
status an entry in the issuer's Bitstring Status List."""

from __future__ import annotations

import uuid
from typing import Any

VC_CONTEXT = "https://www.w3.org/ns/credentials/v2"
CORRIDOR_CONTEXT = "https://ns.corridor.example/credentials/v1"
KINDS = ("GreenMetalCredential", "OriginCredential")
CRYPTOSUITES = ("eddsa-jcs-2022", "eddsa-rdfc-2022")
EVIDENCE_TYPE = "LoggedEvent"

_TITLES = {
    "GreenMetalCredential": (
        "Green metal certificate",
        "Carbon intensity of a metal lot, computed from its logged production events"),
    "OriginCredential": ("Made in Kazakhstan with Italy",
                         "Origin of a lot by the transformations in its logged genealogy"),
}


def new_id() -> str:
    return f"urn:uuid:{uuid.uuid4()}"


def evidence_entry(hash_id: str, log_index: int, log_origin: str, receipt: bytes) -> dict:
    """One logged event the claim rests on: its Event Hash ID (an ni: URI), where it sits in
    the log, and the C2SP tlog-proof receipt that proves it is there."""
    return {"id": hash_id, "type": [EVIDENCE_TYPE], "logIndex": log_index,
            "logOrigin": log_origin, "receipt": receipt.decode("utf-8")}


def build(kind: str, *, credential_id: str, issuer: str, issuer_name: str, valid_from: str,
          subject: dict[str, Any], evidence: list[dict[str, Any]],
          status: dict[str, Any]) -> dict[str, Any]:
    """The unsigned credential (corridor.credentials.data_integrity adds the proof)."""
    if kind not in KINDS:
        raise ValueError(f"kind: must be one of {', '.join(KINDS)}, got {kind!r}")
    name, description = _TITLES[kind]
    return {
        "@context": [VC_CONTEXT, CORRIDOR_CONTEXT],
        "id": credential_id,
        "type": ["VerifiableCredential", kind],
        "issuer": {"id": issuer, "name": issuer_name},
        "validFrom": valid_from,
        "name": name,
        "description": description,
        "credentialSubject": subject,
        "evidence": evidence,
        "credentialStatus": status,
    }


def kind_of(credential: dict[str, Any]) -> str | None:
    types = credential.get("type")
    types = types if isinstance(types, list) else [types]
    return next((t for t in types if t in KINDS), None)


def issuer_of(credential: dict[str, Any]) -> str | None:
    issuer = credential.get("issuer")
    if isinstance(issuer, dict):
        issuer = issuer.get("id")
    return issuer if isinstance(issuer, str) else None
