"""The bizLocation index holds 64-bit keys of the locations (migration events-006), not their
text: EQ_/WD_bizLocation and the /bizLocations discovery resource answer as before on both
databases, a key collision is never a match, the discovery list obeys visibility and pages,
and an older store is upgraded with its locations still found."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from corridor.config import Settings
from corridor.query.epc import canonical
from corridor.query.params import parse_query
from corridor.query.run import descendants, discover, select_events
from corridor.store import events as store_events
from corridor.store import parties as party_store
from corridor.store.capture import capture_document
from corridor.store.db import Connection, Database, lookup_key
from corridor.store.events import add_location_children
from corridor.store.ledger_store import open_ledger
from corridor.store.migrations import migrate
from tests.store.test_capture_store import PARTY, _doc, _event
from tests.store.test_lookup_keys import _old_schema, _viewer

SITE = "urn:epc:id:sgln:4012345.00010.0"
DOCK = "urn:epc:id:sgln:4012345.00011.0"  # a child of SITE in the master data
YARD = "urn:epc:id:sgln:4012345.00020.0"
BUYER = "urn:epc:id:pgln:4012345.00001"
ADMIN = type("A", (), {"party_id": None, "identifiers": (), "role": "admin"})()


@pytest.fixture
def db(db_url: str) -> Database:
    return Database(db_url)


def _at(serial: str, location: str, **extra: Any) -> dict[str, Any]:
    return _event(serial, bizLocation={"id": location}, **extra)


def _found(conn: Connection, viewer: Any, **raw: list[str]) -> list[int]:
    query = parse_query(raw, descendants=lambda locs: descendants(conn, locs))
    return [row.pk for row in select_events(conn, query, viewer, after=None, limit=100)]


def _capture(conn: Connection, ledger: Any, events: list[dict[str, Any]]) -> None:
    result = capture_document(conn, ledger, _doc(events), party_id=None,
                              party_identifier=PARTY)
    assert result.success, result.errors


def _stored(conn: Connection, db: Database, tmp_path: Path) -> tuple[Any, Any, list[int]]:
    """Events at SITE, DOCK (below SITE), YARD and nowhere, two of them sold to the buyer:
    (the buyer, the ledger, the first event's pk at SITE, DOCK and YARD)."""
    migrate(db, conn)
    buyer, _ = party_store.add_party(conn, "Buyer", BUYER)
    with conn.transaction():
        add_location_children(conn, [(SITE, DOCK)])
    ledger = open_ledger(Settings(data_dir=tmp_path, db_url=db.url), db)
    sold = {"destinationList": [{"type": "owning_party", "destination": BUYER}]}
    _capture(conn, ledger, [_at("L1", SITE), _at("L2", DOCK, **sold), _at("L3", YARD),
                            _event("L4")])
    _capture(conn, ledger, [_at("L5", YARD, **sold), _at("L6", SITE)])
    first = dict(conn.fetchall("SELECT biz_location, MIN(id) FROM events"
                               " GROUP BY biz_location"))
    return buyer, ledger, [first[canonical(x)] for x in (SITE, DOCK, YARD)]


@pytest.mark.parametrize("collide", [False, True], ids=["keys", "every-key-equal"])
def test_location_queries(db: Database, tmp_path: Path, collide: bool,
                          monkeypatch: pytest.MonkeyPatch) -> None:
    if collide:  # every location gets the same key: the text still decides
        def one(text: str | None) -> int | None:
            return None if text is None else 1
        monkeypatch.setattr(store_events, "lookup_key", one)
        monkeypatch.setattr(store_events, "_LOCATION_KEYS", {})
    with db.connect() as conn:
        buyer, ledger, (site, dock, yard) = _stored(conn, db, tmp_path)
        keys = conn.fetchall("SELECT DISTINCT biz_location, biz_location_key FROM events"
                             " WHERE biz_location IS NOT NULL ORDER BY 1")
        assert keys == sorted((canonical(x), 1 if collide else lookup_key(canonical(x)))
                              for x in (SITE, DOCK, YARD))
        assert conn.fetchone("SELECT COUNT(*) FROM events WHERE biz_location IS NULL"
                             " AND biz_location_key IS NOT NULL") == (0,)
        assert _found(conn, ADMIN, EQ_bizLocation=[SITE]) == [site, site + 5]
        assert _found(conn, ADMIN, EQ_bizLocation=[canonical(DOCK)]) == [dock]
        assert _found(conn, ADMIN, EQ_bizLocation=[DOCK, YARD]) == [dock, yard, yard + 2]
        assert _found(conn, ADMIN, WD_bizLocation=[SITE]) == [site, dock, site + 5]
        assert _found(conn, ADMIN, EQ_bizLocation=["urn:epc:id:sgln:4012345.00099.0"]) == []
        assert _found(conn, _viewer(buyer), WD_bizLocation=[SITE, YARD]) == [dock, yard + 2]
        ledger.close()


def test_location_discovery(db: Database, tmp_path: Path) -> None:
    """/bizLocations lists each stored location once, in order, by pages, and only those
    of events the viewer may read."""
    with db.connect() as conn:
        buyer, ledger, _ = _stored(conn, db, tmp_path)
        everything = sorted(canonical(x) for x in (SITE, DOCK, YARD))
        assert discover(conn, "bizLocations", ADMIN, after=None, limit=10) == everything
        first = discover(conn, "bizLocations", ADMIN, after=None, limit=2)
        rest = discover(conn, "bizLocations", ADMIN, after=first[-1], limit=2)
        assert (first, rest) == (everything[:2], everything[2:])
        assert discover(conn, "bizLocations", _viewer(buyer), after=None, limit=10) == sorted(
            canonical(x) for x in (DOCK, YARD))
        outsider, _ = party_store.add_party(conn, "Other", "urn:epc:id:pgln:9999999.00001")
        assert discover(conn, "bizLocations", _viewer(outsider), after=None, limit=10) == []
        # a location captured again is still one row
        _capture(conn, ledger, [_at("L7", SITE)])
        assert conn.fetchone("SELECT COUNT(*) FROM biz_locations") == (3,)
        ledger.close()


def test_an_older_store_gets_location_keys(db: Database) -> None:
    later = {"events-006-location-keys-sqlite", "events-006-location-keys-postgresql"}
    conn = db.connect()
    try:
        _old_schema(db, conn, without=later)
        with conn.transaction():
            for pk, location in ((1, canonical(SITE)), (2, canonical(YARD)), (3, None),
                                 (4, canonical(SITE))):
                event_id = f"urn:uuid:old-{pk}"
                conn.execute(
                    "INSERT INTO events (id, event_id, hash_id, id_key, event_type, event_time,"
                    " record_time, party, biz_location, doc) VALUES (?, ?, ?, ?, 'ObjectEvent',"
                    " '2026-01-01T00:00:00.000000Z', '2026-01-01T00:00:00.000000Z', ?, ?, '{}')",
                    (pk, event_id, event_id, lookup_key(event_id), PARTY, location))
        assert set(migrate(db, conn)) == {m for m in later
                                          if m.endswith(db.dialect)}
        assert conn.fetchall("SELECT id, biz_location_key FROM events ORDER BY id") == [
            (1, lookup_key(canonical(SITE))), (2, lookup_key(canonical(YARD))), (3, None),
            (4, lookup_key(canonical(SITE)))]
        assert conn.fetchall("SELECT value FROM biz_locations ORDER BY value") == [
            (canonical(SITE),), (canonical(YARD),)]
        assert _found(conn, ADMIN, EQ_bizLocation=[SITE]) == [1, 4]
        assert discover(conn, "bizLocations", ADMIN, after=None, limit=10) == sorted(
            [canonical(SITE), canonical(YARD)])
    finally:
        conn.close()
