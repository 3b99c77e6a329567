"""tlog-witness add-checkpoint: every status code, atomic persisted state, split views."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from corridor.ledger.checkpoint import Checkpoint
from corridor.ledger.merkle import EMPTY_ROOT, ListHasher, consistency_proof, leaf_hash, tree_root
from corridor.ledger.note import Signer, generate_signer, parse_note, sign_note, verified_by
from corridor.ledger.witness import FileState, Witness, add_checkpoint_body

ORIGIN = "log.test/a"


class Log:
    """A toy log in memory: just leaves, signed checkpoints and proofs."""

    def __init__(self, signer: Signer, prefix: bytes = b"") -> None:
        self.signer = signer
        self.leaves: list[bytes] = []
        self.prefix = prefix

    def grow(self, n: int) -> None:
        self.leaves += [leaf_hash(self.prefix + b"%d" % (len(self.leaves) + i))
                        for i in range(n)]

    def note(self, size: int | None = None) -> bytes:
        size = len(self.leaves) if size is None else size
        root = tree_root(ListHasher(self.leaves[:size]), size) if size else EMPTY_ROOT
        return sign_note(Checkpoint(self.signer.name, size, root).text(), [self.signer])

    def body(self, old: int, size: int | None = None) -> bytes:
        size = len(self.leaves) if size is None else size
        proof = consistency_proof(ListHasher(self.leaves), old, size) if old else []
        return add_checkpoint_body(old, proof, self.note(size))


@pytest.fixture
def setup(tmp_path: Path) -> tuple[Witness, Log, Path]:
    signer = generate_signer(ORIGIN)
    witness = Witness(generate_signer("witness.test/w1"), [signer.verifier],
                      FileState(tmp_path / "witness.json"))
    return witness, Log(signer), tmp_path / "witness.json"


def test_happy_path_returns_a_valid_cosignature(setup) -> None:
    witness, log, _ = setup
    log.grow(10)
    res = witness.add_checkpoint(log.body(0), timestamp=1700000000)
    assert res.status == 200
    note = parse_note(log.note() + res.body)
    assert verified_by(note, [witness.verifier]) == [witness.verifier]
    assert note.signatures[-1].timestamp() == 1700000000
    log.grow(300)
    assert witness.add_checkpoint(log.body(10)).status == 200
    origin_hash = hashlib.sha256(ORIGIN.encode()).hexdigest()
    latest = witness.latest(origin_hash)
    assert latest.status == 200 and b"\n310\n" in latest.body
    assert witness.latest("00" * 32).status == 404


def test_status_codes(setup) -> None:
    witness, log, _ = setup
    log.grow(20)
    # 404: unknown origin
    stranger = Log(generate_signer("log.test/other"))
    stranger.grow(2)
    assert witness.add_checkpoint(stranger.body(0)).status == 404
    # 403: origin known but signed by another key; or a bad signature by the known key
    impostor = Log(generate_signer(ORIGIN))
    impostor.leaves = log.leaves
    assert witness.add_checkpoint(impostor.body(0)).status == 403
    body = log.body(0)
    tampered = body.replace(b"\n20\n", b"\n21\n")
    assert witness.add_checkpoint(tampered).status == 403
    # 400: malformed request, old size beyond the checkpoint
    for bad in [b"old x\n\n" + log.note(), b"old 01\n\n" + log.note(), log.note(),
                b"old 0\n!!notbase64\n\n" + log.note(),
                b"old 0\n" + b"AAAA\n" * 64 + b"\n" + log.note(), b"old 0\n\ngarbage"]:
        assert witness.add_checkpoint(bad).status == 400, bad[:40]
    assert witness.add_checkpoint(log.body(0, 20).replace(b"old 0", b"old 25")).status == 400
    # 422: size 0 with a wrong root; non-empty proof from 0
    zero = sign_note(Checkpoint(ORIGIN, 0, hashlib.sha256(b"x").digest()).text(), [log.signer])
    assert witness.add_checkpoint(b"old 0\n\n" + zero).status == 422
    assert witness.add_checkpoint(
        b"old 0\n" + log.body(5).split(b"\n")[1] + b"\n\n" + log.note()).status == 422
    assert witness.add_checkpoint(log.body(0, 8)).status == 200
    # 409: old size differs from the stored one; the body is the stored size
    res = witness.add_checkpoint(log.body(5))
    assert (res.status, res.body, res.content_type) == (409, b"8\n", "text/x.tlog.size")
    # 422: a proof that does not verify; same size with another root
    bad_proof = log.body(8).replace(log.body(8).split(b"\n")[1], b"A" * 43 + b"=")
    assert witness.add_checkpoint(bad_proof).status == 422
    fork = Log(log.signer, prefix=b"fork")
    fork.grow(8)
    assert witness.add_checkpoint(
        add_checkpoint_body(8, [], fork.note())).status == 422
    assert witness.add_checkpoint(log.body(8)).status == 200


def test_state_survives_a_restart_and_refuses_rollback(setup) -> None:
    witness, log, path = setup
    log.grow(50)
    assert witness.add_checkpoint(log.body(0)).status == 200
    again = Witness(generate_signer("witness.test/w1"), [log.signer.verifier], FileState(path))
    res = again.add_checkpoint(log.body(0, 40))
    assert (res.status, res.body) == (409, b"50\n")
    rollback = add_checkpoint_body(50, [], log.note(40))
    assert again.add_checkpoint(rollback).status == 400  # old > size


def test_two_forks_are_never_both_cosigned(setup) -> None:
    witness, log, _ = setup
    log.grow(100)
    assert witness.add_checkpoint(log.body(0)).status == 200
    fork = Log(log.signer, prefix=b"fork")
    fork.leaves = log.leaves[:60]
    fork.grow(80)  # shares the first 60 entries, then diverges
    for old in (0, 60, 100):
        assert witness.add_checkpoint(fork.body(old) if old != 100 else
                                      add_checkpoint_body(100, consistency_proof(
                                          ListHasher(fork.leaves), 100, 140),
                                          fork.note())).status in (409, 422)
    log.grow(5)
    assert witness.add_checkpoint(log.body(100)).status == 200
