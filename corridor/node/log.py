"""The running log of a node: the ledger store, the signer and the witnesses, with the two
background threads (signing schedule, witness push) that start and stop with the service.

This is the one object the app, the CLI and the demo loader hold. Captures append through it
inside their own transactions; routes read tiles, checkpoints and receipts from it. What is
stored is corridor.store's; what is computed is corridor.ledger's.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from corridor.config import Settings
from corridor.ledger.checkpoint import Checkpoint, parse_checkpoint
from corridor.ledger.entry import LogEntry
from corridor.ledger.note import Signer, Verifier, parse_note, parse_vkey, verified_by
from corridor.ledger.policy import Policy
from corridor.ledger.proof import Receipt
from corridor.node.mirror import Mirror
from corridor.node.sequencer import Sequencer
from corridor.node.signer import (
    load_next_signer,
    load_or_create_signer,
    run_signer,
    sign_checkpoint,
)
from corridor.node.witnesses import Witnesses, WitnessLink, run_pusher
from corridor.store import Connection, Database, LedgerError, LedgerStore, open_ledger_store


class RunningLog:
    def __init__(self, settings: Settings, store: LedgerStore, signer: Signer, *,
                 interval: float = 0.5, witness_timeout: float = 5.0,
                 next_signer: Signer | None = None) -> None:
        self.settings = settings
        self.store = store
        self.db: Database = store.db
        self.signer = signer
        # while the log's key is rotated, the next key signs every checkpoint too
        self.next_signer = next_signer
        self.origin = settings.log_origin
        self.interval = interval
        self.witnesses = Witnesses(settings, signer.verifier, timeout=witness_timeout)
        # one node of those sharing the database signs and pushes (corridor.node.sequencer)
        self.sequencer = Sequencer(store.db)
        self._stop = threading.Event()
        self._signed = threading.Event()
        self._threads: list[threading.Thread] = []

    @property
    def links(self) -> list[WitnessLink]:
        return self.witnesses.links

    @property
    def quorum(self) -> int:
        return self.witnesses.quorum

    @property
    def policy(self) -> Policy:
        return self.witnesses.policy

    # -- the store, as captures and routes use it ----------------------------------------
    def _conn(self) -> Connection:
        """This thread's connection to the store."""
        return self.store._conn()

    def lock(self, conn: Connection) -> tuple[int, str] | None:
        return self.store.lock(conn)

    def append(self, conn: Connection, entries: Sequence[LogEntry | bytes],
               locked: tuple[int, str] | None = None,
               leaves: Sequence[bytes] | None = None) -> list[int]:
        return self.store.append(conn, entries, locked, leaves)

    def size(self) -> int:
        return self.store.size()

    def read_tile(self, level: int, n: int, width: int) -> bytes | None:
        return self.store.read_tile(level, n, width)

    def entry(self, index: int) -> bytes | None:
        return self.store.entry(index)

    def inclusion_proof(self, index: int, size: int) -> list[bytes]:
        return self.store.inclusion_proof(index, size)

    def consistency_proof(self, old: int, new: int) -> list[bytes]:
        return self.store.consistency_proof(old, new)

    # -- checkpoints ---------------------------------------------------------------------
    def sign_now(self) -> bytes:
        """Sign a checkpoint covering every committed entry (or return the latest if nothing
        new). Refuses to sign anything inconsistent with the last signed checkpoint."""
        also = [self.next_signer] if self.next_signer is not None else []
        note, new = sign_checkpoint(self.store, self.signer, self.origin, also)
        if new:
            self._signed.set()
        return note

    def witness_now(self) -> int:
        """Push the newest checkpoint to the witnesses that have not cosigned it; returns how
        many have (see Witnesses.push)."""
        return self.witnesses.push(self.store)

    def latest_signed(self) -> bytes | None:
        """The newest checkpoint, witnessed or not."""
        return self.store.newest_checkpoint(0)

    def checkpoint(self) -> bytes | None:
        """The newest checkpoint that meets the witness quorum, with its cosignatures."""
        return self.store.newest_checkpoint(self.quorum)

    def receipt(self, index: int) -> bytes | None:
        """C2SP tlog-proof for entry `index` against the newest witnessed checkpoint, with
        the entry itself as the extra data; None until a checkpoint covers the index."""
        note = self.checkpoint()
        if note is None:
            return None
        cp = parse_checkpoint(parse_note(note).text)
        if not 0 <= index < cp.size:
            return None
        proof = self.inclusion_proof(index, cp.size)
        return Receipt(index, proof, note, self.entry(index)).encode()

    def waiting_for(self, index: int | None = None) -> str:
        """Why no witnessed checkpoint covers entry `index` (or none at all, when None) yet, in
        one line for a user: nothing signed covers it yet, or "waiting for K of N witnesses"
        with what each witness that has not cosigned last answered."""
        what = "any entry" if index is None else f"entry {index}"
        signed = self.latest_signed()
        size = -1 if signed is None else parse_checkpoint(parse_note(signed).text).size
        if signed is None or (index is not None and index >= size):
            return (f"no signed checkpoint covers {what} yet (the log signs every "
                    f"{self.interval:g} s); retry shortly")
        have = verified_by(parse_note(signed), [w.verifier for w in self.links])
        if len(have) >= self.quorum:
            return f"the witnessed checkpoint of size {size} is being published; retry shortly"
        text = (f"waiting for {self.quorum} of {len(self.links)} witnesses to cosign the "
                f"checkpoint of size {size} ({len(have)} cosigned so far)")
        missing = [f"{w.verifier.name} at {w.url}: {w.last_error}" for w in self.links
                   if w.verifier not in have and w.last_error]
        return "; ".join([text, *missing])

    def signing_keys(self) -> list[Verifier]:
        """The keys that sign new checkpoints: the log's, then its next key while rotated."""
        return [s.verifier for s in (self.signer, self.next_signer) if s is not None]

    def log_keys(self) -> list[Verifier]:
        """Every key a checkpoint of this log may be signed by: the signing keys, then the
        earlier keys of the key history."""
        keys = self.signing_keys()
        known = {k.vkey for k in keys}
        for held in self.store.key_history():
            if held["vkey"] not in known:
                keys.append(parse_vkey(held["vkey"]))
                known.add(held["vkey"])
        return keys

    def info(self) -> dict[str, Any]:
        return {
            "origin": self.origin,
            "log_vkey": self.signer.verifier.vkey,
            # the keys signing new checkpoints, and every key that signed some (with the
            # sizes it signed), so that a verifier holding an older key knows what it covers
            "log_vkeys": [k.vkey for k in self.signing_keys()],
            "key_history": self.store.key_history(),
            "witnesses": [{"url": w.url, "vkey": w.verifier.vkey} for w in self.links],
            "quorum": self.quorum,
            "policy": self.policy.text(),
            "entry_format": "corridor/entry/v1",
        }

    def export(self, directory: Path) -> Checkpoint:
        """Write the newest witnessed checkpoint, the tiles and entry bundles it covers that
        `directory` lacks, and `info`, as a static tlog-tiles mirror (corridor.node.mirror:
        each file renamed into place, the checkpoint last)."""
        written = Mirror(self, directory).sync()
        if written is None:
            raise LedgerError(f"no checkpoint to export yet: {self.waiting_for()}")
        return written.checkpoint

    def audit(self, witnesses: list[Verifier] | None = None) -> list[str]:
        """Re-check the store: entries vs tiles vs checkpoints (signatures, and cosignature
        counts when witness keys are known), and event documents vs entries when an `events`
        table exists. Returns the problems found (empty when sound)."""
        keys = [w.verifier for w in self.links] if witnesses is None else witnesses
        return self.store.audit(self.log_keys(), keys)

    # -- background --------------------------------------------------------------------
    def sequencer_status(self) -> dict[str, Any]:
        """Who signs this log's checkpoints: {"is_sequencer": this node, "sequencer": the
        holder's node id (None if unknown), "since": when it took over (ISO 8601) or None}."""
        return self.sequencer.status()

    def start(self) -> None:
        """Campaign to be the sequencer; while this node is, sign at least every `interval`
        seconds while entries arrive and push to witnesses. A node taking over continues
        from the last signed checkpoint (sign_checkpoint checks consistency with it)."""
        if self._threads:
            return
        self._stop.clear()
        held = self.sequencer.held
        self._threads = [
            threading.Thread(target=run_signer, name="ledger-signer", daemon=True,
                             args=(self.sign_now, self.size, self.interval, self._stop, held)),
            threading.Thread(target=run_pusher, name="ledger-witness", daemon=True,
                             args=(self.witness_now, self._signed, self._stop, held))]
        for t in self._threads:
            t.start()
        self.sequencer.start()

    def stop(self) -> None:
        self._stop.set()
        self._signed.set()
        for t in self._threads:
            t.join(timeout=30)
        self._threads = []
        self.sequencer.stop()  # after the signer: hand over only once it has finished

    def close(self) -> None:
        """Stop the background threads and close every connection the log opened."""
        self.stop()
        self.witnesses.close()
        self.store.close()


def open_ledger(settings: Settings, db: Database, *, interval: float = 0.5,
                witness_timeout: float = 5.0) -> RunningLog:
    """The node's log over `db` (migrations applied), signing with the configured key."""
    signer = load_or_create_signer(settings)
    return RunningLog(settings, open_ledger_store(db), signer,
                      interval=interval, witness_timeout=witness_timeout,
                      next_signer=load_next_signer(settings, signer))
