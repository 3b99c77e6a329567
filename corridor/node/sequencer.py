"""The sequencer election: of all the nodes on one PostgreSQL database, exactly one signs
checkpoints and pushes them to witnesses at a time.

The lease is a session-level advisory lock held on a connection of the sequencer's own
(corridor.store.sequencer_lease). PostgreSQL releases it the moment that session ends, so a
node killed outright loses it at once, and the others, trying every `poll` seconds, take it
over within about one poll. The new sequencer continues from the last signed checkpoint: the
signer refuses any tree inconsistent with it and records checkpoints with a compare-and-set,
so even two nodes that briefly both believe they hold the lease (a lease connection cut off
without the process noticing yet) cannot fork the log; at worst both sign the same tree.

On SQLite there is one process per database: it is always the sequencer.
"""

from __future__ import annotations

import contextlib
import logging
import os
import socket
import threading
from datetime import UTC, datetime
from typing import Any

import psycopg

from corridor.store.db import Connection, Database
from corridor.store.sequencer_lease import beat, claim, holder, lease_key, try_acquire

log = logging.getLogger("corridor.ledger")

POLL = 1.0  # seconds between election attempts and heartbeats


def default_node_id() -> str:
    """This node's name in the lease: CORRIDOR_NODE_ID, else host and process id."""
    return os.environ.get("CORRIDOR_NODE_ID") or f"{socket.gethostname()}/{os.getpid()}"


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds")


class Sequencer:
    """This node's side of the election over `db`: start() campaigns in the background;
    `held` is set while this node is the sequencer."""

    def __init__(self, db: Database, node_id: str | None = None, *, poll: float = POLL) -> None:
        self.db = db
        self.node_id = node_id or default_node_id()
        self.poll = poll
        self.held = threading.Event()
        self._since: str | None = None
        self._seen: tuple[str, str] | None = None  # (holder, since) as last read
        self._conn: Connection | None = None
        self._key = 0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        if db.dialect == "sqlite":  # one process per database: no election
            self._gain(_now())

    @property
    def is_sequencer(self) -> bool:
        return self.held.is_set()

    def start(self) -> None:
        if self._thread is not None or self.db.dialect == "sqlite":
            return
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="ledger-sequencer",
                                        daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Give the lease up at once (closing its session), so another node takes over
        without waiting for this one to die."""
        if self.db.dialect == "sqlite":
            return
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)
            self._thread = None
        self._lose(None)

    def status(self) -> dict[str, Any]:
        """{"is_sequencer", "sequencer" (the holder's node id, None if unknown), "since"}."""
        if self.held.is_set():
            return {"is_sequencer": True, "sequencer": self.node_id, "since": self._since}
        seen = self._seen if self._thread is not None else self._read_holder()
        return {"is_sequencer": False, "sequencer": seen[0] if seen else None,
                "since": seen[1] if seen else None}

    # -- the election loop ---------------------------------------------------------------
    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self._step()
            except (psycopg.Error, OSError) as exc:  # database away: campaign again later
                self._lose(f"lease connection failed: {exc}")
            except Exception:  # a bug, not the database: logged, and the lease given up
                log.exception("sequencer election failed")
                self._lose("election failed")
            self._stop.wait(self.poll)

    def _step(self) -> None:
        if self._conn is None:
            self._conn = self.db.connect(reader=True)
            self._key = lease_key(self._conn)
        conn = self._conn
        if self.held.is_set():
            if not beat(conn, _now()):
                self._lose("the lease row names another session")
            return
        if try_acquire(conn, self._key):
            now = _now()
            claim(conn, self.node_id, now)
            self._gain(now)
            log.info("node %s is the log's sequencer", self.node_id)
            return
        lease = holder(conn, self._key)
        self._seen = None if lease is None else (lease.node, lease.since)

    def _gain(self, since: str) -> None:
        self._since = since
        self._seen = (self.node_id, self._since)
        self.held.set()

    def _lose(self, why: str | None) -> None:
        was = self.held.is_set()
        self.held.clear()
        self._since = None
        self._seen = None
        conn, self._conn = self._conn, None
        if conn is not None:
            with contextlib.suppress(psycopg.Error, OSError):
                conn.close()  # ends the session, releasing the advisory lock with it
        if was and why:
            log.warning("node %s is no longer the sequencer: %s", self.node_id, why)

    def _read_holder(self) -> tuple[str, str] | None:
        """The holder read once, for a node not campaigning (a CLI command)."""
        if self.db.dialect == "sqlite":
            return None
        with self.db.connect(reader=True) as conn:
            try:
                lease = holder(conn, lease_key(conn))
            except psycopg.Error:  # no lease table yet: no sequencer has ever run
                return None
        return None if lease is None else (lease.node, lease.since)
