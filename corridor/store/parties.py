"""Parties, their API keys, identifiers, event shares and auditor grants.

API keys are random (`secrets`) and shown once; the database keeps only their SHA-256 hex
digest, so a leaked database does not leak working keys. A party is named on the command line
by its numeric id, its name or its main identifier (see `find_party`).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime

from corridor.epcis.identifiers import canonical
from corridor.store.db import Connection
from corridor.store.events import event_id_match

ROLES = ("member", "auditor", "admin")
KEY_PREFIX = "cor_"


class PartyError(ValueError):
    """A party operation was refused; `field` names the offending input."""

    def __init__(self, field: str, message: str) -> None:
        self.field = field
        super().__init__(f"{field}: {message}")


@dataclass(frozen=True)
class Party:
    id: int
    name: str
    identifier: str
    role: str
    verifier_key: str | None
    created_at: str | None
    revoked_at: str | None
    identifiers: tuple[str, ...]

    @property
    def active(self) -> bool:
        return self.revoked_at is None


def hash_api_key(key: str) -> str:
    """SHA-256 hex digest of an API key: the only form in which keys are stored."""
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


def new_api_key() -> str:
    return KEY_PREFIX + secrets.token_urlsafe(32)


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def check_verifier_key(value: str) -> str:
    """A verifier key is an Ed25519 public key: 32 bytes, standard base64."""
    try:
        raw = base64.b64decode(value.strip(), validate=True)
    except (binascii.Error, ValueError) as exc:
        raise PartyError("verifier_key", f"not valid base64: {exc}") from None
    if len(raw) != 32:
        raise PartyError("verifier_key", f"an Ed25519 public key has 32 bytes, got {len(raw)}")
    return base64.b64encode(raw).decode("ascii")


_COLUMNS = "id, name, identifier, role, verifier_key, created_at, revoked_at"


def _load(conn: Connection, row: tuple) -> Party:
    ids = conn.fetchall("SELECT identifier FROM party_identifiers WHERE party_id = ?",
                        (row[0],))
    # sorted here, not by the database: PostgreSQL would use its collation, SQLite bytes
    return Party(int(row[0]), row[1], row[2], row[3], row[4], row[5], row[6],
                 tuple(sorted(r[0] for r in ids)))


def add_party(conn: Connection, name: str, identifier: str, *, role: str = "member",
              verifier_key: str | None = None,
              extra_identifiers: tuple[str, ...] | list[str] = ()) -> tuple[Party, str]:
    """Create a party; return it and its API key (the key is not stored, only its hash)."""
    name = (name or "").strip()
    identifier = (identifier or "").strip()
    for field, value in (("name", name), ("identifier", identifier),
                         *(("identifiers", i) for i in extra_identifiers)):
        _no_nul(field, value)
    if not name:
        raise PartyError("name", "must not be empty")
    if not identifier:
        raise PartyError("identifier", "must not be empty")
    if role not in ROLES:
        raise PartyError("role", f"must be one of {', '.join(ROLES)}, got {role!r}")
    vkey = check_verifier_key(verifier_key) if verifier_key else None
    key = new_api_key()
    with conn.transaction():
        if conn.fetchone("SELECT 1 FROM parties WHERE identifier = ?", (identifier,)):
            raise PartyError("identifier", f"{identifier!r} already belongs to a party")
        cur = conn.execute(
            "INSERT INTO parties (name, identifier, role, key_hash, verifier_key, created_at)"
            " VALUES (?, ?, ?, ?, ?, ?) RETURNING id",
            (name, identifier, role, hash_api_key(key), vkey, _now()),
        )
        party_id = int(cur.fetchone()[0])
        for ident in dict.fromkeys([identifier, *(i.strip() for i in extra_identifiers)]):
            if ident:
                _add_identifier_row(conn, party_id, ident)
        party = get_party(conn, party_id)
    assert party is not None
    return party, key


def _add_identifier_row(conn: Connection, party_id: int, identifier: str) -> None:
    """With its canonical key, which visibility matches against event_parties."""
    conn.execute("INSERT INTO party_identifiers (party_id, identifier, canonical)"
                 " VALUES (?, ?, ?)", (party_id, identifier, canonical(identifier)))


def _no_nul(field: str, value: str) -> None:
    # PostgreSQL text cannot hold NUL; refuse it up front, the same on both databases.
    if "\x00" in value:
        raise PartyError(field, "must not contain a NUL character")


def get_party(conn: Connection, party_id: int) -> Party | None:
    row = conn.fetchone(f"SELECT {_COLUMNS} FROM parties WHERE id = ?", (party_id,))
    return _load(conn, row) if row else None


def find_party(conn: Connection, ref: str | int) -> Party:
    """The party named by numeric id, main identifier or name (names must be unambiguous)."""
    text = str(ref).strip()
    if "\x00" in text:
        raise PartyError("party", f"no party with id, identifier or name {text!r}")
    # ASCII digits only ("¹".isdigit() is true), and within BIGINT range.
    if text.isascii() and text.isdigit() and len(text) <= 18:
        party = get_party(conn, int(text))
        if party:
            return party
    row = conn.fetchone(f"SELECT {_COLUMNS} FROM parties WHERE identifier = ?", (text,))
    if row:
        return _load(conn, row)
    rows = conn.fetchall(f"SELECT {_COLUMNS} FROM parties WHERE name = ?", (text,))
    if len(rows) == 1:
        return _load(conn, rows[0])
    if len(rows) > 1:
        raise PartyError("party", f"name {text!r} is ambiguous; use the id or identifier")
    raise PartyError("party", f"no party with id, identifier or name {text!r}")


def list_parties(conn: Connection, *, include_revoked: bool = True) -> list[Party]:
    where = "" if include_revoked else " WHERE revoked_at IS NULL"
    rows = conn.fetchall(f"SELECT {_COLUMNS} FROM parties{where} ORDER BY id")
    return [_load(conn, r) for r in rows]


def revoke_party(conn: Connection, ref: str | int) -> Party:
    """Revoke a party: its key stops working at once. Its events and log entries remain."""
    with conn.transaction():
        party = find_party(conn, ref)
        if party.revoked_at is None:
            conn.execute("UPDATE parties SET revoked_at = ? WHERE id = ?", (_now(), party.id))
        revoked = get_party(conn, party.id)
    assert revoked is not None
    return revoked


def rotate_key(conn: Connection, ref: str | int) -> str:
    """Give an active party a new API key (the old one stops working); return the new key."""
    key = new_api_key()
    with conn.transaction():
        party = find_party(conn, ref)
        if not party.active:
            raise PartyError("party", f"party {party.name!r} is revoked")
        conn.execute("UPDATE parties SET key_hash = ? WHERE id = ?",
                     (hash_api_key(key), party.id))
    return key


# The party's identifiers as one JSON array, so that a key lookup (every authenticated request)
# is one query rather than two.
_IDENTIFIERS_JSON = {"sqlite": "json_group_array(identifier)",
                     "postgresql": "json_agg(identifier)"}


def party_for_key(conn: Connection, key: str) -> Party | None:
    """The active party holding this API key, or None (unknown or revoked key)."""
    row = conn.fetchone(
        f"SELECT {_COLUMNS}, (SELECT {_IDENTIFIERS_JSON[conn.dialect]} FROM party_identifiers"
        " WHERE party_id = parties.id) FROM parties WHERE key_hash = ? AND revoked_at IS NULL",
        (hash_api_key(key),),
    )
    if row is None:
        return None
    ids = row[7]
    if isinstance(ids, str):  # SQLite gives the JSON text, psycopg the decoded list
        ids = json.loads(ids)
    return Party(int(row[0]), row[1], row[2], row[3], row[4], row[5], row[6],
                 tuple(sorted(ids or ())))


def active_key_hashes(conn: Connection, key_hashes: set[str]) -> set[str]:
    """Which of these API key hashes are an active party's key (at least one given)."""
    marks = ", ".join("?" * len(key_hashes))
    return {row[0] for row in conn.fetchall(
        f"SELECT key_hash FROM parties WHERE key_hash IN ({marks}) AND revoked_at IS NULL",
        tuple(key_hashes))}


