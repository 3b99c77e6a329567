"""Stored events as the dashboard lists them: the indexed columns, the document, and the known
place (corridor.query.places) where the event happened. Every read but `events_by_pk` joins
the viewer's visibility clause (corridor.query.visibility), exactly as the REST API does."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from corridor.query.params import parse_query
from corridor.query.places import NO_PLACES, Place, Places
from corridor.query.visibility import ViewerLike, visibility_clause
from corridor.store.db import Connection

_COLUMNS = ("e.id, e.event_id, e.hash_id, e.event_type, e.action, e.event_time,"
            " e.record_time, e.biz_step, e.disposition, e.read_point, e.biz_location,"
            " e.party, e.captured_by, e.log_index")


def parse_time(stored: str) -> datetime:
    """Stored UTC text (YYYY-MM-DDTHH:MM:SS.ffffffZ) -> aware datetime."""
    return datetime.fromisoformat(stored)


@dataclass
class EventRow:
    pk: int
    event_id: str
    hash_id: str
    event_type: str
    action: str | None
    event_time: str
    record_time: str
    biz_step: str | None
    disposition: str | None
    read_point: str | None  # canonical key
    biz_location: str | None  # canonical key
    party: str
    captured_by: int | None
    log_index: int | None
    doc: dict[str, Any] = field(default_factory=dict)  # empty when read without documents
    place: Place | None = None  # the known place of biz_location, else of read_point

    @property
    def time(self) -> datetime:
        return parse_time(self.event_time)

    @property
    def where(self) -> str:
        """A place name, or the raw location identifier."""
        if self.place:
            return self.place.name
        return self.biz_location or self.read_point or ""


def _row(r: tuple, doc: str | None, places: Places) -> EventRow:
    return EventRow(int(r[0]), r[1], r[2], r[3], r[4], r[5], r[6], r[7], r[8], r[9], r[10],
                    r[11], r[12], None if r[13] is None else int(r[13]),
                    json.loads(doc) if doc else {}, places.at(r[10], r[9]))


def matching_events(conn: Connection, viewer: ViewerLike, params: Mapping[str, list[str]], *,
                    places: Places = NO_PLACES, limit: int = 2000, newest_first: bool = False,
                    with_doc: bool = True) -> list[EventRow]:
    """Visible events matching EPCIS query parameters (e.g. {"MATCH_anyEPC": [urn]}), by
    eventTime. Raises corridor.query.params.QueryError for a malformed parameter."""
    query = parse_query(dict(params))
    vis_sql, vis_params = visibility_clause(viewer)
    where = " AND ".join(f"({c})" for c in [*query.where, vis_sql])
    order = "DESC" if newest_first else "ASC"
    doc_col = ", e.doc" if with_doc else ""
    rows = conn.fetchall(
        f"SELECT {_COLUMNS}{doc_col} FROM events e WHERE {where}"
        f" ORDER BY e.event_time {order}, e.id {order} LIMIT ?",
        [*query.params, *vis_params, limit])
    return [_row(r, r[14] if with_doc else None, places) for r in rows]


def event_at_log_index(conn: Connection, viewer: ViewerLike, index: int, *,
                       places: Places = NO_PLACES) -> EventRow | None:
    """The visible event at this log index, with its document; None if none or not visible."""
    vis_sql, vis_params = visibility_clause(viewer)
    row = conn.fetchone(
        f"SELECT {_COLUMNS}, e.doc FROM events e WHERE e.log_index = ? AND ({vis_sql})",
        [index, *vis_params])
    return _row(row, row[14], places) if row else None


def events_by_pk(conn: Connection, pks: list[int], *, places: Places = NO_PLACES,
                 with_doc: bool = True) -> list[EventRow]:
    """Events by primary key, in the order given. No visibility rule: for callers that took
    the keys from the viewer's visible set (corridor.query.visible_set)."""
    found: dict[int, EventRow] = {}
    doc_col = ", e.doc" if with_doc else ""
    for start in range(0, len(pks), 500):
        chunk = pks[start:start + 500]
        marks = ",".join("?" * len(chunk))
        for r in conn.fetchall(f"SELECT {_COLUMNS}{doc_col} FROM events e"
                               f" WHERE e.id IN ({marks})", chunk):
            found[int(r[0])] = _row(r, r[14] if with_doc else None, places)
    return [found[pk] for pk in pks if pk in found]


def stored_document(conn: Connection, pk: int) -> str | None:
    """The event's document exactly as stored (and digested into the log). No visibility
    rule: for an event the caller read through one."""
    row = conn.fetchone("SELECT doc FROM events WHERE id = ?", (pk,))
    return str(row[0]) if row else None


def events_naming(conn: Connection, viewer: ViewerLike, keys: list[str], *, below: int,
                  since: int = 0, with_doc: bool = True) -> dict[str, list[EventRow]]:
    """For each canonical EPC or class key, the visible events that name it in any role
    (the event_epcs rows), logged at [since, below), by log index. One query per 500 keys:
    what a pass over many insured units needs, where matching_events would parse and run a
    query per unit."""
    vis_sql, vis_params = visibility_clause(viewer)
    found: dict[str, dict[int, EventRow]] = {}
    for start in range(0, len(keys), 500):
        chunk = keys[start:start + 500]
        marks = ",".join("?" * len(chunk))
        for r in conn.fetchall(
                f"SELECT {_COLUMNS}, {'e.doc' if with_doc else 'NULL'}, ep.epc FROM"
                " event_epcs ep JOIN events e ON"
                f" e.id = ep.event_pk WHERE ep.epc IN ({marks}) AND e.log_index < ?"
                f" AND e.log_index >= ? AND ({vis_sql}) ORDER BY e.log_index",
                [*chunk, below, since, *vis_params]):
            rows = found.setdefault(str(r[15]), {})
            if int(r[0]) not in rows:
                rows[int(r[0])] = _row(r, r[14], NO_PLACES)
    return {key: list(rows.values()) for key, rows in found.items()}
