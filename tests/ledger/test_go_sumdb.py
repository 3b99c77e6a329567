"""The log's static mirror checked by Go's own checksum-database code (golang.org/x/mod/sumdb:
note for the checkpoint's signature, tlog for tiles and record proofs; tests/go/tlogverify),
an implementation that shares nothing with Corridor's: a log of several full tiles and a
partial one, a checkpoint signed by two keys while the key is rotated, and a mirror with one
entry altered, which it refuses."""

from __future__ import annotations

import subprocess
from collections.abc import Callable
from pathlib import Path

from corridor.config import Settings
from corridor.ledger.note import generate_signer
from corridor.node import RunningLog as Ledger
from corridor.node import open_ledger
from corridor.store import Database, migrate
from tests.ledger.ledgertest import ORIGIN, append

SIZE = 600  # two full tiles and a partial one at level 0; a partial tile at level 1


def _verify(tlogverify: str, directory: Path, vkey: str) -> subprocess.CompletedProcess:
    return subprocess.run([tlogverify, str(directory), vkey], capture_output=True, text=True,
                          timeout=120, check=False)


def test_go_verifies_the_mirror(node: Callable[..., Ledger], tlogverify: str,
                                tmp_path: Path, db_url: str) -> None:
    ledger = node(db_url)
    append(ledger, SIZE)
    ledger.sign_now()
    mirror = tmp_path / "mirror"
    cp = ledger.export(mirror)
    done = _verify(tlogverify, mirror, ledger.signer.verifier.vkey)
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.startswith(f"ok {SIZE} ") and cp.size == SIZE

    # one byte of one entry changed: its record proof no longer reaches the root
    bundle = mirror / "tile" / "entries" / "001"
    data = bytearray(bundle.read_bytes())
    data[10] ^= 1
    bundle.write_bytes(bytes(data))
    refused = _verify(tlogverify, mirror, ledger.signer.verifier.vkey)
    assert refused.returncode == 1 and "entry 256" in refused.stdout, refused.stdout


def test_go_refuses_a_checkpoint_of_another_key(node: Callable[..., Ledger], tlogverify: str,
                                                tmp_path: Path) -> None:
    ledger = node()
    append(ledger, 3)
    ledger.sign_now()
    ledger.export(tmp_path / "mirror")
    other = node(data_dir=tmp_path / "other", db_url=f"sqlite:///{tmp_path / 'o.db'}")
    refused = _verify(tlogverify, tmp_path / "mirror", other.signer.verifier.vkey)
    assert refused.returncode == 1 and "checkpoint signature" in refused.stdout


def test_go_accepts_either_key_while_the_key_is_rotated(tlogverify: str, tmp_path: Path) -> None:
    current, upcoming = generate_signer(ORIGIN), generate_signer(ORIGIN)
    for name, signer in (("log.key", current), ("next.key", upcoming)):
        (tmp_path / name).write_text(signer.skey + "\n")
    settings = Settings(data_dir=tmp_path / "node", db_url=f"sqlite:///{tmp_path / 'r.db'}",
                        log_origin=ORIGIN, log_key_file=tmp_path / "log.key",
                        log_next_key_file=tmp_path / "next.key")
    db = Database(settings.db_url)
    with db.connect() as conn:
        migrate(db, conn)
    ledger = open_ledger(settings, db)
    try:
        append(ledger, 10)
        ledger.sign_now()
        ledger.export(tmp_path / "mirror")
    finally:
        ledger.close()
    for signer in (current, upcoming):
        done = _verify(tlogverify, tmp_path / "mirror", signer.verifier.vkey)
        assert done.returncode == 0 and done.stdout.startswith("ok 10 "), done.stdout
