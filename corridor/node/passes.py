"""A pass in the background: a function of a connection, run every `interval` seconds on a
connection of its own, until stopped. The node's domain services (insurance claims, arrival
forecasts) keep up with the log this way; a pass that fails is logged and retried next time."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from corridor.store.db import Connection, Database

log = logging.getLogger(__name__)


class BackgroundPass:
    """`when`: the pass runs only while it is true (e.g. while this node is the log's
    sequencer, for the work that one node of several does)."""

    def __init__(self, name: str, db: Database, step: Callable[[Connection], object], *,
                 interval: float = 1.0, when: Callable[[], bool] | None = None) -> None:
        self.name = name
        self.when = when
        self.db = db
        self.step = step
        self.interval = interval
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        if self._thread is not None:
            return
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name=self.name, daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=30)
        self._thread = None

    def _run(self) -> None:
        conn = self.db.connect()
        try:
            while not self._stop.wait(self.interval):
                if self.when is not None and not self.when():
                    continue
                try:
                    self.step(conn)
                except Exception:
                    log.exception("%s pass failed; retried next pass", self.name)
                finally:
                    if conn.dialect == "postgresql":
                        conn.raw.rollback()  # no transaction left idle between passes
        finally:
            conn.close()
