"""Tables of the cluster concern (PostgreSQL only: on SQLite one process is the whole node).

sequencer_lease: one row (id 1) naming the node that last won the sequencer election, the
  backend pid of its lease connection (the one holding the advisory lock, so that readers
  can tell a live holder from a dead one through pg_locks), when it won and its last
  heartbeat.
"""

from corridor.store.migration import Migration

MIGRATIONS: list[Migration] = [
    Migration(
        "cluster-0001-sequencer-lease",
        """
CREATE TABLE sequencer_lease (
  id INTEGER PRIMARY KEY,
  node {TEXT} NOT NULL,
  pid INTEGER NOT NULL,
  since {TEXT} NOT NULL,
  heartbeat {TEXT} NOT NULL
);
""",
        dialect="postgresql",
    ),
]
