"""What every HTTP route module receives: the node's settings, its database and its
long-lived parts."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TypeVar

from starlette.concurrency import run_in_threadpool

from corridor.capture import CaptureService
from corridor.config import Settings
from corridor.credentials.service import CredentialService
from corridor.insurance.service import InsuranceService
from corridor.node import RunningLog, open_ledger
from corridor.serving._db import read_db
from corridor.store.db import Connection, Database

T = TypeVar("T")
from corridor.subscriptions import SubscriptionService


@dataclass
class AppContext:
    settings: Settings
    db: Database
    # The running log; the app factory opens it (running_log() opens it on first use when
    # routes are mounted without the factory).
    ledger: RunningLog | None = None
    # The capture front door (corridor.capture), made by the capture routes.
    capture: CaptureService | None = None
    # Query subscriptions (corridor.subscriptions.service_for makes it on first use).
    subscriptions: SubscriptionService | None = None
    # Certificates (corridor.credentials), made on first use.
    credentials: CredentialService | None = None
    # Parametric cover (corridor.insurance), made on first use.
    insurance: InsuranceService | None = None
    # Where EPCIS event queries read: the replica of settings.read_db_url, else `db`. Only
    # queries go there (they tolerate its lag); the log's tiles and checkpoints are served
    # from `db`, so a checkpoint is never newer than the tiles served beside it.
    read_db: Database = field(default=None)  # type: ignore[assignment]

    def __post_init__(self) -> None:
        if self.read_db is None:
            url = self.settings.read_db_url
            self.read_db = Database(url) if url and url != self.db.url else self.db

    def read(self, fn: Callable[[Connection], T]) -> Awaitable[T]:
        """`fn` on a worker thread's connection to `db` (corridor.serving._db.read_db), off
        the event loop: every route's short database work goes through here."""
        return run_in_threadpool(read_db, self.db, fn)

    def read_replica(self, fn: Callable[[Connection], T]) -> Awaitable[T]:
        """As `read`, on `read_db` (the replica, when the node has one)."""
        return run_in_threadpool(read_db, self.read_db, fn)

    def running_log(self) -> RunningLog:
        """The node's log, opened here if the app factory did not."""
        if self.ledger is None:
            self.ledger = open_ledger(self.settings, self.db)
        return self.ledger

    def credential_service(self) -> CredentialService:
        if self.credentials is None:
            self.credentials = CredentialService(self.settings, self.db, self.running_log())
        return self.credentials

    def insurance_service(self) -> InsuranceService:
        if self.insurance is None:
            self.insurance = InsuranceService(self.running_log())
        return self.insurance
