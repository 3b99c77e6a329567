"""Capture: store a document's events, their index rows and their ledger entries at once.

The CPU work (Event Hash ID, canonical JSON, digest, index rows) happens before the write
transaction opens, so the single writer holds its lock only for the inserts and the log append.
One transaction covers events + index rows + ledger entries + the job's final state: a rejected
capture leaves nothing but its failed job record.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, field
from typing import Any

from corridor.epcis.problems import Problem
from corridor.store.canonical import canonical_json
from corridor.store.db import Connection
from corridor.store.events import (
    EventRow,
    add_location_children,
    index_event,
    insert_events,
    now_utc,
    remember_namespaces,
)

BEHAVIOURS = ("rollback", "proceed")


@dataclass
class CapturedEvent:
    index: int  # position in the document's eventList
    event_id: str
    hash_id: str
    log_index: int | None
    duplicate: bool  # already stored for this party: nothing new was written


@dataclass
class CaptureResult:
    job_id: int
    success: bool
    events: list[CapturedEvent] = field(default_factory=list)
    errors: list[dict[str, Any]] = field(default_factory=list)

    @property
    def stored(self) -> int:
        return sum(1 for e in self.events if not e.duplicate)


def create_job(conn: Connection, *, party_id: int | None, behaviour: str) -> int:
    """A new capture job in state running (its own transaction, or the caller's)."""
    with conn.transaction():
        if conn.dialect == "postgresql":
            row = conn.fetchone(
                "INSERT INTO capture_jobs (party_id, behaviour, running, success, created_at)"
                " VALUES (?, ?, 1, 1, ?) RETURNING id", (party_id, behaviour, now_utc()))
        else:
            cur = conn.execute(
                "INSERT INTO capture_jobs (party_id, behaviour, running, success, created_at)"
                " VALUES (?, ?, 1, 1, ?)", (party_id, behaviour, now_utc()))
            row = (cur.lastrowid,)
    assert row is not None
    return int(row[0])


def fail_job(conn: Connection, job_id: int, errors: list[dict[str, Any]],
             event_count: int = 0) -> None:
    """Mark a job finished and failed (its own transaction)."""
    with conn.transaction():
        _finish_job(conn, job_id, False, errors, [], event_count)


def _finish_job(conn: Connection, job_id: int, success: bool, errors: list[dict[str, Any]],
                results: list[CapturedEvent], event_count: int) -> None:
    conn.execute(
        "UPDATE capture_jobs SET running = 0, success = ?, finished_at = ?, event_count = ?,"
        " errors = ?, results = ? WHERE id = ?",
        (1 if success else 0, now_utc(), event_count, json.dumps(errors),
         json.dumps([[e.index, e.event_id, e.hash_id, e.log_index, e.duplicate]
                     for e in results]), job_id))


def problem_dict(p: Problem, event_index: int | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {"location": p.location, "rule": p.rule, "message": p.message}
    if event_index is not None:
        out["eventIndex"] = event_index
    return out


@dataclass
class _Prepared:
    index: int
    row: EventRow


def _prepare(events: Sequence[dict[str, Any]], namespaces: Mapping[str, str], party: str,
             record_time: str, skip: Mapping[int, Any]) -> tuple[list[_Prepared],
                                                                 list[dict[str, Any]]]:
    from corridor.epcis.hashid import event_hash_id

    prepared: list[_Prepared] = []
    errors: list[dict[str, Any]] = []
    for i, event in enumerate(events):
        if i in skip:
            continue
        where = f"/epcisBody/eventList/{i}"
        try:
            hash_id = event_hash_id(event, namespaces)
            ix = index_event(event, namespaces)
            if not event.get("eventID"):
                # Events without an eventID are known by their Event Hash ID.
                event = {**event, "eventID": hash_id}
            event_id = str(event["eventID"])
            doc = canonical_json(event)
        except Exception as exc:  # noqa: BLE001 - any failure is that event's problem
            errors.append({"location": where, "rule": "capture",
                           "message": f"{exc.__class__.__name__}: {exc}", "eventIndex": i})
            continue
        prepared.append(_Prepared(i, EventRow(
            event_id=event_id, hash_id=hash_id, dedup=f"{hash_id} {party}",
            doc=doc.decode("utf-8"), record_time=record_time, ix=ix)))
    return prepared, errors


def _master_data_children(header: Mapping[str, Any]) -> list[tuple[str, str]]:
    """(parent, child) location pairs from vocabulary elements that list `children`."""
    lists: list[Any] = []
    md = (header.get("epcisHeader") or {}).get("epcisMasterData") if isinstance(
        header.get("epcisHeader"), dict) else None
    if isinstance(md, dict):
        lists.append(md.get("vocabularyList"))
    body = header.get("epcisBody")
    if isinstance(body, dict):
        lists.append(body.get("vocabularyList"))
    pairs: list[tuple[str, str]] = []
    for vocabularies in lists:
        for vocab in vocabularies or ():
            if not isinstance(vocab, dict):
                continue
            for element in vocab.get("vocabularyElementList") or ():
                if isinstance(element, dict) and isinstance(element.get("id"), str):
                    for child in element.get("children") or ():
                        if isinstance(child, str):
                            pairs.append((element["id"], child))
    return pairs


def _existing(conn: Connection, dedups: list[str]) -> dict[str, tuple[str, int | None]]:
    found: dict[str, tuple[str, int | None]] = {}
    for start in range(0, len(dedups), 500):
        chunk = dedups[start:start + 500]
        marks = ",".join("?" * len(chunk))
        for dedup, event_id, log_index in conn.fetchall(
                f"SELECT dedup, event_id, log_index FROM events WHERE dedup IN ({marks})",
                chunk):
            found[dedup] = (event_id, log_index)
    return found


def capture_document(db_conn: Connection, ledger: Any, doc: Any, *, party_id: int | None,
                     party_identifier: str, behaviour: str = "rollback",
                     signature: bytes | None = None, job_id: int | None = None,
                     rejected: Mapping[int, list[Problem]] | None = None,
                     write_lock: AbstractContextManager[Any] | None = None) -> CaptureResult:
    """Store the events of `doc` (an EpcisDocument) for a party, with their ledger entries.

    behaviour "rollback": any bad event rejects the whole document; "proceed": bad events are
    reported in the job and the others stored. `rejected` lists events already found invalid
    (by document validation) with their problems. Re-capturing an event the same party already
    stored (same Event Hash ID) stores nothing and reports `duplicate`. `write_lock`, when
    given, is held around the write transaction only (so that threads of one process queue
    for the single writer instead of sleeping in SQLite's busy handler).
    """
    from corridor.ledger.entry import LogEntry

    if behaviour not in BEHAVIOURS:
        raise ValueError(f"behaviour {behaviour!r}: expected one of {BEHAVIOURS}")
    events: list[dict[str, Any]] = list(doc.events)
    rejected = rejected or {}
    errors = [problem_dict(p, i) for i, problems in sorted(rejected.items()) for p in problems]
    record_time = now_utc()
    prepared, prep_errors = _prepare(events, doc.namespaces, party_identifier, record_time,
                                     rejected)
    errors.extend(prep_errors)
    if errors and behaviour == "rollback":
        if job_id is None:
            job_id = create_job(db_conn, party_id=party_id, behaviour=behaviour)
        fail_job(db_conn, job_id, errors, len(events))
        return CaptureResult(job_id, False, [], errors)

    results: list[CapturedEvent] = []
    job_given = job_id
    try:
        with write_lock or nullcontext(), db_conn.transaction():
            if job_id is None:
                # Inside the capture's transaction: one commit for job and events.
                job_id = create_job(db_conn, party_id=party_id, behaviour=behaviour)
            existing = _existing(db_conn, [p.row.dedup for p in prepared])
            new: list[_Prepared] = []
            seen: dict[str, _Prepared] = {}
            for p in prepared:
                if p.row.dedup in existing or p.row.dedup in seen:
                    continue
                seen[p.row.dedup] = p
                new.append(p)
            rows = [p.row for p in new]
            if rows:
                entries = [LogEntry(r.hash_id, hashlib.sha256(r.doc.encode("utf-8")).digest(),
                                    party_identifier, record_time, signature) for r in rows]
                indices = ledger.append(db_conn, entries)
                for r, li in zip(rows, indices, strict=True):
                    r.log_index = li
                insert_events(db_conn, rows, captured_by=party_id, party=party_identifier,
                              job_id=job_id)
            remember_namespaces(db_conn, doc.namespaces)
            add_location_children(db_conn, _master_data_children(doc.header))
            for p in prepared:
                if p.row.dedup in existing:
                    event_id, log_index = existing[p.row.dedup]
                    results.append(CapturedEvent(p.index, event_id, p.row.hash_id, log_index,
                                                 True))
                elif seen[p.row.dedup] is not p:
                    first = seen[p.row.dedup].row
                    results.append(CapturedEvent(p.index, first.event_id, first.hash_id,
                                                 first.log_index, True))
                else:
                    results.append(CapturedEvent(p.index, p.row.event_id, p.row.hash_id,
                                                 p.row.log_index, False))
            success = not errors
            _finish_job(db_conn, job_id, success, errors, results, len(events))
    except Exception as exc:  # noqa: BLE001 - recorded in the job, then reported
        # The transaction rolled back: nothing of this document is stored.
        errors.append({"location": "/", "rule": "store",
                       "message": f"{exc.__class__.__name__}: {exc}"})
        # A job created inside the rolled-back transaction is gone too: record a new one.
        job_id = job_given
        if job_id is None:
            job_id = create_job(db_conn, party_id=party_id, behaviour=behaviour)
        fail_job(db_conn, job_id, errors, len(events))
        return CaptureResult(job_id, False, [], errors)
    assert job_id is not None
    return CaptureResult(job_id, not errors, results, errors)


def read_job(conn: Connection, job_id: int) -> dict[str, Any] | None:
    """A capture job as a dict (CaptureJob of the REST binding, plus per-event results)."""
    row = conn.fetchone(
        "SELECT id, party_id, behaviour, running, success, created_at, finished_at,"
        " event_count, errors, results FROM capture_jobs WHERE id = ?", (job_id,))
    if row is None:
        return None
    return job_dict(row)


def job_dict(row: Sequence[Any]) -> dict[str, Any]:
    from corridor.store.events import display_time

    (job_id, party_id, behaviour, running, success, created, finished, count, errors,
     results) = row
    out: dict[str, Any] = {
        "captureID": str(job_id),
        "partyId": party_id,
        "createdAt": display_time(created),
        "running": bool(running),
        "success": bool(success),
        "captureErrorBehaviour": behaviour,
        "eventCount": count,
        "errors": [_as_problem(e) for e in (json.loads(errors) if errors else [])],
        "events": [
            {"index": r[0], "eventID": r[1], "eventHashID": r[2], "logIndex": r[3],
             "duplicate": r[4]}
            for r in (json.loads(results) if results else [])
        ],
    }
    if finished:
        out["finishedAt"] = display_time(finished)
    return out


def _as_problem(error: dict[str, Any]) -> dict[str, Any]:
    """A job error as an RFC 7807 problem (the CaptureJob schema), keeping where and why."""
    store = error.get("rule") == "store"
    return {
        "type": "epcisException:ImplementationException" if store
        else "epcisException:ValidationException",
        "title": "Events could not be stored" if store else "Invalid event",
        "status": 500 if store else 400,
        "detail": f"{error.get('location', '/')}: {error.get('message', '')}",
        **error,
    }
