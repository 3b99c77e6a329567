"""Tables of the events concern: stored events, the index rows queries use, capture jobs,
named queries and the location hierarchy for WD_ queries.

Identifier columns hold canonical keys (corridor.epcis.identifiers.canonical) and CBV values hold
bare words (corridor.epcis.cbv.normalise), so every spelling of a value matches the others.
Times are UTC, fixed width `YYYY-MM-DDTHH:MM:SS.ffffffZ`, so text order is time order.
"""

from corridor.store.db import Connection
from corridor.store.migration import Migration


def _lz4_for_long_text(conn: Connection) -> None:
    """PostgreSQL compresses a long value (a job's results: ~150 bytes per event) with pglz
    unless told otherwise; lz4 costs a fraction of the CPU. Only where the server has lz4."""
    if conn.fetchone("SELECT 1 FROM pg_settings WHERE name = 'default_toast_compression'"
                     " AND 'lz4' = ANY(enumvals)"):
        conn.execute("ALTER TABLE capture_jobs ALTER COLUMN results SET COMPRESSION lz4,"
                     " ALTER COLUMN errors SET COMPRESSION lz4")
        conn.execute("ALTER TABLE events ALTER COLUMN doc SET COMPRESSION lz4")


# The sources and destinations of events were indexed twice: in event_fields (path
# "source:<type>", for EQ_source_<type>) and in event_parties (value only, for visibility).
# event_parties now holds them once, with their path, keyed by value (EQ_source_<type>,
# visibility by party) and indexed by event (visibility of one event); on SQLite it is a
# WITHOUT ROWID table, one b-tree less per row. Values stored before without a matching
# event_fields row (the "as written" form of early stores) keep path ''.
_PARTY_PATHS = ("(path >= 'source:' AND path < 'source;')"
                " OR (path >= 'destination:' AND path < 'destination;')")
_EVENT_PARTIES_WITH_PATHS = f"""
CREATE TABLE event_parties_new (
  value TEXT NOT NULL,             -- a source or destination, canonical key
  event_pk {{BIGINT}} NOT NULL,
  path TEXT NOT NULL,              -- source:<type> or destination:<type>, as in event_fields
  PRIMARY KEY (value, event_pk, path)
)WITHOUT_ROWID;
INSERT INTO event_parties_new (value, event_pk, path)
SELECT DISTINCT sval, event_pk, path FROM event_fields
WHERE sval IS NOT NULL AND ({_PARTY_PATHS});
INSERT INTO event_parties_new (value, event_pk, path)
SELECT DISTINCT p.value, p.event_pk, '' FROM event_parties p WHERE NOT EXISTS (
  SELECT 1 FROM event_parties_new n WHERE n.value = p.value AND n.event_pk = p.event_pk);
DELETE FROM event_fields WHERE {_PARTY_PATHS};
DROP TABLE event_parties;
ALTER TABLE event_parties_new RENAME TO event_parties;
CREATE INDEX event_parties_event ON event_parties (event_pk, value)
"""

def _place_keys(column: str, old_index: str, new_index: str, table: str) -> str:
    """A place column indexed by the corridor_key of its text, with the event time, and the
    table listing every value stored (see _LOCATION_KEYS)."""
    return f"""
ALTER TABLE events ADD COLUMN {column}_key {{BIGINT}};
UPDATE events SET {column}_key = corridor_key({column}) WHERE {column} IS NOT NULL;
DROP INDEX {old_index};
CREATE INDEX {new_index} ON events ({column}_key, event_time, id);
CREATE TABLE {table} (
  value TEXT NOT NULL PRIMARY KEY  -- every value of {column} stored, canonical key
)WITHOUT_ROWID;
INSERT INTO {table} (value)
SELECT DISTINCT {column} FROM events WHERE {column} IS NOT NULL
"""


