"""A log entry as anyone may see it: public log data only, never the private event.

The public log (C2SP tlog-tiles, /log/...) already serves every entry, the tree's hashes and
signed checkpoints to anyone; this is the same data for one index, on a page: the entry
(corridor/entry/v1: Event Hash ID, document digest, capturing party identifier, record time),
its leaf hash (RFC 9162: SHA-256 of 0x00 and the entry), the inclusion proof up to the newest
checkpoint the node serves, and that checkpoint. The event itself (what, where, when, why) is
shown only to a viewer that may read it (corridor.web.views.event_page)."""

from __future__ import annotations

import base64
from dataclasses import dataclass

from corridor.ledger.checkpoint import CheckpointError, parse_checkpoint
from corridor.ledger.merkle import ProofError, leaf_hash, verify_inclusion
from corridor.ledger.note import NoteError, parse_note
from corridor.node import RunningLog


@dataclass(frozen=True)
class LogEntryView:
    index: int
    entry: str  # the entry's text, as hashed into the leaf
    leaf_hash_hex: str
    leaf_hash_b64: str
    tree_size: int | None  # of the checkpoint the proof leads to; None before one covers it
    proof: tuple[str, ...]  # base64 hashes, leaf to root (RFC 9162 inclusion proof)
    checkpoint: str | None  # the signed note, verbatim
    proof_checks: bool  # the proof leads from the leaf hash to the checkpoint's root


def log_entry(ledger: RunningLog | None, index: int) -> LogEntryView | None:
    """The entry at `index` with its proof (blocking: run it in a worker thread); None when
    the log holds no such entry."""
    if ledger is None or not 0 <= index < ledger.size():
        return None
    entry = ledger.entry(index)
    if entry is None:
        return None
    leaf = leaf_hash(entry)
    note = ledger.checkpoint()
    size = proof_checks = None
    proof: list[bytes] = []
    if note is not None:
        try:
            cp = parse_checkpoint(parse_note(note).text)
        except (CheckpointError, NoteError):
            cp = None
        if cp is not None and index < cp.size:
            size = cp.size
            proof = ledger.inclusion_proof(index, cp.size)
            try:
                verify_inclusion(index, cp.size, leaf, proof, cp.root)
                proof_checks = True
            except ProofError:
                proof_checks = False
    return LogEntryView(
        index, entry.decode("utf-8", "replace"), leaf.hex(), base64.b64encode(leaf).decode(),
        size, tuple(base64.b64encode(p).decode() for p in proof),
        note.decode("utf-8", "replace") if note is not None and size is not None else None,
        bool(proof_checks))
