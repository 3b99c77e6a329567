"""Reads and writes of the credentials concern: certifiers, issued credentials, status lists
(tables in schema_credentials). Policy (who may issue, what a claim needs) is
corridor.credentials'; this module only stores what it is told."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import UTC, datetime

from corridor.store.db import Connection


class CredentialStoreError(ValueError):
    """A write the tables refuse (unknown party, already a certifier, ...); the message says
    which."""


@dataclass(frozen=True)
class Certifier:
    party_id: int
    did: str
    secret_key: str  # multibase Ed25519 seed (corridor.credentials.keys)
    display_name: str
    accreditation: str
    scope: tuple[str, ...]  # credential types it may issue
    created_at: str


@dataclass(frozen=True)
class StoredCredential:
    id: str
    issuer_party: int
    kind: str
    subject: str
    document: str  # the signed credential, verbatim
    status_list: int
    status_index: int
    issued_at: str
    revoked_at: str | None
    revocation_reason: str | None


@dataclass(frozen=True)
class StatusList:
    id: int
    issuer_party: int
    purpose: str
    size: int
    document: str | None  # the signed status list credential; None when stale


def now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


_CERTIFIER = "party_id, did, secret_key, display_name, accreditation, scope, created_at"
_CREDENTIAL = ("id, issuer_party, kind, subject, document, status_list, status_index,"
               " issued_at, revoked_at, revocation_reason")


def _certifier(row: tuple) -> Certifier:
    return Certifier(int(row[0]), row[1], row[2], row[3], row[4],
                     tuple(s for s in row[5].split(",") if s), row[6])


def _credential(row: tuple) -> StoredCredential:
    return StoredCredential(row[0], int(row[1]), row[2], row[3], row[4], int(row[5]),
                            int(row[6]), row[7], row[8], row[9])


def add_certifier(conn: Connection, party_id: int, *, did: str, secret_key: str,
                  display_name: str, accreditation: str, scope: tuple[str, ...]) -> Certifier:
    with conn.transaction():
        if conn.fetchone("SELECT 1 FROM certifiers WHERE party_id = ?", (party_id,)):
            raise CredentialStoreError(f"party {party_id} is already a certifier")
        conn.execute(f"INSERT INTO certifiers ({_CERTIFIER}) VALUES (?, ?, ?, ?, ?, ?, ?)",
                     (party_id, did, secret_key, display_name, accreditation, ",".join(scope),
                      now()))
    found = certifier(conn, party_id)
    assert found is not None
    return found


def certifier(conn: Connection, party_id: int) -> Certifier | None:
    row = conn.fetchone(f"SELECT {_CERTIFIER} FROM certifiers WHERE party_id = ?", (party_id,))
    return _certifier(row) if row else None


def certifiers(conn: Connection) -> list[Certifier]:
    return [_certifier(r) for r in
            conn.fetchall(f"SELECT {_CERTIFIER} FROM certifiers ORDER BY party_id")]


def open_status_list(conn: Connection, issuer_party: int, purpose: str, size: int
                     ) -> StatusList:
    """The issuer's newest list for `purpose` with room left, made when there is none. Call
    inside the issuing transaction."""
    row = conn.fetchone("SELECT id, size FROM status_lists WHERE issuer_party = ? AND purpose = ?"
                        " ORDER BY id DESC LIMIT 1", (issuer_party, purpose))
    if row is not None:
        used = conn.fetchone("SELECT COUNT(*) FROM credentials WHERE status_list = ?", (row[0],))
        # keep a margin so that random allocation stays quick and the list stays unlinkable
        if used is not None and int(used[0]) < int(row[1]) // 2:
            found = status_list(conn, int(row[0]))
            assert found is not None
            return found
    cur = conn.execute("INSERT INTO status_lists (issuer_party, purpose, size) VALUES (?, ?, ?)"
                       " RETURNING id", (issuer_party, purpose, size))
    new_id = int(cur.fetchone()[0])
    found = status_list(conn, new_id)
    assert found is not None
    return found


def free_index(conn: Connection, status: StatusList) -> int:
    """A random unused index of the list (the spec asks for random allocation, so that an
    index tells nothing about issuing order)."""
    while True:
        index = secrets.randbelow(status.size)
        if conn.fetchone("SELECT 1 FROM credentials WHERE status_list = ? AND status_index = ?",
                         (status.id, index)) is None:
            return index


def status_list(conn: Connection, list_id: int) -> StatusList | None:
    row = conn.fetchone("SELECT id, issuer_party, purpose, size, document FROM status_lists"
                        " WHERE id = ?", (list_id,))
    return StatusList(int(row[0]), int(row[1]), row[2], int(row[3]), row[4]) if row else None


def revoked_indexes(conn: Connection, list_id: int) -> list[int]:
    return [int(r[0]) for r in conn.fetchall(
        "SELECT status_index FROM credentials WHERE status_list = ? AND revoked_at IS NOT NULL",
        (list_id,))]


def save_status_document(conn: Connection, list_id: int, document: str) -> None:
    with conn.transaction():
        conn.execute("UPDATE status_lists SET document = ? WHERE id = ?", (document, list_id))


def insert_credential(conn: Connection, credential: StoredCredential) -> None:
    conn.execute(f"INSERT INTO credentials ({_CREDENTIAL}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                 (credential.id, credential.issuer_party, credential.kind, credential.subject,
                  credential.document, credential.status_list, credential.status_index,
                  credential.issued_at, credential.revoked_at, credential.revocation_reason))


def get_credential(conn: Connection, credential_id: str) -> StoredCredential | None:
    row = conn.fetchone(f"SELECT {_CREDENTIAL} FROM credentials WHERE id = ?", (credential_id,))
    return _credential(row) if row else None


def list_credentials(conn: Connection, *, subject: str | None = None,
                     issuer_party: int | None = None, limit: int = 500) -> list[StoredCredential]:
    where, params = [], []
    if subject is not None:
        where.append("subject = ?")
        params.append(subject)
    if issuer_party is not None:
        where.append("issuer_party = ?")
        params.append(issuer_party)
    clause = f" WHERE {' AND '.join(where)}" if where else ""
    return [_credential(r) for r in conn.fetchall(
        f"SELECT {_CREDENTIAL} FROM credentials{clause} ORDER BY issued_at DESC, id LIMIT ?",
        [*params, limit])]


def revoke_credential(conn: Connection, credential_id: str, reason: str) -> StoredCredential:
    """Mark revoked (once) and make its status list stale, in one transaction."""
    with conn.transaction():
        found = get_credential(conn, credential_id)
        if found is None:
            raise CredentialStoreError(f"no credential {credential_id!r}")
        if found.revoked_at is None:
            conn.execute("UPDATE credentials SET revoked_at = ?, revocation_reason = ?"
                         " WHERE id = ?", (now(), reason, credential_id))
            conn.execute("UPDATE status_lists SET document = NULL WHERE id = ?",
                         (found.status_list,))
    again = get_credential(conn, credential_id)
    assert again is not None
    return again
