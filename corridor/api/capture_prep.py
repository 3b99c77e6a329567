"""The CPU half of POST /epcis/capture: parse, validate, hash and build the rows of a document,
without the database.

Large documents are prepared in worker processes. Python threads share one core through the
GIL, so on a thread the parsing of one document competed with the capture writer and the HTTP
loop of the server process; in a worker process it runs on another core while the writer
commits the previous document. Small documents stay on a thread of the server process, where
the hop costs less than pickling. The result of either path is the same.
"""

from __future__ import annotations

import asyncio
import gc
import multiprocessing
import os
import re
import sys
import threading
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from typing import Any, TypeVar

import orjson

from corridor.api.epcis_http import EPCIS_CONTEXT
from corridor.epcis.documents import check_json_document, read_document, split_json_document
from corridor.epcis.problems import EpcisError, Problem
from corridor.store import capture as cap
from corridor.store.events import display_time, now_utc

T = TypeVar("T")
_EVENT_LOCATION = re.compile(r"^/epcisBody/eventList/(\d+)(/|$)")


@dataclass
class Refused:
    """The document as a whole is invalid: nothing can be captured."""

    problems: list[Problem]


@dataclass
class TooMany:
    """More events than GS1-EPCIS-Capture-Limit."""

    count: int


@dataclass
class Rejected:
    """Behaviour rollback met bad events: the errors to record, nothing stored."""

    errors: list[dict[str, Any]]
    count: int


Prepared = cap.CaptureWork | Refused | TooMany | Rejected


@dataclass
class EventRefused:
    """A posted single event that is not an EPCIS event at all: the 400 problem to send."""

    title: str
    detail: str


PreparedEvent = cap.CaptureWork | list[dict[str, Any]] | EventRefused


def prepare_event(body: bytes, party_id: int | None, party: str,
                  signature: bytes | None = None) -> PreparedEvent:
    """The CPU half of POST /epcis/events: work to commit, the errors that reject the event
    (recorded as a failed job), or why it is no event. Runs anywhere: no database, and its
    result pickles."""
    try:
        event = orjson.loads(body)
    except (ValueError, UnicodeDecodeError) as exc:
        return EventRefused("Invalid JSON", f"/: {exc}")
    if not isinstance(event, dict):
        return EventRefused("Invalid event", "/: an event must be a JSON object")
    context: list[Any] = [EPCIS_CONTEXT]
    own = event.pop("@context", None)
    for item in own if isinstance(own, list) else [own] if own else []:
        if isinstance(item, dict):
            context.append(item)
    now = now_utc()
    wrapper = {"@context": context, "type": "EPCISDocument", "schemaVersion": "2.0",
               "creationDate": display_time(now), "epcisBody": {"eventList": [event]}}
    try:  # the wrapper adds no text of its own: the body's bytes hold every string
        check_json_document(wrapper, body)
        doc = split_json_document(wrapper)
    except EpcisError as exc:
        return EventRefused("Invalid EPCIS event", "; ".join(
            str(p).replace("/epcisBody/eventList/0", "", 1) or "/" for p in exc.problems[:20]))
    return cap.prepare_work(doc, party_id=party_id, party_identifier=party, signature=signature,
                            record_time=now)


def prepare_events(calls: list[tuple[bytes, int | None, str, bytes | None]]
                   ) -> list[PreparedEvent]:
    """prepare_event of each, in a worker process: one round trip for a batch of events."""
    _collect_if_due()
    return [prepare_event(*call) for call in calls]


def _parse(body: bytes, media: str, behaviour: str
           ) -> tuple[Any, dict[int, list[Problem]], list[Problem]]:
    """(document or None, per-event problems to skip, document-level problems)."""
    try:
        return read_document(body, media), {}, []
    except EpcisError as exc:
        problems = exc.problems
    per_event: dict[int, list[Problem]] = {}
    whole: list[Problem] = []
    for p in problems:
        m = _EVENT_LOCATION.match(p.location)
        if m:
            per_event.setdefault(int(m.group(1)), []).append(p)
        else:
            whole.append(p)
    if behaviour == "proceed" and per_event and not whole:
        try:
            return read_document(body, media, validate=False), per_event, []
        except EpcisError as exc:
            return None, {}, exc.problems
    return None, {}, problems


