"""Capture jobs: the SQL of `capture_jobs` and its row shape.

A job row is `JOB_COLUMNS` in order; `errors` and `results` are JSON text (results: one
`[index, eventID, eventHashID, logIndex, duplicate]` per event). Its REST shape (CaptureJob)
is corridor.capture's.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from corridor.store.db import Connection
from corridor.store.events import now_utc

JOB_COLUMNS = ("id, party_id, behaviour, running, success, created_at, finished_at,"
               " event_count, errors, results")
JobRow = tuple[Any, ...]  # the columns of JOB_COLUMNS, in order


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
    """Mark a job finished and failed, with no event results (its own transaction)."""
    with conn.transaction():
        conn.execute(
            "UPDATE capture_jobs SET running = 0, success = ?, finished_at = ?,"
            " event_count = ?, errors = ?, results = ? WHERE id = ?",
            (0, now_utc(), event_count, json.dumps(errors), json.dumps([]), job_id))


def insert_jobs(conn: Connection, rows: Sequence[JobRow]) -> None:
    """Write finished jobs whole (JOB_COLUMNS rows; the caller holds the transaction)."""
    conn.executemany(
        "INSERT INTO capture_jobs (id, party_id, behaviour, running, success, created_at,"
        " finished_at, event_count, errors, results) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        rows)


def finish_jobs(conn: Connection, rows: Sequence[tuple[Any, ...]]) -> None:
    """Finish existing jobs: rows of (success, finished_at, event_count, errors, results,
    id); the caller holds the transaction."""
    conn.executemany(
        "UPDATE capture_jobs SET running = 0, success = ?, finished_at = ?,"
        " event_count = ?, errors = ?, results = ? WHERE id = ?", rows)


def job_row(conn: Connection, job_id: int) -> JobRow | None:
    """One job's row, or None."""
    return conn.fetchone(f"SELECT {JOB_COLUMNS} FROM capture_jobs WHERE id = ?", (job_id,))


def job_rows(conn: Connection, *, before: int, party_id: int | None, limit: int
             ) -> list[JobRow]:
    """Up to `limit` jobs with ids below `before`, newest first: those of `party_id`, or
    every party's for None."""
    sql = f"SELECT {JOB_COLUMNS} FROM capture_jobs WHERE id < ?"
    params: list[Any] = [before]
    if party_id is not None:
        sql += " AND party_id = ?"
        params.append(party_id)
    return conn.fetchall(sql + " ORDER BY id DESC LIMIT ?", [*params, limit])
