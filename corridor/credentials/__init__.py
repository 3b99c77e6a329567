"""corridor.credentials: W3C Verifiable Credentials 2.0 for Corridor's certificates.

The pure core: errors (CredentialError), multibase, keys (Ed25519 Multikey and did:key),
loader (the JSON-LD contexts shipped in contexts/, never fetched), data_integrity (Data
Integrity EdDSA cryptosuites eddsa-jcs-2022 and eddsa-rdfc-2022) and status_list (Bitstring
Status List v1.0). The credential, its claims, the verifier and the node service are modules
beside these, imported by name where they are needed.
"""

from corridor.credentials.data_integrity import (
    VerifiedProof,
    add_proof,
    expand_strict,
    verify_proof,
    verify_proofs,
)
from corridor.credentials.errors import CredentialError
from corridor.credentials.keys import IssuerKey, did_key_document, public_key_for
from corridor.credentials.loader import document_loader
from corridor.credentials.status_list import (
    MIN_ENTRIES,
    bit,
    decode_list,
    encode_list,
    new_list,
    set_bit,
    status_entry,
    status_list_credential,
)

__all__ = [
    "MIN_ENTRIES", "CredentialError", "IssuerKey", "VerifiedProof", "add_proof", "bit",
    "decode_list", "did_key_document", "document_loader", "encode_list", "expand_strict",
    "new_list", "public_key_for", "set_bit", "status_entry", "status_list_credential",
    "verify_proof", "verify_proofs",
]
