"""The dashboard's viewer-independent read model, and the overview computed from it.

The overview aggregates over every visible event, so the per-row visibility condition is
replaced by the visible set (corridor.query.visible_set), and the facts that do not depend on
the viewer (each logistic unit's events newest first, a few columns of every event) are kept in
a UnitIndex that is extended as events arrive. The same index gives the typical times of the
corridor (corridor.query.history) for the stored places (corridor.query.places).
"""

from __future__ import annotations

import heapq
import threading
from dataclasses import dataclass, field
from datetime import datetime
from functools import cached_property

from corridor.epcis.identifiers import SSCC_KEY_PREFIX
from corridor.query.custody import PartView, events_at_last_place, named_ids
from corridor.query.events_view import EventRow, events_by_pk, parse_time
from corridor.query.history import NOTHING_KNOWN, Trips, Typical, Visit, is_final, trips, typical_of
from corridor.query.places import Place, Places, stored_places
from corridor.query.visibility import ViewerLike
from corridor.query.visible_set import visible_ids
from corridor.store.db import Connection

EXCEPTION_DISPOSITIONS = ("damaged", "mismatch_quantity", "non_conformant")

# An event's (id, event_time, biz_step, event_type, action, disposition, biz_location,
# read_point), as read
Facts = tuple[int, str, str | None, str, str | None, str | None, str | None, str | None]


@dataclass
class UnitIndex:
    """Viewer-independent facts the dashboard needs: for every SSCC, its events newest first;
    every event's time and a few of its columns. Built from light reads (no document); valid
    while no event is added."""

    stamp: tuple[int, int]  # (highest event id, log size) when built
    by_unit: dict[str, list[tuple[str, int]]]  # SSCC key -> [(event_time, pk)] newest first
    newest: list[tuple[str, int]]  # every (event_time, pk), newest first
    facts: dict[int, Facts] = field(default_factory=dict)  # every event's, by pk
    # Row values (no document) of events already looked at; stored events never change, the
    # places they resolve to may (new master data): the rows are kept for one set of places.
    rows: tuple[Places, dict[int, EventRow]] | None = None
    # Each unit's trips (corridor.query.history) for one set of places; an extended index
    # keeps those of the units that got no new event.
    trips: tuple[Places, dict[str, Trips]] | None = None
    _typical: tuple[Places, Typical] | None = None

    def events(self, conn: Connection, pks: list[int], places: Places) -> list[EventRow]:
        """The rows (without documents) of these events, in the order given."""
        kept = self.rows
        if kept is None or kept[0] != places:
            kept = self.rows = (places, {})
        rows = kept[1]
        missing = [pk for pk in pks if pk not in rows]
        for ev in events_by_pk(conn, missing, places=places, with_doc=False):
            rows[ev.pk] = ev
        return [rows[pk] for pk in pks if pk in rows]

    @cached_property
    def holds(self) -> list[int]:
        """Events with bizStep holding."""
        return [pk for pk, f in self.facts.items() if f[2] == "holding"]

    @cached_property
    def failed_inspections(self) -> list[int]:
        """Inspections that found damage, a quantity mismatch or a non-conformance."""
        return [pk for pk, f in self.facts.items()
                if f[2] == "inspecting" and f[5] in EXCEPTION_DISPOSITIONS]

    def typical(self, places: Places) -> Typical:
        """The corridor's typical times from every unit's journey (corridor.query.history)."""
        known = self._typical
        if known is not None and known[0] == places:
            return known[1]
        if not places.all:
            self._typical = (places, NOTHING_KNOWN)
            return NOTHING_KNOWN
        # A copy, filled then put in place: another request may be reading the kept one.
        kept = self.trips
        done = dict(kept[1]) if kept is not None and kept[0] == places else {}
        # Few distinct (step, type, action, disposition, bizLocation, readPoint): each is
        # resolved once.
        seen: dict[tuple, tuple[str, Place | None, bool]] = {}
        facts = self.facts
        for epc, events in self.by_unit.items():
            if epc in done:
                continue
            journey: list[Visit] = []
            for t, pk in reversed(events):
                f = facts[pk]
                what = f[2:]
                found = seen.get(what)
                if found is None:
                    step, kind, action, _, biz_location, read_point = what
                    place = places.at(biz_location, read_point)
                    found = seen[what] = (
                        place.name if place else (biz_location or read_point or ""), place,
                        is_final(step, kind, action))
                journey.append((t, *found))  # type: ignore[arg-type]  # a Visit's layout
            done[epc] = trips(journey)
        typical = typical_of(done.values(), places)
        self.trips = (places, done)
        self._typical = (places, typical)
        return typical


