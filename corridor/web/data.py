"""What the dashboard pages read: events the viewer may see, shaped into shipments, lots and
the corridor map. Every event read goes through corridor.query.visibility, exactly as the REST
API does, and EPC matching goes through the EPCIS query compiler (corridor.query.params)."""

from __future__ import annotations

import heapq
import itertools
import json
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from corridor.demo.geography import (
    NEXT_PLACE,
    PLACE_BY_KEY,
    PLACES,
    TYPICAL_DWELL_DAYS,
    TYPICAL_LEG_DAYS,
    Place,
)
from corridor.query.epc import canonical
from corridor.query.params import parse_query
from corridor.query.visibility import ViewerLike, visibility_clause
from corridor.store.db import Connection
from corridor.web.visible import visible_ids

# Places by their canonical key (the store keeps locations as Digital Link keys).
PLACE_BY_KEY_CANON: dict[str, Place] = {canonical(p.sgln): p for p in PLACES}
SSCC_PREFIX = "https://id.gs1.org/00/"
FINAL_STEPS = ("unpacking",)

_COLUMNS = ("e.id, e.event_id, e.hash_id, e.event_type, e.action, e.event_time,"
            " e.record_time, e.biz_step, e.disposition, e.read_point, e.biz_location,"
            " e.party, e.captured_by, e.log_index")


def unit_ref(key: str) -> str:
    """Short form of a unit for URLs: the 18 digits of an SSCC key, else the key itself."""
    return key.removeprefix(SSCC_PREFIX)


def epc_key(text: str) -> str:
    """Canonical key of an identifier typed or linked: URN, Digital Link, or bare digits
    (18: SSCC, 14: GTIN, 13: GLN)."""
    text = text.strip()
    if text.isdigit():
        ai = {18: "00", 14: "01", 13: "414"}.get(len(text))
        if ai:
            return canonical(f"https://id.gs1.org/{ai}/{text}")
    return canonical(text)


def parse_time(stored: str) -> datetime:
    """Stored UTC text (YYYY-MM-DDTHH:MM:SS.ffffffZ) -> aware datetime."""
    return datetime.fromisoformat(stored)


@dataclass
class EventView:
    pk: int
    event_id: str
    hash_id: str
    event_type: str
    action: str | None
    event_time: str
    record_time: str
    biz_step: str | None
    disposition: str | None
    read_point: str | None
    biz_location: str | None
    party: str
    captured_by: int | None
    log_index: int | None
    doc: dict[str, Any] = field(default_factory=dict)

    @property
    def time(self) -> datetime:
        return parse_time(self.event_time)

    @property
    def place(self) -> Place | None:
        for key in (self.biz_location, self.read_point):
            if key and key in PLACE_BY_KEY_CANON:
                return PLACE_BY_KEY_CANON[key]
        return None

    @property
    def where(self) -> str:
        """A place name, or the raw location identifier."""
        place = self.place
        if place:
            return place.name
        return self.biz_location or self.read_point or ""


def _row(r: tuple, doc: str | None) -> EventView:
    return EventView(int(r[0]), r[1], r[2], r[3], r[4], r[5], r[6], r[7], r[8], r[9], r[10],
                     r[11], r[12], None if r[13] is None else int(r[13]),
                     json.loads(doc) if doc else {})


def query_events(conn: Connection, viewer: ViewerLike, params: Mapping[str, list[str]], *,
                 limit: int = 2000, newest_first: bool = False,
                 with_doc: bool = True) -> list[EventView]:
    """Visible events matching EPCIS query parameters (e.g. {"MATCH_anyEPC": [urn]})."""
    query = parse_query(dict(params))
    vis_sql, vis_params = visibility_clause(viewer)
    where = " AND ".join(f"({c})" for c in [*query.where, vis_sql])
    order = "DESC" if newest_first else "ASC"
    doc_col = ", e.doc" if with_doc else ""
    rows = conn.fetchall(
        f"SELECT {_COLUMNS}{doc_col} FROM events e WHERE {where}"
        f" ORDER BY e.event_time {order}, e.id {order} LIMIT ?",
        [*query.params, *vis_params, limit])
    return [_row(r, r[14] if with_doc else None) for r in rows]


