"""corridor.ledger: the verifiable log's pure parts (no HTTP server, no database).

merkle (RFC 9162 hashing and proofs), tiles (C2SP tlog-tiles), note (signed notes, keys,
cosignatures), checkpoint, proof (tlog-proof receipts), policy (tlog-policy), witness
(tlog-witness logic), verify (whole-log verification), entry (log entry format),
entry_document (the document an entry's digest covers, and an event as a user holds it
matched to it), jcs (RFC 8785). The network edge is transport; the database side is corridor.store.ledger_store;
the running log (signing schedule, witness pushes, quorum) is corridor.node.
"""

from corridor.ledger.checkpoint import Checkpoint, parse_checkpoint
from corridor.ledger.entry import EntryError, LogEntry
from corridor.ledger.jcs import canonicalize, document_digest
from corridor.ledger.merkle import ProofError, leaf_hash, verify_consistency, verify_inclusion
from corridor.ledger.note import NoteError, generate_signer, parse_skey, parse_vkey
from corridor.ledger.proof import ReceiptError, parse_receipt, verify_receipt

__all__ = [
    "Checkpoint", "EntryError", "LogEntry", "NoteError", "ProofError", "ReceiptError",
    "canonicalize", "document_digest", "generate_signer", "leaf_hash", "parse_checkpoint",
    "parse_receipt", "parse_skey", "parse_vkey", "verify_consistency", "verify_inclusion",
    "verify_receipt",
]
