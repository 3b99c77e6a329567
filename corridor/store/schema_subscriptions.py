"""Tables of the subscriptions concern (corridor.subscriptions).

`subscriptions` holds webhook subscriptions to named queries; `cursor` is the last ledger
index a stream subscription has examined, `min_record_time` the record-time lower bound of
the next scheduled run. `subscription_outbox` holds every delivery (an EPCISQueryDocument body)
from the moment it is decided, in the same transaction that advances the cursor, until the
receiver acknowledges it: so nothing is lost across a crash or restart.
The index on events.log_index (schema_events) serves the subscriptions' index-window scans.
The signatureToken must be kept in clear: it is the HMAC key of every delivery.
"""

from corridor.store.migration import Migration

MIGRATIONS: list[Migration] = [
    Migration(
        "subscriptions-0001",
        """
CREATE TABLE subscriptions (
  id TEXT PRIMARY KEY,
  query_name TEXT NOT NULL,
  party_id BIGINT NOT NULL REFERENCES parties (id),
  dest TEXT NOT NULL,
  secret TEXT,
  stream INTEGER NOT NULL,
  schedule TEXT,
  report_if_empty INTEGER NOT NULL DEFAULT 0,
  initial_record_time TEXT,
  min_record_time TEXT,
  cursor BIGINT,
  epc_format TEXT,
  created_at TEXT NOT NULL,
  last_notified_at TEXT,
  next_run_at TEXT
);
CREATE INDEX subscriptions_query ON subscriptions (query_name);
CREATE TABLE subscription_outbox (
  id {ID},
  subscription_id TEXT NOT NULL REFERENCES subscriptions (id) ON DELETE CASCADE,
  body {BLOB} NOT NULL,
  event_count BIGINT NOT NULL,
  created_at TEXT NOT NULL,
  attempts BIGINT NOT NULL DEFAULT 0,
  next_attempt_at {REAL} NOT NULL,
  last_error TEXT,
  delivered_at TEXT,
  failed_at TEXT
);
CREATE INDEX subscriptions_events_log_index ON events (log_index);
CREATE INDEX subscription_outbox_pending ON subscription_outbox (next_attempt_at)
  WHERE delivered_at IS NULL AND failed_at IS NULL
""",
    ),
    # Subscriptions of another kind than a query's (forecast alerts): their rule, as JSON.
    Migration("subscriptions-0002", "ALTER TABLE subscriptions ADD COLUMN settings TEXT"),
]
