"""`GS1-Signature` on webhook deliveries.

The REST binding leaves the scheme to the implementation and names HMAC with SHA-256 as an
example; we send `GS1-Signature: sha256=<lowercase hex HMAC-SHA256(body, signatureToken)>`,
computed over the exact bytes of the request body. Receivers recompute and compare in
constant time (`verify`).
"""

from __future__ import annotations

import hashlib
import hmac

PREFIX = "sha256="


def sign(body: bytes, secret: str) -> str:
    digest = hmac.new(secret.encode("utf-8"), body, hashlib.sha256).hexdigest()
    return PREFIX + digest


def verify(body: bytes, secret: str, header: str | None) -> bool:
    if not header:
        return False
    return hmac.compare_digest(sign(body, secret), header.strip())
