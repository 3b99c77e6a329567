"""The one front door of captures.

`CaptureService` takes a document's or one event's bytes as a party posted them and returns
what came of it: it checks the party's signature, has the capture prepared where it costs
least (corridor.capture.workers), records the failed job of a capture that stops before the
write, and hands the rest to the process's group-commit writer. `capture_document` does the
same in the caller's thread for a document already parsed (the demo loader, tests, scripts).
HTTP, the CLI, the demo and the benches all come in through here.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import hashlib
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

from corridor.capture.jobs import job_dict, read_job
from corridor.capture.prepare import (
    CaptureWork,
    EventRefused,
    Refused,
    Rejected,
    TooMany,
    prepare_work,
    problem_dict,
)
from corridor.capture.work import CaptureResult
from corridor.capture.workers import CapturePreparer
from corridor.capture.writer import CaptureWriter, KeyRevoked, commit_group
from corridor.config import Settings
from corridor.epcis.problems import Problem
from corridor.store.capture_jobs import create_job, fail_job
from corridor.store.db import Connection
from corridor.store.parties import PartyError, get_party, verifier_key_of, verify_signature

T = TypeVar("T")
RunDb = Callable[[Callable[[Connection], T]], Awaitable[T]]


class SignatureError(ValueError):
    """The capture's signature is malformed or does not verify (`no_key`: the party has no
    verifier key to check it with). Nothing was prepared or stored."""

    def __init__(self, message: str, *, no_key: bool = False) -> None:
        super().__init__(message)
        self.no_key = no_key


def parse_signature(value: str) -> bytes:
    """The Ed25519 signature of `ed25519=<base64>` (the Corridor-Signature header)."""
    scheme, sep, encoded = value.strip().partition("=")
    try:
        if not sep or scheme.strip().lower() != "ed25519":
            raise ValueError("expected ed25519=<base64 signature>")
        return base64.b64decode(encoded.strip(), validate=True)
    except (ValueError, binascii.Error) as exc:
        raise SignatureError(str(exc)) from None


def signature_failure(conn: Connection, party_id: int, body: bytes, signature: bytes
                      ) -> SignatureError | None:
    """Why `signature` (over SHA-256 of the exact body bytes) is not the party's, or None."""
    if verifier_key_of(conn, party_id) is None:
        return SignatureError("this party has no registered verifier key; register one"
                              " before signing captures", no_key=True)
    try:
        verify_signature(conn, party_id, hashlib.sha256(body).digest(), signature)
    except PartyError as exc:
        return SignatureError(str(exc).removeprefix("signature: "))
    return None


def record_failure(conn: Connection, errors: list[dict[str, Any]], event_count: int, *,
                   party_id: int | None, behaviour: str = "rollback",
                   job_id: int | None = None) -> CaptureResult:
    """Record a capture rejected as a whole (its failed job) and return its result."""
    if job_id is None:
        job_id = create_job(conn, party_id=party_id, behaviour=behaviour)
    fail_job(conn, job_id, errors, event_count)
    return CaptureResult(job_id, False, [], errors)


def capture_document(db_conn: Connection, ledger: Any, doc: Any, *, party_id: int | None,
                     party_identifier: str, behaviour: str = "rollback",
                     signature: bytes | None = None, job_id: int | None = None,
                     rejected: Mapping[int, list[Problem]] | None = None,
                     committer: CaptureWriter | None = None) -> CaptureResult:
    """Store the events of `doc` (an EpcisDocument) for a party, with their ledger entries,
    and its master data, in one transaction (master data past its bounds fails the job).

    behaviour "rollback": any bad event rejects the whole document; "proceed": bad events are
    reported in the job and the others stored. `rejected` lists events already found invalid
    (by document validation) with their problems. Re-capturing an event the same party already
    stored (same Event Hash ID) stores nothing and reports `duplicate`. Written alone on
    `db_conn`, or with a `committer` sharing transactions with this process's concurrent
    captures (group commit).
    """
    work = prepare_work(doc, party_id=party_id, party_identifier=party_identifier,
                        behaviour=behaviour, signature=signature, job_id=job_id,
                        rejected=rejected)
    if isinstance(work, list):
        return record_failure(db_conn, work, len(doc.events), party_id=party_id,
                              behaviour=behaviour, job_id=job_id)
    if committer is not None:
        return committer.commit(work)
    result = commit_group(db_conn, ledger, [work])[0]
    if isinstance(result, KeyRevoked):
        raise result
    return result