def roles_and_identifiers(conn: Connection, party_ids: set[int]
                          ) -> dict[int, tuple[str, set[str]]]:
    """Each of these parties' role and identifiers (its main one included), in one query."""
    if not party_ids:
        return {}
    marks = ", ".join("?" * len(party_ids))
    found: dict[int, tuple[str, set[str]]] = {}
    for pk, role, main, other in conn.fetchall(
            "SELECT p.id, p.role, p.identifier, i.identifier FROM parties p"
            " LEFT JOIN party_identifiers i ON i.party_id = p.id"
            f" WHERE p.id IN ({marks})", tuple(party_ids)):
        entry = found.setdefault(int(pk), (role, {main}))
        if other is not None:
            entry[1].add(other)
    return found


def add_identifier(conn: Connection, ref: str | int, identifier: str) -> Party:
    """Let a party answer to one more identifier in sourceList/destinationList."""
    identifier = (identifier or "").strip()
    if not identifier:
        raise PartyError("identifier", "must not be empty")
    _no_nul("identifier", identifier)
    with conn.transaction():
        party = find_party(conn, ref)
        if identifier not in party.identifiers:
            _add_identifier_row(conn, party.id, identifier)
        updated = get_party(conn, party.id)
    assert updated is not None
    return updated


class AmbiguousEvent(PartyError):
    """An eventID names stored events of more than one capturing party: say whose."""


