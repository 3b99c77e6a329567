"""Sources and destinations are indexed once, in event_parties with their path: EQ_source_ and
EQ_destination_ queries and visibility both read them there, every spelling of a party
matches, and a store made before (the values in event_fields and in event_parties) is
upgraded with nothing lost."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from corridor.capture import capture_document
from corridor.config import Settings
from corridor.epcis.identifiers import canonical
from corridor.node import open_ledger
from corridor.query.engine import compile_query
from corridor.query.run import get_event, select_events
from corridor.store import parties as party_store
from corridor.store.db import Connection, Database
from corridor.store.migrations import all_migrations, migrate
from tests.store.test_capture_store import PARTY, _doc, _event
from tests.store.test_lookup_keys import _old_schema, _viewer

NEW = {"events-005-party-paths-sqlite", "events-005-party-paths-postgresql"}
OWNER = "urn:epc:id:pgln:4012345.00001"
OWNER_DL = "https://id.gs1.org/417/4012345000016"  # the same party, Digital Link form
CARRIER = "urn:epc:id:pgln:0614141.00002"
ADMIN = type("A", (), {"party_id": None, "identifiers": (), "role": "admin"})()


def _found(conn: Connection, raw: dict[str, list[str]], viewer: Any = ADMIN) -> list[int]:
    query = compile_query(conn, raw)
    return [r.pk for r in select_events(conn, query, viewer, after=None, limit=100)]


def test_sources_and_destinations_are_indexed_once(db_url: str, tmp_path: Path) -> None:
    db = Database(db_url)
    conn = db.connect()
    try:
        migrate(db, conn)
        ledger = open_ledger(Settings(data_dir=tmp_path, db_url=db_url), db)
        event = _event("P1", sourceList=[
            {"type": "owning_party", "source": OWNER},
            {"type": "urn:epcglobal:cbv:sdt:owning_party", "source": OWNER_DL},  # a repeat
            {"type": "possessing_party", "source": CARRIER}],
            destinationList=[{"type": "owning_party", "destination": CARRIER}],
            bizTransactionList=[{"type": "po", "bizTransaction": "urn:epcglobal:cbv:bt:1:7"}])
        other = _event("P2", sourceList=[{"type": "owning_party", "source": CARRIER}])
        result = capture_document(conn, ledger, _doc([event, other]), party_id=None,
                                  party_identifier=PARTY)
        assert result.success
        ledger.close()
        pk, other_pk = (get_event(conn, e.event_id, ADMIN).pk  # type: ignore[union-attr]
                        for e in result.events)
        assert sorted(conn.fetchall("SELECT path, value FROM event_parties WHERE event_pk = ?",
                                    (pk,))) == [
            ("destination:owning_party", canonical(CARRIER)),
            ("source:owning_party", OWNER_DL), ("source:possessing_party", canonical(CARRIER))]
        assert conn.fetchall("SELECT path FROM event_fields WHERE event_pk = ?",
                             (pk,)) == [("bizTransaction:po",)]
        for spelling in (OWNER, OWNER_DL):
            assert _found(conn, {"EQ_source_owning_party": [spelling]}) == [pk]
        assert _found(conn, {"EQ_source_possessing_party": [CARRIER]}) == [pk]
        assert _found(conn, {"EQ_source_owning_party": [CARRIER]}) == [other_pk]
        assert _found(conn, {"EQ_source_owning_party": [CARRIER, OWNER]}) == [pk, other_pk]
        assert _found(conn, {"EQ_destination_owning_party": [CARRIER]}) == [pk]
        assert _found(conn, {"EQ_destination_owning_party": [OWNER]}) == []
        assert _found(conn, {"EQ_source_location": [OWNER]}) == []
        owner, _ = party_store.add_party(conn, "Owner", OWNER)
        carrier, _ = party_store.add_party(conn, "Carrier", CARRIER)
        outsider, _ = party_store.add_party(conn, "Other", "urn:epc:id:pgln:9999999.00001")
        assert _found(conn, {}, _viewer(owner)) == [pk]
        assert _found(conn, {}, _viewer(carrier)) == [pk, other_pk]
        assert _found(conn, {}, _viewer(outsider)) == []
    finally:
        conn.close()


@pytest.mark.parametrize("rows", [1, 3])
def test_an_older_store_gets_its_party_paths(db_url: str, rows: int) -> None:
    db = Database(db_url)
    conn = db.connect()
    try:
        _old_schema(db, conn, without=NEW)
        with conn.transaction():
            for pk in range(1, rows + 1):
                conn.execute(
                    "INSERT INTO events (id, event_id, hash_id, id_key, event_type, event_time,"
                    " record_time, party, doc) VALUES (?, ?, ?, 0, 'ObjectEvent',"
                    " '2026-01-01T00:00:00.000000Z', '2026-01-01T00:00:00.000000Z', ?, '{}')",
                    (pk, f"urn:uuid:old-{pk}", f"urn:uuid:old-{pk}", PARTY))
                conn.executemany(
                    "INSERT INTO event_fields (event_pk, path, sval) VALUES (?, ?, ?)",
                    [(pk, "source:owning_party", OWNER_DL),
                     (pk, "source:owning_party", OWNER_DL),  # written twice in the event
                     (pk, "destination:possessing_party", canonical(CARRIER)),
                     (pk, "bizTransaction:po", "urn:epcglobal:cbv:bt:1:7")])
                conn.executemany("INSERT INTO event_parties (event_pk, value) VALUES (?, ?)",
                                 [(pk, OWNER_DL), (pk, canonical(CARRIER)),
                                  (pk, "urn:epc:id:pgln:4012345.00001.as-written")])
        applied = migrate(db, conn)
        assert set(applied) == NEW & {m.id for m in all_migrations()
                                      if m.dialect in (None, db.dialect)}
        for pk in range(1, rows + 1):
            assert sorted(conn.fetchall(
                "SELECT path, value FROM event_parties WHERE event_pk = ?", (pk,))) == [
                ("", "urn:epc:id:pgln:4012345.00001.as-written"),
                ("destination:possessing_party", canonical(CARRIER)),
                ("source:owning_party", OWNER_DL)]
            assert conn.fetchall("SELECT path FROM event_fields WHERE event_pk = ?",
                                 (pk,)) == [("bizTransaction:po",)]
        every = list(range(1, rows + 1))
        assert _found(conn, {"EQ_source_owning_party": [OWNER]}) == every
        assert _found(conn, {"EQ_destination_possessing_party": [CARRIER]}) == every
        carrier, _ = party_store.add_party(conn, "Carrier", CARRIER)
        assert _found(conn, {}, _viewer(carrier)) == every
        # the new key refuses a repeated row
        with pytest.raises(Exception, match="(?i)unique|duplicate"), conn.transaction():
            conn.execute("INSERT INTO event_parties (event_pk, path, value)"
                         " VALUES (1, 'source:owning_party', ?)", (OWNER_DL,))
    finally:
        conn.close()
