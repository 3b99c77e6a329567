"""The log's signer: its key, signing a checkpoint of the committed tree, and the schedule that
signs whenever the tree has grown.

The checks that keep the log append-only are made here, before each signature: the stored tree
must not have shrunk below the last signed checkpoint and must be consistent with it. The store
(corridor.store.ledger_store) only reads and records; the hashing is corridor.ledger's.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable, Sequence
from pathlib import Path

from corridor.config import Settings
from corridor.ledger.checkpoint import Checkpoint, parse_checkpoint
from corridor.ledger.merkle import ProofError, consistency_proof, tree_root, verify_consistency
from corridor.ledger.note import Signer, generate_signer, parse_note, parse_skey, sign_note
from corridor.store import LedgerError, LedgerStore

log = logging.getLogger("corridor.ledger")


def load_or_create_signer(settings: Settings) -> Signer:
    """The log's signer key (name = origin), created on first use with mode 0600."""
    path = Path(settings.log_key_file or settings.data_dir / "keys" / "log.key")
    if path.exists():
        signer = parse_skey(path.read_text())
        if signer.name != settings.log_origin:
            raise LedgerError(f"{path}: key name {signer.name!r} differs from the log origin "
                              f"{settings.log_origin!r}")
        return signer
    signer = generate_signer(settings.log_origin)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(signer.skey + "\n")
    return signer


def load_next_signer(settings: Settings, current: Signer) -> Signer | None:
    """The log's next key while its key is rotated (settings.log_next_key_file), or None; a
    LedgerError when it is not a key of the log's origin or is the current key."""
    if settings.log_next_key_file is None:
        return None
    path = Path(settings.log_next_key_file)
    try:
        signer = parse_skey(path.read_text())
    except (OSError, ValueError) as exc:
        raise LedgerError(f"next log key {path}: {exc}") from exc
    if signer.name != settings.log_origin:
        raise LedgerError(f"next log key {path}: key name {signer.name!r} differs from the "
                          f"log origin {settings.log_origin!r}")
    if signer.verifier.vkey == current.verifier.vkey:
        raise LedgerError(f"next log key {path} is the current log key: generate a new one "
                          "(corridor keygen ORIGIN)")
    return signer


def sign_checkpoint(store: LedgerStore, signer: Signer, origin: str,
                    also: Sequence[Signer] = ()) -> tuple[bytes, bool]:
    """(a checkpoint covering every committed entry, whether it is new): the newest signed one
    when nothing was added since. Refuses to sign anything inconsistent with it. `also`: more
    keys that sign it (the next key while the log's key is rotated).

    The tree is hashed without the write lock, so that captures do not wait for it; the lock
    is taken only to check that no other signer got in between and to record the checkpoint."""
    for _attempt in range(5):
        with store.snapshot() as tree:
            size, last = tree.size, tree.last
            if last is not None and last.size == size:
                return last.note, False
            if last is not None and last.size > size:
                raise LedgerError(f"store holds {size} entries but a checkpoint of size "
                                  f"{last.size} was already signed: refusing to sign")
            root = tree_root(tree.hasher, size)
            if last is not None and last.size > 0:
                try:
                    verify_consistency(last.size, size, last.root, root,
                                       consistency_proof(tree.hasher, last.size, size))
                except ProofError as exc:
                    raise LedgerError(f"stored tree of size {size} is not consistent "
                                      f"with the signed checkpoint of size {last.size}: "
                                      f"{exc}") from exc
        signers = [signer, *also]
        note = sign_note(Checkpoint(origin, size, root).text(), signers)
        if store.record_checkpoint(size, root, note, None if last is None else last.size,
                                   [s.verifier.vkey for s in signers]):
            return note, True
        # another signer recorded one meanwhile: start again
    raise LedgerError("checkpoints kept changing while signing: try again")


def run_signer(sign: Callable[[], bytes], size: Callable[[], int], interval: float,
               stop: threading.Event, active: threading.Event | None = None) -> None:
    """Until `stop` is set: every `interval` seconds, sign if the tree has grown, while
    `active` is set (this node is the sequencer)."""
    signed = -1
    while not stop.is_set():
        if active is not None and not active.is_set():
            signed = -1  # another node may have signed meanwhile: look again once back
            stop.wait(interval)
            continue
        try:
            if size() != signed:  # cheap read first: the write lock only when needed
                signed = parse_checkpoint(parse_note(sign()).text).size
        except Exception:  # keep signing later; the error is in the log
            log.exception("checkpoint signing failed")
        stop.wait(interval)
