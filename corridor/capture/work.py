"""A prepared capture (CaptureWork) and what its write reports (CaptureResult).

A CaptureWork is what preparation hands the writer: the rows of its events, their index rows
and ledger entries, its master data, and only what the write needs besides (a work prepared
in a worker process travels back pickled). Inside the writer's transaction, which may hold
other captures too (group commit), `plan` decides what is new and `results` reports each
event. A work whose master data names an element its party may not write
(corridor.capture.ownership) is `refuse`d: nothing of it is written but its failed job.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from corridor.epcis.problems import Problem
from corridor.store.events import EventRow, EventRun, IndexRows
from corridor.store.master_data import VocabularyRow


def problem_dict(p: Problem, event_index: int | None = None) -> dict[str, Any]:
    """A problem as an entry of a capture job's `errors`."""
    out: dict[str, Any] = {"location": p.location, "rule": p.rule, "message": p.message}
    if event_index is not None:
        out["eventIndex"] = event_index
    return out


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
    # The job's row as this write stored it (when it created the job): the CaptureJob's
    # input, without reading it back.
    job_row: tuple[Any, ...] | None = None
    # Why the write refused the document as a whole (its master data), else None
    refused: list[Problem] | None = None

    @property
    def stored(self) -> int:
        return sum(1 for e in self.events if not e.duplicate)


@dataclass
class PreparedRow:
    """One prepared event: its position in the document and its row."""

    index: int
    row: EventRow

    def __reduce__(self) -> tuple[Any, ...]:  # pickled as a plain tuple: 3x faster
        return (PreparedRow, (self.index, self.row))


class CaptureWork:
    """The write half of one capture, run inside a transaction that may hold other captures
    too (group commit): `plan` decides what is new and returns its log entries, `results`
    reports each event once the ledger has given the new ones their indices."""

    def __init__(self, prepared: list[PreparedRow], index: list[tuple[int, IndexRows]],
                 errors: list[dict[str, Any]], *, event_count: int, namespaces: Mapping[str, str],
                 children: list[tuple[str, str]], vocabulary: list[VocabularyRow],
                 elements: list[tuple[str, str, str, int]], party_id: int | None,
                 party_identifier: str, behaviour: str, record_time: str,
                 signature: bytes | None, job_id: int | None) -> None:
        # Only what the write needs, not the parsed document: a work prepared in a worker
        # process travels back to the writer pickled.
        self.event_count = event_count
        self.namespaces = dict(namespaces)
        self.children = children  # (parent, child) locations from the master data
        self.vocabulary = vocabulary  # the master data's attributes (write_vocabulary rows)
        # the elements the master data writes (corridor.capture.master_data.WrittenElement)
        self.elements = elements
        self.refused: list[Problem] | None = None  # set by `refuse` in a write transaction
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
        self._seen: dict[str, PreparedRow] = {}
        self._keep: list[EventRow | None] = []  # per prepared event: its row if new
        # SHA-256 of the API key that admitted this capture when the key came from a cache:
        # the writer checks it is still active before storing anything
        self.key_hash: str | None = None

    def refuse(self, problems: list[Problem] | None) -> None:
        """Refuse (problems) or admit (None) the whole work in the write transaction under
        way: a refused work writes nothing but its failed job."""
        self.refused = problems

    def plan(self, existing: Mapping[str, tuple[str, int | None]],
             seen: dict[str, PreparedRow]) -> list[bytes]:
        """Decide what is new (not stored, not earlier in this group) and return its log
        entries, encoded. `seen` is shared by the captures of one group."""
        self._existing = dict(existing)
        self._seen, self._keep = seen, []
        if self.refused is not None:
            return []
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
        assert self.job_id is not None
        if self.refused is not None:
            return CaptureResult(self.job_id, False, [],
                                 [problem_dict(p) for p in self.refused], refused=self.refused)
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
        return CaptureResult(self.job_id, not self.errors, out, self.errors)
