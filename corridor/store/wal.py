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
    after commits are reported with `committed()`."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self._wake = threading.Event()
        self._stop = False
        self._thread = threading.Thread(target=self._run, name="wal-checkpoint", daemon=True)
        self._thread.start()

    def committed(self) -> None:
        self._wake.set()

    def close(self) -> None:
        self._stop = True
        self._wake.set()
        self._thread.join()

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
                    conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()
                except sqlite3.Error as exc:  # busy or I/O: the writer's valve still works
                    log.warning("WAL checkpoint failed: %s", exc)
            with contextlib.suppress(sqlite3.Error):
                conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()
        finally:
            conn.close()
