"""corridor.store: database access (SQLite by default, PostgreSQL), migrations, and the
ledger's tables (SQL only: no HTTP, no threads)."""

from corridor.store.db import Connection, Database
from corridor.store.ledger_store import (
    LedgerError,
    LedgerStore,
    StoredCheckpoint,
    TreeSnapshot,
    open_ledger_store,
)
from corridor.store.migration import Migration
from corridor.store.migrations import migrate

__all__ = ["Connection", "Database", "LedgerError", "LedgerStore", "Migration",
           "StoredCheckpoint", "TreeSnapshot", "migrate", "open_ledger_store"]
