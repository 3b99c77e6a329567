"""Tables of the credentials concern (corridor.credentials).

`certifiers`: parties accredited to issue credentials (a verification body, never the exporter
itself), each with its issuer key as a did:key and the secret seed the node signs with, the
accreditation it holds and the credential types it may issue (comma-separated).
`credentials`: every credential issued, the signed document verbatim, the lot it is about and
its place in its issuer's status list; `revoked_at` is set once, never cleared.
`status_lists`: one Bitstring Status List per issuer and purpose; `document` is the signed
status list credential, NULL when a revocation made it stale (the next read signs it anew).
"""

from corridor.store.migration import Migration

MIGRATIONS: list[Migration] = [
    Migration(
        "credentials-0001",
        """
CREATE TABLE certifiers (
  party_id BIGINT PRIMARY KEY REFERENCES parties (id),
  did TEXT UNIQUE NOT NULL,
  secret_key TEXT NOT NULL,
  display_name TEXT NOT NULL,
  accreditation TEXT NOT NULL,
  scope TEXT NOT NULL,
  created_at TEXT NOT NULL
);
CREATE TABLE status_lists (
  id {ID},
  issuer_party BIGINT NOT NULL REFERENCES parties (id),
  purpose TEXT NOT NULL,
  size BIGINT NOT NULL,
  document TEXT
);
CREATE INDEX status_lists_issuer ON status_lists (issuer_party, purpose);
CREATE TABLE credentials (
  id TEXT PRIMARY KEY,
  issuer_party BIGINT NOT NULL REFERENCES parties (id),
  kind TEXT NOT NULL,
  subject TEXT NOT NULL,
  document TEXT NOT NULL,
  status_list BIGINT NOT NULL REFERENCES status_lists (id),
  status_index BIGINT NOT NULL,
  issued_at TEXT NOT NULL,
  revoked_at TEXT,
  revocation_reason TEXT,
  UNIQUE (status_list, status_index)
);
CREATE INDEX credentials_subject ON credentials (subject);
CREATE INDEX credentials_issuer ON credentials (issuer_party, issued_at)
""",
    ),
]
