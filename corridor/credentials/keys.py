"""Ed25519 issuer keys as Multikey and did:key (W3C Controlled Identifiers, did:key method).

A public key is multicodec ed25519-pub (0xed, varint ed 01) + 32 bytes, base58btc 'z6Mk...';
a secret key is multicodec ed25519-priv (0x1300, varint 80 26) + the 32-byte seed, 'z3u2...'.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import (
    Encoding,
    NoEncryption,
    PrivateFormat,
    PublicFormat,
)

from corridor.credentials import multibase
from corridor.credentials.errors import CredentialError

PUBLIC_PREFIX = b"\xed\x01"
SECRET_PREFIX = b"\x80\x26"
DID_KEY = "did:key:"
DID_CONTEXTS = ("https://www.w3.org/ns/did/v1", "https://w3id.org/security/multikey/v1")


def multikey_public(raw: bytes) -> str:
    """The Multikey text ('z6Mk...') of a raw 32-byte Ed25519 public key."""
    if len(raw) != 32:
        raise CredentialError(f"an Ed25519 public key has 32 bytes, not {len(raw)}")
    return multibase.encode(PUBLIC_PREFIX + raw)


def public_from_multikey(text: str, *, pointer: str | None = None) -> bytes:
    """The raw 32 bytes of an Ed25519 Multikey public key ('z6Mk...')."""
    data = multibase.decode(text, base="z", pointer=pointer)
    if data[:2] != PUBLIC_PREFIX or len(data) != 34:
        raise CredentialError("not an Ed25519 Multikey public key (multicodec 0xed01 + 32 "
                              "bytes)", pointer=pointer)
    return data[2:]


@functools.lru_cache(maxsize=4096)
def public_key_for(verification_method: str) -> bytes:
    """The raw Ed25519 public key of a did:key verification method ("did:key:z6Mk..." with or
    without its "#z6Mk..." fragment). Other DID methods are not resolved here."""
    if not isinstance(verification_method, str) or not verification_method.startswith(DID_KEY):
        raise CredentialError(f"cannot resolve verification method {verification_method!r}: "
                              "only did:key is supported")
    did, _, fragment = verification_method.partition("#")
    key = did[len(DID_KEY):]
    if fragment and fragment != key:
        raise CredentialError(f"the fragment of {verification_method!r} must repeat its key")
    try:
        return public_from_multikey(key)
    except CredentialError as exc:
        raise CredentialError(f"verification method {verification_method!r}: {exc}") from None


@functools.lru_cache(maxsize=4096)
def ed25519_public(raw: bytes) -> Ed25519PublicKey:
    """The parsed public key object of raw bytes, kept so verifying does not parse again."""
    try:
        return Ed25519PublicKey.from_public_bytes(raw)
    except ValueError as exc:
        raise CredentialError(f"not an Ed25519 public key: {exc}") from None


def verify_signature(public: bytes, signature: bytes, data: bytes) -> bool:
    """True when `signature` is the Ed25519 signature of `data` by `public`."""
    try:
        ed25519_public(public).verify(signature, data)
    except InvalidSignature:
        return False
    return True


def did_key_document(did: str) -> dict:
    """The DID document of a did:key (Ed25519), its one key in Multikey form."""
    if not isinstance(did, str) or not did.startswith(DID_KEY) or "#" in did:
        raise CredentialError(f"{did!r} is not a did:key DID")
    key = did[len(DID_KEY):]
    public_from_multikey(key)
    method = f"{did}#{key}"
    return {
        "@context": list(DID_CONTEXTS),
        "id": did,
        "verificationMethod": [{"id": method, "type": "Multikey", "controller": did,
                                "publicKeyMultibase": key}],
        "authentication": [method],
        "assertionMethod": [method],
        "capabilityDelegation": [method],
        "capabilityInvocation": [method],
    }


@dataclass(frozen=True)
class IssuerKey:
    """An Ed25519 signing key named by its did:key. Build it with `generate`, `from_seed` or
    `from_secret_multibase`; the names below are computed once."""

    seed: bytes = field(repr=False)
    public: bytes = field(init=False, repr=False)
    public_multibase: str = field(init=False, repr=False)
    did: str = field(init=False)
    verification_method: str = field(init=False, repr=False)
    _private: Ed25519PrivateKey = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if not isinstance(self.seed, bytes) or len(self.seed) != 32:
            raise CredentialError("an Ed25519 seed is 32 bytes")
        private = Ed25519PrivateKey.from_private_bytes(self.seed)
        public = private.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
        key = multikey_public(public)
        for name, value in (("public", public), ("public_multibase", key),
                            ("did", DID_KEY + key), ("verification_method", f"{DID_KEY}{key}#{key}"),
                            ("_private", private)):
            object.__setattr__(self, name, value)

    @classmethod
    def from_seed(cls, seed: bytes) -> IssuerKey:
        return cls(seed)

    @classmethod
    def generate(cls) -> IssuerKey:
        return cls(Ed25519PrivateKey.generate().private_bytes(
            Encoding.Raw, PrivateFormat.Raw, NoEncryption()))

    @classmethod
    def from_secret_multibase(cls, text: str) -> IssuerKey:
        """A key from its Multikey secret ('z3u2...': multicodec 0x1300 + 32-byte seed)."""
        data = multibase.decode(text, base="z", pointer="secretKeyMultibase")
        if data[:2] != SECRET_PREFIX or len(data) != 34:
            raise CredentialError("not an Ed25519 Multikey secret key (multicodec 0x1300 + 32 "
                                  "bytes)", pointer="secretKeyMultibase")
        return cls(data[2:])

    def __reduce__(self) -> tuple:  # the parsed key object does not pickle; the seed does
        return (IssuerKey, (self.seed,))

    def secret_multibase(self) -> str:
        """The secret key as Multikey text: keep it out of logs and documents."""
        return multibase.encode(SECRET_PREFIX + self.seed)

    def sign(self, data: bytes) -> bytes:
        """The 64-byte Ed25519 signature of `data`."""
        return self._private.sign(data)
