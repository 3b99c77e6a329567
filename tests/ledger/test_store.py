"""The node's log on SQLite and PostgreSQL: appends inside the caller's transaction, rollback,
concurrent writers, checkpoint signing, restart, refusal to sign an inconsistent tree."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

import pytest

from corridor.ledger.checkpoint import parse_checkpoint
from corridor.ledger.entry import LogEntry
from corridor.ledger.merkle import (
    ListHasher,
    consistency_proof,
    leaf_hash,
    tree_root,
    verify_consistency,
)
from corridor.ledger.note import open_note, parse_note
from corridor.ledger.policy import threshold_policy
from corridor.ledger.proof import parse_receipt, verify_receipt
from corridor.node import LedgerError
from corridor.node import RunningLog as Ledger
from tests.ledger.ledgertest import append, make_entries


def _cp(note: bytes):
    return parse_checkpoint(parse_note(note).text)


def _leaves(count: int) -> list[bytes]:
    return [leaf_hash(e.encode()) for e in make_entries(0, count)]


def test_append_sign_and_receipt(node: Callable[..., Ledger], db_url: str) -> None:
    ledger = node(db_url=db_url)
    assert append(ledger, 300) == list(range(300))
    assert append(ledger, 1) == [300]
    note = ledger.sign_now()
    open_note(note, [ledger.signer.verifier])
    cp = _cp(note)
    assert cp.size == 301 and cp.origin == "corridor.test/log"
    assert cp.root == tree_root(ListHasher(_leaves(301)), 301)
    assert ledger.sign_now() == note  # nothing new: the same checkpoint
    assert ledger.entry(300) == make_entries(300, 1)[0].encode()
    receipt = parse_receipt(ledger.receipt(257))
    verify_receipt(receipt, ledger.signer.verifier, threshold_policy(None, [], 0))
    assert LogEntry.decode(receipt.extra) == make_entries(257, 1)[0]
    assert ledger.receipt(301) is None
    assert ledger.audit() == []


def test_rolled_back_capture_leaves_no_trace(node: Callable[..., Ledger], db_url: str) -> None:
    ledger = node(db_url=db_url)
    append(ledger, 10)
    conn = ledger._conn()
    with pytest.raises(RuntimeError, match="capture failed"), conn.transaction():
        assert ledger.append(conn, make_entries(10, 5)) == list(range(10, 15))
        raise RuntimeError("capture failed")
    assert ledger.size() == 10
    # The writer's cached edge was for size 15: it must notice and reload.
    assert append(ledger, 3, start=10) == [10, 11, 12]
    assert _cp(ledger.sign_now()).root == tree_root(ListHasher(_leaves(13)), 13)
    assert ledger.audit() == []


def test_concurrent_writers_are_serialised(node: Callable[..., Ledger], db_url: str) -> None:
    ledger = node(db_url=db_url)
    other = node(db_url=db_url)  # a second process's view of the same store
    got: list[int] = []
    lock = threading.Lock()

    def work(lg: Ledger) -> None:
        conn = lg.db.connect()
        try:
            for _ in range(20):
                with conn.transaction():
                    idx = lg.append(conn, make_entries(0, 7))
                with lock:
                    got.extend(idx)
        finally:
            conn.close()

    threads = [threading.Thread(target=work, args=(lg,)) for lg in (ledger, other, ledger)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(got) == list(range(420))
    assert _cp(other.sign_now()).size == 420
    assert ledger.audit() == []


def test_restart_keeps_checkpoints_consistent(node: Callable[..., Ledger], db_url: str,
                                              tmp_path) -> None:
    first = node(db_url=db_url, data_dir=tmp_path / "n")
    append(first, 1000)
    a = _cp(first.sign_now())
    first.close()
    second = node(db_url=db_url, data_dir=tmp_path / "n")  # same key, same store
    append(second, 77)
    b = _cp(second.sign_now())
    assert (a.size, b.size) == (1000, 1077)
    leaves = _leaves(1077)
    verify_consistency(a.size, b.size, a.root, b.root,
                       consistency_proof(ListHasher(leaves), a.size, b.size))


def test_refuses_to_sign_after_the_store_was_rolled_back(node: Callable[..., Ledger],
                                                        db_url: str) -> None:
    ledger = node(db_url=db_url)
    append(ledger, 600)
    ledger.sign_now()
    conn = ledger._conn()
    with conn.transaction():  # e.g. an old backup restored under a running node
        conn.execute("UPDATE ledger_state SET size = 500, stamp = 'restored' WHERE id = 1")
    with pytest.raises(LedgerError, match="refusing to sign"):
        ledger.sign_now()
    with conn.transaction():  # same size as signed, different content: a fork
        conn.execute("UPDATE ledger_state SET size = 600 WHERE id = 1")
        conn.execute("UPDATE ledger_tiles SET data = ? WHERE level = 1 AND n = 0",
                     (b"\x00" * 64,))
    append(ledger, 1)
    with pytest.raises(LedgerError, match="not consistent"):
        ledger.sign_now()


def test_background_signer_signs_within_a_second(node: Callable[..., Ledger]) -> None:
    ledger = node()
    ledger.start()
    try:
        for size in (5, 9):
            append(ledger, size - ledger.size())
            deadline = time.monotonic() + 1.5
            while (note := ledger.checkpoint()) is None or _cp(note).size != size:
                assert time.monotonic() < deadline, "no checkpoint within 1.5 s"
                time.sleep(0.05)
    finally:
        ledger.stop()
