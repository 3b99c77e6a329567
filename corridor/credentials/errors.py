"""The one error of corridor.credentials."""

from __future__ import annotations


class CredentialError(ValueError):
    """A credential, proof, key or status list that is malformed or does not verify.

    The message names the field (a JSON pointer such as ``/proof/proofValue``) and what is wrong
    with it; ``pointer`` keeps the field apart for callers that render problems.
    """

    def __init__(self, message: str, *, pointer: str | None = None) -> None:
        self.pointer = pointer
        super().__init__(f"{pointer}: {message}" if pointer else message)
