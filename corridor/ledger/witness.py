"""C2SP tlog-witness: the witness side of add-checkpoint (status codes, atomic state) and the
client side's request body and response parsing. No HTTP here: the server shell is in
corridor.api.log_routes, the transport in corridor.ledger.transport."""

from __future__ import annotations

import base64
import binascii
import json
import os
import tempfile
import threading
from dataclasses import dataclass
from hashlib import sha256
from pathlib import Path

from corridor.ledger.checkpoint import CheckpointError, parse_checkpoint
from corridor.ledger.merkle import EMPTY_ROOT, ProofError, verify_consistency
from corridor.ledger.note import (
    NoteError,
    Signer,
    Verifier,
    parse_note,
    verified_by,
)

MAX_PROOF_LINES = 63
SIZE_TYPE = "text/x.tlog.size"


@dataclass(frozen=True)
class Response:
    status: int
    body: bytes
    content_type: str = "text/plain; charset=utf-8"


class FileState:
    """The latest cosigned checkpoint per origin, in one JSON file replaced atomically
    (write to a temporary file, fsync, rename) under a lock, so check-and-update is atomic."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self.lock = threading.Lock()

    def load(self) -> dict[str, dict]:
        if not self.path.exists():
            return {}
        return json.loads(self.path.read_text())

    def save(self, data: dict[str, dict]) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=self.path.parent, prefix=".witness-")
        try:
            with os.fdopen(fd, "w") as f:
                json.dump(data, f, indent=1, sort_keys=True)
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, self.path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise


def _text(status: int, message: str) -> Response:
    return Response(status, (message + "\n").encode())


class Witness:
    def __init__(self, signer: Signer, logs: list[Verifier], state: FileState) -> None:
        self.signer = signer.as_cosigner()
        self.logs: dict[str, list[Verifier]] = {}
        for v in logs:
            self.logs.setdefault(v.name, []).append(v)
        self.state = state

    @property
    def verifier(self) -> Verifier:
        return self.signer.verifier

    def add_checkpoint(self, body: bytes, timestamp: int | None = None) -> Response:
        head, sep, note_bytes = body.partition(b"\n\n")
        if not sep:
            return _text(400, "request has no blank line before the checkpoint")
        try:
            lines = head.decode("ascii").split("\n")
        except UnicodeDecodeError:
            return _text(400, "old size and proof lines must be ASCII")
        word = lines[0][4:] if lines[0].startswith("old ") else ""
        if not word.isdigit() or (word != "0" and word.startswith("0")):
            return _text(400, "line 1: expected 'old <size>'")
        old = int(word)
        if len(lines) - 1 > MAX_PROOF_LINES:
            return _text(400, f"more than {MAX_PROOF_LINES} consistency proof lines")
        try:
            proof = [base64.b64decode(line, validate=True) for line in lines[1:]]
        except (binascii.Error, ValueError):
            return _text(400, "a consistency proof line is not base64")
        try:
            note = parse_note(note_bytes)
            cp = parse_checkpoint(note.text)
        except (NoteError, CheckpointError) as exc:
            return _text(400, f"checkpoint: {exc}")
        known = self.logs.get(cp.origin)
        if not known:
            return _text(404, f"unknown log origin {cp.origin!r}")
        try:
            if not verified_by(note, known):
                return _text(403, "no signature from a trusted key for this origin")
        except NoteError as exc:
            return _text(403, str(exc))
        if old > cp.size:
            return _text(400, f"old size {old} is larger than the checkpoint size {cp.size}")
        with self.state.lock:
            data = self.state.load()
            stored = data.get(cp.origin)
            stored_size = stored["size"] if stored else 0
            if old != stored_size:
                return Response(409, f"{stored_size}\n".encode(), SIZE_TYPE)
            if cp.size == 0 and cp.root != EMPTY_ROOT:
                return _text(422, "a checkpoint of size 0 must have the empty tree's root")
            if old == 0:
                if proof:
                    return _text(422, "old size is 0, so the consistency proof must be empty")
            else:
                stored_root = base64.b64decode(stored["root"])
                try:
                    verify_consistency(old, cp.size, stored_root, cp.root, proof)
                except ProofError as exc:
                    return _text(422, f"consistency proof: {exc}")
            line = self.signer.signature_line(note.text, timestamp)
            # Keep the log's verified signature and ours: what monitors may fetch.
            kept = [s.line for s in note.signatures
                    if any(v.name == s.name and v.key_id == s.key_id for v in known)]
            stored_note = note.text + b"\n" + "".join(x + "\n" for x in kept + [line]).encode()
            data[cp.origin] = {"size": cp.size, "root": base64.b64encode(cp.root).decode(),
                               "note": stored_note.decode()}
            self.state.save(data)
        return Response(200, (line + "\n").encode())

    def latest(self, origin_hash: str) -> Response:
        """GET <prefix>/<sha256(origin) hex>/checkpoint."""
        data = self.state.load()
        for origin, rec in data.items():
            if sha256(origin.encode()).hexdigest() == origin_hash:
                return Response(200, rec["note"].encode())
        return _text(404, "no checkpoint cosigned for that log")


def add_checkpoint_body(old: int, proof: list[bytes], checkpoint: bytes) -> bytes:
    lines = [f"old {old}"] + [base64.b64encode(p).decode() for p in proof]
    return ("\n".join(lines) + "\n\n").encode() + checkpoint


def parse_cosignatures(checkpoint: bytes, response: bytes, witness: Verifier) -> list[str]:
    """Signature lines of `response` that are valid cosignatures by `witness` on the
    checkpoint; raise NoteError if a line by that key fails to verify."""
    note = parse_note(checkpoint)
    try:
        lines = response.decode("utf-8").splitlines()
    except UnicodeDecodeError as exc:
        raise NoteError("witness response is not UTF-8") from exc
    joined = note.text + b"\n" + "".join(line + "\n" for line in lines).encode()
    parsed = parse_note(joined)
    good = []
    for sig in parsed.signatures:
        if sig.name == witness.name and sig.key_id == witness.key_id:
            if not witness.verify(note.text, sig.sig):
                raise NoteError(f"cosignature by {witness.name} does not verify")
            good.append(sig.line)
    return good
