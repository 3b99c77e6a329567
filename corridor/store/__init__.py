"""corridor.store: database access (SQLite by default, PostgreSQL), migrations."""

from corridor.store.db import Connection, Database
from corridor.store.migrations import Migration, migrate

__all__ = ["Connection", "Database", "Migration", "migrate"]
