"""The CPU half of a capture: parse, validate, hash and build the rows of a document or of one
posted event, without the database.

Everything here is pure and its results pickle, so it runs anywhere: on a thread of the server
process, on the event loop, or in a worker process (corridor.capture.workers decides). Each
event gets its Event Hash ID, canonical JSON (RFC 8785) and digest, encoded ledger entry and
index rows here, so that the writer, the serial stage, only inserts and appends.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import orjson

from corridor.capture.master_data import NO_MASTER_DATA, MasterData, read_master_data
from corridor.capture.work import CaptureWork, PreparedRow, problem_dict
from corridor.epcis.documents import check_json_document, read_document, split_json_document
from corridor.epcis.hashid import event_hash_id
from corridor.epcis.problems import EpcisError, Problem
from corridor.epcis.xml_read import CONTEXT_URL
from corridor.ledger.entry import entry_encoder
from corridor.ledger.jcs import canonicalize
from corridor.store.event_index import IndexedEvent, index_event
from corridor.store.events import EventRow, IndexRows, display_time, now_utc

BEHAVIOURS = ("rollback", "proceed")
_EVENT_LOCATION = re.compile(r"^/epcisBody/eventList/(\d+)(/|$)")


def _prepare(events: Sequence[dict[str, Any]], namespaces: Mapping[str, str], party: str,
             record_time: str, skip: Mapping[int, Any], signature: bytes | None,
             indices: range) -> tuple[list[PreparedRow], IndexRows, list[dict[str, Any]]]:
    prepared: list[PreparedRow] = []
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
            if "recordTime" in event:
                # The repository sets recordTime; EPCIS 2.0 has a captured one ignored.
                event = {k: v for k, v in event.items() if k != "recordTime"}
            event_id = str(event["eventID"])
            doc = canonicalize(event)
            entry = encode_entry(hash_id, hashlib.sha256(doc).digest())
        except Exception as exc:  # noqa: BLE001 - any failure is that event's problem
            errors.append({"location": f"/epcisBody/eventList/{i}", "rule": "capture",
                           "message": f"{exc.__class__.__name__}: {exc}", "eventIndex": i})
            continue
        prepared.append(PreparedRow(i, EventRow(
            event_id=event_id, hash_id=hash_id, dedup=f"{hash_id} {party}",
            doc=doc.decode("utf-8"), record_time=record_time, columns=ix.columns(),
            entry=entry)))
        indexed.append(ix)
    return prepared, IndexRows.of(indexed), errors


def prepare_work(doc: Any, *, party_id: int | None, party_identifier: str,
                 behaviour: str = "rollback", signature: bytes | None = None,
                 job_id: int | None = None,
                 rejected: Mapping[int, list[Problem]] | None = None,
                 record_time: str | None = None, part: tuple[int, int] = (0, 1),
                 master: MasterData | None = None) -> CaptureWork | list[dict[str, Any]]:
    """The rows of a parsed document's events (an EpcisDocument) and its master data,
    without touching the database: a CaptureWork ready to commit, or the errors to record
    (behaviour "rollback" meeting a bad event; master data past its bounds, whatever the
    behaviour).

    `part` (k, n): only the k-th of n equal slices of the events, for preparing one document
    on n processes at once (merge_parts joins them; give each the same record_time). The
    master data goes with part 0. `master`: the document's, when the caller has read it."""
    if behaviour not in BEHAVIOURS:
        raise ValueError(f"behaviour {behaviour!r}: expected one of {BEHAVIOURS}")
    k, n = part
    if master is None:
        try:
            master = read_master_data(doc.header, doc.namespaces, doc.lines) if k == 0 \
                else NO_MASTER_DATA
        except EpcisError as exc:
            return [problem_dict(p) for p in exc.problems]
    events: list[dict[str, Any]] = list(doc.events)
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
                       namespaces=doc.namespaces, children=master.children,
                       vocabulary=master.rows, elements=master.elements, party_id=party_id,
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
                       children=first.children, vocabulary=first.vocabulary,
                       elements=first.elements, party_id=first.party_id,
                       party_identifier=first.party, behaviour=first.behaviour,
                       record_time=first.record_time, signature=first.signature,
                       job_id=first.job_given)


# -- a document's bytes -----------------------------------------------------------------------

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


Prepared = CaptureWork | Refused | TooMany | Rejected


def _parse(body: bytes, media: str, behaviour: str, max_bytes: int | None
           ) -> tuple[Any, dict[int, list[Problem]], list[Problem]]:
    """(document or None, per-event problems to skip, document-level problems)."""
    try:
        return read_document(body, media, max_bytes=max_bytes), {}, []
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
            return (read_document(body, media, validate=False, max_bytes=max_bytes),
                    per_event, [])
        except EpcisError as exc:
            return None, {}, exc.problems
    return None, {}, problems