# The bizLocation index was ordered by the location's text (~40 bytes). A document's events
# are spread over many locations, and each location takes its new entries at the end of its
# own key range: one page per location per commit, plus the neighbours a split rebalances.
# It was the largest and fastest-growing part of what a commit wrote (measurements in
# docs/capture.md, "As the store grows"). Ordered by the 8-byte corridor_key of the text,
# its entries take about half the room, so a page splits about half as often. Every lookup
# compares the text too (a collision costs a row read, never a wrong answer). The
# /bizLocations discovery resource read the text index in order; it now reads
# `biz_locations`, one row per location ever stored, written once per new location.
_LOCATION_KEYS = _place_keys("biz_location", "events_biz_location_time",
                             "events_biz_location_time", "biz_locations")

# The readPoint index had the same shape as the bizLocation one: read points are as many as
# locations (a dock door, a gate, a scanner per site), so it cost a commit as many pages. It
# is keyed the same way (with the event time, so that EQ_/WD_readPoint read in result order),
# and /readPoints reads `read_points`.
_READ_POINT_KEYS = _place_keys("read_point", "events_read_point", "events_read_point_time",
                               "read_points")

# A share named an eventID text, which the capturing client chooses: another party could
# store an event under the same eventID and the share then let its holder read that event too.
# A share now names one stored event (its row). An older share is kept for the first event
# stored under its eventID (the one the share API checked the sharer had captured) and that
# capturer's other events with the same eventID, never for another capturer's. It lives with
# the events concern because it reads the events table, which parties-0001 precedes.
_SHARES_BY_ROW = """
CREATE TABLE event_shares_new (
  event_pk {BIGINT} NOT NULL,      -- events.id of the one stored event shared
  party_id {BIGINT} NOT NULL REFERENCES parties (id),
  PRIMARY KEY (event_pk, party_id)
);
INSERT INTO event_shares_new (event_pk, party_id)
SELECT DISTINCT e.id, s.party_id FROM event_shares s
JOIN events f ON f.id = (SELECT MIN(m.id) FROM events m
  WHERE m.id_key = corridor_key(s.event_id) AND m.event_id = s.event_id)
JOIN events e ON e.id_key = f.id_key AND e.event_id = f.event_id AND e.party = f.party;
DROP TABLE event_shares;
ALTER TABLE event_shares_new RENAME TO event_shares;
CREATE INDEX event_shares_party ON event_shares (party_id, event_pk)
"""

