"""Background WAL checkpoints for a busy SQLite writer.

By default SQLite checkpoints inside the commit that pushes the WAL past 1,000 pages, so one
capture in every few pays for copying the WAL into the database file and two fsyncs. A busy
writer hands that work to this thread instead (which runs while the writer works: SQLite
releases the GIL) and keeps a high automatic limit only as a safety valve.
"""

from __future__ import annotations

import contextlib
import logging
import sqlite3
import threading
import time

from corridor.store.db import Connection, Database

log = logging.getLogger(__name__)

# The writer checkpoints by itself only if this thread falls this far behind (pages of 4 KiB).
WRITER_AUTOCHECKPOINT_PAGES = 16_384
# Wait this long after a commit before checkpointing, so that one checkpoint covers a burst.
DELAY_S = 0.2
# Past this many pages the WAL is restarted from its start (see WalCheckpointer): near the
# valve, because every checkpoint pass takes CPU from the writer (a lower restart point,
# with more passes, slowed documents down: docs/capture.md, "SQLite").
RESTART_PAGES = 12_288
# The writer copies at most about this many pages when it restarts the WAL (with two fsyncs,
# a few ms), after at most this many checkpoint passes in a row by the thread.
LITTLE_PAGES = 512
CATCH_UP_ROUNDS = 3


# The writer's page cache: the indexes' upper levels stay in memory as the store grows (the
# default 2 MB makes every insert slower as soon as they no longer fit).
WRITER_CACHE_KIB = 256 * 1024


def tune_writer(conn: Connection) -> None:
    """Set up `conn` as the busy writer: a large page cache, and routine checkpoints left to a
    WalCheckpointer."""
    conn.raw.execute(f"PRAGMA wal_autocheckpoint={WRITER_AUTOCHECKPOINT_PAGES}")
    conn.raw.execute(f"PRAGMA cache_size=-{WRITER_CACHE_KIB}")


class WalCheckpointer:
    """A thread that runs PASSIVE checkpoints (never blocking readers or the writer) shortly
    after the writer reports its commits with `committed()`.

    The WAL is written from its start again only when a write transaction begins with every
    frame already copied to the database. Under a steady stream of commits that never
    happens by itself: each checkpoint copies what was there when it began, and the writer
    appends more meanwhile. So the WAL grew to WRITER_AUTOCHECKPOINT_PAGES, and then the
    writer checkpointed inside a commit: fsyncs while every waiting capture waited too,
    again and again under single events (their tail latency grew with the store; figures in
    docs/capture.md). Instead, once this thread has caught up with a WAL past
    RESTART_PAGES, the writer copies the little written since, between two of its commits
    (`committed` does it), and its next transaction restarts the WAL (docs/capture.md)."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self._wake = threading.Event()
        self._caught_up = threading.Event()
        self._stop = False
        self._thread = threading.Thread(target=self._run, name="wal-checkpoint", daemon=True)
        self._thread.start()

    def committed(self, writer: Connection) -> None:
        """Called by the writer after each commit, on its connection."""
        if self._caught_up.is_set():
            self._caught_up.clear()
            with contextlib.suppress(sqlite3.Error):  # busy: the next round will do
                writer.raw.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()
        self._wake.set()

    def close(self) -> None:
        self._stop = True
        self._wake.set()
        self._thread.join()

    def _checkpoint(self, conn: sqlite3.Connection) -> None:
        """One checkpoint; on a long WAL, more until what the writer appends during one is
        little, and then the writer is asked to copy that little (see the class)."""
        before = 0
        for _ in range(CATCH_UP_ROUNDS):
            busy, pages, copied = conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
            if busy or copied != pages or pages < RESTART_PAGES or pages < before:
                return  # not caught up, nothing to restart, or the WAL restarted meanwhile
            if before and pages - before <= LITTLE_PAGES:
                self._caught_up.set()
                return
            before = pages

    def _run(self) -> None:
        conn = self.db.connect().raw
        try:
            while not self._stop:
                self._wake.wait()
                if self._stop:
                    break
                time.sleep(DELAY_S)  # let a burst of commits gather
                self._wake.clear()
                try:
                    self._checkpoint(conn)
                except sqlite3.Error as exc:  # busy or I/O: the writer's valve still works
                    log.warning("WAL checkpoint failed: %s", exc)
            with contextlib.suppress(sqlite3.Error):
                conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()
        finally:
            conn.close()
