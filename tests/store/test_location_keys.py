"""The bizLocation and readPoint indexes hold 64-bit keys of the places (migrations events-006
and -007), not their text: EQ_/WD_bizLocation, EQ_/WD_readPoint and the /bizLocations and
/readPoints discovery resources answer as before on both databases, a key collision is never
a match, the discovery lists obey visibility and page, and an older store is upgraded with
its places still found."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from corridor.capture import capture_document
from corridor.config import Settings
from corridor.epcis.identifiers import canonical
from corridor.node import open_ledger
from corridor.query.params import parse_query
from corridor.query.run import descendants, discover, select_events
from corridor.store import events as store_events
from corridor.store import parties as party_store
from corridor.store.db import Connection, Database, lookup_key
from corridor.store.events import add_location_children
from corridor.store.migrations import migrate
from tests.store.test_capture_store import PARTY, _doc, _event
from tests.store.test_lookup_keys import _old_schema, _viewer

SITE = "urn:epc:id:sgln:4012345.00010.0"
DOCK = "urn:epc:id:sgln:4012345.00011.0"  # a child of SITE in the master data
YARD = "urn:epc:id:sgln:4012345.00020.0"
BUYER = "urn:epc:id:pgln:4012345.00001"
ADMIN = type("A", (), {"party_id": None, "identifiers": (), "role": "admin"})()
# EPCIS field -> (column of events, table listing its values, discovery resource)
PLACES = {"bizLocation": ("biz_location", "biz_locations", "bizLocations"),
          "readPoint": ("read_point", "read_points", "readPoints")}
LATER = {"bizLocation": {"events-006-location-keys-sqlite",
                         "events-006-location-keys-postgresql"},
         "readPoint": {"events-007-read-point-keys-sqlite",
                       "events-007-read-point-keys-postgresql"}}


@pytest.fixture
def db(db_url: str) -> Database:
    return Database(db_url)


@pytest.fixture(params=list(PLACES))
def place(request: pytest.FixtureRequest) -> str:
    """The EPCIS place field under test."""
    return request.param


def _at(serial: str, location: str, place: str, **extra: Any) -> dict[str, Any]:
    return _event(serial, **{place: {"id": location}}, **extra)


def _found(conn: Connection, viewer: Any, **raw: list[str]) -> list[int]:
    query = parse_query(raw, descendants=lambda locs: descendants(conn, locs))
    return [row.pk for row in select_events(conn, query, viewer, after=None, limit=100)]


def _capture(conn: Connection, ledger: Any, events: list[dict[str, Any]]) -> None:
    result = capture_document(conn, ledger, _doc(events), party_id=None,
                              party_identifier=PARTY)
    assert result.success, result.errors


def _stored(conn: Connection, db: Database, tmp_path: Path,
            place: str) -> tuple[Any, Any, list[int]]:
    """Events at SITE, DOCK (below SITE), YARD and nowhere (in `place`), two of them sold to
    the buyer: (the buyer, the ledger, the first event's pk at SITE, DOCK and YARD)."""
    migrate(db, conn)
    buyer, _ = party_store.add_party(conn, "Buyer", BUYER)
    with conn.transaction():
        add_location_children(conn, [(SITE, DOCK)])
    ledger = open_ledger(Settings(data_dir=tmp_path, db_url=db.url), db)
    sold = {"destinationList": [{"type": "owning_party", "destination": BUYER}]}
    _capture(conn, ledger, [_at("L1", SITE, place), _at("L2", DOCK, place, **sold),
                            _at("L3", YARD, place), _event("L4")])
    _capture(conn, ledger, [_at("L5", YARD, place, **sold), _at("L6", SITE, place)])
    column = PLACES[place][0]
    first = dict(conn.fetchall(f"SELECT {column}, MIN(id) FROM events GROUP BY {column}"))
    return buyer, ledger, [first[canonical(x)] for x in (SITE, DOCK, YARD)]


@pytest.mark.parametrize("collide", [False, True], ids=["keys", "every-key-equal"])
def test_place_queries(db: Database, tmp_path: Path, place: str, collide: bool,
                       monkeypatch: pytest.MonkeyPatch) -> None:
    if collide:  # every place gets the same key: the text still decides
        def one(text: str | None) -> int | None:
            return None if text is None else 1
        monkeypatch.setattr(store_events, "lookup_key", one)
        monkeypatch.setattr(store_events, "_PLACE_KEYS", {})
    column = PLACES[place][0]
    eq, wd = f"EQ_{place}", f"WD_{place}"
    with db.connect() as conn:
        buyer, ledger, (site, dock, yard) = _stored(conn, db, tmp_path, place)
        keys = conn.fetchall(f"SELECT DISTINCT {column}, {column}_key FROM events"
                             f" WHERE {column} IS NOT NULL ORDER BY 1")
        assert keys == sorted((canonical(x), 1 if collide else lookup_key(canonical(x)))
                              for x in (SITE, DOCK, YARD))
        assert conn.fetchone(f"SELECT COUNT(*) FROM events WHERE {column} IS NULL"
                             f" AND {column}_key IS NOT NULL") == (0,)
        assert _found(conn, ADMIN, **{eq: [SITE]}) == [site, site + 5]
        assert _found(conn, ADMIN, **{eq: [canonical(DOCK)]}) == [dock]
        assert _found(conn, ADMIN, **{eq: [DOCK, YARD]}) == [dock, yard, yard + 2]
        assert _found(conn, ADMIN, **{wd: [SITE]}) == [site, dock, site + 5]
        assert _found(conn, ADMIN, **{eq: ["urn:epc:id:sgln:4012345.00099.0"]}) == []
        assert _found(conn, _viewer(buyer), **{wd: [SITE, YARD]}) == [dock, yard + 2]
        ledger.close()


def test_place_discovery(db: Database, tmp_path: Path, place: str) -> None:
    """/bizLocations and /readPoints list each stored place once, in order, by pages, and
    only those of events the viewer may read."""
    _column, table, resource = PLACES[place]
    with db.connect() as conn:
        buyer, ledger, _ = _stored(conn, db, tmp_path, place)
        everything = sorted(canonical(x) for x in (SITE, DOCK, YARD))
        assert discover(conn, resource, ADMIN, after=None, limit=10) == everything
        first = discover(conn, resource, ADMIN, after=None, limit=2)
        rest = discover(conn, resource, ADMIN, after=first[-1], limit=2)
        assert (first, rest) == (everything[:2], everything[2:])
        assert discover(conn, resource, _viewer(buyer), after=None, limit=10) == sorted(
            canonical(x) for x in (DOCK, YARD))
        outsider, _ = party_store.add_party(conn, "Other", "urn:epc:id:pgln:9999999.00001")
        assert discover(conn, resource, _viewer(outsider), after=None, limit=10) == []
        # a place captured again is still one row
        _capture(conn, ledger, [_at("L7", SITE, place)])
        assert conn.fetchone(f"SELECT COUNT(*) FROM {table}") == (3,)
        ledger.close()


def test_an_older_store_gets_place_keys(db: Database, place: str) -> None:
    column, table, resource = PLACES[place]
    later = LATER[place] | LATER["readPoint"]  # the migration of the place and those after
    conn = db.connect()
    try:
        _old_schema(db, conn, without=later)
        with conn.transaction():
            for pk, location in ((1, canonical(SITE)), (2, canonical(YARD)), (3, None),
                                 (4, canonical(SITE))):
                event_id = f"urn:uuid:old-{pk}"
                conn.execute(
                    "INSERT INTO events (id, event_id, hash_id, id_key, event_type, event_time,"
                    f" record_time, party, {column}, doc) VALUES (?, ?, ?, ?, 'ObjectEvent',"
                    " '2026-01-01T00:00:00.000000Z', '2026-01-01T00:00:00.000000Z', ?, ?, '{}')",
                    (pk, event_id, event_id, lookup_key(event_id), PARTY, location))
        assert set(migrate(db, conn)) == {m for m in later
                                          if m.endswith(db.dialect)}
        assert conn.fetchall(f"SELECT id, {column}_key FROM events ORDER BY id") == [
            (1, lookup_key(canonical(SITE))), (2, lookup_key(canonical(YARD))), (3, None),
            (4, lookup_key(canonical(SITE)))]
        assert conn.fetchall(f"SELECT value FROM {table} ORDER BY value") == [
            (canonical(SITE),), (canonical(YARD),)]
        assert _found(conn, ADMIN, **{f"EQ_{place}": [SITE]}) == [1, 4]
        assert discover(conn, resource, ADMIN, after=None, limit=10) == sorted(
            [canonical(SITE), canonical(YARD)])
    finally:
        conn.close()
