"""Multibase text for keys, signatures and status lists: base58btc ('z') and base64url without
padding ('u'), the two bases the W3C Data Integrity and Bitstring Status List specs use."""

from __future__ import annotations

import base64
import binascii

from corridor.credentials.errors import CredentialError

ALPHABET = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"
_INDEX = {c: i for i, c in enumerate(ALPHABET)}
# Ten base-58 digits fit in 64 bits: work in chunks of ten to keep big-integer steps few.
_CHUNK = 10
_CHUNK_BASE = 58 ** _CHUNK


def b58encode(data: bytes) -> str:
    """Bitcoin base58 of `data` (leading zero bytes become leading '1's)."""
    zeros = len(data) - len(data.lstrip(b"\0"))
    n = int.from_bytes(data, "big")
    chunks: list[str] = []
    while n:
        n, chunk = divmod(n, _CHUNK_BASE)
        digits = []
        for _ in range(_CHUNK):
            chunk, r = divmod(chunk, 58)
            digits.append(ALPHABET[r])
        chunks.append("".join(reversed(digits)))
    body = "".join(reversed(chunks)).lstrip("1")
    return "1" * zeros + body


def b58decode(text: str, *, pointer: str | None = None) -> bytes:
    """The bytes of Bitcoin base58 `text`; CredentialError for a character outside the
    alphabet."""
    n = 0
    head = len(text) % _CHUNK or _CHUNK
    try:
        for start, end in ((0, head), *((i, i + _CHUNK) for i in range(head, len(text), _CHUNK))):
            chunk = 0
            for c in text[start:end]:
                chunk = chunk * 58 + _INDEX[c]
            n = n * 58 ** (end - start) + chunk
    except KeyError as exc:
        raise CredentialError(f"{exc.args[0]!r} is not a base58btc character",
                              pointer=pointer) from None
    zeros = len(text) - len(text.lstrip("1"))
    body = n.to_bytes((n.bit_length() + 7) // 8, "big") if n else b""
    return b"\0" * zeros + body


def encode(data: bytes, base: str = "z") -> str:
    """Multibase text of `data`: 'z' base58btc or 'u' base64url without padding."""
    if base == "z":
        return "z" + b58encode(data)
    if base == "u":
        return "u" + base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")
    raise ValueError(f"unsupported multibase prefix {base!r}")


def decode(text: object, *, base: str | None = None, pointer: str | None = None) -> bytes:
    """The bytes of multibase `text`, which must use `base` ('z' or 'u') when given."""
    if not isinstance(text, str) or not text:
        raise CredentialError("expected a multibase string", pointer=pointer)
    prefix, body = text[0], text[1:]
    if base is not None and prefix != base:
        raise CredentialError(f"expected multibase prefix {base!r}, found {prefix!r}",
                              pointer=pointer)
    if prefix == "z":
        return b58decode(body, pointer=pointer)
    if prefix == "u":
        if "=" in body or "+" in body or "/" in body:
            raise CredentialError("base64url must be unpadded and use '-' and '_'",
                                  pointer=pointer)
        try:
            return base64.b64decode(body + "=" * (-len(body) % 4), altchars=b"-_",
                                    validate=True)
        except (binascii.Error, ValueError) as exc:
            raise CredentialError(f"not base64url: {exc}", pointer=pointer) from None
    raise CredentialError(f"unsupported multibase prefix {prefix!r}", pointer=pointer)
