"""Events are found by 64-bit keys of their eventID and Event Hash ID (corridor_key) and
parties by canonical identifiers: the same key in Python and in SQL on both databases, a key
collision never mistaken for a match, and a store made before these migrations upgraded with
its events still found and still visible to the right parties."""

from __future__ import annotations

from pathlib import Path

import pytest

from corridor.capture import capture_document
from corridor.config import Settings
from corridor.node import open_ledger
from corridor.query.run import get_event
from corridor.store import parties as party_store
from corridor.store.db import Connection, Database, lookup_key
from corridor.store.migrations import all_migrations, apply, migrate
from tests.store.test_capture_store import PARTY, _doc, _event

NEW = {"events-003-sqlite", "events-003-postgresql", "parties-0002-canonical",
       "events-005-party-paths-sqlite", "events-005-party-paths-postgresql",
       "events-006-location-keys-sqlite", "events-006-location-keys-postgresql",
       "events-007-read-point-keys-sqlite", "events-007-read-point-keys-postgresql",
       "events-008-shares-by-row"}
TEXTS = ["ni:///sha-256;" + "ab" * 32 + "?ver=CBV2.0", "urn:uuid:6d3e1c8a-0000-4000-8000-1",
         "", "ünï € 漢字 \U0001f600", "x" * 5000]


@pytest.fixture
def db(db_url: str) -> Database:
    return Database(db_url)


def _viewer(party: party_store.Party) -> object:
    class V:
        party_id = party.id
        identifiers = party.identifiers
        role = party.role
    return V()


def test_sql_key_is_the_python_key(db: Database) -> None:
    with db.connect() as conn:
        migrate(db, conn)
        for text in TEXTS:
            row = conn.fetchone("SELECT corridor_key(?)", (text,))
            assert row is not None and row[0] == lookup_key(text), text
        assert conn.fetchone("SELECT corridor_key(NULL)") == (None,)


def test_a_key_collision_is_not_a_match(db: Database, tmp_path: Path,
                                        monkeypatch: pytest.MonkeyPatch) -> None:
    """Every identifier gets the same key: captures and lookups still tell them apart."""
    from corridor.store import events

    monkeypatch.setattr(events, "lookup_key", lambda text: None if text is None else 1)
    with db.connect() as conn:
        migrate(db, conn)
        ledger = open_ledger(Settings(data_dir=tmp_path, db_url=db.url), db)
        one = capture_document(conn, ledger, _doc([_event("K1")]), party_id=None,
                               party_identifier=PARTY).events[0]
        two = capture_document(conn, ledger, _doc([_event("K2")]), party_id=None,
                               party_identifier=PARTY).events[0]
        three = capture_document(conn, ledger, _doc([_event("K3", eventID="urn:uuid:k3")]),
                                 party_id=None, party_identifier=PARTY).events[0]
        four = capture_document(conn, ledger, _doc([_event("K4", eventID="urn:uuid:k4")]),
                                party_id=None, party_identifier=PARTY).events[0]
        assert not any(c.duplicate for c in (one, two, three, four))
        assert conn.fetchone("SELECT COUNT(DISTINCT id_key), COUNT(DISTINCT hash_key)"
                             " FROM events") == (1, 1)
        admin = type("A", (), {"party_id": None, "identifiers": (), "role": "admin"})()
        for captured, tag in ((one, "K1"), (two, "K2"), (three, "K3"), (four, "K4")):
            for ref in (captured.event_id, captured.hash_id):
                got = get_event(conn, ref, admin)
                assert got is not None and tag in got.doc, ref
        again = capture_document(conn, ledger, _doc([_event("K1")]), party_id=None,
                                 party_identifier=PARTY).events[0]
        assert again.duplicate and again.log_index == one.log_index
        # the same content as K3 without its eventID: the same event (by hash), not stored
        same = capture_document(conn, ledger, _doc([_event("K3")]), party_id=None,
                                party_identifier=PARTY).events[0]
        assert same.duplicate and same.event_id == "urn:uuid:k3"
        assert get_event(conn, "urn:uuid:no-such-event", admin) is None
        ledger.close()