def events_to_share(conn: Connection, event_ref: str, *, sharer: int | None,
                    captured_by: str | int | None = None) -> list[int]:
    """The stored events (primary keys) a share of `event_ref` (an eventID or Event Hash ID)
    names. A sharer (a party id) names only events it captured itself; the operator
    (sharer None: an admin or the command line) names those of `captured_by`, which it must
    give when events of several parties carry that eventID. Empty when there are none."""
    event_ref = (event_ref or "").strip()
    if not event_ref:
        raise PartyError("eventID", "must not be empty")
    _no_nul("eventID", event_ref)
    match, params = event_id_match("events", event_ref)
    rows = conn.fetchall(f"SELECT id, captured_by FROM events WHERE {match} ORDER BY id",
                         params)
    if sharer is None and captured_by is not None:
        sharer = find_party(conn, captured_by).id
    if sharer is not None:
        return [int(pk) for pk, by in rows if by == sharer]
    if len({by for _, by in rows}) > 1:
        raise AmbiguousEvent("capturedBy", f"events of several parties have eventID "
                                           f"{event_ref!r}; name the capturing party")
    return [int(pk) for pk, _ in rows]


def share_events(conn: Connection, event_pks: list[int], ref: str | int) -> Party:
    """Let a party read these stored events. Sharing twice is harmless."""
    with conn.transaction():
        party = find_party(conn, ref)
        for pk in event_pks:
            if not conn.fetchone("SELECT 1 FROM event_shares WHERE event_pk = ?"
                                 " AND party_id = ?", (pk, party.id)):
                conn.execute("INSERT INTO event_shares (event_pk, party_id) VALUES (?, ?)",
                             (pk, party.id))
    return party


def unshare_events(conn: Connection, event_pks: list[int], ref: str | int) -> bool:
    """Withdraw a party's shares of these events; False when there was none."""
    with conn.transaction():
        party = find_party(conn, ref)
        done = 0
        for pk in event_pks:
            cur = conn.execute("DELETE FROM event_shares WHERE event_pk = ? AND party_id = ?",
                               (pk, party.id))
            done += cur.rowcount
        return bool(done)


def shares_of(conn: Connection, event_pk: int) -> list[int]:
    """The parties one stored event is shared with."""
    rows = conn.fetchall("SELECT party_id FROM event_shares WHERE event_pk = ? ORDER BY party_id",
                         (event_pk,))
    return [int(r[0]) for r in rows]


def grant_auditor(conn: Connection, auditor_ref: str | int, party_ref: str | int) -> None:
    """Let an auditor read whatever the party may read."""
    with conn.transaction():
        auditor = find_party(conn, auditor_ref)
        party = find_party(conn, party_ref)
        if auditor.role != "auditor":
            raise PartyError("auditor", f"party {auditor.name!r} has role {auditor.role!r}, "
                                        "not 'auditor'")
        if auditor.id == party.id:
            raise PartyError("party", "an auditor cannot be granted over itself")
        if not conn.fetchone(
            "SELECT 1 FROM auditor_grants WHERE auditor_id = ? AND party_id = ?",
            (auditor.id, party.id),
        ):
            conn.execute("INSERT INTO auditor_grants (auditor_id, party_id) VALUES (?, ?)",
                         (auditor.id, party.id))


def revoke_grant(conn: Connection, auditor_ref: str | int, party_ref: str | int) -> bool:
    with conn.transaction():
        auditor = find_party(conn, auditor_ref)
        party = find_party(conn, party_ref)
        cur = conn.execute("DELETE FROM auditor_grants WHERE auditor_id = ? AND party_id = ?",
                           (auditor.id, party.id))
        return bool(cur.rowcount)


def grants_of(conn: Connection, auditor_id: int) -> list[int]:
    rows = conn.fetchall(
        "SELECT party_id FROM auditor_grants WHERE auditor_id = ? ORDER BY party_id",
        (auditor_id,),
    )
    return [int(r[0]) for r in rows]


def verifier_key_of(conn: Connection, party_id: int) -> bytes | None:
    """The party's raw 32-byte Ed25519 public key, if it registered one."""
    row = conn.fetchone("SELECT verifier_key FROM parties WHERE id = ?", (party_id,))
    return base64.b64decode(row[0]) if row and row[0] else None


def verify_signature(conn: Connection, party_id: int, message: bytes, signature: bytes) -> None:
    """Check a party's Ed25519 signature over `message` (for signed captures: the document
    digest) against its registered verifier key. Raises PartyError naming what is wrong."""
    from cryptography.exceptions import InvalidSignature
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

    raw = verifier_key_of(conn, party_id)
    if raw is None:
        raise PartyError("signature", "this party has no verifier key; register one with "
                                      "`corridor party add --verifier-key`")
    if len(signature) != 64:
        raise PartyError("signature", f"an Ed25519 signature has 64 bytes, got {len(signature)}")
    try:
        Ed25519PublicKey.from_public_bytes(raw).verify(signature, message)
    except InvalidSignature:
        raise PartyError("signature", "does not verify with the party's verifier key") from None
