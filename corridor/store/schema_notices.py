"""Tables of port and border notices (corridor.monitoring.notices).

`notices`: one row per logged notice, keyed by the Event Hash ID of the event that logged it
(`log_index`: its entry in the log). `node` is the location as posted, `node_key` its
canonical key (corridor.epcis.identifiers.canonical), so that the URN and the Digital Link of
one GLN find the same notices. Times are UTC text of one fixed width
(YYYY-MM-DDThh:mm:ss.ffffffZ), so that text order is time order; `valid_until` NULL: until
further notice. `value` is an exact decimal as text (the load cut in percent).
"""

from corridor.store.migration import Migration

MIGRATIONS: list[Migration] = [
    Migration(
        "notices-0001",
        """
CREATE TABLE notices (
  id TEXT PRIMARY KEY,
  party_id BIGINT NOT NULL REFERENCES parties (id),
  node TEXT NOT NULL,
  node_key TEXT NOT NULL,
  kind TEXT NOT NULL,
  value TEXT,
  valid_from TEXT NOT NULL,
  valid_until TEXT,
  text TEXT NOT NULL,
  log_index BIGINT NOT NULL,
  created_at TEXT NOT NULL
);
CREATE INDEX notices_node ON notices (node_key, valid_from)
""",
    ),
]