def prepare_document(body: bytes, media: str, *, behaviour: str, party_id: int | None,
                     party: str, signature: bytes | None, limit: int,
                     record_time: str | None = None, part: tuple[int, int] = (0, 1),
                     max_bytes: int | None = None) -> Prepared:
    """Everything the capture of `body` needs before the write, or why it stops here.
    `part`: only that slice of the events (see prepare_work). `max_bytes`: the size limit of
    a document (Settings.max_capture_bytes; corridor.epcis's default when None)."""
    doc, per_event, whole = _parse(body, media, behaviour, max_bytes)
    if doc is None:
        return Refused(whole)
    if len(doc.events) > limit:
        return TooMany(len(doc.events))
    try:  # master data past its bounds refuses the document, as an invalid one
        master = read_master_data(doc.header, doc.namespaces, doc.lines) if part[0] == 0 \
            else NO_MASTER_DATA
    except EpcisError as exc:
        return Refused(exc.problems)
    work = prepare_work(doc, party_id=party_id, party_identifier=party,
                        behaviour=behaviour, rejected=per_event, signature=signature,
                        record_time=record_time, part=part, master=master)
    if isinstance(work, list):
        return Rejected(work, len(doc.events))
    return work


def merge_prepared(parts: list[Prepared]) -> Prepared:
    """The parts of one document as prepare_document of the whole would have returned it
    (a document-level outcome is the same in every part)."""
    for p in parts:
        if isinstance(p, Refused | TooMany):
            return p
    merged = merge_parts([p.errors if isinstance(p, Rejected) else p for p in parts
                          if isinstance(p, Rejected | CaptureWork)])
    if isinstance(merged, list):
        count = next(p.count for p in parts if isinstance(p, Rejected))
        return Rejected(merged, count)
    return merged


# -- one posted event -------------------------------------------------------------------------

@dataclass
class EventRefused:
    """A posted single event that is not an EPCIS event at all: the 400 problem to send, and
    its problems, located in the document the event was wrapped in (`/epcisBody/eventList/0`
    is the event; the HTTP adapter says where in the event posted)."""

    title: str
    detail: str
    problems: list[Problem] = field(default_factory=list)


PreparedEvent = CaptureWork | list[dict[str, Any]] | EventRefused
_POSTED = "/epcisBody/eventList/0"  # where prepare_event puts the event posted


def posted_event_entry(entry: dict[str, Any]) -> dict[str, Any]:
    """An `errors` entry (corridor.epcis.problems.error_entry) of a posted event, whose
    pointer is in the document prepare_event wrapped the event in, with its pointer in the
    event as posted: `/bizStep` for `/epcisBody/eventList/0/bizStep`; `/@context` for the
    context items the wrapper took from the event; "" for the event as a whole and for the
    rest of the wrapper. Pointers quoted in the message (a schema's closest reasons) are
    rewritten alike. (`eventIndex`, always 0, is dropped.)"""
    where = entry["pointer"]
    if where.startswith(_POSTED + "/"):
        where = where[len(_POSTED):]
    elif not where.startswith("/@context"):
        where = ""
    else:
        where = "/@context"
    out = {k: v for k, v in entry.items() if k != "eventIndex"}
    out["pointer"] = where
    out["message"] = str(entry["message"]).replace(_POSTED + "/", "/")
    return out


def prepare_event(body: bytes, party_id: int | None, party: str,
                  signature: bytes | None = None) -> PreparedEvent:
    """The CPU half of POST /epcis/events: work to commit, the errors that reject the event
    (recorded as a failed job), or why it is no event. Runs anywhere: no database, and its
    result pickles."""
    try:
        event = orjson.loads(body)
    except (ValueError, UnicodeDecodeError) as exc:
        line, column = getattr(exc, "lineno", None), getattr(exc, "colno", None)
        where = f"line {line}, column {column}" if line and column else "/"
        return EventRefused("Invalid JSON", f"/: {exc}", [Problem(where, "json-syntax", str(exc))])
    if not isinstance(event, dict):
        return EventRefused("Invalid event", "/: an event must be a JSON object",
                            [Problem("/", "epcis-event", "an event must be a JSON object")])
    context: list[Any] = [CONTEXT_URL]
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
        entries = [posted_event_entry(p.entry()) for p in exc.problems[:20]]
        return EventRefused("Invalid EPCIS event", "; ".join(
            f"{e['pointer'] or '/'}: {e['message']} [{e['rule']}]" for e in entries),
            exc.problems[:100])
    return prepare_work(doc, party_id=party_id, party_identifier=party, signature=signature,
                        record_time=now)
