"""Tables of the parties concern: who may write and read what.

`parties` holds one row per member, auditor or admin; the API key is kept only as its SHA-256
hex digest. `party_identifiers` lists every identifier (GLN, PGLN URN, ...) a party answers
to in an event's sourceList/destinationList, its main identifier included, with its canonical
key (corridor.epcis.identifiers.canonical), which is what event_parties holds. `event_shares`
and `auditor_grants` widen what a party may read (see corridor.query.visibility); a share
names a stored event's row since events-008-shares-by-row (schema_events).
"""

from corridor.epcis.identifiers import canonical
from corridor.store.db import Connection
from corridor.store.migration import Migration


def _fill_canonical(conn: Connection) -> None:
    rows = conn.fetchall("SELECT party_id, identifier FROM party_identifiers")
    conn.executemany("UPDATE party_identifiers SET canonical = ? WHERE party_id = ?"
                     " AND identifier = ?", [(canonical(i), p, i) for p, i in rows])


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
    # Visibility joins events to parties on canonical keys only (event_parties stores one row
    # per source/destination party, not also its spelling as written).
    Migration(
        "parties-0002-canonical",
        """
ALTER TABLE party_identifiers ADD COLUMN canonical TEXT;
CREATE INDEX party_identifiers_canonical ON party_identifiers (canonical, party_id)
""",
        run=_fill_canonical,
    ),
]
