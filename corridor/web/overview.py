"""The overview's figures: counts and positions of the logistic units a viewer may see.

They aggregate over every visible event, so the per-row visibility condition is replaced by
the visible set (corridor.web.visible), and the viewer-independent facts (each unit's events,
newest first) are kept in a UnitIndex extended as events arrive."""

from __future__ import annotations

import heapq
import threading
from dataclasses import dataclass, field
from datetime import datetime

from corridor.demo.geography import NEXT_PLACE, PLACE_BY_KEY, TYPICAL_LEG_DAYS, Place
from corridor.query.visibility import ViewerLike
from corridor.store.db import Connection
from corridor.web.data import (
    SSCC_PREFIX,
    EventView,
    arrived,
    events_by_pk,
    parse_time,
)
from corridor.web.visible import visible_ids


@dataclass
class Position:
    epc: str  # canonical key
    last: EventView
    place: Place | None
    moving_to: Place | None  # set when the unit has left `place`
    progress: float  # 0..1 along the leg


@dataclass
class Overview:
    events: int
    shipments: int
    in_transit: int
    delivered: int
    holds: int
    exceptions: int
    positions: list[Position]
    recent: list[EventView]
    as_of: datetime | None


@dataclass
class UnitIndex:
    """Viewer-independent facts the overview needs: for every SSCC, its events newest first;
    every event's time. Built from index-only reads; valid while no event is added."""

    stamp: tuple[int, int]  # (highest event id, log size) when built
    by_unit: dict[str, list[tuple[str, int]]]  # SSCC key -> [(event_time, pk)] newest first
    newest: list[tuple[str, int]]  # every (event_time, pk), newest first
    # Row values (no document) of events already looked at; stored events never change.
    rows: dict[int, EventView] = field(default_factory=dict)

    def events(self, conn: Connection, pks: list[int]) -> list[EventView]:
        missing = [pk for pk in pks if pk not in self.rows]
        for ev in events_by_pk(conn, missing, with_doc=False):
            self.rows[ev.pk] = ev
        return [self.rows[pk] for pk in pks if pk in self.rows]


_unit_index_cache: dict[str, UnitIndex] = {}
_unit_index_lock = threading.Lock()


def _index_rows(conn: Connection, after: int) -> tuple[dict[int, str], dict[str, list]]:
    """Times of the events with id > after, and their SSCC rows (sensor reports left out:
    they come from a vessel and say nothing about where the unit stands)."""
    times = dict(conn.fetchall("SELECT id, event_time FROM events WHERE id > ?", (after,)))
    skip = {r[0] for r in conn.fetchall(
        "SELECT id FROM events WHERE biz_step = 'sensor_reporting' AND id > ?", (after,))}
    units: dict[str, list[tuple[str, int]]] = {}
    for epc, pk in conn.fetchall(
            "SELECT x.epc, x.event_pk FROM event_epcs x WHERE x.role IN ('epc', 'parent')"
            " AND x.epc LIKE ? AND x.event_pk > ?", [SSCC_PREFIX + "%", after]):
        if pk not in skip and pk in times:
            units.setdefault(epc, []).append((times[pk], pk))
    return times, units


def unit_index(conn: Connection, cache_key: str | None = None) -> UnitIndex:
    """The UnitIndex of the database. With a `cache_key`, the last one built is kept and, once
    events were added, extended with the new events only (stored events never change)."""
    # Events are only ever appended, each with one log entry in the same transaction: the
    # highest id and the log's size date the index.
    row = conn.fetchone("SELECT COALESCE(MAX(id), 0), (SELECT size FROM ledger_state"
                        " WHERE id = 1) FROM events")
    stamp = (int(row[0]), int(row[1] or 0)) if row else (0, 0)
    cached = None
    if cache_key is not None:
        with _unit_index_lock:
            cached = _unit_index_cache.get(cache_key)
        if cached is not None and cached.stamp == stamp:
            return cached
    index = None
    if cached is not None and stamp[0] >= cached.stamp[0]:
        times, units = _index_rows(conn, cached.stamp[0])
        by_unit = dict(cached.by_unit)
        for epc, events in units.items():
            by_unit[epc] = sorted([*by_unit.get(epc, []), *events], reverse=True)
        newest = list(heapq.merge(sorted(((t, pk) for pk, t in times.items()), reverse=True),
                                  cached.newest, reverse=True))
        index = UnitIndex(stamp, by_unit, newest, cached.rows)
        # On PostgreSQL a lower id can commit after a higher one: then the counts disagree
        # with the log and the index is rebuilt from scratch.
        if len(newest) != stamp[1]:
            index = None
    if index is None:
        times, by_unit = _index_rows(conn, 0)
        for events in by_unit.values():
            events.sort(reverse=True)
        index = UnitIndex(stamp, by_unit,
                          sorted(((t, pk) for pk, t in times.items()), reverse=True))
    if cache_key is not None:
        with _unit_index_lock:
            _unit_index_cache[cache_key] = index
    return index


def overview(conn: Connection, viewer: ViewerLike, *, cache_key: str | None = None,
             ) -> Overview:
    """Counts and positions of the logistic units the viewer may see.

    Reads are index-only (the visible set, event times, SSCC index rows, bizStep) except for
    the one latest event per unit: the events table rows carry whole documents."""
    ids = visible_ids(conn, viewer)
    index = unit_index(conn, cache_key)
    latest: dict[str, tuple[str, int]] = {}
    for epc, events in index.by_unit.items():
        for t, pk in events:
            if ids is None or pk in ids:
                latest[epc] = (t, pk)
                break
    last_events = {e.pk: e for e in index.events(conn, [pk for _, pk in latest.values()])}
    as_of = max((parse_time(t) for t, _ in latest.values()), default=None)
    positions: list[Position] = []
    delivered = 0
    for epc, (_, pk) in latest.items():
        ev = last_events[pk]
        place = ev.place
        if arrived(ev.biz_step, ev.event_type, ev.action, place):
            delivered += 1
            continue
        moving_to = None
        progress = 0.0
        if place and ev.biz_step in ("departing", "accepting") and place.key in NEXT_PLACE:
            moving_to = PLACE_BY_KEY[NEXT_PLACE[place.key]]
            typical = TYPICAL_LEG_DAYS.get((place.key, moving_to.key), 2.0)
            if as_of is not None:
                elapsed = (as_of - ev.time).total_seconds() / 86400
                progress = max(0.05, min(0.9, elapsed / typical))
        positions.append(Position(epc, ev, place, moving_to, progress))
    holds = sum(1 for (pk,) in conn.fetchall("SELECT id FROM events WHERE biz_step = 'holding'")
                if ids is None or pk in ids)
    exceptions = sum(1 for pk, disp in conn.fetchall(
        "SELECT id, disposition FROM events WHERE biz_step = 'inspecting'")
        if disp in ("damaged", "mismatch_quantity", "non_conformant")
        and (ids is None or pk in ids))
    recent: list[int] = []
    for _, pk in index.newest:
        if ids is None or pk in ids:
            recent.append(pk)
            if len(recent) == 12:
                break
    return Overview(
        events=len(index.newest) if ids is None else len(ids),
        shipments=len(latest),
        in_transit=len(latest) - delivered,
        delivered=delivered,
        holds=holds,
        exceptions=exceptions,
        positions=positions,
        recent=events_by_pk(conn, recent),
        as_of=as_of,
    )
