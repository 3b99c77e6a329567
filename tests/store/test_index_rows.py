"""Index rows travel from preparation to the store as JSON arrays (IndexRows) that SQL
unpacks: what is stored must be exactly what index_event made, value for value and type for
type, on both databases; duplicates, split documents and group commits must leave no index row
of an event that was not stored, and none with the wrong event."""

from __future__ import annotations

import json
import pickle
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from corridor.capture import capture_document, merge_parts, prepare_work, write_captures
from corridor.config import Settings
from corridor.node import open_ledger
from corridor.store import events as events_module
from corridor.store.db import Connection, Database
from corridor.store.event_index import index_event
from corridor.store.events import IndexRows
from corridor.store.migrations import migrate
from tests.store.test_capture_store import PARTY, _doc, _event

NS = {"ex": "https://example.com/ns/"}
ODD_TEXT = 'ünï € 漢字 \U0001f600 "quoted" back\\slash \t tab'


def _odd_event(serial: str) -> dict[str, Any]:
    """An event whose index rows hold every kind of value JSON must carry unchanged."""
    return _event(
        serial,
        quantityList=[{"epcClass": f"urn:epc:class:lgtin:4012345.012345.{serial}",
                       "quantity": 2.5, "uom": "KGM"},
                      {"epcClass": "urn:epc:idpat:sgtin:4012345.012345.*", "quantity": 3}],
        bizTransactionList=[{"type": "po", "bizTransaction": f"urn:epcglobal:cbv:bt:x:{serial}"}],
        sourceList=[{"type": "owning_party", "source": "urn:epc:id:pgln:0614141.00001"}],
        destinationList=[{"type": "owning_party",
                          "destination": "urn:epc:id:pgln:4012345.00001"}],
        sensorElementList=[{"sensorReport": [
            {"type": "Temperature", "value": -0.5, "uom": "CEL"},
            {"type": "Mass", "value": 1e300, "uom": "KGM"},
            {"type": "Humidity", "value": 0.1 + 0.2, "uom": "A93"}]}],
        **{"ex:text": ODD_TEXT, "ex:numeric": "12.5", "ex:infinite": "inf", "ex:flag": True,
           "ex:when": "2026-05-01T10:00:00+02:00", "ex:count": 7,
           "ex:nested": {"ex:inner": "x", "ex:list": [1, "two"]}})


@pytest.fixture
def store(db_url: str, tmp_path: Path) -> Any:
    db = Database(db_url)
    conn = db.connect()
    migrate(db, conn)
    yield conn, open_ledger(Settings(data_dir=tmp_path, db_url=db_url), db)
    conn.close()


def _stored(conn: Connection, event_pk: int) -> tuple[Counter, Counter, Counter]:
    return (Counter(conn.fetchall("SELECT role, epc, quantity, uom FROM event_epcs"
                                  " WHERE event_pk = ?", (event_pk,))),
            Counter(conn.fetchall("SELECT path, sval, nval FROM event_fields"
                                  " WHERE event_pk = ?", (event_pk,))),
            Counter(conn.fetchall("SELECT path, value FROM event_parties WHERE event_pk = ?",
                                  (event_pk,))))


def _pk(conn: Connection, event_id: str) -> int:
    row = conn.fetchone("SELECT id FROM events WHERE event_id = ?", (event_id,))
    assert row is not None, event_id
    return int(row[0])


