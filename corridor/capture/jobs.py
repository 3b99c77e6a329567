"""Capture jobs as the REST binding shows them (CaptureJob, plus per-event results), read
from corridor.store.capture_jobs."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import orjson

from corridor.epcis.problems import error_entry
from corridor.store.capture_jobs import job_row, job_rows
from corridor.store.db import Connection
from corridor.store.events import display_time


def job_dict(row: Sequence[Any]) -> dict[str, Any]:
    """A job row (corridor.store.capture_jobs.JOB_COLUMNS) as a CaptureJob."""
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


def job_error(error: dict[str, Any]) -> dict[str, Any]:
    """An error recorded with a job (`{location, rule, message}` and, for an event's,
    `eventIndex`) as an entry of an `errors` array: `{pointer, message, rule}`, `line` (and
    `column`) for a position in the text, `eventIndex` (corridor.epcis.problems.error_entry)."""
    out = error_entry(str(error.get("location", "/")), str(error.get("rule", "")),
                      str(error.get("message", "")))
    if "eventIndex" in error:
        out["eventIndex"] = error["eventIndex"]
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
        **job_error(error),
    }


def read_job(conn: Connection, job_id: int) -> dict[str, Any] | None:
    """A capture job as a CaptureJob, or None."""
    row = job_row(conn, job_id)
    return None if row is None else job_dict(row)


def list_jobs(conn: Connection, *, before: int | None, party_id: int | None, limit: int
              ) -> list[tuple[int, dict[str, Any]]]:
    """(id, CaptureJob) of up to `limit` jobs with ids below `before` (None: from the
    newest), newest first: those of `party_id`, or every party's for None."""
    rows = job_rows(conn, before=2**62 if before is None else before, party_id=party_id,
                    limit=limit)
    return [(int(row[0]), job_dict(row)) for row in rows]