def event_by_log_index(conn: Connection, viewer: ViewerLike, index: int) -> EventView | None:
    vis_sql, vis_params = visibility_clause(viewer)
    row = conn.fetchone(
        f"SELECT {_COLUMNS}, e.doc FROM events e WHERE e.log_index = ? AND ({vis_sql})",
        [index, *vis_params])
    return _row(row, row[14]) if row else None


def recent_events(conn: Connection, viewer: ViewerLike, limit: int = 12) -> list[EventView]:
    return query_events(conn, viewer, {}, limit=limit, newest_first=True)


# ---------------------------------------------------------------- shipments


@dataclass
class Stop:
    place: Place | None
    label: str
    events: list[EventView]

    @property
    def first(self) -> datetime:
        return self.events[0].time

    @property
    def last(self) -> datetime:
        return self.events[-1].time

    @property
    def dwell_days(self) -> float:
        return (self.last - self.first).total_seconds() / 86400

    @property
    def typical_dwell(self) -> float | None:
        return TYPICAL_DWELL_DAYS.get(self.place.key) if self.place else None


@dataclass
class Leg:
    start: Stop
    end: Stop
    days: float
    typical: float | None

    @property
    def late(self) -> bool:
        return self.typical is not None and self.days > self.typical * 1.5 + 0.5


@dataclass
class SensorPoint:
    time: datetime
    kind: str
    value: float
    uom: str
    alarm: bool


@dataclass
class Document:
    kind: str
    ident: str
    event: EventView


@dataclass
class Shipment:
    epc: str  # as written in the events (URN)
    events: list[EventView]
    stops: list[Stop]
    legs: list[Leg]
    contents: list[str]
    lots: list[tuple[str, float | None, str | None]]  # (epcClass, quantity, uom)
    documents: list[Document]
    exceptions: list[EventView]  # holds, damage, mismatches
    sensors: list[SensorPoint]
    invoice: tuple[str, str, EventView] | None  # (amount, currency, shipping event)

    @property
    def status(self) -> str:
        last = self.events[-1]
        if _arrived(last.biz_step, last.event_type, last.action, last.place):
            return "delivered"
        if last.biz_step in ("departing", "accepting") or last.disposition == "in_transit" \
                and last.biz_step == "shipping":
            return "in transit"
        return f"at {last.where}" if last.where else "in transit"

    @property
    def delayed(self) -> bool:
        return any(e.biz_step == "holding" for e in self.events) or any(
            leg.late for leg in self.legs) or any(
            s.typical_dwell is not None and s.dwell_days > s.typical_dwell * 2 + 1
            for s in self.stops[:-1])


def _stops(events: list[EventView]) -> list[Stop]:
    stops: list[Stop] = []
    for e in events:
        if e.biz_step == "sensor_reporting":
            continue  # reported from a vessel, not a place on the route
        place = e.place
        label = place.name if place else e.where
        if stops and stops[-1].label == label:
            stops[-1].events.append(e)
        else:
            stops.append(Stop(place, label, [e]))
    return stops


def _legs(stops: list[Stop]) -> list[Leg]:
    legs = []
    for a, b in itertools.pairwise(stops):
        typical = TYPICAL_LEG_DAYS.get((a.place.key, b.place.key)) \
            if a.place and b.place else None
        legs.append(Leg(a, b, (b.first - a.last).total_seconds() / 86400, typical))
    return legs


def _sensors(events: list[EventView]) -> list[SensorPoint]:
    points = []
    for e in events:
        for element in e.doc.get("sensorElementList") or ():
            meta = element.get("sensorMetadata") or {}
            when = meta.get("time") or e.doc.get("eventTime")
            try:
                at = datetime.fromisoformat(str(when))
            except ValueError:
                continue
            for report in element.get("sensorReport") or ():
                value = report.get("value", report.get("maxValue"))
                if isinstance(value, int | float) and not isinstance(value, bool):
                    points.append(SensorPoint(at, str(report.get("type", "")).split(":")[-1],
                                              float(value), str(report.get("uom", "")),
                                              bool(report.get("exception"))))
    return points


