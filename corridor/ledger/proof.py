"""C2SP tlog-proof receipts: entry (as extra data), index, inclusion proof, checkpoint."""

from __future__ import annotations

import base64
import binascii
from collections.abc import Sequence
from dataclasses import dataclass

from corridor.ledger.checkpoint import Checkpoint, CheckpointError, parse_checkpoint
from corridor.ledger.merkle import ProofError, leaf_hash, verify_inclusion
from corridor.ledger.note import NoteError, Verifier, open_note, verified_by
from corridor.ledger.policy import Policy

HEADER = "c2sp.org/tlog-proof@v1"


class ReceiptError(ValueError):
    """A receipt that is malformed or does not verify; the message says what and where."""


@dataclass(frozen=True)
class Receipt:
    index: int
    proof: list[bytes]
    checkpoint: bytes  # the signed note, verbatim
    extra: bytes | None = None

    def encode(self) -> bytes:
        lines = [HEADER]
        if self.extra is not None:
            lines.append("extra " + base64.b64encode(self.extra).decode())
        lines.append(f"index {self.index}")
        lines += [base64.b64encode(p).decode() for p in self.proof]
        return ("\n".join(lines) + "\n\n").encode() + self.checkpoint


def parse_receipt(data: bytes) -> Receipt:
    head, sep, checkpoint = data.partition(b"\n\n")
    if not sep:
        raise ReceiptError("receipt has no blank line before its checkpoint")
    try:
        lines = head.decode("ascii").split("\n")
    except UnicodeDecodeError as exc:
        raise ReceiptError(f"receipt header byte {exc.start} is not ASCII") from exc
    if lines[0] != HEADER:
        raise ReceiptError(f"line 1: expected {HEADER!r}")
    pos = 1
    extra = None
    try:
        if len(lines) > pos and lines[pos].startswith("extra "):
            extra = base64.b64decode(lines[pos][6:], validate=True)
            pos += 1
        if len(lines) <= pos or not lines[pos].startswith("index "):
            raise ReceiptError(f"line {pos + 1}: expected 'index N'")
        word = lines[pos][6:]
        if not word.isdigit() or (word != "0" and word.startswith("0")):
            raise ReceiptError(f"line {pos + 1}: index {word!r} is not a decimal number")
        index = int(word)
        proof = []
        for n, line in enumerate(lines[pos + 1:], pos + 2):
            value = base64.b64decode(line, validate=True)
            if len(value) != 32:
                raise ReceiptError(f"line {n}: proof hash has {len(value)} bytes")
            proof.append(value)
    except (binascii.Error, ValueError) as exc:
        if isinstance(exc, ReceiptError):
            raise
        raise ReceiptError(f"receipt header: invalid base64 ({exc})") from exc
    return Receipt(index, proof, checkpoint, extra)


def verify_receipt(receipt: Receipt, log: Verifier | Sequence[Verifier], policy: Policy,
                   entry: bytes | None = None) -> Checkpoint:
    """Check signature, witness quorum and inclusion of `entry` (default: the extra data).
    `log`: the log's key, or its keys over time where it was rotated (any one signs)."""
    keys = [log] if isinstance(log, Verifier) else list(log)
    if not keys:
        raise ReceiptError("no log key to check the checkpoint with")
    data = receipt.extra if entry is None else entry
    if data is None:
        raise ReceiptError("receipt carries no entry (extra line) and none was given")
    try:
        note, _ = open_note(receipt.checkpoint, keys)
        cp = parse_checkpoint(note.text)
    except (NoteError, CheckpointError) as exc:
        raise ReceiptError(f"checkpoint in receipt: {exc}") from exc
    if cp.origin != keys[0].name:
        raise ReceiptError(f"checkpoint origin {cp.origin!r} is not the log {keys[0].name!r}")
    try:
        witnesses = verified_by(note, policy.witness_verifiers())
    except NoteError as exc:
        raise ReceiptError(f"checkpoint in receipt: cosignature: {exc}") from exc
    if not policy.satisfied(policy.names_for(witnesses)):
        have = ", ".join(v.name for v in witnesses) or "none"
        raise ReceiptError(f"checkpoint size {cp.size} lacks the witness quorum "
                           f"(valid cosignatures from: {have})")
    try:
        verify_inclusion(receipt.index, cp.size, leaf_hash(data), receipt.proof, cp.root)
    except ProofError as exc:
        raise ReceiptError(f"inclusion of entry {receipt.index}: {exc}") from exc
    return cp
