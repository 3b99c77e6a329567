"""What the dashboard pages read: events the viewer may see, shaped into shipments, lots and
the corridor map. Every event read goes through corridor.query.visibility, exactly as the REST
API does, and EPC matching goes through the EPCIS query compiler (corridor.query.params)."""

from __future__ import annotations

import itertools
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from corridor.demo.geography import (
    NEXT_PLACE,
    PLACES,
    TYPICAL_DWELL_DAYS,
    TYPICAL_LEG_DAYS,
    Place,
)
from corridor.query.epc import canonical
from corridor.query.params import parse_query
from corridor.query.visibility import ViewerLike, visibility_clause
from corridor.store.db import Connection

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
        if arrived(last.biz_step, last.event_type, last.action, last.place):
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


def arrived(biz_step: str | None, event_type: str, action: str | None,
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
