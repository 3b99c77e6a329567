"""The subscription service of a running node: decides deliveries and performs them.

Two duties, one asyncio task plus one database thread:

- *deciding*: for each stream subscription, the events its query matches (as its party may
  read them) whose ledger index is past the subscription's cursor; for each scheduled one that
  is due, the same since its last run. The EPCISQueryDocument is written to the outbox and the
  cursor advanced in ONE transaction, so a crash either leaves both or neither.
  Ledger indices are assigned under the single-writer lock and committed in order, so "index
  <= max committed index" never skips an event that commits later.
- *delivering*: POST each outbox body to the subscriber's `dest` with `GS1-Signature`;
  on a 2xx the row is marked delivered, otherwise retried with exponential backoff
  (base * 2^attempt, capped, with jitter) up to `max_attempts`, then marked failed.
  Deliveries of one subscription go out in order; one slow receiver does not hold up others.

`notify(event_ids)` (see corridor.subscriptions.notify_captured) only wakes the task; the
decision is always re-derived from the database, so a missed wake-up loses nothing: the
poll interval bounds the delay.
"""

from __future__ import annotations

import asyncio
import json
import logging
import random
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, TypeVar

import httpx

from corridor.store.db import Connection, Database
from corridor.subscriptions import matching
from corridor.subscriptions import store as substore
from corridor.subscriptions.model import (
    Resolver,
    Subscription,
    SubscriptionError,
    iso,
    now_iso,
    system_resolver,
)
from corridor.subscriptions.pinned import guarded_client
from corridor.subscriptions.schedule import Schedule
from corridor.subscriptions.signing import sign

log = logging.getLogger("corridor.subscriptions")
T = TypeVar("T")


@dataclass
class Tuning:
    poll_interval: float = 1.0  # seconds between scans when nothing wakes the task
    min_round_gap: float = 0.05  # seconds between rounds however often captures wake us
    batch: int = 500  # events per delivered document
    max_attempts: int = 8
    backoff_base: float = 0.5
    backoff_max: float = 300.0
    timeout: float = 10.0  # per delivery request
    keep_delivered: float = 86400.0  # seconds a delivered or failed outbox row is kept


