"""Run compiled queries: event pages in a stable order (keyset pagination), counts,
discovery lists, single events. Every read joins the viewer's visibility clause."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from corridor.query.params import Query
from corridor.query.visibility import ViewerLike, visibility_clause
from corridor.store.db import Connection
from corridor.store.events import PLACE_TABLES, event_id_match

_SORT_COLS = {"eventTime": "e.event_time", "recordTime": "e.record_time"}


@dataclass(frozen=True)
class EventRowOut:
    pk: int
    sort_value: str
    doc: str
    record_time: str


def _where(query: Query, viewer: ViewerLike) -> tuple[str, list[Any]]:
    vis_sql, vis_params = visibility_clause(viewer)
    conds = [*query.where, vis_sql]
    return " AND ".join(f"({c})" for c in conds), [*query.params, *vis_params]


def select_events(conn: Connection, query: Query, viewer: ViewerLike, *,
                  after: tuple[str, int] | None, limit: int) -> list[EventRowOut]:
    """Up to `limit` visible events matching `query`, after the keyset position `after`."""
    col = _SORT_COLS[query.order_by]
    where, params = _where(query, viewer)
    cmp = ">" if query.direction == "ASC" else "<"
    if after is not None:
        where += f" AND ({col} {cmp} ? OR ({col} = ? AND e.id {cmp} ?))"
        params += [after[0], after[0], after[1]]
    sql = (f"SELECT e.id, {col}, e.doc, e.record_time FROM events e WHERE {where}"
           f" ORDER BY {col} {query.direction}, e.id {query.direction} LIMIT ?")
    rows = conn.fetchall(sql, [*params, limit])
    return [EventRowOut(int(r[0]), r[1], r[2], r[3]) for r in rows]


def count_events(conn: Connection, query: Query, viewer: ViewerLike, cap: int) -> int:
    """How many events match, counting no further than `cap`."""
    where, params = _where(query, viewer)
    row = conn.fetchone(
        f"SELECT COUNT(*) FROM (SELECT 1 FROM events e WHERE {where} LIMIT ?) t",
        [*params, cap])
    return int(row[0]) if row else 0


def descendants(conn: Connection, locations: list[str]) -> list[str]:
    """The locations and every location below them in the master-data hierarchy."""
    found = list(dict.fromkeys(locations))
    frontier = list(found)
    seen = set(found)
    while frontier:
        marks = ",".join("?" * len(frontier))
        rows = conn.fetchall(
            f"SELECT child FROM location_children WHERE parent IN ({marks})", frontier)
        frontier = [r[0] for r in rows if r[0] not in seen]
        seen.update(frontier)
        found.extend(frontier)
    return found


def known_namespaces(conn: Connection) -> dict[str, str]:
    """prefix -> IRI for every extension prefix seen at capture (first one wins)."""
    out: dict[str, str] = {}
    for prefix, iri in conn.fetchall("SELECT prefix, iri FROM event_namespaces ORDER BY iri"):
        out.setdefault(prefix, iri)
    return out


def get_event(conn: Connection, event_id: str, viewer: ViewerLike) -> EventRowOut | None:
    """The visible event with this eventID (or Event Hash ID), if any."""
    vis_sql, vis_params = visibility_clause(viewer)
    match, params = event_id_match("e", event_id)
    row = conn.fetchone(
        f"SELECT e.id, e.event_time, e.doc, e.record_time FROM events e"
        f" WHERE {match} AND ({vis_sql}) ORDER BY e.id LIMIT 1", [*params, *vis_params])
    return EventRowOut(int(row[0]), row[1], row[2], row[3]) if row else None


def event_log_index(conn: Connection, event_id: str, viewer: ViewerLike) -> int | None:
    vis_sql, vis_params = visibility_clause(viewer)
    match, params = event_id_match("e", event_id)
    row = conn.fetchone(
        f"SELECT e.log_index FROM events e WHERE {match} AND ({vis_sql}) ORDER BY e.id"
        " LIMIT 1", [*params, *vis_params])
    return None if row is None or row[0] is None else int(row[0])


# Discovery resources: which column, index rows or place table (PLACE_TABLES) hold their values.
DISCOVERY: Mapping[str, tuple[str, str]] = {
    "eventTypes": ("e.event_type", ""),
    "bizSteps": ("e.biz_step", ""),
    "dispositions": ("e.disposition", ""),
    "readPoints": ("read_point", "place"),
    "bizLocations": ("biz_location", "place"),
    "epcs": ("x.epc", "epc"),
}
_EPC_ROLE_LIST = "('epc','child','parent','input','output')"


def discover(conn: Connection, resource: str, viewer: ViewerLike, *, after: str | None,
             limit: int) -> list[str]:
    """Distinct values of a discovery resource among the events the viewer may read."""
    col, kind = DISCOVERY[resource]
    vis_sql, params = visibility_clause(viewer)
    if kind == "place":
        return _discover_places(conn, col, vis_sql, params, after, limit)
    cond = f"{col} IS NOT NULL AND ({vis_sql})"
    if after is not None:
        cond += f" AND {col} > ?"
        params = [*params, after]
    if kind == "epc":
        sql = (f"SELECT DISTINCT x.epc FROM event_epcs x JOIN events e ON e.id = x.event_pk"
               f" WHERE x.role IN {_EPC_ROLE_LIST} AND {cond} ORDER BY x.epc LIMIT ?")
    else:
        sql = f"SELECT DISTINCT {col} FROM events e WHERE {cond} ORDER BY {col} LIMIT ?"
    return [r[0] for r in conn.fetchall(sql, [*params, limit])]


def _discover_places(conn: Connection, column: str, vis_sql: str, vis_params: list[Any],
                     after: str | None, limit: int) -> list[str]:
    """readPoints, bizLocations: their indexes hold keys, not text (migrations events-006,
    -007), so the stored places are walked in order, each kept if the viewer may read one
    of its events."""
    after_sql, params = ("p.value > ? AND ", [after]) if after is not None else ("", [])
    sql = (f"SELECT p.value FROM {PLACE_TABLES[column]} p WHERE {after_sql}EXISTS (SELECT 1"
           f" FROM events e WHERE e.{column}_key = corridor_key(p.value) AND e.{column} = p.value"
           f" AND ({vis_sql})) ORDER BY p.value LIMIT ?")
    return [r[0] for r in conn.fetchall(sql, [*params, *vis_params, limit])]
