"""The log's witnesses: pushing each new checkpoint over HTTP (C2SP tlog-witness
add-checkpoint, with a consistency proof from what each witness last cosigned), collecting
their cosignatures, and the quorum (C2SP tlog-policy) a checkpoint needs to be published.

The protocol's formats are corridor.ledger.witness, the HTTP edge corridor.ledger.transport;
the proofs and the stored checkpoints come from the store.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass

import httpx

from corridor.config import Settings
from corridor.ledger.checkpoint import Checkpoint, parse_checkpoint
from corridor.ledger.note import (
    NoteError,
    Verifier,
    add_signatures,
    parse_note,
    parse_vkey,
    verified_by,
)
from corridor.ledger.policy import Policy, threshold_policy
from corridor.ledger.transport import TransportError, post
from corridor.ledger.witness import add_checkpoint_body, parse_cosignatures
from corridor.store import LedgerStore

log = logging.getLogger("corridor.ledger")


@dataclass
class WitnessLink:
    url: str
    verifier: Verifier
    size: int = 0  # size of the last checkpoint this witness cosigned, as far as we know
    last_error: str | None = None


class Witnesses:
    """The configured witnesses of a log signed by `log_key`, and the pushes to them."""

    def __init__(self, settings: Settings, log_key: Verifier, *, timeout: float = 5.0) -> None:
        self.links = [WitnessLink(w.url.rstrip("/"), parse_vkey(w.vkey))
                      for w in settings.witnesses]
        self.quorum = settings.witness_quorum
        self.policy: Policy = threshold_policy(
            log_key, [(w.verifier, w.url) for w in self.links], self.quorum)
        self._lock = threading.Lock()
        self._http = httpx.Client(timeout=timeout)

    def close(self) -> None:
        self._http.close()

    def push(self, store: LedgerStore) -> int:
        """Push the newest checkpoint to every witness that has not cosigned it; store the
        cosignatures. Returns how many witnesses have cosigned it. Never raises for a
        witness that is down (its error is kept in `links[i].last_error`)."""
        if not self.links:
            return 0
        with self._lock:
            note = store.newest_checkpoint()
            if note is None:
                return 0
            cp = parse_checkpoint(parse_note(note).text)
            have = verified_by(parse_note(note), [w.verifier for w in self.links])
            lines: list[str] = []
            for link in self.links:
                if link.verifier in have:
                    continue
                lines += self._push(store, link, note, cp)
            if not lines:
                return len(have)
            note = add_signatures(note, lines)
            count = len(verified_by(parse_note(note), [w.verifier for w in self.links]))
            store.record_cosignatures(cp.size, note, count)
            return count

    def _push(self, store: LedgerStore, link: WitnessLink, note: bytes,
              cp: Checkpoint) -> list[str]:
        for _attempt in range(3):
            old = link.size
            if old > cp.size:
                link.last_error = (f"witness has size {old}, beyond our checkpoint {cp.size}")
                return []
            proof = store.consistency_proof(old, cp.size) if old else []
            try:
                status, body = post(self._http, link.url + "/add-checkpoint",
                                    add_checkpoint_body(old, proof, note))
            except TransportError as exc:
                link.last_error = str(exc)
                log.warning("witness %s unreachable: %s", link.verifier.name, exc)
                return []
            if status == 409:
                try:
                    link.size = int(body.decode().strip())
                except ValueError:
                    link.last_error = "409 without a size"
                    return []
                continue
            if status != 200:
                link.last_error = f"HTTP {status}: {body[:200]!r}"
                log.warning("witness %s refused size %d: %s", link.verifier.name, cp.size,
                            link.last_error)
                return []
            try:
                lines = parse_cosignatures(note, body, link.verifier)
            except NoteError as exc:
                link.last_error = str(exc)
                return []
            link.size, link.last_error = cp.size, None
            return lines
        return []


def run_pusher(push: Callable[[], int], signed: threading.Event,
               stop: threading.Event, active: threading.Event | None = None) -> None:
    """Until `stop` is set: push when a checkpoint was signed, and at least every second,
    while `active` is set (this node is the sequencer)."""
    while not stop.is_set():
        signed.wait(1.0)
        signed.clear()
        if stop.is_set():
            break
        if active is not None and not active.is_set():
            continue
        try:
            push()
        except Exception:
            log.exception("witness push failed")
