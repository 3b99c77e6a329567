"""Posting and reading port and border notices.

A notice is logged: `post_notice` captures it as an EPCIS ObjectEvent of the operator's party
through the one capture path (validation, Event Hash ID, index rows, a log entry) and stores
its row in the same transaction, so a notice is never listed without its logged event, nor
logged without its row. Notices are public: reading them needs no party.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from corridor.capture import capture_document
from corridor.epcis.documents import read_document
from corridor.monitoring.notices import (
    Notice,
    notice_document,
    notice_event,
    notice_of,
    parse_notice,
)
from corridor.query.visibility import ViewerLike
from corridor.store.db import Connection
from corridor.store.notices import StoredNotice, get_notice, insert_notice, list_notices
from corridor.store.parties import get_party

POSTERS = ("member", "admin")  # operators are member parties; auditors only read


class NotAllowed(PermissionError):
    """The viewer may not post notices (the public, an auditor, a revoked party)."""


class NoticeNotLogged(RuntimeError):
    """The capture path refused the notice event (a bug: the event is built valid)."""

    def __init__(self, errors: list[dict[str, Any]]) -> None:
        super().__init__(f"the notice event was not captured: {errors[:3]}")
        self.errors = errors


def post_notice(conn: Connection, ledger: Any, viewer: ViewerLike, raw: object, *,
                now: datetime | None = None) -> Notice:
    """Check a posted notice (NoticeError names the field), log it as the viewer's party
    and store it. Raises NotAllowed for a viewer that is no member or admin party."""
    if viewer.party_id is None or viewer.role not in POSTERS:
        raise NotAllowed("only a member or admin party (an operator) may post notices")
    request = parse_notice(raw)
    now = now or datetime.now(UTC)
    party_id = viewer.party_id
    party = get_party(conn, party_id)
    if party is None or not party.active:
        raise NotAllowed("this party is unknown or revoked")
    doc = notice_document(notice_event(request, party.identifier, now), now)
    parsed = read_document(json.dumps(doc).encode(), "application/ld+json")
    # One transaction: capture_document joins it (Connection.transaction nests), so the event,
    # its log entry and the notice row commit together or not at all. The log's append is
    # safe to roll back (LedgerStore reloads its edge when the stored stamp differs).
    with conn.transaction():
        result = capture_document(conn, ledger, parsed, party_id=party_id,
                                  party_identifier=party.identifier)
        if not result.success or len(result.events) != 1:
            raise NoticeNotLogged(result.errors)
        captured = result.events[0]
        if captured.duplicate:  # posted twice within the same instant: the first stands
            found = get_notice(conn, captured.hash_id)
            if found is not None:
                return found.notice
        log_index = captured.log_index
        if log_index is None:
            log_index = _stored_log_index(conn, captured.hash_id, party_id)
        notice = notice_of(request, captured.hash_id, log_index)
        insert_notice(conn, notice, party_id)
    return notice


def _stored_log_index(conn: Connection, hash_id: str, party_id: int) -> int:
    row = conn.fetchone("SELECT log_index FROM events WHERE hash_id = ? AND captured_by = ?",
                        (hash_id, party_id))
    if row is None or row[0] is None:
        raise NoticeNotLogged([{"location": "/", "message": "no log index for " + hash_id}])
    return int(row[0])


def notices(conn: Connection, *, node: str | None = None, at: datetime | None = None,
            start: datetime | None = None, end: datetime | None = None,
            limit: int = 100) -> list[StoredNotice]:
    """The notices matching the filters (corridor.store.notices.list_notices), public."""
    return list_notices(conn, node=node, at=at, start=start, end=end, limit=limit)


def notice(conn: Connection, hash_id: str) -> StoredNotice | None:
    return get_notice(conn, hash_id)