# -- what a posted document came to -----------------------------------------------------------

@dataclass
class Accepted:
    """Written (its events stored, or found stored already): the job as a CaptureJob."""

    job_id: int
    job: dict[str, Any]


@dataclass
class EventsRejected:
    """Behaviour rollback met bad events: nothing stored, the failed job as a CaptureJob."""

    job_id: int
    job: dict[str, Any]


@dataclass
class InvalidDocument:
    """The document as a whole is invalid (or names master data its party may not write,
    found at the write): its failed job and the problems."""

    job_id: int
    problems: list[Problem]


@dataclass
class TooManyEvents:
    """More events than the capture limit: its failed job, the count and the limit."""

    job_id: int
    count: int
    limit: int


DocumentOutcome = Accepted | EventsRejected | InvalidDocument | TooManyEvents
EventOutcome = CaptureResult | EventRefused


class CaptureService:
    """The captures of one process: its worker pool, its writer thread and its limits.

    `run_db` runs a function of a connection off the event loop (by default on a new
    connection in a thread; the HTTP app passes its per-thread connections); `on_stored`
    is told the eventIDs each commit stored (subscriptions)."""

    def __init__(self, settings: Settings, db: Any, ledger: Any, *,
                 run_db: RunDb[Any] | None = None,
                 on_stored: Callable[[list[str]], None] | None = None) -> None:
        self.db = db
        self.max_events = settings.max_capture_events
        self.max_bytes = settings.max_capture_bytes  # passed down to corridor.epcis
        self.run_db: RunDb[Any] = run_db or self._own_connection
        self.on_stored = on_stored
        # One writer thread per process commits every capture queued meanwhile at once:
        # cheaper than SQLite's busy handler and than a commit per event.
        self.writer = CaptureWriter(db, ledger)
        # Documents are parsed and hashed off the event loop: large ones in worker processes.
        self.preparer = CapturePreparer(settings.capture_workers,
                                        settings.capture_process_bytes)
        self._party_ids: dict[int, str] = {}
        self._posting = 0  # capture_event calls in progress

    async def _own_connection(self, fn: Callable[[Connection], T]) -> T:
        def run() -> T:
            with self.db.connect() as conn:
                return fn(conn)

        return await asyncio.to_thread(run)

    def start(self) -> None:
        """Start the worker processes now rather than at the first capture."""
        self.preparer.start()

    def close(self) -> None:
        """Commit what is queued, stop the writer thread, then the worker processes."""
        self.writer.close()
        self.preparer.close()

    async def party_identifier(self, party_id: int, identifiers: tuple[str, ...]) -> str:
        """The party's identifier, as its capture jobs and ledger entries name it (looked up
        once per process; `identifiers` stand in if its row is gone)."""
        ident = self._party_ids.get(party_id)
        if ident is None:
            party = await self.run_db(lambda c: get_party(c, party_id))
            ident = party.identifier if party else (identifiers or ("unknown",))[0]
            self._party_ids[party_id] = ident
        return ident

    async def check_signature(self, body: bytes, party_id: int, value: str | None
                              ) -> bytes | None:
        """The signature in `value` (`ed25519=<base64>`, over SHA-256 of the exact body),
        checked against the party's verifier key before anything is stored; None when
        unsigned. Raises SignatureError."""
        if value is None:
            return None
        signature = parse_signature(value)
        failure = await self.run_db(
            lambda c: signature_failure(c, party_id, body, signature))
        if failure is not None:
            raise failure
        return signature

    def _stored(self, result: CaptureResult) -> None:
        fresh = [e.event_id for e in result.events if not e.duplicate]
        if fresh and self.on_stored is not None:
            self.on_stored(fresh)

    async def capture_document(self, body: bytes, media: str, *, party_id: int,
                               identifiers: tuple[str, ...] = (), behaviour: str = "rollback",
                               signature: str | None = None) -> DocumentOutcome:
        """Capture a document (JSON-LD or XML bytes of `media`). Raises SignatureError, and
        PreparationFailed when worker processes died preparing it (nothing stored)."""
        checked = await self.check_signature(body, party_id, signature)
        party = await self.party_identifier(party_id, identifiers)
        prepared = await self.preparer.prepare(
            body, media, behaviour=behaviour, party_id=party_id, party=party,
            signature=checked, limit=self.max_events, max_bytes=self.max_bytes)
        if isinstance(prepared, Refused | TooMany | Rejected):
            return await self.run_db(lambda c: self._refused(c, prepared, party_id, behaviour))
        result = await self.writer.commit_async(prepared)
        if result.refused is not None:  # its master data: refused as an invalid document
            return InvalidDocument(result.job_id, result.refused)
        self._stored(result)
        job = (job_dict(result.job_row) if result.job_row is not None
               else await self.run_db(lambda c: read_job(c, result.job_id)))
        assert job is not None
        return Accepted(result.job_id, job)

    def _refused(self, conn: Connection, prepared: Refused | TooMany | Rejected,
                 party_id: int, behaviour: str) -> DocumentOutcome:
        """Record the failed job of a capture that stopped before the write."""
        if isinstance(prepared, Rejected):
            result = record_failure(conn, prepared.errors, prepared.count,
                                    party_id=party_id, behaviour=behaviour)
            job = read_job(conn, result.job_id)
            assert job is not None
            return EventsRejected(result.job_id, job)
        if isinstance(prepared, TooMany):
            errors = [{"location": "/epcisBody/eventList", "rule": "capture-limit",
                       "message": "too many events"}]
            result = record_failure(conn, errors, prepared.count, party_id=party_id,
                                    behaviour=behaviour)
            return TooManyEvents(result.job_id, prepared.count, self.max_events)
        result = record_failure(conn, [problem_dict(p) for p in prepared.problems], 0,
                                party_id=party_id, behaviour=behaviour)
        return InvalidDocument(result.job_id, prepared.problems)

    async def capture_event(self, body: bytes, *, party_id: int,
                            identifiers: tuple[str, ...] = (), signature: str | None = None,
                            key_hash: str | None = None,
                            recheck: Callable[[], Awaitable[Any]] | None = None
                            ) -> EventOutcome:
        """Capture one posted event (JSON bytes): its result (success or the failed job of a
        rejected event), or why it is no EPCIS event. `key_hash`: the API key that let it in,
        checked again inside the write transaction (KeyRevoked when no longer active).
        `recheck` is awaited before anything but a write is answered or recorded (the HTTP
        adapter looks the key up afresh there). Raises SignatureError."""
        self._posting += 1
        try:
            checked = await self.check_signature(body, party_id, signature)
            party = await self.party_identifier(party_id, identifiers)
            prepared = await self.preparer.prepare_single(body, party_id, party, checked,
                                                          concurrent=self._posting > 1)
            if not isinstance(prepared, CaptureWork):  # a refusal (rare)
                if recheck is not None:
                    await recheck()
                if isinstance(prepared, EventRefused):
                    return prepared
                errors = prepared
                return await self.run_db(
                    lambda c: record_failure(c, errors, 1, party_id=party_id))
            prepared.key_hash = key_hash
            result = await self.writer.commit_async(prepared)
            if result.success:
                self._stored(result)
            return result
        finally:
            self._posting -= 1