# The last UnitIndex built per cache key (clear it to force a rebuild from scratch).
UNIT_INDEXES: dict[str, UnitIndex] = {}
_unit_index_lock = threading.Lock()


def _index_rows(conn: Connection, after: int) -> tuple[dict[int, Facts], dict[str, list]]:
    """Facts of the events with id > after, and their SSCC rows (sensor reports and events
    without a place left out: they come from a vessel, or are business records such as an
    insurance binding, and say nothing about where the unit stands)."""
    facts: dict[int, Facts] = {r[0]: r for r in conn.fetchall(
        "SELECT id, event_time, biz_step, event_type, action, disposition, biz_location,"
        " read_point FROM events WHERE id > ?", (after,))}
    units: dict[str, list[tuple[str, int]]] = {}
    for epc, pk in conn.fetchall(
            "SELECT x.epc, x.event_pk FROM event_epcs x WHERE x.role IN ('epc', 'parent')"
            " AND x.epc LIKE ? AND x.event_pk > ?", [SSCC_KEY_PREFIX + "%", after]):
        f = facts.get(pk)
        if f is not None and f[2] != "sensor_reporting" and (f[6] or f[7]):
            units.setdefault(epc, []).append((f[1], pk))
    return facts, units


def _newest(facts: dict[int, Facts]) -> list[tuple[str, int]]:
    return sorted(((f[1], pk) for pk, f in facts.items()), reverse=True)


def events_stamp(conn: Connection) -> tuple[int, int]:
    """(highest event id, log size): events are only ever appended, each with one log entry
    in the same transaction, so the pair dates anything built from the events."""
    row = conn.fetchone("SELECT COALESCE(MAX(id), 0), (SELECT size FROM ledger_state"
                        " WHERE id = 1) FROM events")
    return (int(row[0]), int(row[1] or 0)) if row else (0, 0)


def unit_index(conn: Connection, cache_key: str | None = None) -> UnitIndex:
    """The UnitIndex of the database. With a `cache_key`, the last one built is kept and, once
    events were added, extended with the new events only (stored events never change)."""
    stamp = events_stamp(conn)
    cached = None
    if cache_key is not None:
        with _unit_index_lock:
            cached = UNIT_INDEXES.get(cache_key)
        if cached is not None and cached.stamp == stamp:
            return cached
    index = None
    if cached is not None and stamp[0] >= cached.stamp[0]:
        facts, units = _index_rows(conn, cached.stamp[0])
        by_unit = dict(cached.by_unit)
        for epc, events in units.items():
            by_unit[epc] = sorted([*by_unit.get(epc, []), *events], reverse=True)
        newest = list(heapq.merge(_newest(facts), cached.newest, reverse=True))
        trips_kept = cached.trips
        if trips_kept is not None:
            trips_kept = (trips_kept[0], {epc: t for epc, t in trips_kept[1].items()
                                          if epc not in units})
        index = UnitIndex(stamp, by_unit, newest, {**cached.facts, **facts}, cached.rows,
                          trips_kept)
        # On PostgreSQL a lower id can commit after a higher one: then the counts disagree
        # with the log and the index is rebuilt from scratch.
        if len(newest) != stamp[1]:
            index = None
    if index is None:
        facts, by_unit = _index_rows(conn, 0)
        for events in by_unit.values():
            events.sort(reverse=True)
        index = UnitIndex(stamp, by_unit, _newest(facts), facts)
    if cache_key is not None:
        with _unit_index_lock:
            UNIT_INDEXES[cache_key] = index
    return index


