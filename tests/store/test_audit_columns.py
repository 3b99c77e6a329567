"""`corridor log audit` checks the events table's columns against the log entries: a stored
event's party, record_time, hash_id and document against what its entry commits to, its
event_id against the eventID of the stored document, and captured_by (the column access
control reads) against the party whose identifier the entry names. A change to any of them
made directly in the database is reported with the event's log index and the column."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from corridor.capture import capture_document
from corridor.cli import main
from corridor.config import Settings
from corridor.epcis.documents import EpcisDocument
from corridor.node import open_ledger
from corridor.store import parties
from corridor.store.db import Connection, Database
from corridor.store.migrations import migrate

OWNER = "urn:epc:id:pgln:0614141.00001"
OTHER = "urn:epc:id:pgln:0614141.00002"


@dataclass
class Captured:
    conn: Connection
    ledger: Any
    url: str
    data_dir: Path
    owner: int  # parties.id of OWNER, who captured the events
    other: int  # parties.id of OTHER, who captured nothing
    indices: list[int]  # log index of each captured event


def _event(serial: str, **extra: Any) -> dict[str, Any]:
    return {"type": "ObjectEvent", "action": "OBSERVE", "eventTime": "2026-01-01T00:00:00Z",
            "eventTimeZoneOffset": "+00:00",
            "epcList": [f"urn:epc:id:sgtin:0614141.812345.{serial}"], **extra}


@pytest.fixture
def captured(db_url: str, tmp_path: Path) -> Iterator[Captured]:
    """Three events captured by OWNER through capture_document (one with its own eventID,
    two known by their Event Hash ID), plus a registered party OTHER."""
    db = Database(db_url)
    conn = db.connect()
    migrate(db, conn)
    owner, _ = parties.add_party(conn, "Owner", OWNER, extra_identifiers=["0614141000012"])
    other, _ = parties.add_party(conn, "Other", OTHER)
    ledger = open_ledger(Settings(data_dir=tmp_path, db_url=db_url), db)
    events = [_event("A1"), _event("A2", eventID="urn:uuid:7d7f1c52-2b1e-4b53-9d55-1f2c0f0a0a02"),
              _event("A3")]
    result = capture_document(conn, ledger, EpcisDocument("EPCISDocument", {}, events, {}),
                              party_id=owner.id, party_identifier=owner.identifier)
    assert result.success and result.stored == 3, result.errors
    yield Captured(conn, ledger, db_url, tmp_path, owner.id, other.id,
                   [e.log_index for e in result.events])
    ledger.close()
    conn.close()


def _set(c: Captured, column: str, value: Any, index: int) -> None:
    with c.conn.transaction():
        c.conn.execute(f"UPDATE events SET {column} = ? WHERE log_index = ?", (value, index))


def _event_id(c: Captured, index: int) -> str:
    row = c.conn.fetchone("SELECT event_id FROM events WHERE log_index = ?", (index,))
    assert row is not None
    return str(row[0])


def test_untouched_store_audits_clean(captured: Captured) -> None:
    assert captured.ledger.audit() == []


@pytest.mark.parametrize("column", ["captured_by", "party", "record_time", "event_id"])
def test_changed_column_is_reported_with_log_index(captured: Captured, column: str) -> None:
    index = captured.indices[1]
    value = {"captured_by": captured.other,  # hand the event to another party
             "party": OTHER,
             "record_time": "2026-01-02T00:00:00.000000Z",
             "event_id": "urn:uuid:00000000-0000-4000-8000-000000000000"}[column]
    _set(captured, column, value, index)
    problems = captured.ledger.audit()
    assert len(problems) == 1, problems
    assert f"(log index {index})" in problems[0] and f"{column} " in problems[0], problems


def test_captured_by_cleared_is_reported(captured: Captured) -> None:
    """NULL (the node itself) is not the party the entry names either."""
    index = captured.indices[0]
    _set(captured, "captured_by", None, index)
    problems = captured.ledger.audit()
    assert len(problems) == 1 and f"(log index {index}): captured_by" in problems[0], problems


def test_party_and_captured_by_moved_together_are_reported(captured: Captured) -> None:
    """Changing both visibility columns consistently still differs from the entry."""
    index = captured.indices[2]
    _set(captured, "party", OTHER, index)
    _set(captured, "captured_by", captured.other, index)
    problems = captured.ledger.audit()
    assert len(problems) == 2, problems
    assert all(f"(log index {index})" in p for p in problems), problems
    assert any("party " in p for p in problems) and any("captured_by " in p for p in problems)


def test_the_command_exits_non_zero_naming_event_and_column(captured: Captured) -> None:
    index = captured.indices[1]
    cli = ["log", "audit", "--data-dir", str(captured.data_dir), "--db", captured.url]
    result = CliRunner().invoke(main, cli, catch_exceptions=False)
    assert result.exit_code == 0, result.output
    _set(captured, "captured_by", captured.other, index)
    result = CliRunner().invoke(main, cli, catch_exceptions=False)
    assert result.exit_code != 0, result.output
    assert f"PROBLEM event {_event_id(captured, index)} (log index {index}): captured_by" \
        in result.output, result.output
