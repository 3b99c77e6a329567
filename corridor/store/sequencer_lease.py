"""The sequencer's lease on PostgreSQL: a session-level advisory lock, held on a connection of
its own (it is released by the server the moment that session ends, a killed process
included), and the sequencer_lease row that tells every node who holds it.

SQL only; the election loop is corridor.node.sequencer's. Every function expects an
autocommit connection (Database.connect(reader=True)), so that each statement stands alone.
"""

from __future__ import annotations

from dataclasses import dataclass

from corridor.store.db import Connection, lookup_key

_HOLDER = """
SELECT s.node, s.since, s.heartbeat FROM sequencer_lease s
JOIN pg_locks l ON l.pid = s.pid AND l.locktype = 'advisory' AND l.granted
 AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())
 AND l.classid::bigint = ? AND l.objid::bigint = ? AND l.objsubid = 1
WHERE s.id = 1
"""

_CLAIM = """
INSERT INTO sequencer_lease (id, node, pid, since, heartbeat)
VALUES (1, ?, pg_backend_pid(), ?, ?)
ON CONFLICT (id) DO UPDATE SET node = excluded.node, pid = excluded.pid,
 since = excluded.since, heartbeat = excluded.heartbeat
"""


@dataclass(frozen=True)
class Lease:
    node: str
    since: str  # ISO 8601, UTC
    heartbeat: str


def lease_key(conn: Connection) -> int:
    """The advisory lock key of the log in this connection's schema: one log per schema, and
    advisory locks are per database, so logs in sibling schemas must not share a key."""
    row = conn.fetchone("SELECT current_schema()")
    schema = row[0] if row and row[0] else "public"
    return lookup_key(f"corridor/sequencer/{schema}") or 0


def try_acquire(conn: Connection, key: int) -> bool:
    """Take the lease if no session holds it (never waits)."""
    row = conn.fetchone("SELECT pg_try_advisory_lock(?)", (key,))
    return bool(row and row[0])


def claim(conn: Connection, node: str, now: str) -> None:
    """Record this session (it holds the lock) as the sequencer from `now`."""
    conn.execute(_CLAIM, (node, now, now))


def beat(conn: Connection, now: str) -> bool:
    """Refresh the holder's heartbeat; False if the row names another session."""
    cur = conn.execute("UPDATE sequencer_lease SET heartbeat = ? "
                       "WHERE id = 1 AND pid = pg_backend_pid()", (now,))
    return cur.rowcount == 1


def holder(conn: Connection, key: int) -> Lease | None:
    """The live holder of the lease, or None when no session holds it (the row alone may name
    a node that died and whose lock the server has already released)."""
    unsigned = key & 0xFFFF_FFFF_FFFF_FFFF
    row = conn.fetchone(_HOLDER, (unsigned >> 32, unsigned & 0xFFFF_FFFF))
    return None if row is None else Lease(str(row[0]), str(row[1]), str(row[2]))
