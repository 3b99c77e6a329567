"""Rotating the log's signing key without breaking verifiers: while the next key is set,
every checkpoint carries both signatures (a verifier or witness holding either key accepts
it); after the swap, the old key's checkpoints and receipts still check against the key
history that /log/info publishes, and the self-audit passes."""

from __future__ import annotations

from pathlib import Path

import pytest

from corridor.config import Settings
from corridor.ledger.note import NoteError, generate_signer, open_note
from corridor.ledger.proof import Receipt, ReceiptError, verify_receipt
from corridor.ledger.witness import FileState, Witness, add_checkpoint_body
from corridor.node import LedgerError, RunningLog, open_ledger
from corridor.store import Database, migrate
from tests.ledger.ledgertest import ORIGIN, append


def _ledger(tmp_path: Path, key: Path, next_key: Path | None = None) -> RunningLog:
    settings = Settings(data_dir=tmp_path / "node", db_url=f"sqlite:///{tmp_path / 'l.db'}",
                        log_origin=ORIGIN, log_key_file=key, log_next_key_file=next_key)
    db = Database(settings.db_url)
    with db.connect() as conn:
        migrate(db, conn)
    return open_ledger(settings, db)


def _write_key(path: Path, origin: str = ORIGIN) -> str:
    signer = generate_signer(origin)
    path.write_text(signer.skey + "\n")
    return signer.verifier.vkey


def test_rotation_keeps_old_and_new_verifiers_working(tmp_path: Path) -> None:
    old_key, new_key = tmp_path / "old.key", tmp_path / "new.key"
    _write_key(old_key)
    new_vkey = _write_key(new_key)

    first = _ledger(tmp_path, old_key)
    old = first.signer.verifier
    append(first, 3)
    before = first.sign_now()  # size 3, the old key only
    entry0 = first.entry(0)
    first.close()

    during = _ledger(tmp_path, old_key, new_key)  # the transition: both keys sign
    new = during.next_signer.verifier
    assert new.vkey == new_vkey and during.info()["log_vkeys"] == [old.vkey, new.vkey]
    append(during, 2)
    both = during.sign_now()
    open_note(both, [old])  # a verifier that knows only the old key accepts it
    open_note(both, [new])  # and one that knows only the new key
    # a witness configured with the old key cosigns the doubly signed checkpoint
    witness = Witness(generate_signer("witness.test/w1"), [old],
                      FileState(tmp_path / "witness.json"))
    assert witness.add_checkpoint(add_checkpoint_body(0, [], both)).status == 200
    during.close()

    after = _ledger(tmp_path, new_key)  # the swap: the new key alone
    append(after, 1)
    latest = after.sign_now()
    with pytest.raises(NoteError):
        open_note(latest, [old])
    open_note(latest, [new])
    history = {k["vkey"]: (k["first_size"], k["last_size"]) for k in after.info()["key_history"]}
    assert history == {old.vkey: (3, 5), new.vkey: (5, 6)}
    assert after.info()["log_vkeys"] == [new.vkey]
    assert [k.vkey for k in after.log_keys()] == [new.vkey, old.vkey]
    assert after.audit() == []  # the old key's checkpoints check against the history

    # a receipt issued before the rotation still verifies, with the log's keys over time
    receipt = Receipt(0, after.inclusion_proof(0, 3), before, entry0)
    assert verify_receipt(receipt, after.log_keys(), after.policy).size == 3
    with pytest.raises(ReceiptError):
        verify_receipt(receipt, [new], after.policy)
    after.close()


def test_a_next_key_must_be_new_and_of_the_log(tmp_path: Path) -> None:
    key = tmp_path / "log.key"
    _write_key(key)
    with pytest.raises(LedgerError, match="is the current log key"):
        _ledger(tmp_path, key, key)
    other = tmp_path / "other.key"
    _write_key(other, "another.example/log")
    with pytest.raises(LedgerError, match="differs from the log origin"):
        _ledger(tmp_path, key, other)
    with pytest.raises(LedgerError, match="next log key"):
        _ledger(tmp_path, key, tmp_path / "missing.key")