def shipment(conn: Connection, viewer: ViewerLike, epc: str) -> Shipment | None:
    """The chain of custody of a logistic unit (SSCC), or None if the viewer sees none of it."""
    events = query_events(conn, viewer, {"MATCH_anyEPC": [epc]})
    if not events:
        return None
    key = canonical(epc)
    written = epc
    contents: list[str] = []
    lots: list[tuple[str, float | None, str | None]] = []
    documents: list[Document] = []
    exceptions: list[EventView] = []
    invoice = None
    seen_docs: set[tuple[str, str]] = set()
    for e in events:
        d = e.doc
        if isinstance(d.get("parentID"), str) and canonical(d["parentID"]) == key:
            written = d["parentID"]
            if e.action == "ADD" and not contents:
                contents = list(d.get("childEPCs") or [])
                lots = [(q.get("epcClass"), q.get("quantity"), q.get("uom"))
                        for q in d.get("childQuantityList") or ()]
        for epc_written in d.get("epcList") or ():
            if canonical(epc_written) == key:
                written = epc_written
        for bt in d.get("bizTransactionList") or ():
            pair = (str(bt.get("type", "")), str(bt.get("bizTransaction", "")))
            if pair not in seen_docs:
                seen_docs.add(pair)
                documents.append(Document(pair[0], pair[1], e))
        if e.biz_step == "holding" or (e.disposition or "") in (
                "damaged", "mismatch_quantity", "non_conformant", "destroyed", "stolen"):
            exceptions.append(e)
        amount, currency = _invoice_fields(d)
        if amount and currency and invoice is None:
            invoice = (amount, currency, e)
    stops = _stops(events)
    return Shipment(written, events, stops, _legs(stops), contents, lots, documents,
                    exceptions, _sensors(events), invoice)


def _invoice_fields(doc: Mapping[str, Any]) -> tuple[str | None, str | None]:
    amount = currency = None
    for k, v in doc.items():
        if k.endswith(":invoiceAmount") and isinstance(v, str | int | float):
            amount = str(v)
        elif k.endswith(":invoiceCurrency") and isinstance(v, str):
            currency = v
    return amount, currency


def _arrived(biz_step: str | None, event_type: str, action: str | None,
             place: Place | None) -> bool:
    """Unpacked, or received at a place where the corridor ends (the buyer's plant)."""
    if biz_step in FINAL_STEPS or (event_type == "AggregationEvent" and action == "DELETE"):
        return True
    return place is not None and place.key not in NEXT_PLACE and biz_step in (
        "receiving", "inspecting", "accepting", "storing")


# ---------------------------------------------------------------- lots


@dataclass
class Lot:
    epc_class: str
    events: list[EventView]
    containers: list[str]  # SSCC URNs that carried (part of) the lot
    commissioned: EventView | None
    quantity: float | None
    uom: str | None
    inspections: list[EventView]


def lot(conn: Connection, viewer: ViewerLike, epc_class: str) -> Lot | None:
    events = query_events(conn, viewer, {"MATCH_anyEPCClass": [epc_class]})
    if not events:
        return None
    key = canonical(epc_class)
    containers: list[str] = []
    commissioned = None
    quantity = uom = None
    inspections = []
    written = epc_class
    for e in events:
        d = e.doc
        for q in (d.get("quantityList") or []) + (d.get("childQuantityList") or []):
            if isinstance(q.get("epcClass"), str) and canonical(q["epcClass"]) == key:
                written = q["epcClass"]
                if e.biz_step == "commissioning" and commissioned is None:
                    commissioned, quantity, uom = e, q.get("quantity"), q.get("uom")
        parent = d.get("parentID")
        if e.event_type == "AggregationEvent" and e.action == "ADD" and isinstance(parent, str) \
                and parent not in containers:
            containers.append(parent)
        if e.biz_step == "inspecting":
            inspections.append(e)
    return Lot(written, events, containers, commissioned, quantity, uom, inspections)


# ---------------------------------------------------------------- overview


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
        if _arrived(ev.biz_step, ev.event_type, ev.action, place):
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


def events_by_pk(conn: Connection, pks: list[int], *, with_doc: bool = True,
                 ) -> list[EventView]:
    """Events by primary key, in the order given (callers have checked visibility)."""
    found: dict[int, EventView] = {}
    doc_col = ", e.doc" if with_doc else ""
    for start in range(0, len(pks), 500):
        chunk = pks[start:start + 500]
        marks = ",".join("?" * len(chunk))
        for r in conn.fetchall(f"SELECT {_COLUMNS}{doc_col} FROM events e"
                               f" WHERE e.id IN ({marks})", chunk):
            found[int(r[0])] = _row(r, r[14] if with_doc else None)
    return [found[pk] for pk in pks if pk in found]
