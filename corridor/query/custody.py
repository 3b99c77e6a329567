"""Where a viewer's view of a logistic unit ends, told from the events it may read only.

A party reads the events it captured, the events that name it in their sourceList or
destinationList, and events shared with it (corridor.query.visibility). A party named in the
latest event of a unit it may read (the shipper, the buyer, an auditor reading for them) is
a party to the unit's transfer and follows it: that event is the unit's status. A party that
sees a unit only through its own events (a port, a carrier, a customs post) sees part of the
route: unless its last event was the unit's arrival, the unit is neither "in transit" nor
"delivered" for it, it is "seen in part". The dashboard then says where this party last saw
the unit and, where its events there say so, to whom it was handed:

- a destination of type possessing_party: the party taking possession (CBV source/
  destination types);
- a bill of lading (business transaction type bol) on a shipping, loading or departing
  event: the carrier that issued it, by the GLN of a CBV business transaction identifier
  (urn:epcglobal:cbv:bt:<GLN>:<id>);
- a destination of type owning_party or location: where the unit is bound.

Nothing is taken from events the viewer may not read: that a later event exists is itself
not told.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from corridor.epcis.cbv import normalise
from corridor.epcis.identifiers import canonical
from corridor.query.events_view import EventRow, events_by_pk
from corridor.query.parties import PartyNames
from corridor.query.places import Places
from corridor.query.visibility import ViewerLike
from corridor.query.visible_set import reading_parties
from corridor.store.db import Connection

# bizSteps after which a bill of lading on the event means the unit went to its issuer
HANDOVER_STEPS = ("shipping", "loading", "departing")
BILL_OF_LADING = "bol"


def named_ids(conn: Connection, viewer: ViewerLike, among: Sequence[int] | None = None,
              ) -> set[int] | None:
    """Primary keys of the events that name the viewer (or a party it reads for, as an
    auditor) in a source or destination list, of all events or of those `among`; None means
    every event (an admin follows everything it reads)."""
    if viewer.role == "admin":
        return None
    parties = reading_parties(conn, viewer)
    if not parties or (among is not None and not among):
        return set()
    marks = ",".join("?" * len(parties))
    sql = ("SELECT vp.event_pk FROM party_identifiers vi JOIN event_parties vp"
           f" ON vp.value = vi.canonical WHERE vi.party_id IN ({marks})")
    if among is None:
        return {int(r[0]) for r in conn.fetchall(sql, parties)}
    found: set[int] = set()
    for start in range(0, len(among), 500):
        chunk = list(among[start:start + 500])
        found.update(int(r[0]) for r in conn.fetchall(
            sql + f" AND vp.event_pk IN ({','.join('?' * len(chunk))})", [*parties, *chunk]))
    return found


@dataclass(frozen=True)
class Handover:
    to: str | None = None  # the party the unit was handed to (a name, else its identifier)
    via: str | None = None  # the document saying so, e.g. "bill of lading CFL-BL-000001"
    bound_for: str | None = None  # where the event says the unit is bound (party or place)


@dataclass(frozen=True)
class LastSeen:
    """Where a viewer that sees part of a unit's route last saw it."""

    where: str  # the place's name, else the location as written
    place_key: str | None  # the place's key when it is a known place
    event_time: str  # stored UTC text
    biz_step: str | None
    handover: Handover

    @property
    def text(self) -> str:
        out = f"last seen by you at {self.where}" if self.where else "last seen by you"
        if self.handover.to:
            out += f", handed over to {self.handover.to}"
        return out


def _entries(doc: Mapping[str, Any], field: str, key: str) -> list[tuple[str, str]]:
    out = []
    for entry in doc.get(field) or ():
        if isinstance(entry, dict) and isinstance(entry.get(key), str):
            out.append((normalise("sourceDestType", str(entry.get("type", ""))), entry[key]))
    return out


def _number(transaction: str) -> str:
    """The document number of a CBV business transaction identifier, else the whole text."""
    return transaction.rsplit(":", 1)[-1] if transaction.startswith("urn:epcglobal:cbv:bt:") \
        else transaction


def handover(doc: Mapping[str, Any], names: PartyNames, places: Places) -> Handover:
    """What one event says of where its objects went next (see the module docstring)."""
    to = via = bound_for = None
    destinations = _entries(doc, "destinationList", "destination")
    for kind, ident in destinations:
        if kind == "possessing_party" and to is None:
            to = names.label(ident)
    step = normalise("bizStep", str(doc.get("bizStep", "")))
    if step in HANDOVER_STEPS:
        for bt in doc.get("bizTransactionList") or ():
            if not isinstance(bt, dict) or not isinstance(bt.get("bizTransaction"), str):
                continue
            if normalise("bizTransactionType", str(bt.get("type", ""))) != BILL_OF_LADING:
                continue
            issuer = names.issuer(bt["bizTransaction"])
            if issuer is not None:
                to = to or issuer
                via = f"bill of lading {_number(bt['bizTransaction'])}"
                break
    for kind, ident in destinations:
        if kind == "owning_party":
            bound_for = names.label(ident)
            break
        if kind == "location":
            place = places.by_location.get(canonical(ident))
            bound_for = place.name if place else ident
            break
    return Handover(to, via, bound_for)


def last_seen(events: Sequence[EventRow], names: PartyNames, places: Places) -> LastSeen | None:
    """Where the viewer last saw a unit, from its visible events oldest first (with their
    documents); the handover is the latest one told by an event at that last place."""
    seen = [e for e in events if e.biz_step != "sensor_reporting"
            and (e.biz_location or e.read_point)]
    if not seen:
        return None
    last = seen[-1]
    to = via = bound_for = None
    for e in reversed(seen):  # the events at the last place, newest first
        if e.where != last.where:
            break
        found = handover(e.doc, names, places)
        bound_for = bound_for or found.bound_for
        if found.to:
            to, via = found.to, found.via
            break
    return LastSeen(last.where, last.place.key if last.place else None, last.event_time,
                    last.biz_step, Handover(to, via, bound_for))



@dataclass(frozen=True)
class PartView:
    """A unit the viewer sees part of the route of, as the overview lists it."""

    epc: str  # canonical key
    last_time: str  # stored UTC text of the viewer's latest event of it
    at_last_place: tuple[int, ...]  # the viewer's events of it at that event's place, newest first


def events_at_last_place(events: Sequence[tuple[str, int]], facts: Mapping[int, tuple],
                         ids: set[int] | None) -> tuple[int, ...]:
    """Of a unit's (event_time, pk) newest first (corridor.query.dashboard.UnitIndex), the
    visible ones at the place of the latest visible one (facts: bizLocation, readPoint last)."""
    out: list[int] = []
    where = None
    for _, pk in events:
        if ids is not None and pk not in ids:
            continue
        at = facts[pk][-2:]
        if where is None:
            where = at
        elif at != where:
            break
        out.append(pk)
    return tuple(out)


def where_views_end(conn: Connection, parts: Sequence[PartView], names: PartyNames,
                    places: Places) -> list[tuple[str, LastSeen]]:
    """(unit key, where the viewer last saw it) for each of these units, in their order."""
    wanted = [pk for part in parts for pk in part.at_last_place]
    rows = {e.pk: e for e in events_by_pk(conn, wanted, places=places)}
    out = []
    for part in parts:
        events = [rows[pk] for pk in reversed(part.at_last_place) if pk in rows]
        seen = last_seen(events, names, places)
        if seen is not None:
            out.append((part.epc, seen))
    return out
