"""Tables of the parties concern: who may write and read what.

`parties` holds one row per member, auditor or admin; the API key is kept only as its SHA-256
hex digest. `party_identifiers` lists every identifier (GLN, PGLN URN, ...) a party answers
to in an event's sourceList/destinationList, its main identifier included. `event_shares`
and `auditor_grants` widen what a party may read (see corridor.query.visibility).
"""

from corridor.store.migrations import Migration

MIGRATIONS: list[Migration] = [
    Migration(
        "parties-0001",
        """
CREATE TABLE parties (
  id {ID},
  name TEXT NOT NULL,
  identifier TEXT UNIQUE NOT NULL,
  role TEXT NOT NULL CHECK (role IN ('member', 'auditor', 'admin')),
  key_hash TEXT UNIQUE,
  verifier_key TEXT,
  created_at TEXT,
  revoked_at TEXT
);
CREATE TABLE party_identifiers (
  party_id BIGINT NOT NULL REFERENCES parties (id),
  identifier TEXT NOT NULL,
  PRIMARY KEY (party_id, identifier)
);
CREATE INDEX party_identifiers_identifier ON party_identifiers (identifier);
CREATE TABLE event_shares (
  event_id TEXT NOT NULL,
  party_id BIGINT NOT NULL REFERENCES parties (id),
  PRIMARY KEY (event_id, party_id)
);
CREATE INDEX event_shares_party ON event_shares (party_id);
CREATE TABLE auditor_grants (
  auditor_id BIGINT NOT NULL REFERENCES parties (id),
  party_id BIGINT NOT NULL REFERENCES parties (id),
  PRIMARY KEY (auditor_id, party_id)
);
CREATE INDEX auditor_grants_party ON auditor_grants (party_id)
""",
    ),
]