def prepare_document(body: bytes, media: str, *, behaviour: str, party_id: int | None,
                     party: str, signature: bytes | None, limit: int,
                     record_time: str | None = None, part: tuple[int, int] = (0, 1)
                     ) -> Prepared:
    """Everything the capture of `body` needs before the write, or why it stops here.
    `part`: only that slice of the events (see corridor.store.capture.prepare_work)."""
    doc, per_event, whole = _parse(body, media, behaviour)
    if doc is None:
        return Refused(whole)
    if len(doc.events) > limit:
        return TooMany(len(doc.events))
    work = cap.prepare_work(doc, party_id=party_id, party_identifier=party,
                            behaviour=behaviour, rejected=per_event, signature=signature,
                            record_time=record_time, part=part)
    if isinstance(work, list):
        return Rejected(work, len(doc.events))
    return work


def _merge(parts: list[Prepared]) -> Prepared:
    """The parts of one document as prepare_document of the whole would have returned it
    (a document-level outcome is the same in every part)."""
    for p in parts:
        if isinstance(p, Refused | TooMany):
            return p
    merged = cap.merge_parts([p.errors if isinstance(p, Rejected) else p for p in parts
                              if isinstance(p, Rejected | cap.CaptureWork)])
    if isinstance(merged, list):
        count = next(p.count for p in parts if isinstance(p, Rejected))
        return Rejected(merged, count)
    return merged


def _worker_start(server: int) -> None:
    """In each worker: import the parser, validator and hash core once, not per document,
    start the lower-priority thread that prepares documents, and exit when the server
    process (pid `server`) is gone, even before this ran. (A SIGKILLed server cannot stop its
    pool, and the workers would wait for work forever: each holds the task queue open
    itself.)"""
    import corridor.epcis.documents
    import corridor.epcis.hashid  # noqa: F401

    # The cycle collector's automatic passes over a document's thousands of parsed
    # containers took ~6% of a worker's time, and preparing creates no reference cycles that
    # must go at once. So it runs only between jobs, once enough objects have piled up (see
    # _collect_if_due), and never over what the imports made (frozen).
    global _collect_between_jobs, _document_thread
    _collect_between_jobs = True
    gc.freeze()
    gc.disable()
    _document_thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="document",
                                          initializer=_lower_this_thread)

    def watch() -> None:
        while os.getppid() == server:
            time.sleep(0.5)
        os._exit(0)

    threading.Thread(target=watch, name="server-watch", daemon=True).start()


_collect_between_jobs = False  # set in worker processes only

# a full collection once the tracked objects grew by this many since the last one
_COLLECT_AFTER = 100_000

# Under a stream of documents the serial stage is the server's capture writer (77% of the
# server process's CPU samples in perf), and the workers' preparation, which has slack,
# competed with it for the same two cores (the writer used ~0.66 of one, the machine was
# ~82% busy). So a worker prepares documents on a thread of its own at a lower priority (nice
# +10 for that thread only, Linux): when both are runnable the scheduler picks the writer,
# and preparation takes the rest. Batches of single events, whose preparation is on their
# requests' latency path, run on the worker's main thread at normal priority.
_DOCUMENT_NICE = 10
_document_thread: ThreadPoolExecutor | None = None  # set in worker processes only


def _lower_this_thread() -> None:
    # PRIO_PROCESS with a thread id sets that thread's nice value on Linux only (elsewhere
    # the number would name a process): other systems prepare at normal priority.
    if sys.platform.startswith("linux"):
        try:
            os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), _DOCUMENT_NICE)
        except OSError:
            pass


def _collect_if_due() -> None:
    """In a worker: the collection the disabled automatic collector would have done."""
    if _collect_between_jobs and gc.get_count()[0] > _COLLECT_AFTER:
        gc.collect()


class PreparationFailed(RuntimeError):
    """A worker process ended while preparing this document, in the pool and again in a
    process of its own."""


