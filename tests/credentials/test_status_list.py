"""Bitstring Status List v1.0: encoding, bit order, limits and the documents."""

from __future__ import annotations

import gzip

import pytest
from hypothesis import given
from hypothesis import strategies as st

from corridor.credentials import (
    MIN_ENTRIES,
    CredentialError,
    IssuerKey,
    add_proof,
    bit,
    decode_list,
    encode_list,
    multibase,
    new_list,
    set_bit,
    status_entry,
    status_list_credential,
    verify_proof,
)
from corridor.credentials.status_list import MAX_BYTES

# The encodedList of the spec's examples: 131,072 entries, none set.
SPEC_LIST = "uH4sIAAAAAAAAA-3BMQEAAADCoPVPbQwfoAAAAAAAAAAAAAAAAAAAAIC3AYbSVKsAQAAA"


def test_spec_example_decodes_to_an_empty_list() -> None:
    bits = decode_list(SPEC_LIST)
    assert len(bits) == 16 * 1024 and len(bits) * 8 == MIN_ENTRIES == 131_072
    assert not any(bits)


def test_empty_list_encodes_as_the_spec_example() -> None:
    assert encode_list(new_list()) == SPEC_LIST


def test_bit_order_left_most_first() -> None:
    bits = new_list()
    set_bit(bits, 0)
    assert bits[0] == 0x80
    set_bit(bits, 7)
    assert bits[0] == 0x81
    set_bit(bits, 8)
    assert bits[1] == 0x80
    set_bit(bits, MIN_ENTRIES - 1)
    assert bits[-1] == 0x01
    assert [bit(bits, i) for i in (0, 1, 7, 8, 9, MIN_ENTRIES - 1)] == [
        True, False, True, True, False, True]
    set_bit(bits, 0, False)
    assert bits[0] == 0x01 and not bit(bits, 0)


@given(st.sets(st.integers(0, MIN_ENTRIES - 1), max_size=50))
def test_round_trip(indexes: set[int]) -> None:
    bits = new_list()
    for i in indexes:
        set_bit(bits, i)
    text = encode_list(bits)
    assert text.startswith("u") and "=" not in text
    back = decode_list(text)
    assert back == bits
    assert {i for i in range(MIN_ENTRIES) if bit(back, i)} == indexes
    assert gzip.decompress(multibase.decode(text)) == bits  # plain GZIP, any reader


def test_lengths() -> None:
    assert len(new_list(10)) * 8 == MIN_ENTRIES
    assert len(new_list(MIN_ENTRIES + 1)) == MIN_ENTRIES // 8 + 1
    with pytest.raises(CredentialError, match="at least 131072 entries"):
        encode_list(bytes(100))
    short = multibase.encode(gzip.compress(bytes(1000)), "u")
    with pytest.raises(CredentialError, match="fewer than the minimum"):
        decode_list(short)


@pytest.mark.parametrize("index", [-1, MIN_ENTRIES, True, "3"])
def test_index_outside(index: object) -> None:
    with pytest.raises(CredentialError, match="statusListIndex"):
        bit(new_list(), index)  # type: ignore[arg-type]
    with pytest.raises(CredentialError, match="statusListIndex"):
        set_bit(new_list(), index)  # type: ignore[arg-type]


@pytest.mark.parametrize("text,problem", [
    ("zabc", "expected multibase prefix 'u'"),
    ("u" + "A" * 40, "not GZIP data"),
    (SPEC_LIST[:-12], "truncated GZIP data"),
])
def test_malformed_lists(text: str, problem: str) -> None:
    with pytest.raises(CredentialError, match=problem):
        decode_list(text)


def test_decompression_is_bounded() -> None:
    bomb = multibase.encode(gzip.compress(bytes(MAX_BYTES + 1024)), "u")
    with pytest.raises(CredentialError, match="inflates beyond"):
        decode_list(bomb)


def test_status_entry() -> None:
    url = "https://example.com/credentials/status/3"
    assert status_entry(url, 94567) == {
        "id": "https://example.com/credentials/status/3#94567",
        "type": "BitstringStatusListEntry",
        "statusPurpose": "revocation",
        "statusListIndex": "94567",
        "statusListCredential": "https://example.com/credentials/status/3",
    }
    assert status_entry(url, 0, "suspension")["statusPurpose"] == "suspension"
    with pytest.raises(CredentialError, match="statusPurpose"):
        status_entry(url, 1, "expiry")
    with pytest.raises(CredentialError, match="statusListIndex"):
        status_entry(url, -1)


def test_status_list_credential_as_the_spec_shows() -> None:
    url = "https://example.com/credentials/status/3"
    cred = status_list_credential(url, "did:example:12345", SPEC_LIST, "2021-04-05T14:27:40Z")
    assert cred == {
        "@context": ["https://www.w3.org/ns/credentials/v2"],
        "id": url,
        "type": ["VerifiableCredential", "BitstringStatusListCredential"],
        "issuer": "did:example:12345",
        "validFrom": "2021-04-05T14:27:40Z",
        "credentialSubject": {
            "id": f"{url}#list",
            "type": "BitstringStatusList",
            "statusPurpose": "revocation",
            "encodedList": SPEC_LIST,
        },
    }
    later = status_list_credential(url, {"id": "did:example:12345"}, SPEC_LIST,
                                   "2021-04-05T14:27:40Z", "suspension",
                                   valid_until="2021-05-05T14:27:40Z")
    assert later["validUntil"] == "2021-05-05T14:27:40Z"
    assert later["credentialSubject"]["statusPurpose"] == "suspension"


@pytest.mark.parametrize("suite", ["eddsa-jcs-2022", "eddsa-rdfc-2022"])
def test_status_list_credential_signs(suite: str) -> None:
    """Every term of the status list credential is defined by the VC 2.0 context, so it also
    signs under eddsa-rdfc-2022's safe canonicalization."""
    key = IssuerKey.generate()
    bits = new_list()
    set_bit(bits, 42)
    cred = status_list_credential("https://node.example/credentials/status/1", key.did,
                                  encode_list(bits), "2025-05-29T12:00:00Z")
    signed = add_proof(cred, key, cryptosuite=suite)
    assert verify_proof(signed).cryptosuite == suite
    assert bit(decode_list(signed["credentialSubject"]["encodedList"]), 42)