def _old_schema(db: Database, conn: Connection, without: set[str] = NEW) -> None:
    """The schema as it was before the migrations `without` (the lookup-key ones and later)."""
    with conn.transaction():
        conn.execute("CREATE TABLE IF NOT EXISTS schema_migrations ("
                     " id TEXT PRIMARY KEY, applied_at TEXT NOT NULL)")
    for m in all_migrations():
        if m.id not in without and m.dialect in (None, db.dialect):
            apply(db, conn, m)


def test_an_older_store_is_upgraded(db: Database) -> None:
    conn = db.connect()
    try:
        _old_schema(db, conn)
        hash_id = "ni:///sha-256;" + "cd" * 32 + "?ver=CBV2.0"
        with conn.transaction():
            conn.execute("INSERT INTO parties (name, identifier, role, created_at)"
                         " VALUES ('Buyer', 'urn:epc:id:pgln:4012345.00001', 'member', 'now')")
            buyer_id = conn.fetchone("SELECT id FROM parties")[0]  # type: ignore[index]
            conn.execute("INSERT INTO party_identifiers (party_id, identifier) VALUES (?, ?)",
                         (buyer_id, "urn:epc:id:pgln:4012345.00001"))
            conn.execute(
                "INSERT INTO events (id, event_id, hash_id, dedup, event_type, event_time,"
                " record_time, party, doc) VALUES (7, 'urn:uuid:old-1', ?, ?, 'ObjectEvent',"
                " '2026-01-01T00:00:00.000000Z', '2026-01-01T00:00:00.000000Z', ?, '{}')",
                (hash_id, f"{hash_id} {PARTY}", PARTY))
            own_hash = "ni:///sha-256;" + "ef" * 32 + "?ver=CBV2.0"  # no eventID given
            conn.execute(
                "INSERT INTO events (id, event_id, hash_id, dedup, event_type, event_time,"
                " record_time, party, doc) VALUES (8, ?, ?, ?, 'ObjectEvent',"
                " '2026-01-01T00:00:00.000000Z', '2026-01-01T00:00:00.000000Z', ?, '{}')",
                (own_hash, own_hash, f"{own_hash} {PARTY}", PARTY))
            # as stored before: the party as written and its canonical key
            conn.executemany("INSERT INTO event_parties (event_pk, value) VALUES (?, ?)",
                             [(7, "urn:epc:id:pgln:4012345.00001"),
                              (7, "https://id.gs1.org/417/4012345000016")])
        applied = migrate(db, conn)
        assert NEW & set(applied) and not {m for m in applied if m not in NEW}
        assert conn.fetchone("SELECT id_key, hash_key FROM events WHERE id = 7") == (
            lookup_key("urn:uuid:old-1"), lookup_key(hash_id))
        # an event stored under its hash has one key only, and is found by it
        assert conn.fetchone("SELECT id_key, hash_key FROM events WHERE id = 8") == (
            lookup_key(own_hash), None)
        admin = type("A", (), {"party_id": None, "identifiers": (), "role": "admin"})()
        got = get_event(conn, own_hash, admin)  # type: ignore[arg-type]
        assert got is not None and got.pk == 8
        buyer = party_store.get_party(conn, buyer_id)
        assert buyer is not None
        outsider, _ = party_store.add_party(conn, "Other", "urn:epc:id:pgln:9999999.00001")
        for ref in ("urn:uuid:old-1", hash_id):
            got = get_event(conn, ref, _viewer(buyer))  # type: ignore[arg-type]
            assert got is not None and got.pk == 7, ref
            assert get_event(conn, ref, _viewer(outsider)) is None  # type: ignore[arg-type]
        assert conn.fetchone("SELECT canonical FROM party_identifiers WHERE party_id = ?",
                             (buyer_id,)) == ("https://id.gs1.org/417/4012345000016",)
    finally:
        conn.close()
