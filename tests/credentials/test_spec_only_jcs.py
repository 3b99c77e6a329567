"""A second, minimal eddsa-jcs-2022 verifier, written here from the W3C text alone.

It follows "Verify Proof (eddsa-jcs-2022)" and the sections it calls (Transformation, Proof
Configuration, Hashing, Proof Verification) of Data Integrity EdDSA Cryptosuites v1.0, with
its own base58btc decoder, its own RFC 8785 canonicalization of the JSON values credentials use,
did:key resolution of an Ed25519 key (multicodec 0xed01) and Ed25519 from `cryptography`. It
imports nothing of Corridor: Corridor's credentials come from the fixtures of conftest.py.
It must accept the W3C test vector and Corridor's eddsa-jcs-2022 credentials, and reject every
single-field tampering of them.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
from pathlib import Path
from typing import Any

import pytest
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from tests.credentials.tampering import key_substitution, tamperings


class Rejected(Exception):
    """The proof does not verify; the message says which step failed."""


# --- base58btc (the Bitcoin alphabet), as multibase 'z' uses it -----------------------------

_B58 = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"


def base58btc_decode(text: str) -> bytes:
    number = 0
    for ch in text:
        digit = _B58.find(ch)
        if digit < 0:
            raise Rejected(f"{ch!r} is not a base58btc character")
        number = number * 58 + digit
    body = number.to_bytes((number.bit_length() + 7) // 8, "big") if number else b""
    # each leading '1' stands for one leading zero byte
    zeros = len(text) - len(text.lstrip("1"))
    return b"\x00" * zeros + body


# --- RFC 8785 JSON Canonicalization Scheme ---------------------------------------------------

_ESCAPES = {'"': '\\"', "\\": "\\\\", "\b": "\\b", "\f": "\\f", "\n": "\\n", "\r": "\\r",
            "\t": "\\t"}


def _string(text: str) -> str:
    out = ['"']
    for ch in text:
        if ch in _ESCAPES:
            out.append(_ESCAPES[ch])
        elif ord(ch) < 0x20:
            out.append(f"\\u{ord(ch):04x}")
        elif 0xD800 <= ord(ch) <= 0xDFFF:
            raise Rejected("lone surrogate in a string")
        else:
            out.append(ch)
    out.append('"')
    return "".join(out)


def _number(value: float) -> str:
    """ECMAScript Number::toString, which RFC 8785 section 3.2.2.3 prescribes."""
    if math.isnan(value) or math.isinf(value):
        raise Rejected("NaN and Infinity are not JSON numbers")
    if value == 0:
        return "0"
    sign = "-" if value < 0 else ""
    # Python's repr is the shortest decimal that round-trips, the digits ECMAScript picks too.
    mantissa, _, exponent = repr(abs(value)).partition("e")
    whole, _, fraction = mantissa.partition(".")
    digits = whole + fraction
    n = len(whole) + int(exponent or 0)  # value = 0.digits * 10**n
    stripped = digits.lstrip("0")
    n -= len(digits) - len(stripped)
    digits = stripped.rstrip("0")
    k = len(digits)
    if k <= n <= 21:
        return sign + digits + "0" * (n - k)
    if 0 < n <= 21:
        return sign + digits[:n] + "." + digits[n:]
    if -6 < n <= 0:
        return sign + "0." + "0" * -n + digits
    e = n - 1
    head = digits[0] + ("." + digits[1:] if k > 1 else "")
    return f"{sign}{head}e{'+' if e >= 0 else '-'}{abs(e)}"


def _jcs(value: Any) -> str:
    if value is None:
        return "null"
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, int | float):
        return _number(float(value))
    if isinstance(value, str):
        return _string(value)
    if isinstance(value, list):
        return "[" + ",".join(_jcs(v) for v in value) + "]"
    if isinstance(value, dict):
        # members sorted by their names as arrays of UTF-16 code units
        names = sorted(value, key=lambda name: name.encode("utf-16-be"))
        return "{" + ",".join(_string(k) + ":" + _jcs(value[k]) for k in names) + "}"
    raise Rejected(f"{type(value).__name__} is not a JSON value")


def jcs(value: Any) -> bytes:
    return _jcs(value).encode("utf-8")


# --- the verification method: did:key with an Ed25519 Multikey ------------------------------

def did_key_public_key(verification_method: str) -> bytes:
    did, _, fragment = verification_method.partition("#")
    if not did.startswith("did:key:z"):
        raise Rejected(f"verification method {verification_method!r} is not a did:key")
    fingerprint = did[len("did:key:"):]
    if fragment and fragment != fingerprint:
        raise Rejected("did:key fragment is not the key's fingerprint")
    raw = base58btc_decode(fingerprint[1:])
    if raw[:2] != b"\xed\x01" or len(raw) != 34:
        raise Rejected("did:key is not an Ed25519 public key (multicodec 0xed01, 32 bytes)")
    return raw[2:]


# --- Verify Proof (eddsa-jcs-2022) -----------------------------------------------------------

# XML Schema 1.1 dateTime (with optional fraction and time zone)
_XSD_DATETIME = re.compile(
    r"-?\d{4,}-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])T([01]\d|2[0-3]):[0-5]\d:[0-5]\d(\.\d+)?"
    r"(Z|[+-](0\d|1[0-3]):[0-5]\d|[+-]14:00)?$")


def _proof_config(options: dict[str, Any]) -> bytes:
    if options.get("type") != "DataIntegrityProof" or \
            options.get("cryptosuite") != "eddsa-jcs-2022":
        raise Rejected("proof is not a DataIntegrityProof with cryptosuite eddsa-jcs-2022")
    created = options.get("created")
    if created is not None and not (isinstance(created, str) and _XSD_DATETIME.match(created)):
        raise Rejected(f"proof created {created!r} is not an XML Schema dateTime")
    return jcs(options)


def verify_jcs(secured: dict[str, Any]) -> None:
    """Raises Rejected unless `secured` carries a valid eddsa-jcs-2022 proof."""
    proof = secured.get("proof")
    if not isinstance(proof, dict):
        raise Rejected("no single proof")
    unsecured = {k: v for k, v in secured.items() if k != "proof"}
    options = {k: v for k, v in proof.items() if k != "proofValue"}
    value = proof.get("proofValue")
    if not (isinstance(value, str) and value.startswith("z")):
        raise Rejected("proofValue is not base58btc multibase")
    proof_bytes = base58btc_decode(value[1:])
    if "@context" in options:
        context = options["@context"]
        wanted = context if isinstance(context, list) else [context]
        have = unsecured.get("@context")
        have = have if isinstance(have, list) else [have]
        if have[:len(wanted)] != wanted:
            raise Rejected("document @context does not start with the proof's @context")
        unsecured["@context"] = context
    transformed = jcs(unsecured)  # Transformation also requires type and cryptosuite: below
    config = _proof_config(options)
    hash_data = hashlib.sha256(config).digest() + hashlib.sha256(transformed).digest()
    public = did_key_public_key(str(options.get("verificationMethod", "")))
    if len(proof_bytes) != 64:
        raise Rejected(f"signature has {len(proof_bytes)} bytes, not 64")
    try:
        Ed25519PublicKey.from_public_bytes(public).verify(proof_bytes, hash_data)
    except InvalidSignature:
        raise Rejected("signature does not match") from None


def _check_all_rejected(secured: dict[str, Any]) -> int:
    accepted = []
    cases = [*tamperings(secured), ("other key", key_substitution(secured))]
    for label, tampered in cases:
        try:
            verify_jcs(tampered)
        except Rejected:
            continue
        accepted.append(label)
    assert not accepted, f"tampered documents accepted: {accepted}"
    return len(cases)


# --- the tests -------------------------------------------------------------------------------

@pytest.mark.parametrize(("value", "text"), [
    (0, "0"), (-0.0, "0"), (1, "1"), (-1, "-1"), (4.50, "4.5"), (2e-3, "0.002"),
    (333333333.33333329, "333333333.3333333"), (1e30, "1e+30"), (1e21, "1e+21"),
    (1e20, "100000000000000000000"), (1e-6, "0.000001"), (1e-7, "1e-7"), (1e-27, "1e-27"),
    (9007199254740992, "9007199254740992"), (295147905179352830000.0, "295147905179352830000"),
    (-5e-324, "-5e-324"), (1.7976931348623157e308, "1.7976931348623157e+308"),
    (0.1 + 0.2, "0.30000000000000004"), (123.456, "123.456"),
])
def test_jcs_numbers_as_ecmascript_writes_them(value: float, text: str) -> None:
    assert jcs(value) == text.encode()


def test_jcs_strings_and_member_order() -> None:
    value = {"\u20ac": 1, "\r": 2, "\ufb33": 3, "1": 4, "\U0001f600": 5, "\u0080": 6,
             "\u00f6": 7, "s": "\u00e9\n\x0f\"\\/\u2028"}
    expected = ('{"\\r":2,"1":4,"s":"\u00e9\\n\\u000f\\"\\\\/\u2028","\u0080":6,"\u00f6":7,'
                '"\u20ac":1,"\U0001f600":5,"\ufb33":3}')
    assert jcs(value) == expected.encode("utf-8")


def test_base58btc_decoder() -> None:
    assert base58btc_decode("") == b""
    assert base58btc_decode("1112") == b"\x00\x00\x00\x01"
    assert base58btc_decode("StV1DL6CwTryKyV") == b"hello world"


@pytest.mark.conformance
def test_w3c_vector_accepted_and_tamperings_rejected(conformance: Path) -> None:
    folder = conformance / "vc" / "TestVectors" / "eddsa-jcs-2022"
    signed = json.loads((folder / "signedJCS.json").read_text())
    unsigned = {k: v for k, v in signed.items() if k != "proof"}
    # the intermediate values the spec's appendix publishes
    assert jcs(unsigned) == (folder / "canonDocJCS.txt").read_bytes().strip()
    options = json.loads((folder / "proofConfigJCS.json").read_text())
    assert jcs(options) == (folder / "proofCanonJCS.txt").read_bytes().strip()
    verify_jcs(signed)
    assert _check_all_rejected(signed) > 20


def test_corridor_jcs_credentials_accepted(corridor_credentials: dict[str, Any]) -> None:
    for name, secured in corridor_credentials["eddsa-jcs-2022"].items():
        verify_jcs(secured)
        # what makes it the issuer's: the key's DID is the issuer
        issuer = secured["issuer"]
        issuer = issuer["id"] if isinstance(issuer, dict) else issuer
        assert secured["proof"]["verificationMethod"].split("#")[0] == issuer, name


def test_corridor_jcs_tamperings_rejected(corridor_credentials: dict[str, Any]) -> None:
    for secured in corridor_credentials["eddsa-jcs-2022"].values():
        assert _check_all_rejected(secured) > 30
    # a changed figure, or another key named as the issuer's, fails on the signature itself
    green = corridor_credentials["eddsa-jcs-2022"]["GreenMetalCredential"]
    changed = {**green, "credentialSubject": {**green["credentialSubject"], "netMass": 25.5}}
    for document in (changed, key_substitution(green)):
        with pytest.raises(Rejected, match="signature does not match"):
            verify_jcs(document)
