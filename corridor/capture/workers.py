"""Where captures are prepared: worker processes for large documents and batches of single
events, one thread of the server process for small documents, the event loop for a lone small
event (corridor.capture.prepare is what runs).

Python threads share one core through the GIL, so on a thread the parsing of one document
competed with the capture writer and the HTTP loop of the server process; in a worker process
it runs on another core while the writer commits the previous document. Small documents stay
on a thread of the server process, where the hop costs less than pickling. The result of
either path is the same.
"""

from __future__ import annotations

import asyncio
import gc
import multiprocessing
import os
import sys
import threading
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from typing import Any, TypeVar

from corridor.capture.prepare import (
    Prepared,
    PreparedEvent,
    merge_prepared,
    prepare_document,
    prepare_event,
)
from corridor.store.events import now_utc

T = TypeVar("T")

# A posted event up to this size is prepared on the event loop (a few hundred microseconds)
# or, when others are posted at the same time, in a worker process; larger ones go to a
# worker thread so that they cannot stall other requests.
INLINE_EVENT_BYTES = 64 * 1024


def prepare_events(calls: list[tuple[bytes, int | None, str, bytes | None]]
                   ) -> list[PreparedEvent]:
    """prepare_event of each, in a worker process: one round trip for a batch of events."""
    _collect_if_due()
    return [prepare_event(*call) for call in calls]


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
        return merge_prepared(list(parts))

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

    async def prepare_single(self, body: bytes, party_id: int | None, party: str,
                             signature: bytes | None, *, concurrent: bool) -> PreparedEvent:
        """prepare_event of a posted event where it costs least: a large one on this
        process's capture thread (it must not stall the event loop), one posted while others
        are (`concurrent`) in a worker batch once the pool is ready, else on the event loop
        (for a lone client a hop would cost more than the work)."""
        call = (body, party_id, party, signature)
        if len(body) > INLINE_EVENT_BYTES:
            return await self.on_thread(prepare_event, *call)
        if concurrent and self.takes_events():
            return await self.prepare_event(*call)
        return prepare_event(*call)

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
