"""W3C Bitstring Status List v1.0: one bit per credential, index 0 the left-most (most
significant) bit of byte 0, the list GZIP-compressed and multibase base64url ('u', no padding).
"""

from __future__ import annotations

import struct
import zlib

from corridor.credentials import multibase
from corridor.credentials.errors import CredentialError

MIN_ENTRIES = 131_072  # the spec's minimum: 16 KB uncompressed, for herd privacy
# Decompression stops here (a hostile list could inflate without bound): 16 MiB is
# 128 Mi entries, a thousand times the minimum.
MAX_BYTES = 16 * 1024 * 1024
VC_CONTEXT = "https://www.w3.org/ns/credentials/v2"
PURPOSES = ("refresh", "revocation", "suspension", "message")
# GZIP header (RFC 1952): magic, deflate, no flags, no time, no extra flags, OS 3 (Unix), as
# the spec's example (and common JavaScript encoders) write it; the output is then repeatable.
_GZIP_HEADER = b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\x03"


def new_list(entries: int = MIN_ENTRIES) -> bytearray:
    """An all-zero list of at least `entries` bits (MIN_ENTRIES at least)."""
    return bytearray((max(entries, MIN_ENTRIES) + 7) // 8)


def encode_list(bits: bytes) -> str:
    """The `encodedList` text of a bitstring: GZIP, then multibase base64url."""
    if len(bits) * 8 < MIN_ENTRIES:
        raise CredentialError(f"a status list has at least {MIN_ENTRIES} entries, "
                              f"not {len(bits) * 8}", pointer="/credentialSubject/encodedList")
    deflate = zlib.compressobj(6, zlib.DEFLATED, -15)
    body = deflate.compress(bytes(bits)) + deflate.flush()
    trailer = struct.pack("<II", zlib.crc32(bits), len(bits) & 0xFFFFFFFF)
    return multibase.encode(_GZIP_HEADER + body + trailer, "u")


def decode_list(text: str) -> bytearray:
    """The bitstring of an `encodedList`; CredentialError if it is malformed or shorter than
    MIN_ENTRIES."""
    pointer = "/credentialSubject/encodedList"
    data = multibase.decode(text, base="u", pointer=pointer)
    inflate = zlib.decompressobj(16 + zlib.MAX_WBITS)  # GZIP framing, checks CRC and size
    try:
        bits = inflate.decompress(data, MAX_BYTES)
        if inflate.unconsumed_tail:
            raise CredentialError(f"inflates beyond {MAX_BYTES} bytes", pointer=pointer)
        bits += inflate.flush()
    except zlib.error as exc:
        raise CredentialError(f"not GZIP data: {exc}", pointer=pointer) from None
    if not inflate.eof:
        raise CredentialError("truncated GZIP data", pointer=pointer)
    if len(bits) * 8 < MIN_ENTRIES:
        raise CredentialError(f"{len(bits) * 8} entries, fewer than the minimum {MIN_ENTRIES}",
                              pointer=pointer)
    return bytearray(bits)


def _place(bits: bytes, index: int) -> tuple[int, int]:
    if not isinstance(index, int) or isinstance(index, bool) or not 0 <= index < len(bits) * 8:
        raise CredentialError(f"index {index!r} is outside the list of {len(bits) * 8} entries",
                              pointer="/credentialStatus/statusListIndex")
    return index >> 3, 0x80 >> (index & 7)


def bit(bits: bytes, index: int) -> bool:
    """The status bit at `index` (0 is the most significant bit of byte 0)."""
    byte, mask = _place(bits, index)
    return bool(bits[byte] & mask)


def set_bit(bits: bytearray, index: int, value: bool = True) -> None:
    """Set or clear the status bit at `index`."""
    byte, mask = _place(bits, index)
    if value:
        bits[byte] |= mask
    else:
        bits[byte] &= ~mask & 0xFF


def status_entry(list_url: str, index: int, purpose: str = "revocation") -> dict:
    """The `credentialStatus` of a credential at `index` in the list at `list_url`."""
    if purpose not in PURPOSES:
        raise CredentialError(f"unknown status purpose {purpose!r}",
                              pointer="/credentialStatus/statusPurpose")
    if isinstance(index, bool) or not isinstance(index, int) or index < 0:
        raise CredentialError(f"index {index!r} is not a non-negative integer",
                              pointer="/credentialStatus/statusListIndex")
    return {"id": f"{list_url}#{index}", "type": "BitstringStatusListEntry",
            "statusPurpose": purpose, "statusListIndex": str(index),
            "statusListCredential": list_url}


def status_list_credential(list_url: str, issuer: str | dict, encoded: str, valid_from: str,
                           purpose: str = "revocation", *, valid_until: str | None = None
                           ) -> dict:
    """The unsigned BitstringStatusListCredential publishing `encoded` at `list_url`."""
    if purpose not in PURPOSES:
        raise CredentialError(f"unknown status purpose {purpose!r}",
                              pointer="/credentialSubject/statusPurpose")
    credential: dict = {
        "@context": [VC_CONTEXT],
        "id": list_url,
        "type": ["VerifiableCredential", "BitstringStatusListCredential"],
        "issuer": issuer,
        "validFrom": valid_from,
    }
    if valid_until is not None:
        credential["validUntil"] = valid_until
    credential["credentialSubject"] = {"id": f"{list_url}#list", "type": "BitstringStatusList",
                                       "statusPurpose": purpose, "encodedList": encoded}
    return credential
