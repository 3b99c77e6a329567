"""A share names one stored event, never an eventID text that another party may reuse.

The eventID is chosen by the capturing client. When shares were keyed by it, a member could
capture an event of its own under eventID X and share X with itself, and then read any
event another party stored later under X; a legitimate share of Y with B let B read any
event a third party stored later under Y. Here both attacks run against the store on each
database, through the per-row rule (query/visibility.py) and the set rule (query/visible_set.py),
and an older store's text-keyed shares are upgraded without handing anyone another
capturer's event."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from corridor.capture import capture_document
from corridor.config import Settings
from corridor.node import open_ledger
from corridor.query.engine import compile_query
from corridor.query.run import get_event, select_events
from corridor.query.visible_set import visible_ids
from corridor.store import parties as party_store
from corridor.store.db import Connection, Database
from corridor.store.migrations import migrate
from tests.store.test_capture_store import _doc, _event
from tests.store.test_lookup_keys import _old_schema, _viewer

X = "urn:uuid:6d0e2a5c-0000-4000-8000-00000000000x"
Y = "urn:uuid:6d0e2a5c-0000-4000-8000-00000000000y"


@pytest.fixture
def world(db_url: str, tmp_path: Path) -> Iterator[tuple[Connection, Any, dict]]:
    db = Database(db_url)
    conn = db.connect()
    migrate(db, conn)
    ledger = open_ledger(Settings(data_dir=tmp_path, db_url=db_url), db)
    parties = {name: party_store.add_party(conn, name, f"urn:epc:id:pgln:4700000.0000{n}")[0]
               for n, name in enumerate(("A", "B", "C"), start=1)}
    yield conn, ledger, parties
    ledger.close()
    conn.close()


def _capture(conn: Connection, ledger: Any, party: party_store.Party, serial: str,
             event_id: str) -> int:
    result = capture_document(conn, ledger, _doc([_event(serial, eventID=event_id)]),
                              party_id=party.id, party_identifier=party.identifier)
    assert result.success, result
    row = conn.fetchone("SELECT id FROM events WHERE event_id = ? AND captured_by = ?",
                        (event_id, party.id))
    assert row is not None
    return int(row[0])


def _readable(conn: Connection, party: party_store.Party) -> set[int]:
    viewer = _viewer(party)
    by_row = {r.pk for r in select_events(conn, compile_query(conn, {}), viewer,
                                          after=None, limit=1000)}
    as_set = visible_ids(conn, viewer)
    assert as_set == by_row
    return by_row


def test_squatting_an_event_id_reads_nothing_of_another_party(world) -> None:
    conn, ledger, p = world
    squat = _capture(conn, ledger, p["B"], "1", X)
    assert party_store.share_events(
        conn, party_store.events_to_share(conn, X, sharer=p["B"].id), "B").id == p["B"].id
    private = _capture(conn, ledger, p["A"], "2", X)
    assert _readable(conn, p["B"]) == {squat}
    found = get_event(conn, X, _viewer(p["B"]))
    assert found is not None and found.pk == squat
    assert private in _readable(conn, p["A"])


def test_a_share_does_not_follow_its_event_id_to_another_capturer(world) -> None:
    conn, ledger, p = world
    shared = _capture(conn, ledger, p["A"], "1", Y)
    party_store.share_events(conn, party_store.events_to_share(conn, Y, sharer=p["A"].id), "B")
    later = _capture(conn, ledger, p["C"], "2", Y)
    assert _readable(conn, p["B"]) == {shared}
    assert party_store.shares_of(conn, shared) == [p["B"].id]
    assert party_store.shares_of(conn, later) == []
    # A member names only its own events; C cannot share A's event, A cannot share C's.
    assert party_store.events_to_share(conn, Y, sharer=p["C"].id) == [later]
    assert party_store.events_to_share(conn, Y, sharer=p["B"].id) == []
    # The operator must say whose event it means once two parties used the eventID.
    with pytest.raises(party_store.AmbiguousEvent, match="capturedBy"):
        party_store.events_to_share(conn, Y, sharer=None)
    assert party_store.events_to_share(conn, Y, sharer=None, captured_by="C") == [later]
    assert party_store.unshare_events(conn, [shared], "B")
    assert not party_store.unshare_events(conn, [shared], "B")
    assert _readable(conn, p["B"]) == set()


def test_an_auditor_reads_a_granted_party_s_shares_and_no_more(world) -> None:
    conn, ledger, p = world
    shared = _capture(conn, ledger, p["A"], "1", Y)
    party_store.share_events(conn, [shared], "B")
    _capture(conn, ledger, p["C"], "2", Y)
    aud, _ = party_store.add_party(conn, "Aud", "urn:example:aud", role="auditor")
    party_store.grant_auditor(conn, "Aud", "B")
    assert _readable(conn, aud) == {shared}


def test_older_text_keyed_shares_are_upgraded_to_rows(db: Database) -> None:
    conn = db.connect()
    try:
        _old_schema(db, conn, without={"events-008-shares-by-row"})
        with conn.transaction():
            ids = {}
            for name in ("A", "B", "C"):
                cur = conn.execute("INSERT INTO parties (name, identifier, role, created_at)"
                                   " VALUES (?, ?, 'member', 'now') RETURNING id",
                                   (name, f"id-{name}"))
                ids[name] = int(cur.fetchone()[0])
            # A stored X first and twice (two hashes), then C stored X; B stored Z.
            rows = [(1, X, "A"), (2, X, "A"), (3, X, "C"), (4, "urn:uuid:z", "B")]
            for pk, event_id, who in rows:
                conn.execute(
                    "INSERT INTO events (id, event_id, hash_id, id_key, event_type, event_time,"
                    " record_time, captured_by, party, doc) VALUES (?, ?, ?,"
                    " corridor_key(?), 'ObjectEvent', '2026-01-01T00:00:00.000000Z',"
                    " '2026-01-01T00:00:00.000000Z', ?, ?, '{}')",
                    (pk, event_id, f"ni:///sha-256;{pk:064x}?ver=CBV2.0", event_id, ids[who],
                     f"id-{who}"))
            for event_id, who in ((X, "B"), ("urn:uuid:z", "A"), ("urn:uuid:gone", "A")):
                conn.execute("INSERT INTO event_shares (event_id, party_id) VALUES (?, ?)",
                             (event_id, ids[who]))
        assert migrate(db, conn) == ["events-008-shares-by-row"]
        assert sorted(conn.fetchall("SELECT event_pk, party_id FROM event_shares")) == [
            (1, ids["B"]), (2, ids["B"]), (4, ids["A"])]
    finally:
        conn.close()


@pytest.fixture
def db(db_url: str) -> Database:
    return Database(db_url)
