"""Tables of the ledger concern.

ledger_state: one row (id 1): committed tree size; `stamp` changes on every append so a writer
  can tell whether its cached right edge is still the stored one.
ledger_tiles: tlog-tiles hashes per (level, n), widest version only; level -1 holds entry
  bundles (uint16-length-prefixed entries), `width` = hashes or entries in `data`.
  `nodes` (full tiles only): the tile's internal Merkle nodes, so proofs need no hashing.
ledger_bundle_parts: a partial entry bundle's entries, one row per append (`start`: entries
  before it, `width`: entries up to its end); see corridor.store.ledger_bundles.
ledger_checkpoints: every signed checkpoint note (with cosignatures added as they arrive);
  `witnessed` counts valid witness cosignatures.
"""

from corridor.store.migration import Migration

MIGRATIONS: list[Migration] = [
    Migration(
        "ledger-0001-tiles",
        """
CREATE TABLE ledger_state (
  id INTEGER PRIMARY KEY,
  size {BIGINT} NOT NULL,
  stamp {TEXT} NOT NULL
);
INSERT INTO ledger_state (id, size, stamp) VALUES (1, 0, 'init');
CREATE TABLE ledger_tiles (
  level INTEGER NOT NULL,
  n {BIGINT} NOT NULL,
  width INTEGER NOT NULL,
  data {BLOB} NOT NULL,
  PRIMARY KEY (level, n)
);
CREATE TABLE ledger_checkpoints (
  size {BIGINT} PRIMARY KEY,
  root {BLOB} NOT NULL,
  note {TEXT} NOT NULL,
  witnessed INTEGER NOT NULL DEFAULT 0,
  created_at {TEXT} NOT NULL
);
""",
    ),
    Migration(
        "ledger-0002-tile-nodes",
        "ALTER TABLE ledger_tiles ADD COLUMN nodes {BLOB}",
    ),
    # Partial entry bundles grow by pieces instead of being rewritten on every append; the
    # partial bundles already stored stay ledger_tiles rows, which pieces continue.
    Migration(
        "ledger-0003-bundle-parts",
        """
CREATE TABLE ledger_bundle_parts (
  n {BIGINT} NOT NULL,
  start INTEGER NOT NULL,
  width INTEGER NOT NULL,
  data {BLOB} NOT NULL,
  PRIMARY KEY (n, start)
);
""",
    ),
    # Every key that signed the log's checkpoints, with the sizes it signed: the key history
    # /log/info publishes, so that verifiers holding an older key know until when it signed.
    Migration(
        "ledger-0004-keys",
        """
CREATE TABLE ledger_keys (
  vkey TEXT PRIMARY KEY,
  first_size {BIGINT} NOT NULL,
  last_size {BIGINT} NOT NULL,
  first_signed TEXT NOT NULL,
  last_signed TEXT NOT NULL
);
""",
    ),
]
