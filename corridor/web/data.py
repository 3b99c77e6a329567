"""Dashboard page data: the events a viewer may see (read through corridor.query read models)
shaped into shipments and lots. Places and typical times are the stored ones
(corridor.query.dashboard.Corridor): master data and history, not a list in the code."""

from __future__ import annotations

import itertools
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from corridor.epcis.identifiers import (
    AI_GLN,
    AI_GTIN,
    AI_SSCC,
    SSCC_KEY_PREFIX,
    canonical,
    dl_head,
)
from corridor.query.custody import LastSeen
from corridor.query.dashboard import Corridor
from corridor.query.events_view import EventRow, event_at_log_index, matching_events
from corridor.query.history import NOTHING_KNOWN, Typical
from corridor.query.places import NO_PLACES, Place, Places
from corridor.query.visibility import ViewerLike
from corridor.store.db import Connection


def unit_ref(key: str) -> str:
    """Short form of a unit for URLs: the 18 digits of an SSCC key, else the key itself."""
    return key.removeprefix(SSCC_KEY_PREFIX)


def epc_key(text: str) -> str:
    """Canonical key of an identifier typed or linked: URN, Digital Link, or bare digits
    (18: SSCC, 14: GTIN, 13: GLN)."""
    text = text.strip()
    if text.isdigit():
        ai = {18: AI_SSCC, 14: AI_GTIN, 13: AI_GLN}.get(len(text))
        if ai:
            return canonical(dl_head(ai) + text)
    return canonical(text)


def event_by_log_index(conn: Connection, viewer: ViewerLike, index: int,
                       places: Places = NO_PLACES) -> EventRow | None:
    """The visible event at a log index, with its document."""
    return event_at_log_index(conn, viewer, index, places=places)


# ---------------------------------------------------------------- shipments


@dataclass
class Stop:
    place: Place | None
    label: str
    events: list[EventRow]
    typical_dwell: float | None = None  # days, from history

    @property
    def first(self) -> datetime:
        return self.events[0].time

    @property
    def last(self) -> datetime:
        return self.events[-1].time

    @property
    def dwell_days(self) -> float:
        return (self.last - self.first).total_seconds() / 86400


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
    event: EventRow


@dataclass
class Shipment:
    epc: str  # as written in the events (URN)
    events: list[EventRow]
    stops: list[Stop]
    legs: list[Leg]
    contents: list[str]
    lots: list[tuple[str, float | None, str | None]]  # (epcClass, quantity, uom)
    documents: list[Document]
    exceptions: list[EventRow]  # holds, damage, mismatches
    sensors: list[SensorPoint]
    invoice: tuple[str, str, EventRow] | None  # (amount, currency, shipping event)
    typical: Typical = NOTHING_KNOWN  # what history says of the corridor
    # Set when the viewer sees only part of the route (corridor.query.custody): where its
    # view ends stands for a status it cannot know.
    last_seen: LastSeen | None = None

    @property
    def status(self) -> str:
        # where the unit stands: its last event at a place (a binding or a claim has none)
        last = next((e for e in reversed(self.events) if e.biz_location or e.read_point),
                    self.events[-1])
        if self.typical.arrived(last.biz_step, last.event_type, last.action, last.place):
            return "delivered"
        if self.last_seen is not None:
            return self.last_seen.text
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


def _stops(events: list[EventRow], typical: Typical) -> list[Stop]:
    stops: list[Stop] = []
    for e in events:
        if e.biz_step == "sensor_reporting" or not (e.biz_location or e.read_point):
            continue  # reported from a vessel, or a record with no place: not a stop
        place = e.place
        label = place.name if place else e.where
        if stops and stops[-1].label == label:
            stops[-1].events.append(e)
        else:
            stops.append(Stop(place, label, [e],
                              typical.dwell_days.get(place.key) if place else None))
    return stops


def _legs(stops: list[Stop], typical: Typical) -> list[Leg]:
    legs = []
    for a, b in itertools.pairwise(stops):
        days = typical.leg_days.get((a.place.key, b.place.key)) \
            if a.place and b.place else None
        legs.append(Leg(a, b, (b.first - a.last).total_seconds() / 86400, days))
    return legs


def _sensors(events: list[EventRow]) -> list[SensorPoint]:
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


def shipment(conn: Connection, viewer: ViewerLike, epc: str, corridor: Corridor
             ) -> Shipment | None:
    """The chain of custody of a logistic unit (SSCC), or None if the viewer sees none of it."""
    events = matching_events(conn, viewer, {"MATCH_anyEPC": [epc]}, places=corridor.places)
    if not events:
        return None
    key = canonical(epc)
    written = epc
    contents: list[str] = []
    lots: list[tuple[str, float | None, str | None]] = []
    documents: list[Document] = []
    exceptions: list[EventRow] = []
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
    typical = corridor.typical
    stops = _stops(events, typical)
    return Shipment(written, events, stops, _legs(stops, typical), contents, lots, documents,
                    exceptions, _sensors(events), invoice, typical)


def _invoice_fields(doc: Mapping[str, Any]) -> tuple[str | None, str | None]:
    amount = currency = None
    for k, v in doc.items():
        if k.endswith(":invoiceAmount") and isinstance(v, str | int | float):
            amount = str(v)
        elif k.endswith(":invoiceCurrency") and isinstance(v, str):
            currency = v
    return amount, currency


# ---------------------------------------------------------------- lots


@dataclass
class Lot:
    epc_class: str
    events: list[EventRow]
    containers: list[str]  # SSCC URNs that carried (part of) the lot
    commissioned: EventRow | None
    quantity: float | None
    uom: str | None
    inspections: list[EventRow]


def lot(conn: Connection, viewer: ViewerLike, epc_class: str, places: Places = NO_PLACES
        ) -> Lot | None:
    """The events of a lot (LGTIN class), the containers that carried it, its commissioning
    and inspections; None if the viewer sees none of it."""
    events = matching_events(conn, viewer, {"MATCH_anyEPCClass": [epc_class]}, places=places)
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
        # A lot is commissioned by an ObjectEvent ADD (quantityList) or made by a
        # TransformationEvent (outputQuantityList).
        for q in (d.get("quantityList") or []) + (d.get("childQuantityList") or []) \
                + (d.get("outputQuantityList") or []):
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
