"""The write half of captures: prepared works committed in one transaction with one ledger
append (write_captures), and the one thread per process that groups them (CaptureWriter).

One transaction covers events + index rows + ledger entries + the documents' master data
(location hierarchy and vocabulary attributes) + the jobs' final state: a rejected capture
leaves nothing but its failed job record. So does a capture whose master data names an element
its party may not write (corridor.capture.ownership), decided in that transaction. The thread
names itself `capture-writer` in the OS (bench_capture, `top -H` and perf find it by that
name).
"""

from __future__ import annotations

import asyncio
import contextlib
import queue
import threading
from collections.abc import Sequence
from concurrent.futures import Future
from typing import Any

import orjson

from corridor.capture.ownership import master_data_refusals
from corridor.capture.work import CaptureResult, CaptureWork, PreparedRow
from corridor.store.capture_jobs import create_job, fail_job, finish_jobs, insert_jobs
from corridor.store.db import Connection
from corridor.store.events import (
    add_location_children,
    insert_events,
    now_utc,
    remember_namespaces,
    stored_duplicates,
)
from corridor.store.master_data import VocabularyRow, write_vocabulary
from corridor.store.parties import active_key_hashes


def _json(value: Any) -> str:
    return orjson.dumps(value).decode("utf-8")


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
    active = active_key_hashes(conn, wanted)
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
        if any(w.elements for w in works):  # who may write the master data, under the lock
            refused = master_data_refusals(conn, works)
            for w in works:
                w.refuse(refused.get(id(w)))
        existing = stored_duplicates(conn, [p.row for w in works for p in w.prepared])
        seen: dict[str, PreparedRow] = {}
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
        vocabulary: list[VocabularyRow] = []
        writers: list[tuple[str, str, int | None]] = []
        for w in works:
            if w.refused is not None:
                continue
            namespaces.update(w.namespaces)
            children.extend(w.children)
            vocabulary.extend(w.vocabulary)  # in order: a later capture's value wins
            if w.elements:
                writers.extend((vtype, ident, w.party_id) for vtype, ident, _, _ in w.elements)
        remember_namespaces(conn, namespaces)
        add_location_children(conn, children)
        if writers:
            write_vocabulary(conn, vocabulary, writers)
        out = [w.results() for w in works]
        _write_jobs(conn, works, out, created)
        return out


def _write_jobs(conn: Connection, works: Sequence[CaptureWork], out: list[CaptureResult],
                created: str) -> None:
    """The jobs' final rows: whole for the jobs this write created (each result keeps its
    row), an update for the jobs given."""
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
    insert_jobs(conn, new_jobs)
    finish_jobs(conn, [(ok, finished, count, errors, results, r.job_id)
                       for w, r, ok, count, errors, results in final
                       if w.job_given is not None])


def _failed(conn: Connection, work: CaptureWork, exc: BaseException) -> CaptureResult:
    """Record a failed write (its transaction rolled back: nothing of it is stored)."""
    errors = [*work.errors, {"location": "/", "rule": "store",
                             "message": f"{exc.__class__.__name__}: {exc}"}]
    # A job created inside the rolled-back transaction is gone too: record a new one.
    job_id = work.job_given
    if job_id is None:
        job_id = create_job(conn, party_id=work.party_id, behaviour=work.behaviour)
    fail_job(conn, job_id, errors, work.event_count)
    return CaptureResult(job_id, False, [], errors)


def commit_group(conn: Connection, ledger: Any, works: list[CaptureWork]
                 ) -> list[CaptureResult | KeyRevoked]:
    """write_captures; a failing group is retried one capture at a time, and a capture that
    fails alone is recorded as failed. Works refused for their key get the KeyRevoked, the
    others are written without them."""
    try:
        return list(write_captures(conn, ledger, works))
    except KeyRevoked as exc:
        refused = {id(w) for w in exc.works}
        others = [w for w in works if id(w) not in refused]
        rest = iter(commit_group(conn, ledger, others) if others else [])
        return [exc if id(w) in refused else next(rest) for w in works]
    except Exception as exc:  # noqa: BLE001 - retried alone, then recorded in the job
        if len(works) == 1:
            return [_failed(conn, works[0], exc)]
        return [result for w in works for result in commit_group(conn, ledger, [w])]


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
                results = commit_group(conn, self.ledger, works)
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
