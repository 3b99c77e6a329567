"""Ed25519 Multikey and did:key, and the multibase text under them."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from corridor.credentials import (
    CredentialError,
    IssuerKey,
    did_key_document,
    expand_strict,
    multibase,
    public_key_for,
)
from corridor.credentials.keys import (
    ed25519_public,
    multikey_public,
    public_from_multikey,
    verify_signature,
)

# The key pair of the vc-di-eddsa examples and test vectors (keyPair.json).
PUBLIC = "z6MkrJVnaZkeFzdQyMZu1cgjg7k1pZZ6pvBQ7XJPt4swbTQ2"
SECRET = "z3u2en7t5LR2WtQH5PfFqMqwVHBeXouLzo6haApm8XHqvjxq"
DID = f"did:key:{PUBLIC}"


def test_spec_key_pair() -> None:
    key = IssuerKey.from_secret_multibase(SECRET)
    assert key.public_multibase == PUBLIC
    assert key.did == DID
    assert key.verification_method == f"{DID}#{PUBLIC}"
    assert key.secret_multibase() == SECRET
    assert multikey_public(key.public) == PUBLIC
    assert public_from_multikey(PUBLIC) == key.public
    assert IssuerKey.from_seed(key.seed) == key
    assert SECRET not in repr(key) and key.seed.hex() not in repr(key)


def test_generated_keys_sign_and_verify() -> None:
    key = IssuerKey.generate()
    assert key.did.startswith("did:key:z6Mk")
    signature = key.sign(b"hash data")
    assert len(signature) == 64
    assert verify_signature(key.public, signature, b"hash data")
    assert not verify_signature(key.public, signature, b"other data")
    assert IssuerKey.from_secret_multibase(key.secret_multibase()) == key
    assert IssuerKey.generate() != key


def test_public_key_for_did_key() -> None:
    raw = public_from_multikey(PUBLIC)
    assert public_key_for(DID) == raw
    assert public_key_for(f"{DID}#{PUBLIC}") == raw
    before = public_key_for.cache_info().hits
    public_key_for(f"{DID}#{PUBLIC}")
    assert public_key_for.cache_info().hits == before + 1
    assert ed25519_public(raw) is ed25519_public(raw)  # parsed once


@pytest.mark.parametrize("method,problem", [
    ("did:web:issuer.example#key-1", "only did:key"),
    ("https://vc.example/issuers/5678#key-0", "only did:key"),
    (f"{DID}#key-1", "must repeat its key"),
    ("did:key:zDnaegE6RR3atJtHKwTRTWHsJ3kNHqFwv7n9YjTgmU7TyfU76", "not an Ed25519 Multikey"),
    ("did:key:z6MkrJVnaZkeFzdQyMZu1cgjg7k1pZZ6pvBQ7XJPt4swbTQ0", "not a base58btc character"),
    ("did:key:u7QE", "expected multibase prefix 'z'"),
    ("did:key:", "expected a multibase string"),
])
def test_public_key_for_refuses(method: str, problem: str) -> None:
    with pytest.raises(CredentialError, match=problem):
        public_key_for(method)


def test_secret_key_checks() -> None:
    with pytest.raises(CredentialError, match="not an Ed25519 Multikey secret key"):
        IssuerKey.from_secret_multibase(PUBLIC)  # a public key is no secret
    with pytest.raises(CredentialError, match="32 bytes"):
        IssuerKey.from_seed(b"\1" * 31)


def test_did_key_document() -> None:
    doc = did_key_document(DID)
    method = f"{DID}#{PUBLIC}"
    assert doc["@context"] == ["https://www.w3.org/ns/did/v1",
                               "https://w3id.org/security/multikey/v1"]
    assert doc["id"] == DID
    assert doc["verificationMethod"] == [{"id": method, "type": "Multikey", "controller": DID,
                                          "publicKeyMultibase": PUBLIC}]
    for relation in ("authentication", "assertionMethod", "capabilityDelegation",
                     "capabilityInvocation"):
        assert doc[relation] == [method]
    expand_strict(doc)  # every term defined by the shipped DID and Multikey contexts
    with pytest.raises(CredentialError):
        did_key_document(f"{DID}#{PUBLIC}")
    with pytest.raises(CredentialError):
        did_key_document("did:web:issuer.example")


def test_base58_known_values() -> None:
    assert multibase.b58encode(b"Hello World!") == "2NEpo7TZRRrLZSi2U"
    assert multibase.b58encode(b"\0\0\x01") == "112"
    assert multibase.b58encode(b"") == ""
    assert multibase.b58decode("112") == b"\0\0\x01"
    assert multibase.b58decode("") == b""
    assert multibase.encode(b"\xff\x00", "u") == "u_wA"
    assert multibase.decode("u_wA") == b"\xff\x00"


@given(st.binary(max_size=80))
def test_multibase_round_trip(data: bytes) -> None:
    for base in ("z", "u"):
        assert multibase.decode(multibase.encode(data, base), base=base) == data


@pytest.mark.parametrize("text,problem", [
    ("u_wA=", "unpadded"), ("u/wA", "unpadded"), ("uA", "not base64url"),
    ("z0OIl", "not a base58btc character"), ("mAAA", "unsupported multibase prefix"),
    ("", "expected a multibase string"),
])
def test_multibase_refuses(text: str, problem: str) -> None:
    with pytest.raises(CredentialError, match=problem):
        multibase.decode(text)