@pytest.mark.parametrize("json_from", [0, 64], ids=["json", "executemany"])
def test_index_rows_are_stored_as_index_event_made_them(
        store: Any, json_from: int, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(events_module, "_JSON_FROM", json_from)
    conn, ledger = store
    events = [_odd_event("A1"), _odd_event("A2")]
    doc = _doc(events)
    doc.namespaces.update(NS)
    result = capture_document(conn, ledger, doc, party_id=None, party_identifier=PARTY)
    assert result.success and result.stored == 2
    for event, captured in zip(events, result.events, strict=True):
        ix = index_event(event, NS)
        epcs, fields, parties = _stored(conn, _pk(conn, captured.event_id))
        assert epcs == Counter(ix.epcs)
        assert fields == Counter(ix.fields)
        assert parties == Counter(ix.parties)
        assert ("ext:https://example.com/ns/text", ODD_TEXT, None) in fields
        assert ("ext:https://example.com/ns/infinite", "inf", None) in fields  # not a number
        assert ("sensor:value:KGM", None, 1e300) in fields
    if conn.dialect == "sqlite":  # numbers stay numbers, positions became the right pks
        assert conn.fetchall("SELECT DISTINCT typeof(quantity) FROM event_epcs"
                             " WHERE quantity IS NOT NULL") == [("real",)]
        assert conn.fetchall("SELECT DISTINCT typeof(nval), typeof(event_pk) FROM event_fields"
                             " WHERE nval IS NOT NULL") == [("real", "integer")]


def _orphans(conn: Connection) -> int:
    return sum(int(conn.fetchone(f"SELECT COUNT(*) FROM {table} WHERE event_pk NOT IN"
                                 " (SELECT id FROM events)")[0])
               for table in ("event_epcs", "event_fields", "event_parties"))


@pytest.mark.parametrize("json_from", [0, 64], ids=["json", "executemany"])
def test_duplicates_and_split_documents_leave_only_their_events_rows(
        store: Any, json_from: int, monkeypatch: pytest.MonkeyPatch) -> None:
    """Index rows go through JSON (large runs) or executemany (small): the same either way."""
    monkeypatch.setattr(events_module, "_JSON_FROM", json_from)
    conn, ledger = store
    capture_document(conn, ledger, _doc([_odd_event("D1"), _odd_event("D2")]), party_id=None,
                     party_identifier=PARTY)
    # A document repeating a stored event and one of its own, prepared in two parts.
    events = [_odd_event("D2"), _odd_event("D3"), _odd_event("D3"), _odd_event("D4")]
    parts = [prepare_work(_doc(events), party_id=None, party_identifier=PARTY,
                          record_time="2026-11-28T00:00:00.000000Z", part=(k, 2))
             for k in range(2)]
    merged = merge_parts(parts)
    # Grouped with a document that repeats one of the first one's new events.
    other = prepare_work(_doc([_odd_event("D4"), _odd_event("D5")]), party_id=None,
                         party_identifier=PARTY)
    first, second = write_captures(conn, ledger, [merged, other])  # type: ignore[list-item]
    assert [e.duplicate for e in first.events] == [True, False, True, False]
    assert [e.duplicate for e in second.events] == [True, False]
    assert int(conn.fetchone("SELECT COUNT(*) FROM events")[0]) == 5
    assert _orphans(conn) == 0
    for pk, doc in conn.fetchall("SELECT id, doc FROM events"):  # each has its own rows, once
        ix = index_event(json.loads(doc), {})
        assert _stored(conn, int(pk)) == (Counter(ix.epcs), Counter(ix.fields),
                                          Counter(ix.parties)), doc


def test_index_rows_cross_processes_as_json_and_come_back_the_same() -> None:
    """A worker process pickles IndexRows as JSON; the writer gets the same rows back."""
    made = IndexRows.of([index_event(_odd_event("P1"), NS), index_event(_odd_event("P2"), NS)])
    back = pickle.loads(pickle.dumps(made))
    for table in range(len(IndexRows.TABLES)):
        assert isinstance(pickle.dumps(made), bytes) and back.json(table) == made.json(table)
        assert back.rows(table) == [list(row) for row in made.rows(table)]
    assert {row[0] for row in back.rows(0)} == {0, 1}  # positions of the two events


@pytest.mark.parametrize("json_from", [0, 64], ids=["json", "executemany"])
def test_a_nul_character_in_a_value_is_kept_or_refused_whole(
        store: Any, json_from: int, monkeypatch: pytest.MonkeyPatch) -> None:
    """SQLite's JSON functions cut a text at U+0000: such a run takes executemany, so the
    index holds the whole value. (PostgreSQL text cannot hold U+0000: the capture fails as a
    whole and stores nothing. Documents over HTTP never get here: read_document names every
    U+0000 as a problem first.)"""
    monkeypatch.setattr(events_module, "_JSON_FROM", json_from)
    conn, ledger = store
    event = _event("Z1", **{"ex:text": "before\x00after"})
    doc = _doc([event])
    doc.namespaces.update(NS)
    result = capture_document(conn, ledger, doc, party_id=None, party_identifier=PARTY)
    if conn.dialect == "postgresql":
        assert not result.success and int(conn.fetchone("SELECT COUNT(*) FROM events")[0]) == 0
        return
    assert result.success
    _epcs, fields, _parties = _stored(conn, _pk(conn, result.events[0].event_id))
    assert ("ext:https://example.com/ns/text", "before\x00after", None) in fields
    assert fields == Counter(index_event(event, NS).fields)