MIGRATIONS: list[Migration] = [
    Migration("events-001", """
CREATE TABLE events (
  id {ID},
  event_id TEXT NOT NULL,          -- eventID as stored (the Event Hash ID when none was given)
  hash_id TEXT NOT NULL,           -- CBV 2.0 Event Hash ID
  dedup TEXT NOT NULL UNIQUE,      -- hash_id + capturing party: re-capture is idempotent
  event_type TEXT NOT NULL,
  action TEXT,
  event_time TEXT NOT NULL,
  record_time TEXT NOT NULL,
  biz_step TEXT,
  disposition TEXT,
  read_point TEXT,
  biz_location TEXT,
  transformation_id TEXT,
  error_time TEXT,                 -- errorDeclaration.declarationTime, if any
  captured_by {BIGINT},            -- parties.id of the capturing party (NULL: the node itself)
  party TEXT NOT NULL,             -- capturing party's identifier, as written in the log
  job_id {BIGINT},
  log_index {BIGINT},
  doc {TEXT} NOT NULL              -- the event, JSON-LD form, as digested into the log
);
CREATE INDEX events_event_id ON events (event_id);
CREATE INDEX events_biz_step_time ON events (biz_step, event_time);
CREATE INDEX events_biz_location_time ON events (biz_location, event_time);
CREATE INDEX events_read_point ON events (read_point);
CREATE INDEX events_event_time ON events (event_time);
CREATE INDEX events_record_time ON events (record_time);
CREATE INDEX events_captured_by ON events (captured_by);
CREATE TABLE event_epcs (
  event_pk {BIGINT} NOT NULL,
  role TEXT NOT NULL,              -- epc|child|parent|input|output|class|child_class|...
  epc TEXT NOT NULL,
  quantity {REAL},
  uom TEXT
);
CREATE INDEX event_epcs_epc ON event_epcs (epc, role, event_pk);
CREATE INDEX event_epcs_event ON event_epcs (event_pk);
CREATE TABLE event_fields (
  event_pk {BIGINT} NOT NULL,
  path TEXT NOT NULL,              -- e.g. bizTransaction:po, ext:<iri>, sensor:value:CEL
  sval TEXT,
  nval {REAL}
);
CREATE INDEX event_fields_s ON event_fields (path, sval, event_pk);
CREATE INDEX event_fields_n ON event_fields (path, nval, event_pk);
CREATE INDEX event_fields_event ON event_fields (event_pk);
CREATE TABLE event_parties (
  event_pk {BIGINT} NOT NULL,
  value TEXT NOT NULL              -- every source/destination value, as written and canonical
);
CREATE INDEX event_parties_event ON event_parties (event_pk, value);
CREATE INDEX event_parties_value ON event_parties (value, event_pk);
CREATE TABLE location_children (
  parent TEXT NOT NULL,
  child TEXT NOT NULL,
  PRIMARY KEY (parent, child)
);
CREATE TABLE event_namespaces (
  prefix TEXT NOT NULL,
  iri TEXT NOT NULL,
  PRIMARY KEY (prefix, iri)
);
CREATE TABLE capture_jobs (
  id {ID},
  party_id {BIGINT},
  behaviour TEXT NOT NULL,
  running INTEGER NOT NULL,
  success INTEGER NOT NULL,
  created_at TEXT NOT NULL,
  finished_at TEXT,
  event_count INTEGER NOT NULL DEFAULT 0,
  errors {TEXT},                   -- JSON list of problems
  results {TEXT}                   -- JSON list: eventID, hash, logIndex, duplicate per event
);
CREATE INDEX capture_jobs_party ON capture_jobs (party_id, id);
CREATE TABLE named_queries (
  owner {BIGINT} NOT NULL,         -- parties.id (0: the node itself)
  name TEXT NOT NULL,
  params {TEXT} NOT NULL,          -- the EPCIS query as JSON
  extensions {TEXT},               -- prefixes declared when it was created (GS1-Extensions)
  created_at TEXT NOT NULL,
  PRIMARY KEY (owner, name)
)
"""),
    # Leaner writes: drop indexes no query uses, index numbers only where there are some,
    # and put the row id into the time-ordered indexes so that PostgreSQL, like SQLite, can
    # return `ORDER BY event_time, id` pages straight from the index.
    Migration("events-002", """
DROP INDEX events_captured_by;
DROP INDEX event_epcs_event;
DROP INDEX event_fields_event;
DROP INDEX event_fields_n;
CREATE INDEX event_fields_n ON event_fields (path, nval, event_pk) WHERE nval IS NOT NULL;
DROP INDEX events_biz_step_time;
CREATE INDEX events_biz_step_time ON events (biz_step, event_time, id);
DROP INDEX events_biz_location_time;
CREATE INDEX events_biz_location_time ON events (biz_location, event_time, id)
"""),
    # Long random identifiers indexed by 64-bit keys (corridor.store.db.lookup_key) instead
    # of their text: `dedup` (hash + party, UNIQUE) and the eventID index go; `id_key` and
    # `hash_key` index eventID and Event Hash ID, so that a lookup by either is an index
    # search (the hash had no index before). An event stored under its Event Hash ID (no
    # eventID given) needs no second key: its hash_key is NULL, left out of the index.
    # Re-capture is detected by these keys + the capturing party.
    Migration("events-003-sqlite", """
CREATE TABLE events_new (
  id {ID},
  event_id TEXT NOT NULL,
  hash_id TEXT NOT NULL,
  id_key {BIGINT} NOT NULL,        -- corridor_key(event_id)
  hash_key {BIGINT},               -- corridor_key(hash_id); NULL when it is event_id
  event_type TEXT NOT NULL,
  action TEXT,
  event_time TEXT NOT NULL,
  record_time TEXT NOT NULL,
  biz_step TEXT,
  disposition TEXT,
  read_point TEXT,
  biz_location TEXT,
  transformation_id TEXT,
  error_time TEXT,
  captured_by {BIGINT},
  party TEXT NOT NULL,
  job_id {BIGINT},
  log_index {BIGINT},
  doc {TEXT} NOT NULL
);
INSERT INTO events_new (id, event_id, hash_id, id_key, hash_key, event_type, action,
  event_time, record_time, biz_step, disposition, read_point, biz_location, transformation_id,
  error_time, captured_by, party, job_id, log_index, doc)
SELECT id, event_id, hash_id, corridor_key(event_id),
  CASE WHEN hash_id = event_id THEN NULL ELSE corridor_key(hash_id) END, event_type,
  action, event_time, record_time, biz_step, disposition, read_point, biz_location,
  transformation_id, error_time, captured_by, party, job_id, log_index, doc FROM events;
DROP TABLE events;
ALTER TABLE events_new RENAME TO events;
CREATE INDEX events_id_key ON events (id_key);
CREATE INDEX events_hash_key ON events (hash_key) WHERE hash_key IS NOT NULL;
CREATE INDEX events_biz_step_time ON events (biz_step, event_time, id);
CREATE INDEX events_biz_location_time ON events (biz_location, event_time, id);
CREATE INDEX events_read_point ON events (read_point);
CREATE INDEX events_event_time ON events (event_time);
CREATE INDEX events_record_time ON events (record_time)
""", dialect="sqlite"),
    Migration("events-003-postgresql", """
CREATE FUNCTION corridor_key(text) RETURNS bigint IMMUTABLE STRICT PARALLEL SAFE
  LANGUAGE sql AS $$ SELECT ('x' || left(md5($1), 16))::bit(64)::bigint $$;
ALTER TABLE events ADD COLUMN id_key BIGINT, ADD COLUMN hash_key BIGINT;
UPDATE events SET id_key = corridor_key(event_id),
  hash_key = CASE WHEN hash_id = event_id THEN NULL ELSE corridor_key(hash_id) END;
ALTER TABLE events ALTER COLUMN id_key SET NOT NULL;
ALTER TABLE events DROP COLUMN dedup;
DROP INDEX events_event_id;
CREATE INDEX events_id_key ON events (id_key);
CREATE INDEX events_hash_key ON events (hash_key) WHERE hash_key IS NOT NULL
""", dialect="postgresql"),
    Migration("events-004-postgresql-lz4", "", dialect="postgresql", run=_lz4_for_long_text),
    Migration("events-005-party-paths-sqlite",
              _EVENT_PARTIES_WITH_PATHS.replace("WITHOUT_ROWID", " WITHOUT ROWID"),
              dialect="sqlite"),
    Migration("events-005-party-paths-postgresql",
              _EVENT_PARTIES_WITH_PATHS.replace("WITHOUT_ROWID", ""), dialect="postgresql"),
    Migration("events-006-location-keys-sqlite",
              _LOCATION_KEYS.replace("WITHOUT_ROWID", " WITHOUT ROWID"), dialect="sqlite"),
    Migration("events-006-location-keys-postgresql",
              _LOCATION_KEYS.replace("WITHOUT_ROWID", ""), dialect="postgresql"),
    Migration("events-007-read-point-keys-sqlite",
              _READ_POINT_KEYS.replace("WITHOUT_ROWID", " WITHOUT ROWID"), dialect="sqlite"),
    Migration("events-007-read-point-keys-postgresql",
              _READ_POINT_KEYS.replace("WITHOUT_ROWID", ""), dialect="postgresql"),
    Migration("events-008-shares-by-row", _SHARES_BY_ROW),
]
