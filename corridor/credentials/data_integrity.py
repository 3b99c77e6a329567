"""W3C Data Integrity EdDSA cryptosuites v1.0: eddsa-jcs-2022 and eddsa-rdfc-2022.

Both hash the same way: SHA-256(canonical proof configuration) || SHA-256(canonical document),
signed with Ed25519; the signature is the proof's `proofValue`, multibase base58btc ('z').
They differ in the canonical form: RFC 8785 JSON (jcs) or RDF Dataset Canonicalization of the
JSON-LD's RDF (rdfc, with the document's @context also on the proof configuration).

RDF canonicalization (corridor.credentials.rdfc, imported only when an rdfc proof is made or
checked: it brings pyld) runs in a safe mode: what the @context leaves undefined is an error,
not data silently left out of what is signed.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from hashlib import sha256
from typing import Any

from corridor.credentials import keys, multibase
from corridor.credentials.errors import CredentialError
from corridor.credentials.loader import Loader
from corridor.ledger.jcs import CanonicalizationError, canonicalize

PROOF_TYPE = "DataIntegrityProof"
JCS = "eddsa-jcs-2022"
RDFC = "eddsa-rdfc-2022"
SUITES = (JCS, RDFC)

# XML Schema dateTime (the form `created` and `expires` must take).
_DATETIME = re.compile(r"-?\d{4,}-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])T([01]\d|2[0-3]):[0-5]\d:"
                       r"[0-5]\d(\.\d+)?(Z|[+-](0\d|1[0-4]):[0-5]\d)?")

PublicKeyFor = Callable[[str], bytes]


@dataclass(frozen=True)
class VerifiedProof:
    """What a proof that verified says about itself."""

    verification_method: str
    cryptosuite: str
    created: str | None
    proof_purpose: str


# -- canonical forms ---------------------------------------------------------------------------

def canonical_document(document: dict, cryptosuite: str, *, loader: Loader | None = None
                       ) -> bytes:
    """The transformed (canonical) form of an unsecured document under `cryptosuite`."""
    if cryptosuite == JCS:
        return _jcs(document, "")
    if cryptosuite == RDFC:
        return rdfc(document, loader=loader)
    raise CredentialError(f"unknown cryptosuite {cryptosuite!r}", pointer="/proof/cryptosuite")


def canonical_proof_config(options: dict, document: dict, *, loader: Loader | None = None,
                           pointer: str = "/proof") -> bytes:
    """The canonical proof configuration of proof `options` (no proofValue) for `document`."""
    _check_options(options, pointer)
    if options["cryptosuite"] == JCS:
        return _jcs(options, pointer)
    if "@context" not in document:
        raise CredentialError("missing: eddsa-rdfc-2022 needs the document's @context",
                              pointer="/@context")
    return rdfc({**options, "@context": document["@context"]}, loader=loader)


def hash_data(canonical_config: bytes, canonical_doc: bytes) -> bytes:
    """SHA-256 of the proof configuration, then SHA-256 of the document: 64 bytes to sign."""
    return sha256(canonical_config).digest() + sha256(canonical_doc).digest()


def _jcs(value: dict, pointer: str) -> bytes:
    try:
        return canonicalize(value)
    except CanonicalizationError as exc:
        raise CredentialError(f"not canonical JSON: {exc}", pointer=pointer or None) from None


# -- proofs --------------------------------------------------------------------------------------

def add_proof(document: dict, key: keys.IssuerKey, *, cryptosuite: str = JCS,
              created: str | None = None, proof_purpose: str = "assertionMethod",
              proof_id: str | None = None, previous_proof: str | list[str] | None = None,
              loader: Loader | None = None) -> dict:
    """A copy of `document` with a DataIntegrityProof by `key`.

    A document that already has proofs gets one more (a proof set); with `previous_proof`
    (the id or ids of proofs already there) the new proof also covers those (a proof chain).
    """
    if not isinstance(document, dict):
        raise CredentialError("a document to sign is a JSON object")
    if cryptosuite not in SUITES:
        raise CredentialError(f"unknown cryptosuite {cryptosuite!r}", pointer="/proof/cryptosuite")
    existing = _proof_list(document) if "proof" in document else []
    unsecured = {k: v for k, v in document.items() if k != "proof"}
    options: dict[str, Any] = {"type": PROOF_TYPE}
    if proof_id is not None:
        options["id"] = proof_id
    options.update(cryptosuite=cryptosuite, created=created or _now(),
                   verificationMethod=key.verification_method, proofPurpose=proof_purpose)
    if previous_proof is not None:
        options["previousProof"] = previous_proof
    if cryptosuite == JCS and "@context" in document:
        options["@context"] = document["@context"]
    signed_doc = _chained(unsecured, existing, options, "/proof")
    data = hash_data(canonical_proof_config(options, unsecured, loader=loader),
                     canonical_document(signed_doc, cryptosuite, loader=loader))
    proof = {**options, "proofValue": multibase.encode(key.sign(data))}
    out = dict(unsecured)
    out["proof"] = [*existing, proof] if existing else proof
    return out


def verify_proof(secured: dict, *, public_key_for: PublicKeyFor = keys.public_key_for,
                 expected_purpose: str | None = None, loader: Loader | None = None
                 ) -> VerifiedProof:
    """Verify the one proof of `secured`; CredentialError says why it does not verify.

    A document with a proof set or chain goes to `verify_proofs`."""
    proofs = _proof_list(secured)
    if len(proofs) != 1:
        raise CredentialError(f"{len(proofs)} proofs (a proof set): use verify_proofs",
                              pointer="/proof")
    pointer = "/proof/0" if isinstance(secured["proof"], list) else "/proof"
    unsecured = {k: v for k, v in secured.items() if k != "proof"}
    return _verify(unsecured, secured, proofs[0], pointer, public_key_for, expected_purpose,
                   loader)


def verify_proofs(secured: dict, *, public_key_for: PublicKeyFor = keys.public_key_for,
                  expected_purpose: str | None = None, loader: Loader | None = None
                  ) -> list[VerifiedProof]:
    """Verify every proof of a proof set, each on its own; a proof naming `previousProof`
    (a proof chain) is verified over the document with the proofs it names."""
    proofs = _proof_list(secured)
    single = not isinstance(secured["proof"], list)
    unsecured = {k: v for k, v in secured.items() if k != "proof"}
    results = []
    for i, proof in enumerate(proofs):
        pointer = "/proof" if single else f"/proof/{i}"
        if not isinstance(proof, dict):
            raise CredentialError("a proof is a JSON object", pointer=pointer)
        signed_doc = _chained(unsecured, proofs, proof, pointer)
        results.append(_verify(signed_doc, secured, proof, pointer, public_key_for,
                               expected_purpose, loader))
    return results


def _verify(unsecured: dict, secured: dict, proof: object, pointer: str,
            public_key_for: PublicKeyFor, expected_purpose: str | None,
            loader: Loader | None) -> VerifiedProof:
    if not isinstance(proof, dict):
        raise CredentialError("a proof is a JSON object", pointer=pointer)
    options = {k: v for k, v in proof.items() if k != "proofValue"}
    _check_options(options, pointer)
    signature = multibase.decode(proof.get("proofValue"), base="z",
                                 pointer=f"{pointer}/proofValue")
    if len(signature) != 64:
        raise CredentialError(f"an Ed25519 signature has 64 bytes, not {len(signature)}",
                              pointer=f"{pointer}/proofValue")
    purpose = options["proofPurpose"]
    if expected_purpose is not None and purpose != expected_purpose:
        raise CredentialError(f"proof purpose {purpose!r}, expected {expected_purpose!r}",
                              pointer=f"{pointer}/proofPurpose")
    suite = options["cryptosuite"]
    if suite == JCS and "@context" in options:
        if not _starts_with(secured.get("@context"), options["@context"]):
            raise CredentialError("the document's @context does not start with the proof's",
                                  pointer=f"{pointer}/@context")
        unsecured = {**unsecured, "@context": options["@context"]}
    data = hash_data(canonical_proof_config(options, unsecured, loader=loader, pointer=pointer),
                     canonical_document(unsecured, suite, loader=loader))
    method = options["verificationMethod"]
    try:
        public = public_key_for(method)
        matches = keys.verify_signature(public, signature, data)
    except CredentialError as exc:
        raise CredentialError(str(exc), pointer=f"{pointer}/verificationMethod") from None
    if not matches:
        raise CredentialError("signature does not match", pointer=f"{pointer}/proofValue")
    return VerifiedProof(method, suite, options.get("created"), purpose)


def _proof_list(secured: object) -> list:
    if not isinstance(secured, dict):
        raise CredentialError("a secured document is a JSON object")
    proof = secured.get("proof")
    if proof is None:
        raise CredentialError("missing", pointer="/proof")
    proofs = proof if isinstance(proof, list) else [proof]
    if not proofs:
        raise CredentialError("an empty proof set", pointer="/proof")
    return proofs


def _chained(unsecured: dict, proofs: list, options: dict, pointer: str) -> dict:
    """The document a proof covers: with the proofs its previousProof names, if any."""
    previous = options.get("previousProof")
    if previous is None:
        return unsecured
    ids = [previous] if isinstance(previous, str) else previous
    if not isinstance(ids, list) or not all(isinstance(i, str) for i in ids):
        raise CredentialError("previousProof is a proof id or a list of them",
                              pointer=f"{pointer}/previousProof")
    by_id = {p.get("id"): p for p in proofs if isinstance(p, dict) and p.get("id")}
    missing = [i for i in ids if i not in by_id]
    if missing:
        raise CredentialError(f"names proofs not in the document: {', '.join(missing)}",
                              pointer=f"{pointer}/previousProof")
    return {**unsecured, "proof": [by_id[i] for i in ids]}


def _check_options(options: dict, pointer: str) -> None:
    if options.get("type") != PROOF_TYPE:
        raise CredentialError(f"expected {PROOF_TYPE!r}, found {options.get('type')!r}",
                              pointer=f"{pointer}/type")
    if options.get("cryptosuite") not in SUITES:
        raise CredentialError(f"unknown cryptosuite {options.get('cryptosuite')!r}",
                              pointer=f"{pointer}/cryptosuite")
    for name in ("verificationMethod", "proofPurpose"):
        if not isinstance(options.get(name), str) or not options[name]:
            raise CredentialError("missing or not a string", pointer=f"{pointer}/{name}")
    for name in ("created", "expires"):
        value = options.get(name)
        if value is not None and not (isinstance(value, str) and _DATETIME.fullmatch(value)):
            raise CredentialError(f"{value!r} is not an XML Schema dateTime",
                                  pointer=f"{pointer}/{name}")


def _starts_with(document_context: object, proof_context: object) -> bool:
    doc = document_context if isinstance(document_context, list) else [document_context]
    head = proof_context if isinstance(proof_context, list) else [proof_context]
    return len(head) <= len(doc) and doc[:len(head)] == head


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


# -- RDF canonicalization, loaded on first use ------------------------------------------------

def rdfc(document: dict, *, loader: Loader | None = None) -> bytes:
    """The RDFC-1.0 canonical N-Quads (UTF-8) of a JSON-LD document, in safe mode."""
    from corridor.credentials import rdfc as module

    return module.canonicalize(document, loader=loader)


def expand_strict(document: dict, *, loader: Loader | None = None) -> list:
    """The JSON-LD expansion of `document`; CredentialError where the @context leaves a term,
    a type or an IRI undefined (data that would not reach the RDF, so would not be signed)."""
    from corridor.credentials import rdfc as module

    return module.expand_strict(document, loader=loader)
