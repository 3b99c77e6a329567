"""Schema migrations. Each concern lists its own in a `schema_*.py` module as
`MIGRATIONS = [Migration(id, sql), ...]` (corridor.store.migration); ids are unique and
applied once, in the order of `_SCHEMA_MODULES` and then of each list."""

from __future__ import annotations

from corridor.store import (
    schema_cluster,
    schema_credentials,
    schema_events,
    schema_fx,
    schema_insurance,
    schema_ledger,
    schema_master_data,
    schema_notices,
    schema_parties,
    schema_subscriptions,
)
from corridor.store.db import Connection, Database
from corridor.store.migration import Migration

__all__ = ["Migration", "all_migrations", "apply", "migrate"]

# Order matters only where one concern's tables refer to another's.
_SCHEMA_MODULES = (schema_parties, schema_events, schema_ledger, schema_fx,
                   schema_subscriptions, schema_master_data, schema_credentials,
                   schema_insurance, schema_notices, schema_cluster)


def all_migrations() -> list[Migration]:
    found: list[Migration] = []
    for module in _SCHEMA_MODULES:
        found.extend(module.MIGRATIONS)
    ids = [m.id for m in found]
    if len(ids) != len(set(ids)):
        raise RuntimeError(f"duplicate migration ids: {ids}")
    return found


def _statements(sql: str) -> list[str]:
    return [s.strip() for s in sql.split(";\n") if s.strip().strip(";").strip()]


# Nodes starting together on one PostgreSQL schema take turns: each migration's transaction
# holds this lock and applies only what no other node applied meanwhile.
_LOCK = "SELECT pg_advisory_xact_lock(hashtext('corridor-migrate:' || current_schema()))"


def _take_turn(db: Database, conn: Connection) -> None:
    if db.dialect == "postgresql":
        conn.execute(_LOCK)


def migrate(db: Database, conn: Connection) -> list[str]:
    """Apply every migration not yet applied; return the ids applied now."""
    with conn.transaction():
        _take_turn(db, conn)
        conn.execute(
            "CREATE TABLE IF NOT EXISTS schema_migrations ("
            " id TEXT PRIMARY KEY, applied_at TEXT NOT NULL)"
        )
    applied = {row[0] for row in conn.fetchall("SELECT id FROM schema_migrations")}
    done: list[str] = []
    for migration in all_migrations():
        if migration.id in applied or migration.dialect not in (None, db.dialect):
            continue
        if apply(db, conn, migration):
            done.append(migration.id)
    return done


def apply(db: Database, conn: Connection, migration: Migration) -> bool:
    """Run one migration and record it, in one transaction (schema_migrations must exist);
    False when another process applied it first."""
    with conn.transaction():
        _take_turn(db, conn)
        if conn.fetchone("SELECT 1 FROM schema_migrations WHERE id = ?", (migration.id,)):
            return False
        for statement in _statements(db.sql(migration.sql)):
            conn.execute(statement.rstrip(";"))
        if migration.run is not None:
            migration.run(conn)
        conn.execute(
            "INSERT INTO schema_migrations (id, applied_at) VALUES (?, CURRENT_TIMESTAMP)",
            (migration.id,),
        )
    return True
