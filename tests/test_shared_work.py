"""With several nodes on one database, the work done once for all (claims, the
subscriptions' outbox, arrival alerts) runs on one node only: the log's sequencer."""

from __future__ import annotations

import threading
import time

from starlette.testclient import TestClient

from corridor.app import create_app
from corridor.config import Settings
from corridor.node.passes import BackgroundPass
from corridor.store.db import Database


def test_a_pass_runs_only_while_its_condition_holds(tmp_path) -> None:
    db = Database(f"sqlite:///{tmp_path / 'c.sqlite3'}")
    runs: list[float] = []
    allowed = threading.Event()
    gated = BackgroundPass("gated", db, lambda _conn: runs.append(time.monotonic()),
                           interval=0.02, when=allowed.is_set)
    gated.start()
    try:
        time.sleep(0.3)
        assert runs == []  # never while the condition is false
        allowed.set()
        deadline = time.monotonic() + 5
        while len(runs) < 3 and time.monotonic() < deadline:
            time.sleep(0.02)
        assert len(runs) >= 3
    finally:
        gated.stop()


def _wait(cond, timeout: float = 10) -> None:
    deadline = time.monotonic() + timeout
    while not cond():
        assert time.monotonic() < deadline, "not within the time"
        time.sleep(0.05)


def test_only_the_sequencer_node_does_the_shared_work(pg_url: str, tmp_path) -> None:
    apps = [create_app(Settings(data_dir=tmp_path / name, db_url=pg_url,
                                log_key_file=tmp_path / "log.key"))
            for name in ("a", "b")]
    with TestClient(apps[0]), TestClient(apps[1]):
        ledgers = [app.state.ctx.ledger for app in apps]
        _wait(lambda: any(x.sequencer.is_sequencer for x in ledgers))
        time.sleep(1.5)  # the other node has campaigned by now, and lost
        holding = [x.sequencer.is_sequencer for x in ledgers]
        assert sorted(holding) == [False, True]
        active = [app.state.ctx.subscriptions.active() for app in apps]
        assert active == holding  # the outbox is decided and delivered by one node
