"""The node's insurance pass in the background: evaluate the policies each time the witnessed
log has grown, at most every `interval` seconds, on a connection of its own."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from corridor.insurance.service import InsuranceService
from corridor.store.db import Database

log = logging.getLogger(__name__)


class InsuranceRunner:
    def __init__(self, db: Database, service: InsuranceService, *, interval: float = 1.0,
                 on_claims: Callable[[list[str]], None] | None = None) -> None:
        self.db = db
        self.service = service
        self.interval = interval
        self.on_claims = on_claims
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        if self._thread is not None:
            return
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="insurance", daemon=True)
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
                try:
                    done = self.service.evaluate(conn)
                except Exception:
                    log.exception("insurance evaluation failed; retried next pass")
                    continue
                if done.claims and self.on_claims is not None:
                    self.on_claims(done.claims)
        finally:
            conn.close()
