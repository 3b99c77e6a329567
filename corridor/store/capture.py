"""Capture: store a document's events, their index rows and their ledger entries at once.

The CPU work (Event Hash ID, canonical JSON, digest, index rows) happens before the write
transaction opens, so the single writer holds its lock only for the inserts and the log append.
One transaction covers events + index rows + ledger entries + the job's final state: a rejected
capture leaves nothing but its failed job record.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import queue
import threading
from collections.abc import Mapping, Sequence
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import Any

import orjson

from corridor.epcis.hashid import event_hash_id
from corridor.epcis.problems import Problem
from corridor.ledger.entry import entry_encoder
from corridor.ledger.jcs import canonicalize
from corridor.store.db import Connection
from corridor.store.events import (
    EventRow,
    EventRun,
    IndexedEvent,
    IndexRows,
    add_location_children,
    index_event,
    insert_events,
    now_utc,
    remember_namespaces,
)

BEHAVIOURS = ("rollback", "proceed")


def _json(value: Any) -> str:
    return orjson.dumps(value).decode("utf-8")


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
    # The job's row as this write stored it (when it created the job): read_job's input,
    # without reading it back.
    job_row: tuple[Any, ...] | None = None

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

    def __reduce__(self) -> tuple[Any, ...]:  # pickled as a plain tuple: 3x faster
        return (_Prepared, (self.index, self.row))


def _prepare(events: Sequence[dict[str, Any]], namespaces: Mapping[str, str], party: str,
             record_time: str, skip: Mapping[int, Any], signature: bytes | None,
             indices: range) -> tuple[list[_Prepared], IndexRows, list[dict[str, Any]]]:
    prepared: list[_Prepared] = []
    indexed: list[IndexedEvent] = []
    errors: list[dict[str, Any]] = []
    encode_entry = entry_encoder(party, record_time, signature)
    for i in indices:
        if i in skip:
            continue
        event = events[i]
        try:
            hash_id = event_hash_id(event, namespaces)
            ix = index_event(event, namespaces)
            if not event.get("eventID"):
                # Events without an eventID are known by their Event Hash ID.
                event = {**event, "eventID": hash_id}
            event_id = str(event["eventID"])
            doc = canonicalize(event)
            entry = encode_entry(hash_id, hashlib.sha256(doc).digest())
        except Exception as exc:  # noqa: BLE001 - any failure is that event's problem
            errors.append({"location": f"/epcisBody/eventList/{i}", "rule": "capture",
                           "message": f"{exc.__class__.__name__}: {exc}", "eventIndex": i})
            continue
        prepared.append(_Prepared(i, EventRow(
            event_id=event_id, hash_id=hash_id, dedup=f"{hash_id} {party}",
            doc=doc.decode("utf-8"), record_time=record_time, columns=ix.columns(),
            entry=entry)))
        indexed.append(ix)
    return prepared, IndexRows.of(indexed), errors


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


def _existing(conn: Connection, rows: Sequence[EventRow]
              ) -> dict[str, tuple[str, int | None]]:
    """The stored events that `rows` would duplicate (same Event Hash ID, same capturing
    party), by dedup: their eventID and log index."""
    wanted = {r.dedup for r in rows}
    # an event's hash is under id_key when it is its eventID, else under hash_key
    keys = sorted({r.id_key if r.hash_key is None else r.hash_key for r in rows})
    select = "SELECT hash_id, party, event_id, log_index FROM events WHERE"
    if conn.dialect == "postgresql":
        # One array parameter, sent as text: a tenth of the time of 1,000 parameters.
        array = "{" + ",".join(map(str, keys)) + "}"
        stored = conn.fetchall(f"{select} id_key = ANY(?::bigint[]) UNION ALL"
                               f" {select} hash_key = ANY(?::bigint[])", (array, array))
    else:
        stored = []
        for start in range(0, len(keys), 500):
            chunk = keys[start:start + 500]
            marks = ",".join("?" * len(chunk))
            stored += conn.fetchall(f"{select} id_key IN ({marks}) UNION ALL"
                                    f" {select} hash_key IN ({marks})", chunk + chunk)
    found: dict[str, tuple[str, int | None]] = {}
    for hash_id, party, event_id, log_index in stored:
        dedup = f"{hash_id} {party}"
        if dedup in wanted:  # not a key collision, nor another party's capture
            found[dedup] = (event_id, log_index)
    return found


class CaptureWork:
    """The write half of one capture, run inside a transaction that may hold other captures
    too (group commit): `plan` decides what is new and returns its log entries, `results`
    reports each event once the ledger has given the new ones their indices."""

    def __init__(self, prepared: list[_Prepared], index: list[tuple[int, IndexRows]],
                 errors: list[dict[str, Any]], *, event_count: int, namespaces: Mapping[str, str],
                 children: list[tuple[str, str]], party_id: int | None,
                 party_identifier: str, behaviour: str, record_time: str,
                 signature: bytes | None, job_id: int | None) -> None:
        # Only what the write needs, not the parsed document: a work prepared in a worker
        # process travels back to the writer pickled.
        self.event_count = event_count
        self.namespaces = dict(namespaces)
        self.children = children  # (parent, child) locations from the master data
        self.prepared = prepared
        # (start, rows): the index rows of prepared[start:], up to the next start
        self.index = index
        self.errors = errors
        self.party_id = party_id
        self.party = party_identifier
        self.behaviour = behaviour
        self.record_time = record_time
        self.signature = signature
        self.job_given = job_id
        self.job_id = job_id
        self._existing: dict[str, tuple[str, int | None]] = {}
        self._seen: dict[str, _Prepared] = {}
        self._keep: list[EventRow | None] = []  # per prepared event: its row if new
        # SHA-256 of the API key that admitted this capture when the key came from a cache:
        # the writer checks it is still active before storing anything
        self.key_hash: str | None = None

    def plan(self, existing: Mapping[str, tuple[str, int | None]],
             seen: dict[str, _Prepared]) -> list[bytes]:
        """Decide what is new (not stored, not earlier in this group) and return its log
        entries, encoded. `seen` is shared by the captures of one group."""
        self._existing = dict(existing)
        self._seen, self._keep = seen, []
        for p in self.prepared:
            if p.row.dedup in existing or p.row.dedup in seen:
                self._keep.append(None)
                continue
            seen[p.row.dedup] = p
            self._keep.append(p.row)
        return [row.entry for row in self.new_rows()]

    def new_rows(self) -> list[EventRow]:
        """The rows plan found new, in order."""
        return [row for row in self._keep if row is not None]

    def runs(self) -> list[EventRun]:
        """What to write: the new events (plan's, log indices given) and their index rows."""
        ends = [start for start, _ in self.index[1:]] + [len(self.prepared)]
        runs = [EventRun(self._keep[start:end], index, self.party_id, self.party, self.job_id)
                for (start, index), end in zip(self.index, ends, strict=True)]
        return [run for run in runs if any(run.rows)]

    def results(self) -> CaptureResult:
        out: list[CapturedEvent] = []
        for p in self.prepared:
            if p.row.dedup in self._existing:
                event_id, log_index = self._existing[p.row.dedup]
                out.append(CapturedEvent(p.index, event_id, p.row.hash_id, log_index, True))
            elif self._seen[p.row.dedup] is not p:
                first = self._seen[p.row.dedup].row
                out.append(CapturedEvent(p.index, first.event_id, first.hash_id,
                                         first.log_index, True))
            else:
                out.append(CapturedEvent(p.index, p.row.event_id, p.row.hash_id,
                                         p.row.log_index, False))
        assert self.job_id is not None
        return CaptureResult(self.job_id, not self.errors, out, self.errors)

    def failed(self, conn: Connection, exc: BaseException) -> CaptureResult:
        """Record a failed write (its transaction rolled back: nothing of it is stored)."""
        errors = [*self.errors, {"location": "/", "rule": "store",
                                 "message": f"{exc.__class__.__name__}: {exc}"}]
        # A job created inside the rolled-back transaction is gone too: record a new one.
        job_id = self.job_given
        if job_id is None:
            job_id = create_job(conn, party_id=self.party_id, behaviour=self.behaviour)
        fail_job(conn, job_id, errors, self.event_count)
        return CaptureResult(job_id, False, [], errors)


class KeyRevoked(Exception):
    """Captures whose API key was revoked or replaced after the request was let in: nothing
    of them is stored."""

    def __init__(self, works: list[CaptureWork]) -> None:
        super().__init__("the API key of this capture is unknown or revoked")
        self.works = works


def _check_keys(conn: Connection, works: Sequence[CaptureWork]) -> None:
    """Raise KeyRevoked for the works whose `key_hash` is no longer an active party's key:
    read inside the write transaction, so a capture admitted by a cached key is never stored
    after its key's revocation committed."""
    wanted = {w.key_hash for w in works if w.key_hash is not None}
    if not wanted:
        return
    marks = ", ".join("?" * len(wanted))
    active = {row[0] for row in conn.fetchall(
        f"SELECT key_hash FROM parties WHERE key_hash IN ({marks}) AND revoked_at IS NULL",
        tuple(wanted))}
    refused = [w for w in works if w.key_hash is not None and w.key_hash not in active]
    if refused:
        raise KeyRevoked(refused)


def write_captures(conn: Connection, ledger: Any, works: Sequence[CaptureWork]
                   ) -> list[CaptureResult]:
    """Run captures in ONE transaction with ONE ledger append and one statement per table
    (all or nothing). Raises KeyRevoked, before writing anything, when a work's key is no
    longer active."""
    with conn.transaction():
        _check_keys(conn, works)
        for w in works:
            w.job_id = w.job_given
        fresh = [w for w in works if w.job_id is None]
        created = now_utc()
        # Keys for the new jobs (their rows are written at the end, complete: nothing refers
        # to them) and for every event, duplicates included, in one round trip.
        ids = conn.next_ids_of({"capture_jobs": len(fresh),
                                "events": sum(len(w.prepared) for w in works)})
        for w, job_id in zip(fresh, ids["capture_jobs"], strict=True):
            w.job_id = job_id
        # Before looking for duplicates: a concurrent writer (another server process on the
        # same PostgreSQL) cannot store the same event between that look and our insert.
        locked = ledger.lock(conn)
        existing = _existing(conn, [p.row for w in works for p in w.prepared])
        seen: dict[str, _Prepared] = {}
        plans = [w.plan(existing, seen) for w in works]
        flat = [entry for plan in plans for entry in plan]
        rows = [row for w in works for row in w.new_rows()]  # flat's rows, in order
        indices = (ledger.append(conn, flat, locked, [row.leaf for row in rows])
                   if flat else [])
        for row, log_index in zip(rows, indices, strict=True):
            row.log_index = log_index
        insert_events(conn, [run for w in works for run in w.runs()], ids["events"])
        namespaces: dict[str, str] = {}
        children: list[tuple[str, str]] = []
        for w in works:
            namespaces.update(w.namespaces)
            children.extend(w.children)
        remember_namespaces(conn, namespaces)
        add_location_children(conn, children)
        out = [w.results() for w in works]
        finished = now_utc()
        final = [(w, r, 1 if r.success else 0, w.event_count, _json(r.errors),
                  _json([[e.index, e.event_id, e.hash_id, e.log_index, e.duplicate]
                         for e in r.events])) for w, r in zip(works, out, strict=True)]
        new_jobs = []
        for w, r, ok, count, errors, results in final:
            if w.job_given is None:
                r.job_row = (r.job_id, w.party_id, w.behaviour, 0, ok, created, finished,
                             count, errors, results)
                new_jobs.append(r.job_row)
        conn.executemany(
            "INSERT INTO capture_jobs (id, party_id, behaviour, running, success, created_at,"
            " finished_at, event_count, errors, results) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            new_jobs)
        conn.executemany(
            "UPDATE capture_jobs SET running = 0, success = ?, finished_at = ?,"
            " event_count = ?, errors = ?, results = ? WHERE id = ?",
            [(ok, finished, count, errors, results, r.job_id)
             for w, r, ok, count, errors, results in final if w.job_given is not None])
        return out


_WriterQueue = queue.SimpleQueue  # of (work, waiter) pairs, then None to stop
_AsyncWaiter = tuple[asyncio.AbstractEventLoop, "asyncio.Future[CaptureResult]"]
_Outcome = tuple["Future[CaptureResult] | _AsyncWaiter", "CaptureResult | None",
                 "BaseException | None"]


def _settle(outcomes: list[_Outcome]) -> None:
    """Hand results to their waiters: thread futures directly, asyncio futures with one
    wake-up per event loop for the whole batch."""
    by_loop: dict[asyncio.AbstractEventLoop, list[_Outcome]] = {}
    for outcome in outcomes:
        waiter = outcome[0]
        if isinstance(waiter, Future):
            if waiter.cancelled():
                continue
            if outcome[2] is not None:
                waiter.set_exception(outcome[2])
            else:
                waiter.set_result(outcome[1])
        else:
            by_loop.setdefault(waiter[0], []).append(outcome)
    for loop, items in by_loop.items():
        with contextlib.suppress(RuntimeError):  # that loop has closed: nobody is waiting
            loop.call_soon_threadsafe(_settle_on_loop, items)


def _settle_on_loop(outcomes: list[_Outcome]) -> None:
    for (_, future), result, exc in outcomes:
        if future.done():  # the request was cancelled (client gone); the capture stands
            continue
        if exc is not None:
            future.set_exception(exc)
        else:
            future.set_result(result)


def _name_os_thread(name: str) -> None:
    """Give the calling thread its name in the OS too (Linux; Python does not before 3.14):
    under a stream of documents the writer is the serial stage, and `top -H`, perf and
    bench_capture tell it from the other threads by this name."""
    with contextlib.suppress(OSError), open(
            f"/proc/self/task/{threading.get_native_id()}/comm", "w") as comm:
        comm.write(name[:15])


class CaptureWriter:
    """The one thread of this process that commits captures (group commit).

    Callers queue prepared work and wait for its result; the thread takes everything queued
    meanwhile and commits it in one transaction with one ledger append, so concurrent captures
    share a commit instead of queueing on the database lock. A failing group is retried one
    capture at a time, so one bad capture fails alone. The thread owns its connection.
    """

    def __init__(self, db: Any, ledger: Any, max_batch: int = 256) -> None:
        self.db, self.ledger, self.max_batch = db, ledger, max_batch
        self._lock = threading.Lock()
        # started by the first submit; each thread has its own queue, ended by a None
        self._thread: threading.Thread | None = None
        self._queue: _WriterQueue = queue.SimpleQueue()
        self._checkpointer: Any = None  # SQLite: a WalCheckpointer while the thread runs

    def submit(self, work: CaptureWork) -> Future[CaptureResult]:
        future: Future[CaptureResult] = Future()
        self._put(work, future)
        return future

    def _put(self, work: CaptureWork, waiter: Future[CaptureResult] | _AsyncWaiter) -> None:
        with self._lock:
            if self._thread is None or not self._thread.is_alive():
                self._queue = queue.SimpleQueue()
                self._thread = threading.Thread(target=self._run, args=(self._queue,),
                                                name="capture-writer", daemon=True)
                self._thread.start()
            self._queue.put((work, waiter))

    def commit(self, work: CaptureWork) -> CaptureResult:
        """Blocking form of submit."""
        return self.submit(work).result()

    async def commit_async(self, work: CaptureWork) -> CaptureResult:
        loop = asyncio.get_running_loop()
        future: asyncio.Future[CaptureResult] = loop.create_future()
        self._put(work, (loop, future))
        return await future

    def close(self) -> None:
        """Commit what is queued, then stop the thread (a later submit starts a new one)."""
        with self._lock:
            thread, self._thread = self._thread, None
            if thread is not None:
                self._queue.put(None)
        if thread is not None:
            thread.join()

    def _connect(self) -> Connection:
        conn = self.db.connect()
        if conn.dialect == "sqlite" and self.db.sqlite_path != ":memory:":
            from corridor.store.wal import WalCheckpointer, tune_writer

            tune_writer(conn)
            if self._checkpointer is None:
                self._checkpointer = WalCheckpointer(self.db)
        return conn

    def _run(self, jobs: _WriterQueue) -> None:
        _name_os_thread("capture-writer")
        conn: Connection | None = None
        stopping = False
        while not stopping:
            item = jobs.get()
            if item is None:
                break
            batch = [item]
            while len(batch) < self.max_batch:
                try:
                    nxt = jobs.get_nowait()
                except queue.Empty:
                    break
                if nxt is None:
                    stopping = True
                    break
                batch.append(nxt)
            works = [work for work, _ in batch]
            try:
                if conn is None:
                    conn = self._connect()
                results = _commit(conn, self.ledger, works)
                if self._checkpointer is not None:
                    self._checkpointer.committed(conn)
            except Exception as exc:  # noqa: BLE001 - the connection itself broke: report, reopen
                _settle([(waiter, None, exc) for _, waiter in batch])
                if conn is not None:
                    with contextlib.suppress(Exception):
                        conn.close()
                conn = None
                continue
            _settle([(waiter, None, result) if isinstance(result, KeyRevoked)
                     else (waiter, result, None)
                     for (_, waiter), result in zip(batch, results, strict=True)])
        if conn is not None:
            conn.close()
        if self._checkpointer is not None:
            self._checkpointer.close()
            self._checkpointer = None


def _commit(conn: Connection, ledger: Any, works: list[CaptureWork]
            ) -> list[CaptureResult | KeyRevoked]:
    """write_captures; a failing group is retried one capture at a time, and a capture that
    fails alone is recorded as failed. Works refused for their key get the KeyRevoked, the
    others are written without them."""
    try:
        return list(write_captures(conn, ledger, works))
    except KeyRevoked as exc:
        refused = {id(w) for w in exc.works}
        others = [w for w in works if id(w) not in refused]
        rest = iter(_commit(conn, ledger, others) if others else [])
        return [exc if id(w) in refused else next(rest) for w in works]
    except Exception as exc:  # noqa: BLE001 - retried alone, then recorded in the job
        if len(works) == 1:
            return [works[0].failed(conn, exc)]
        return [result for w in works for result in _commit(conn, ledger, [w])]


def prepare_work(doc: Any, *, party_id: int | None, party_identifier: str,
                 behaviour: str = "rollback", signature: bytes | None = None,
                 job_id: int | None = None,
                 rejected: Mapping[int, list[Problem]] | None = None,
                 record_time: str | None = None, part: tuple[int, int] = (0, 1)
                 ) -> CaptureWork | list[dict[str, Any]]:
    """The CPU half of capture_document, without touching the database: a CaptureWork ready
    to commit, or (behaviour "rollback" meeting a bad event) the errors to record.

    `part` (k, n): only the k-th of n equal slices of the events, for preparing one document
    on n processes at once (merge_parts joins them; give each the same record_time)."""
    if behaviour not in BEHAVIOURS:
        raise ValueError(f"behaviour {behaviour!r}: expected one of {BEHAVIOURS}")
    events: list[dict[str, Any]] = list(doc.events)
    k, n = part
    mine = range(len(events) * k // n, len(events) * (k + 1) // n)
    rejected = {i: problems for i, problems in (rejected or {}).items() if i in mine}
    record_time = record_time or now_utc()
    prepared, index, errors = _prepare(events, doc.namespaces, party_identifier,
                                       record_time, rejected, signature, mine)
    errors.extend(problem_dict(p, i) for i, problems in rejected.items() for p in problems)
    errors.sort(key=lambda e: e["eventIndex"])  # stable: each event's problems in order
    if errors and behaviour == "rollback":
        return errors
    return CaptureWork(prepared, [(0, index)], errors, event_count=len(events),
                       namespaces=doc.namespaces,
                       children=_master_data_children(doc.header), party_id=party_id,
                       party_identifier=party_identifier, behaviour=behaviour,
                       record_time=record_time, signature=signature, job_id=job_id)


def merge_parts(parts: Sequence[CaptureWork | list[dict[str, Any]]]
                ) -> CaptureWork | list[dict[str, Any]]:
    """One document's prepare_work parts (in order) as one: what prepare_work would have
    returned for the whole."""
    errors = sorted((e for p in parts for e in (p if isinstance(p, list) else p.errors)),
                    key=lambda e: e["eventIndex"])
    works = [p for p in parts if isinstance(p, CaptureWork)]
    if len(works) < len(parts):  # rollback met bad events
        return errors
    first = works[0]
    index, start = [], 0
    for w in works:
        index += [(start + k, rows) for k, rows in w.index]
        start += len(w.prepared)
    return CaptureWork([x for w in works for x in w.prepared], index, errors,
                       event_count=first.event_count, namespaces=first.namespaces,
                       children=first.children, party_id=first.party_id,
                       party_identifier=first.party, behaviour=first.behaviour,
                       record_time=first.record_time, signature=first.signature,
                       job_id=first.job_given)


def record_failure(db_conn: Connection, errors: list[dict[str, Any]], event_count: int, *,
                   party_id: int | None, behaviour: str = "rollback",
                   job_id: int | None = None) -> CaptureResult:
    """Record a capture rejected as a whole (its failed job) and return its result."""
    if job_id is None:
        job_id = create_job(db_conn, party_id=party_id, behaviour=behaviour)
    fail_job(db_conn, job_id, errors, event_count)
    return CaptureResult(job_id, False, [], errors)


def prepare_capture(db_conn: Connection, doc: Any, *, party_id: int | None,
                    party_identifier: str, behaviour: str = "rollback",
                    signature: bytes | None = None, job_id: int | None = None,
                    rejected: Mapping[int, list[Problem]] | None = None
                    ) -> CaptureWork | CaptureResult:
    """prepare_work, recording the failed job (on `db_conn`) when the capture is rejected."""
    work = prepare_work(doc, party_id=party_id, party_identifier=party_identifier,
                        behaviour=behaviour, signature=signature, job_id=job_id,
                        rejected=rejected)
    if isinstance(work, list):
        return record_failure(db_conn, work, len(doc.events), party_id=party_id,
                              behaviour=behaviour, job_id=job_id)
    return work


def commit_capture(db_conn: Connection, ledger: Any, work: CaptureWork,
                   committer: CaptureWriter | None = None) -> CaptureResult:
    """The write half: alone on `db_conn`, or through `committer` with the concurrent
    captures of this process."""
    if committer is not None:
        return committer.commit(work)
    result = _commit(db_conn, ledger, [work])[0]
    if isinstance(result, KeyRevoked):
        raise result
    return result


def capture_document(db_conn: Connection, ledger: Any, doc: Any, *, party_id: int | None,
                     party_identifier: str, behaviour: str = "rollback",
                     signature: bytes | None = None, job_id: int | None = None,
                     rejected: Mapping[int, list[Problem]] | None = None,
                     committer: CaptureWriter | None = None) -> CaptureResult:
    """Store the events of `doc` (an EpcisDocument) for a party, with their ledger entries.

    behaviour "rollback": any bad event rejects the whole document; "proceed": bad events are
    reported in the job and the others stored. `rejected` lists events already found invalid
    (by document validation) with their problems. Re-capturing an event the same party already
    stored (same Event Hash ID) stores nothing and reports `duplicate`. With a `committer`,
    concurrent captures of this process share transactions (group commit).
    """
    work = prepare_capture(db_conn, doc, party_id=party_id, party_identifier=party_identifier,
                           behaviour=behaviour, signature=signature, job_id=job_id,
                           rejected=rejected)
    if isinstance(work, CaptureResult):
        return work
    return commit_capture(db_conn, ledger, work, committer)


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
    loads = orjson.loads
    out: dict[str, Any] = {
        "captureID": str(job_id),
        "partyId": party_id,
        "createdAt": display_time(created),
        "running": bool(running),
        "success": bool(success),
        "captureErrorBehaviour": behaviour,
        "eventCount": count,
        "errors": [_as_problem(e) for e in (loads(errors) if errors else [])],
        "events": [
            {"index": r[0], "eventID": r[1], "eventHashID": r[2], "logIndex": r[3],
             "duplicate": r[4]}
            for r in (loads(results) if results else [])
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