@dataclass(frozen=True)
class Corridor:
    """What the dashboard knows of the corridor: its places and their typical times."""

    places: Places
    typical: Typical


def corridor(conn: Connection, cache_key: str | None = None) -> Corridor:
    """The stored places and the typical times history gives them (see unit_index for
    `cache_key`)."""
    places = stored_places(conn)
    return Corridor(places, unit_index(conn, cache_key).typical(places))


@dataclass
class Position:
    epc: str  # canonical key
    last: EventRow
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
    recent: list[EventRow]
    as_of: datetime | None
    corridor: Corridor  # the places and typical times the positions were placed with
    # Units whose route the viewer sees only in part (corridor.query.custody), newest first:
    # neither in transit nor delivered for it, and not placed on the map.
    parts: list[PartView] = field(default_factory=list)


def overview(conn: Connection, viewer: ViewerLike, *, cache_key: str | None = None,
             ) -> Overview:
    """Counts and positions of the logistic units the viewer may see. A unit whose latest
    visible event does not name the viewer (corridor.query.custody) is one it sees part of the
    route of: counted in `parts`, not in transit, not placed.

    Reads are light (the visible set, the unit index's columns) except for the one latest
    event per unit and the recent events: the events table rows carry whole documents."""
    ids = visible_ids(conn, viewer)
    named = named_ids(conn, viewer)
    index = unit_index(conn, cache_key)
    places = stored_places(conn)
    typical = index.typical(places)
    latest: dict[str, tuple[str, int]] = {}
    for epc, events in index.by_unit.items():
        for t, pk in events:
            if ids is None or pk in ids:
                latest[epc] = (t, pk)
                break
    last_events = {e.pk: e for e in index.events(conn, [pk for _, pk in latest.values()],
                                                 places)}
    as_of = max((parse_time(t) for t, _ in latest.values()), default=None)
    positions: list[Position] = []
    parts: list[PartView] = []
    delivered = 0
    for epc, (_, pk) in latest.items():
        ev = last_events[pk]
        place = ev.place
        if typical.arrived(ev.biz_step, ev.event_type, ev.action, place):
            delivered += 1
            continue
        if named is not None and pk not in named:
            parts.append(PartView(epc, ev.event_time, events_at_last_place(
                index.by_unit[epc], index.facts, ids)))
            continue
        moving_to = None
        progress = 0.0
        if place and ev.biz_step in ("departing", "accepting") \
                and place.key in typical.next_place:
            moving_to = places.by_key[typical.next_place[place.key]]
            days = typical.leg_days.get((place.key, moving_to.key), 2.0)
            if as_of is not None:
                elapsed = (as_of - ev.time).total_seconds() / 86400
                progress = max(0.05, min(0.9, elapsed / days)) if days > 0 else 0.9
        positions.append(Position(epc, ev, place, moving_to, progress))
    holds = sum(1 for pk in index.holds if ids is None or pk in ids)
    exceptions = sum(1 for pk in index.failed_inspections if ids is None or pk in ids)
    recent: list[int] = []
    for _, pk in index.newest:
        if ids is None or pk in ids:
            recent.append(pk)
            if len(recent) == 12:
                break
    return Overview(
        events=len(index.newest) if ids is None else len(ids),
        shipments=len(latest),
        in_transit=len(latest) - delivered - len(parts),
        delivered=delivered,
        holds=holds,
        exceptions=exceptions,
        positions=positions,
        recent=events_by_pk(conn, recent, places=places),
        as_of=as_of,
        corridor=Corridor(places, typical),
        parts=sorted(parts, key=lambda p: p.last_time, reverse=True),
    )
