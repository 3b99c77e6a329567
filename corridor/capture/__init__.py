"""corridor.capture: the one front door of captures.

service (CaptureService: a posted document or event in, an outcome out; the signature check
and the failed jobs of refused captures; `capture_document` for a parsed document), prepare
(pure: a document or an event into rows, ledger entries and index rows), master_data (pure: a
document's vocabularies into the rows stored with its events, within bounds), ownership (which
party may write which vocabulary element: the writer asks it), workers (where
preparation runs: worker processes, a thread, the event loop), writer (the group-commit
writer thread and its transaction), work (a prepared capture and its result), jobs (capture
jobs as CaptureJob). Storage is corridor.store; the formats corridor.epcis and corridor.ledger.
"""

from corridor.capture.jobs import job_dict, job_error, list_jobs, read_job
from corridor.capture.prepare import (
    BEHAVIOURS,
    EventRefused,
    Prepared,
    PreparedEvent,
    Refused,
    Rejected,
    TooMany,
    merge_parts,
    posted_event_entry,
    prepare_document,
    prepare_event,
    prepare_work,
    problem_dict,
)
from corridor.capture.service import (
    Accepted,
    CaptureService,
    DocumentOutcome,
    EventOutcome,
    EventsRejected,
    InvalidDocument,
    SignatureError,
    TooManyEvents,
    capture_document,
    record_failure,
)
from corridor.capture.work import CapturedEvent, CaptureResult, CaptureWork
from corridor.capture.workers import CapturePreparer, PreparationFailed
from corridor.capture.writer import CaptureWriter, KeyRevoked, write_captures

__all__ = [
    "BEHAVIOURS", "Accepted", "CapturePreparer", "CaptureResult", "CaptureService", "CaptureWork",
    "CaptureWriter", "CapturedEvent", "DocumentOutcome", "EventOutcome", "EventRefused",
    "EventsRejected", "InvalidDocument", "KeyRevoked", "PreparationFailed", "Prepared",
    "PreparedEvent", "Refused", "Rejected", "SignatureError", "TooMany", "TooManyEvents",
    "capture_document", "job_dict", "job_error", "list_jobs", "merge_parts",
    "posted_event_entry", "prepare_document", "prepare_event", "prepare_work", "problem_dict",
    "read_job", "record_failure", "write_captures",
]
