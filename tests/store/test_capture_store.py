"""capture_document on SQLite and PostgreSQL: events, index rows and ledger entries in one
transaction; rollback leaves nothing; proceed keeps the good events; re-capture is idempotent;
the log entries carry the Event Hash ID and the digest of exactly what is stored."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from corridor.capture import capture_document, read_job
from corridor.config import Settings
from corridor.epcis.documents import EpcisDocument, read_document
from corridor.epcis.hashid import event_hash_id
from corridor.epcis.problems import Problem
from corridor.ledger.entry import LogEntry
from corridor.ledger.jcs import canonicalize, canonicalize_reference, document_digest
from corridor.node import open_ledger
from corridor.store.db import Connection, Database
from corridor.store.event_index import index_event
from corridor.store.migrations import migrate

PARTY = "urn:epc:id:pgln:0614141.00001"


@dataclass
class Store:
    conn: Connection
    ledger: Any
    db: Database


@pytest.fixture
def store(db_url: str, tmp_path: Path) -> Iterator[Store]:
    db = Database(db_url)
    conn = db.connect()
    migrate(db, conn)
    ledger = open_ledger(Settings(data_dir=tmp_path, db_url=db_url), db)
    yield Store(conn, ledger, db)
    ledger.close()
    conn.close()


def _examples(conformance: Path) -> list[EpcisDocument]:
    base = conformance / "gs1-epcis" / "JSON"
    return [read_document(p.read_bytes()) for p in sorted(base.rglob("*.jsonld"))
            if "Query" not in p.name]


def _count(conn: Connection, table: str) -> int:
    row = conn.fetchone(f"SELECT COUNT(*) FROM {table}")
    return int(row[0]) if row else 0


def test_examples_stored_with_matching_log_entries(store: Store, conformance: Path) -> None:
    for doc in _examples(conformance):
        result = capture_document(store.conn, store.ledger, doc, party_id=None,
                                  party_identifier=PARTY)
        assert result.success, result.errors
        for captured, event in zip(result.events, doc.events, strict=True):
            assert captured.hash_id == event_hash_id(event, doc.namespaces)
            entry = LogEntry.decode(store.ledger.entry(captured.log_index))
            assert entry.event_hash_id == captured.hash_id and entry.party == PARTY
            row = store.conn.fetchone("SELECT doc FROM events WHERE log_index = ?",
                                      (captured.log_index,))
            assert row is not None
            stored = json.loads(row[0])
            assert entry.document_sha256 == document_digest(stored)
            if not captured.duplicate:  # the examples repeat some events under other IDs
                assert stored["eventID"] == event.get("eventID", captured.hash_id)
    assert store.ledger.audit() == []


def test_recapture_is_idempotent(store: Store, conformance: Path) -> None:
    doc = _examples(conformance)[0]
    first = capture_document(store.conn, store.ledger, doc, party_id=None,
                             party_identifier=PARTY)
    counts = [_count(store.conn, t) for t in ("events", "event_epcs", "event_fields")]
    size = store.ledger.size()
    again = capture_document(store.conn, store.ledger, doc, party_id=None,
                             party_identifier=PARTY)
    assert again.success and all(e.duplicate for e in again.events)
    assert [e.log_index for e in again.events] == [e.log_index for e in first.events]
    assert [_count(store.conn, t) for t in ("events", "event_epcs", "event_fields")] == counts
    assert store.ledger.size() == size
    other = capture_document(store.conn, store.ledger, doc, party_id=None,
                             party_identifier="urn:epc:id:pgln:4012345.00001")
    assert other.stored == len(doc.events)  # another party's capture is its own record
    job = read_job(store.conn, again.job_id)
    assert job is not None and all(e["duplicate"] for e in job["events"])


def _doc(events: list[dict[str, Any]]) -> EpcisDocument:
    return EpcisDocument("EPCISDocument", {}, events, {})


def _event(serial: str, **extra: Any) -> dict[str, Any]:
    return {"type": "ObjectEvent", "action": "OBSERVE", "eventTime": "2026-01-01T00:00:00Z",
            "eventTimeZoneOffset": "+00:00",
            "epcList": [f"urn:epc:id:sgtin:0614141.812345.{serial}"], **extra}


def test_rollback_leaves_only_the_failed_job(store: Store) -> None:
    before = [_count(store.conn, t) for t in ("events", "event_epcs", "event_fields")]
    size = store.ledger.size()
    bad = _event("B2", eventTime="not a time")
    result = capture_document(store.conn, store.ledger, _doc([_event("B1"), bad]),
                              party_id=None, party_identifier=PARTY)
    assert not result.success and result.events == []
    assert result.errors[0]["eventIndex"] == 1 and "eventTime" in result.errors[0]["message"]
    assert [_count(store.conn, t) for t in ("events", "event_epcs", "event_fields")] == before
    assert store.ledger.size() == size
    job = read_job(store.conn, result.job_id)
    assert job is not None and job["success"] is False and job["running"] is False


def test_proceed_keeps_good_events(store: Store) -> None:
    rejected = {1: [Problem("/epcisBody/eventList/1/action", "enum", "bad action")]}
    result = capture_document(store.conn, store.ledger,
                              _doc([_event("P1"), _event("P2", action="JUMP"),
                                    _event("P3", eventTime="never")]),
                              party_id=None, party_identifier=PARTY, behaviour="proceed",
                              rejected=rejected)
    assert not result.success
    assert [e.index for e in result.events] == [0]
    assert {e["eventIndex"] for e in result.errors} == {1, 2}
    assert _count(store.conn, "events") == 1


def test_failure_inside_the_transaction_rolls_back(store: Store) -> None:
    class BrokenLedger:
        def lock(self, conn: Connection) -> None:
            return None

        def append(self, conn: Connection, entries: list[LogEntry],
                   locked: tuple[int, str] | None = None,
                   leaves: list[bytes] | None = None) -> list[int]:
            raise RuntimeError("disk on fire")

    result = capture_document(store.conn, BrokenLedger(), _doc([_event("F1")]),
                              party_id=None, party_identifier=PARTY)
    assert not result.success and "disk on fire" in result.errors[0]["message"]
    assert _count(store.conn, "events") == 0
    job = read_job(store.conn, result.job_id)
    assert job is not None and job["errors"][0]["type"].endswith("ImplementationException")


def test_index_rows_of_examples(conformance: Path) -> None:
    base = conformance / "gs1-epcis" / "JSON"
    sensor = read_document((base / "WithSensorData" / "SensorDataExample1.jsonld").read_bytes())
    ix = index_event(sensor.events[0], sensor.namespaces)
    paths = {p for p, _, _ in ix.fields}
    assert {"sensorElementList", "sensor:type", "sensor:value:CEL", "sensor:deviceID"} <= paths
    assert ix.event_time == "2019-04-02T14:00:00.000000Z"
    assert ix.read_point == "https://id.gs1.org/414/4012345000054"
    err = read_document((base / "WithErrorDeclaration" /
                         "Example_9.6.1-ObjectEvent-with-error-declaration.jsonld").read_bytes())
    ix = index_event(err.events[0], err.namespaces)
    assert ix.error_time is not None
    assert ("errorReason", "incorrect_data", None) in ix.fields


json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-10**20, 10**20)
    | st.floats(allow_nan=False, allow_infinity=False) | st.text(max_size=8),
    lambda children: st.lists(children, max_size=4)
    | st.dictionaries(st.text(max_size=6), children, max_size=4),
    max_leaves=20)


@settings(max_examples=300, deadline=None)
@given(json_values)
def test_fast_canonical_json_equals_reference(value: Any) -> None:
    assert canonicalize(value) == canonicalize_reference(value)


def test_fast_canonical_json_on_examples(conformance: Path) -> None:
    for doc in _examples(conformance):
        for event in doc.events:
            assert canonicalize(event) == canonicalize_reference(event)


def test_group_commit_concurrent_captures(store: Store, tmp_path: Path) -> None:
    """Concurrent captures through one CaptureWriter: each gets its own result, the bad one
    fails alone, and every good event has its own log index."""
    import threading

    from corridor.capture import CaptureWriter

    writer = CaptureWriter(store.db, store.ledger)
    results: dict[int, Any] = {}

    def worker(i: int) -> None:
        events = [_event(f"G{i}")] if i != 7 else [_event("G7", eventTime="bad")]
        with store.db.connect() as conn:  # the rejected capture records its job here
            results[i] = capture_document(conn, store.ledger, _doc(events), party_id=None,
                                          party_identifier=PARTY, committer=writer)

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(20)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    writer.close()
    assert not results[7].success
    good = [results[i] for i in range(20) if i != 7]
    assert all(r.success and r.stored == 1 for r in good)
    indices = [r.events[0].log_index for r in good]
    assert len(set(indices)) == 19
    assert _count(store.conn, "events") == 19
    assert store.ledger.audit() == []


def test_a_work_whose_key_is_no_longer_active_stores_nothing(store: Store) -> None:
    """Works admitted by a cached API key carry its hash; the writer checks it inside the
    write transaction. In one group: the work of a live key is stored, the work of a revoked
    key gets KeyRevoked and leaves no event, index row, job or log entry behind."""
    from corridor.capture import KeyRevoked, prepare_work
    from corridor.capture.writer import commit_group as _commit
    from corridor.store import parties

    live, live_key = parties.add_party(store.conn, "Live", PARTY)
    gone, gone_key = parties.add_party(store.conn, "Gone", "urn:epc:id:pgln:0614141.00002")
    parties.revoke_party(store.conn, gone.id)
    works = []
    for party, key, serial in ((live, live_key, "K1"), (gone, gone_key, "K2"),
                               (live, None, "K3")):
        work = prepare_work(_doc([_event(serial)]), party_id=party.id,
                            party_identifier=party.identifier)
        assert not isinstance(work, list)
        work.key_hash = None if key is None else parties.hash_api_key(key)
        works.append(work)
    tables = ("events", "event_epcs", "capture_jobs")
    before = [_count(store.conn, t) for t in tables]
    size = store.ledger.size()
    results = _commit(store.conn, store.ledger, works)
    assert isinstance(results[1], KeyRevoked) and results[1].works == [works[1]]
    assert not isinstance(results[0], KeyRevoked) and results[0].stored == 1
    assert not isinstance(results[2], KeyRevoked) and results[2].stored == 1
    assert [_count(store.conn, t) for t in tables] == [b + 2 for b in before]
    assert store.ledger.size() == size + 2
    assert store.ledger.audit() == []
