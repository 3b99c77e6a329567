"""The sequencer election (corridor.node.sequencer): one holder per log on PostgreSQL, a
takeover within 5 s when the holder's process is killed outright, the holder visible to
every node, and the running log signing only on the holder. On SQLite the process is
always the sequencer."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

from corridor.config import Settings
from corridor.node import open_ledger
from corridor.node.sequencer import Sequencer
from corridor.store import Database, migrate

_HOLD = """
import sys, time
from corridor.node.sequencer import Sequencer
from corridor.store import Database
s = Sequencer(Database(sys.argv[1]), "child")
s.start()
while not s.is_sequencer:
    time.sleep(0.05)
print("held", flush=True)
time.sleep(600)
"""


def _migrated(url: str) -> Database:
    db = Database(url)
    with db.connect() as conn:
        migrate(db, conn)
    return db


def _wait(cond, timeout: float) -> float:
    start = time.monotonic()
    while not cond():
        if time.monotonic() - start > timeout:
            raise AssertionError(f"not within {timeout} s")
        time.sleep(0.05)
    return time.monotonic() - start


def test_one_holder_and_handover_on_stop(pg_url: str) -> None:
    db = _migrated(pg_url)
    a, b = Sequencer(db, "node-a", poll=0.2), Sequencer(db, "node-b", poll=0.2)
    a.start()
    _wait(lambda: a.is_sequencer, 5)
    b.start()
    try:
        _wait(lambda: b.status()["sequencer"] == "node-a", 5)
        assert not b.is_sequencer
        status = a.status()
        assert status["is_sequencer"] and status["sequencer"] == "node-a" and status["since"]
        assert b.status()["since"] == status["since"]
        a.stop()
        _wait(lambda: b.is_sequencer, 5)
        assert b.status()["sequencer"] == "node-b"
        # a node that does not campaign reads the holder from the database
        assert Sequencer(db, "cli").status() == {"is_sequencer": False,
                                                  "sequencer": "node-b",
                                                  "since": b.status()["since"]}
    finally:
        a.stop()
        b.stop()
    assert Sequencer(db, "cli").status()["sequencer"] is None  # nobody holds it now


def test_takeover_within_5_s_after_kill_9(pg_url: str) -> None:
    db = _migrated(pg_url)
    child = subprocess.Popen([sys.executable, "-c", _HOLD, pg_url], stdout=subprocess.PIPE,
                             text=True)
    standby = Sequencer(db, "standby")
    try:
        assert child.stdout is not None and child.stdout.readline().strip() == "held"
        standby.start()
        _wait(lambda: standby.status()["sequencer"] == "child", 5)
        child.send_signal(signal.SIGKILL)
        child.wait(timeout=10)
        took = _wait(lambda: standby.is_sequencer, 5)
        assert took < 5
    finally:
        standby.stop()
        child.kill()
        child.wait(timeout=10)


def test_only_the_sequencer_signs(pg_url: str, tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path, db_url=pg_url)
    db = _migrated(pg_url)
    first, second = open_ledger(settings, db, interval=0.1), open_ledger(settings, db,
                                                                          interval=0.1)
    first.sequencer.poll = second.sequencer.poll = 0.2
    first.start()
    _wait(lambda: first.sequencer_status()["is_sequencer"], 5)
    second.start()
    try:
        with db.connect() as conn, conn.transaction():
            second.append(conn, [b"entry-1", b"entry-2"])
        _wait(lambda: first.latest_signed() is not None, 5)
        assert not second.sequencer_status()["is_sequencer"]
        assert second.sequencer_status()["sequencer"] == first.sequencer.node_id
        first.close()  # hands over: the second continues from the signed tree
        _wait(lambda: second.sequencer_status()["is_sequencer"], 5)
        with db.connect() as conn, conn.transaction():
            second.append(conn, [b"entry-3"])
        _wait(lambda: b"\n3\n" in (second.latest_signed() or b""), 5)
        assert second.audit() == []
    finally:
        first.close()
        second.close()


def test_sqlite_process_is_always_the_sequencer(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path)
    ledger = open_ledger(settings, _migrated(settings.db_url))
    try:
        status = ledger.sequencer_status()
        assert status["is_sequencer"] and status["sequencer"] == ledger.sequencer.node_id
        assert status["since"]
        ledger.start()
        assert ledger.sequencer_status() == status
        ledger.stop()
        assert ledger.sequencer_status() == status
    finally:
        ledger.close()