class SubscriptionService:
    def __init__(self, db: Database, tuning: Tuning | None = None, *,
                 allow_private: bool = False, resolver: Resolver = system_resolver) -> None:
        self.db = db
        self.tuning = tuning or Tuning()
        self.allow_private = allow_private  # deliver to loopback/private addresses (SSRF)
        self.resolver = resolver
        # Whether this node decides and delivers: with several nodes on one database, only
        # the log's sequencer does, so that no body is queued or posted twice.
        self.active: Callable[[], bool] = lambda: True
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="subscriptions")
        self._conn: Connection | None = None
        self._wake: asyncio.Event | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._task: asyncio.Task[None] | None = None
        self._client: httpx.AsyncClient | None = None
        self._listeners: set[asyncio.Event] = set()
        self._pruned = 0.0
        self._wake_pending = False  # a _wake_all is scheduled and has not run yet
        # subscription id -> the task delivering its due outbox rows, in order
        self._delivering: dict[str, asyncio.Task[None]] = {}

    # -- life cycle -------------------------------------------------------------------------

    async def start(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._wake = asyncio.Event()
        self._wake_pending = False
        # The SSRF guard runs inside this client, at connection time, on the very addresses
        # it connects to (DNS rebinding); redirects are not followed. See pinned.py.
        self._client = guarded_client(allow_private=self.allow_private,
                                      timeout=self.tuning.timeout, resolver=self.resolver)
        self._task = asyncio.create_task(self._run(), name="corridor-subscriptions")

    async def stop(self) -> None:
        if self._task is not None:  # first, so that it starts no more deliveries
            self._task.cancel()
            try:
                await self._task
            except asyncio.CancelledError:
                pass
            self._task = None
        deliveries = list(self._delivering.values())
        for task in deliveries:
            task.cancel()
        await asyncio.gather(*deliveries, return_exceptions=True)
        if self._client is not None:
            await self._client.aclose()
            self._client = None
        if self._conn is not None:
            conn, self._conn = self._conn, None
            await self._db(lambda _c: conn.close())
        self._executor.shutdown(wait=False)

    # -- wake-ups ---------------------------------------------------------------------------

    def notify(self, event_ids: list[str] | None = None) -> None:
        """New events were committed: wake the task and every WebSocket listener. Safe to
        call from any thread."""
        loop = self._loop
        if loop is None or loop.is_closed() or self._wake_pending:
            return  # a wake-up still to run comes after this commit too: one will do
        self._wake_pending = True
        loop.call_soon_threadsafe(self._wake_all)

    def _wake_all(self) -> None:
        self._wake_pending = False  # before waking: a commit from now on schedules anew
        if self._wake is not None:
            self._wake.set()
        for event in list(self._listeners):
            event.set()

    def listen(self) -> asyncio.Event:
        """An event set on every capture (WebSocket subscriptions wait on it)."""
        event = asyncio.Event()
        self._listeners.add(event)
        return event

    def unlisten(self, event: asyncio.Event) -> None:
        self._listeners.discard(event)

    # -- database thread --------------------------------------------------------------------

    def _connection(self) -> Connection:
        if self._conn is None:
            self._conn = self.db.connect()
        return self._conn

    async def _db(self, fn: Callable[[Connection], T]) -> T:
        def call() -> T:
            conn = self._connection()
            try:
                return fn(conn)
            finally:
                if conn.dialect == "postgresql" and self._conn is conn:
                    conn.raw.rollback()  # end any read-only implicit transaction

        return await asyncio.get_running_loop().run_in_executor(self._executor, call)

    # -- main loop --------------------------------------------------------------------------

    async def _run(self) -> None:
        assert self._wake is not None
        while True:
            try:
                wait = None
                if self.active():
                    await self._db(self.decide)
                    wait = await self._deliver_due()
            except asyncio.CancelledError:
                raise
            except Exception:  # keep serving; the next round retries from the database
                log.exception("subscription round failed")
                wait = self.tuning.poll_interval
            timeout = self.tuning.poll_interval if wait is None else min(
                wait, self.tuning.poll_interval)
            try:
                await asyncio.wait_for(self._wake.wait(), timeout=max(timeout, 0.01))
            except TimeoutError:
                pass
            # Captures notify many times a second; a short pause lets them coalesce into one
            # round instead of a round per capture competing with capture for the CPU.
            await asyncio.sleep(self.tuning.min_round_gap)
            self._wake.clear()

    def decide(self, conn: Connection) -> int:
        """Write the outbox rows that are due now; return how many were written."""
        written = 0
        now = datetime.now(UTC)
        if time.monotonic() - self._pruned > 60:
            substore.prune(conn, self.tuning.keep_delivered)
            self._pruned = time.monotonic()
        for sub in substore.list_for(conn):
            if sub.kind is not None:  # another kind's producer fills its outbox
                continue
            try:
                if sub.stream:
                    written += self._decide_stream(conn, sub)
                elif sub.next_run_at is not None and sub.next_run_at <= iso(now):
                    written += self._decide_schedule(conn, sub, now)
            except Exception:  # one broken subscription must not hold up the others
                log.exception("subscription %s: deciding deliveries failed", sub.id)
        return written

    def _decide_stream(self, conn: Connection, sub: Subscription) -> int:
        # The reads run outside any write transaction (SQLite's single writer lock stays free
        # for captures); only the outbox insert and the cursor move share one short
        # transaction. This task is the only writer of cursors, so the read stays valid: a
        # crash before the write just means the same read is made again.
        written = 0
        while True:
            cursor = -1 if sub.cursor is None else sub.cursor
            top = matching.max_log_index(conn)
            if top <= cursor:
                return written
            found = matching.matching_events(
                conn, sub.party_id, sub.query_name, after=cursor, upto=top,
                limit=self.tuning.batch, min_record_time=sub.initial_record_time)
            if found is None:  # the query was deleted: so is the subscription
                substore.delete(conn, sub.id)
                return written
            new_cursor = top if len(found) < self.tuning.batch else found[-1][0]
            body = query_document(sub, [e for _, e in found]) if found else None
            with conn.transaction():
                if body is not None:
                    substore.enqueue(conn, sub.id, body, len(found))
                    written += 1
                conn.execute("UPDATE subscriptions SET cursor = ? WHERE id = ?",
                             (new_cursor, sub.id))
            sub = Subscription(**{**sub.__dict__, "cursor": new_cursor})
            if len(found) < self.tuning.batch:
                return written

    def _decide_schedule(self, conn: Connection, sub: Subscription, now: datetime) -> int:
        schedule = Schedule.parse(sub.schedule or {})
        written = 0
        with conn.transaction():
            top = matching.max_log_index(conn)
            cursor = -1 if sub.cursor is None else sub.cursor
            events: list[dict[str, Any]] = []
            while top > cursor:
                found = matching.matching_events(
                    conn, sub.party_id, sub.query_name, after=cursor, upto=top,
                    limit=self.tuning.batch, min_record_time=sub.initial_record_time)
                if found is None:  # the query was deleted: so is the subscription
                    substore.delete(conn, sub.id)
                    return 0
                events.extend(e for _, e in found)
                if len(found) < self.tuning.batch:
                    break
                cursor = found[-1][0]
            for start in range(0, len(events), self.tuning.batch):
                chunk = events[start:start + self.tuning.batch]
                substore.enqueue(conn, sub.id, query_document(sub, chunk), len(chunk))
                written += 1
            if not events and sub.report_if_empty:
                substore.enqueue(conn, sub.id, query_document(sub, []), 0)
                written += 1
            following = schedule.next_after(now)
            conn.execute(
                "UPDATE subscriptions SET cursor = ?, min_record_time = ?, next_run_at = ?"
                " WHERE id = ?",
                (max(top, cursor), iso(now), iso(following) if following else None, sub.id))
        return written

    # -- delivery ---------------------------------------------------------------------------

    async def _deliver_due(self) -> float | None:
        """Start a task for each subscription with due deliveries and none running, and do
        not wait for them: a slow or stalled receiver holds up its own subscription only.
        Returns the seconds until the next due delivery of an idle subscription."""
        busy = set(self._delivering)
        due = await self._db(lambda c: substore.due(c, excluding=busy))
        by_sub: dict[str, list[substore.Delivery]] = {}
        for d in due:
            by_sub.setdefault(d.subscription_id, []).append(d)
        for sub_id, deliveries in by_sub.items():
            task = asyncio.create_task(self._deliver_in_order(deliveries),
                                       name=f"corridor-delivery-{sub_id}")
            self._delivering[sub_id] = task
            task.add_done_callback(lambda _t, sub_id=sub_id: self._delivered(sub_id))
        busy = set(self._delivering)
        return await self._db(lambda c: substore.next_due_in(c, excluding=busy))

    def _delivered(self, sub_id: str) -> None:
        # Its next due rows (more of a long backlog, a retry) are picked in the next round.
        self._delivering.pop(sub_id, None)
        if self._wake is not None:
            self._wake.set()

    async def _deliver_in_order(self, deliveries: list[substore.Delivery]) -> None:
        for delivery in deliveries:
            if not await self._deliver(delivery):
                return  # keep this subscriber's order: later ones wait for this one

    async def _deliver(self, d: substore.Delivery) -> bool:
        assert self._client is not None
        headers = {"Content-Type": "application/json", "GS1-EPCIS-Version": "2.0.0",
                   "GS1-CBV-Version": "2.0.0", "User-Agent": "corridor-subscriptions"}
        if d.secret:
            headers["GS1-Signature"] = sign(d.body, d.secret)
        try:
            # The destination is checked by the client when it connects (guarded_client): the
            # name is resolved once and the checked addresses are the ones connected to.
            # One deadline for the whole exchange (a receiver trickling bytes would reset
            # a per-read timeout forever); the response body is never read.
            async with asyncio.timeout(self.tuning.timeout), self._client.stream(
                    "POST", d.dest, content=d.body, headers=headers) as response:
                ok = 200 <= response.status_code < 300
                error = "" if ok else f"HTTP {response.status_code}"
        except TimeoutError:
            ok, error = False, f"no answer within {self.tuning.timeout:g} s"
        except SubscriptionError as exc:  # a forbidden (or unresolvable) destination
            ok, error = False, f"refused: {exc}"
        except httpx.HTTPError as exc:
            ok, error = False, f"{exc.__class__.__name__}: {exc}"
        if ok:
            await self._db(lambda c: substore.mark_delivered(c, d))
            return True
        attempt = d.attempts + 1
        retry_in: float | None = None
        if attempt < self.tuning.max_attempts:
            retry_in = min(self.tuning.backoff_base * 2 ** (attempt - 1),
                           self.tuning.backoff_max) * (1 + random.random() * 0.1)
        log.info("delivery %s to %s failed (%s); attempt %d, retry in %s", d.id, d.dest,
                 error, attempt, retry_in)
        await self._db(lambda c: substore.mark_failed(c, d, error, retry_in=retry_in))
        return False


def query_document(sub: Subscription | None, events: list[dict[str, Any]], *,
                   query_name: str | None = None, subscription_id: str | None = None) -> bytes:
    """An EPCISQueryDocument carrying query results, as the subscription callback expects."""
    results: dict[str, Any] = {
        "subscriptionID": sub.id if sub else subscription_id,
        "queryName": sub.query_name if sub else query_name,
        "resultsBody": {"eventList": events},
    }
    if results["subscriptionID"] is None:
        del results["subscriptionID"]
    doc = {
        "@context": ["https://ref.gs1.org/standards/epcis/epcis-context.jsonld"],
        "type": "EPCISQueryDocument",
        "schemaVersion": "2.0",
        "creationDate": now_iso(),
        "epcisBody": {"queryResults": results},
    }
    return json.dumps(doc, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
