"""corridor.ledger: the verifiable log's pure parts (no HTTP server, no database).

merkle (RFC 9162 hashing and proofs), tiles (C2SP tlog-tiles), note (signed notes, keys,
cosignatures), checkpoint, proof (tlog-proof receipts), policy (tlog-policy), witness
(tlog-witness logic), verify (whole-log verification), entry (log entry format), jcs
(RFC 8785). The network edge is transport; the database side is corridor.store.ledger_store;
the running log (signing schedule, witness pushes, quorum) is corridor.node.
"""

from corridor.ledger.checkpoint import Checkpoint, parse_checkpoint  # noqa: F401
from corridor.ledger.entry import EntryError, LogEntry  # noqa: F401
from corridor.ledger.jcs import canonicalize, document_digest  # noqa: F401
from corridor.ledger.merkle import (  # noqa: F401
    ProofError,
    leaf_hash,
    verify_consistency,
    verify_inclusion,
)
from corridor.ledger.note import NoteError, generate_signer, parse_skey, parse_vkey  # noqa: F401
from corridor.ledger.proof import ReceiptError, parse_receipt, verify_receipt  # noqa: F401