class CapturePreparer:
    """Runs prepare_document: on one thread of this process for bodies under `process_bytes`,
    else on a pool of `workers` processes (started on first use; 0 workers: never).

    A document that finds the pool idle is split across all its workers, so that one client
    posting documents one after another gets them prepared on every core; under concurrent
    captures each document goes whole to one worker (splitting would parse it twice).

    If a worker dies, the document is tried once more, whole, in a process of its own (the
    worker may have been killed from outside), and the next document gets a fresh pool; if
    that process dies too, PreparationFailed. A document that kills workers thus breaks no
    pool that other documents' retries are on. Never on this process's thread: a document
    that crashes the parser must not crash the server.
    `run` is what runs in the workers (prepare_document; tests give others)."""

    def __init__(self, workers: int, process_bytes: int,
                 run: Callable[..., Prepared] | None = None) -> None:
        self.workers, self.process_bytes = workers, process_bytes
        self.run = run or prepare_document
        # One thread: more would only fight over the GIL and starve the event loop.
        self._thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="epcis-capture")
        self._lock = threading.Lock()
        self._pool: ProcessPoolExecutor | None = None
        self._in_pool = 0  # documents being prepared in the pool (event loop thread only)
        self.split_documents = 0  # how many were split (for tests and curious operators)
        # single events waiting to go to the pool in the next batch, and batches out there
        self._events: list[tuple[tuple[Any, ...], asyncio.Future[PreparedEvent]]] = []
        self._batches_out = 0
        self._tasks: set[asyncio.Future[None]] = set()
        self._warm: ProcessPoolExecutor | None = None  # the pool once its workers answered
        self._warming = False
        self.event_batches = 0  # how many batches of single events went to the pool

    def _processes(self) -> ProcessPoolExecutor:
        with self._lock:
            if self._pool is None:
                self._pool = self._new_pool(self.workers)
            return self._pool

    def _new_pool(self, workers: int) -> ProcessPoolExecutor:
        # spawn, not fork: this process has threads (writer, signer) holding locks
        return ProcessPoolExecutor(max_workers=workers, initializer=_worker_start,
                                   initargs=(os.getpid(),),
                                   mp_context=multiprocessing.get_context("spawn"))

    def _discard(self, pool: ProcessPoolExecutor) -> None:
        with self._lock:
            if self._pool is pool:
                self._pool = None
        pool.shutdown(wait=False)

    async def prepare(self, body: bytes, media: str, **kwargs: Any) -> Prepared:
        loop = asyncio.get_running_loop()
        call = _Call(self.run, body, media, kwargs)
        if self.workers <= 0 or len(body) < self.process_bytes:
            return await loop.run_in_executor(self._thread, call)
        self._in_pool += 1
        try:
            pool = self._processes()
            n = self.workers if self._in_pool == 1 else 1  # an idle pool: split the document
            try:
                if n == 1:
                    return await loop.run_in_executor(pool, call)
                return await self._split(pool, n, body, media, kwargs)
            except BrokenProcessPool:
                self._discard(pool)
            # Once more, in a process of its own: if this document is what kills workers,
            # it breaks no pool that other documents are being prepared on.
            alone = self._new_pool(1)
            try:
                return await loop.run_in_executor(alone, call)
            except BrokenProcessPool:
                raise PreparationFailed("a worker process ended twice while preparing this"
                                        " document") from None
            finally:
                alone.shutdown(wait=False)
        finally:
            self._in_pool -= 1

    async def _split(self, pool: ProcessPoolExecutor, n: int, body: bytes, media: str,
                     kwargs: dict[str, Any]) -> Prepared:
        self.split_documents += 1
        loop = asyncio.get_running_loop()
        # every part stamps its events with the same record time
        shared = {**kwargs, "record_time": now_utc()}
        parts = await asyncio.gather(*(
            loop.run_in_executor(pool, _Call(self.run, body, media, {**shared, "part": (k, n)}))
            for k in range(n)))
        return _merge(list(parts))

    def takes_events(self) -> bool:
        """Whether single events can go to the pool now: it has workers, started and ready.
        The first call starts them; until they answer, events are prepared where they are
        (a burst must not wait the second or two that spawning and imports take)."""
        if self._ready():
            return True
        self.start()
        return False

    def _ready(self) -> bool:
        """The current pool's workers have all answered."""
        return self._warm is not None and self._warm is self._pool

    def start(self) -> None:
        """Start the worker processes (if not started or starting): `corridor serve` does at
        startup, so that the first burst of captures finds them ready."""
        if self.workers <= 0 or self._warming or self._ready():
            return
        pool = self._processes()
        answers: list[Any] = []

        def ready(done: Any) -> None:
            answers.append(done)
            if len(answers) == self.workers:
                self._warming = False
                if all(not a.cancelled() and a.exception() is None for a in answers):
                    self._warm = pool

        self._warming = True
        try:
            # one call per worker: the pool spawns a process for each call no idle one takes
            for _ in range(self.workers):
                pool.submit(os.getpid).add_done_callback(ready)
        except BrokenProcessPool:  # the next call starts a fresh one
            self._warming = False
            self._discard(pool)

    async def prepare_event(self, body: bytes, party_id: int | None, party: str,
                            signature: bytes | None) -> PreparedEvent:
        """prepare_event in a worker process, in one batch with the single events posted
        meanwhile (needs a pool: `workers` > 0).

        Under concurrent posts the event loop, which holds the GIL, is the server's
        bottleneck, and preparing an event was half of its work per request; a worker does it
        on another core. A batch leaves as soon as a worker is free, so the busier the
        server, the larger the batches and the fewer round trips per event."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[PreparedEvent] = loop.create_future()
        self._events.append(((body, party_id, party, signature), future))
        if len(self._events) == 1 and self._batches_out < self.workers:
            loop.call_soon(self._send_events)  # after the other requests of this loop turn
        return await future

    def _send_events(self) -> None:
        if not self._events or self._batches_out >= self.workers:
            return  # a batch coming back sends what is waiting
        batch, self._events = self._events, []
        self._batches_out += 1
        self.event_batches += 1
        task = asyncio.ensure_future(self._run_event_batch(batch))
        self._tasks.add(task)  # the loop keeps only a weak reference
        task.add_done_callback(self._tasks.discard)

    async def _run_event_batch(self, batch: list[tuple[tuple[Any, ...],
                                                      asyncio.Future[PreparedEvent]]]) -> None:
        calls = [call for call, _ in batch]
        try:
            pool = self._processes()
            try:
                results = await asyncio.get_running_loop().run_in_executor(
                    pool, prepare_events, calls)
            except BrokenProcessPool:
                # A worker died (killed from outside?): these events are small, and were
                # always prepared in this process before the pool took them.
                self._discard(pool)
                results = [prepare_event(*call) for call in calls]
            for (_, future), result in zip(batch, results, strict=True):
                if not future.done():  # the client may have gone
                    future.set_result(result)
        except Exception as exc:  # noqa: BLE001 - each waiting request answers with it
            for _, future in batch:
                if not future.done():
                    future.set_exception(exc)
        finally:
            self._batches_out -= 1
            self._send_events()

    async def on_thread(self, fn: Callable[..., T], *args: Any) -> T:
        """Other capture CPU work (a large single event) on the same one thread."""
        return await asyncio.get_running_loop().run_in_executor(self._thread, fn, *args)

    def close(self) -> None:
        with self._lock:
            pool, self._pool = self._pool, None
        if pool is not None:
            pool.shutdown(wait=True, cancel_futures=True)
        self._thread.shutdown(wait=True)


@dataclass
class _Call:
    """prepare_document (or a stand-in) with its arguments, picklable for a worker."""

    run: Callable[..., Prepared]
    body: bytes
    media: str
    kwargs: dict[str, Any]

    def __call__(self) -> Prepared:
        _collect_if_due()
        if _document_thread is not None:  # in a worker: at the lower priority
            return _document_thread.submit(self.run, self.body, self.media,
                                           **self.kwargs).result()
        return self.run(self.body, self.media, **self.kwargs)
