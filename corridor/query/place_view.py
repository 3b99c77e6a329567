"""What a place's page shows: the logistic units the viewer may see at the place, when each
arrived (its first visible event there), how long it stayed (to its last visible event
there), and where the viewer's view of it stands now (its latest visible event anywhere,
from the unit index of corridor.query.dashboard). Every read applies the viewer's visibility.

An event happens at the place its bizLocation names, else its readPoint (Places.at), as on
every other page; sensor reports (from a vessel) are left out.
"""

from __future__ import annotations

from dataclasses import dataclass

from corridor.epcis.identifiers import SSCC_KEY_PREFIX
from corridor.query.custody import (
    LastSeen,
    PartView,
    events_at_last_place,
    named_ids,
    where_views_end,
)
from corridor.query.dashboard import unit_index
from corridor.query.events_view import EventRow, parse_time
from corridor.query.history import Typical
from corridor.query.parties import PartyNames
from corridor.query.places import Place, Places
from corridor.query.visibility import ViewerLike, visibility_clause
from corridor.query.visible_set import visible_ids
from corridor.store.db import Connection
from corridor.store.events import place_match


@dataclass
class Visit:
    epc: str  # canonical key (an SSCC's Digital Link)
    arrived: str  # stored UTC text of its first visible event here
    left: str  # of its last visible event here
    events: int  # visible events here
    latest: EventRow  # its latest visible event anywhere (row without document)
    status: str  # "delivered", "here", where the viewer last saw it...
    last_seen: LastSeen | None = None  # when the viewer sees part of its route

    @property
    def dwell_days(self) -> float:
        return (parse_time(self.left) - parse_time(self.arrived)).total_seconds() / 86400


def _here(conn: Connection, viewer: ViewerLike, place: Place, places: Places, limit: int
          ) -> dict[str, list[str]]:
    """Unit key -> the times of its visible events at the place, oldest first."""
    vis_sql, vis_params = visibility_clause(viewer)
    at, at_params = place_match("e", "biz_location", [place.location])
    seen, seen_params = place_match("e", "read_point", [place.location])
    rows = conn.fetchall(
        "SELECT x.epc, e.event_time, e.biz_location, e.read_point FROM events e"
        " JOIN event_epcs x ON x.event_pk = e.id WHERE x.role IN ('epc', 'parent')"
        f" AND x.epc LIKE ? AND ({at} OR {seen}) AND ({vis_sql})"
        " AND (e.biz_step IS NULL OR e.biz_step <> 'sensor_reporting')"
        " ORDER BY e.event_time, e.id LIMIT ?",
        [SSCC_KEY_PREFIX + "%", *at_params, *seen_params, *vis_params, limit])
    out: dict[str, list[str]] = {}
    for epc, event_time, biz_location, read_point in rows:
        if places.at(biz_location, read_point) == place:
            out.setdefault(epc, []).append(event_time)
    return out


def visits(conn: Connection, viewer: ViewerLike, place: Place, places: Places,
           typical: Typical, names: PartyNames, *, cache_key: str | None = None,
           limit: int = 20000) -> list[Visit]:
    """The units the viewer may see at the place, latest arrival first."""
    here = _here(conn, viewer, place, places, limit)
    if not here:
        return []
    ids = visible_ids(conn, viewer)
    index = unit_index(conn, cache_key)
    latest_pk: dict[str, int] = {}
    for epc in here:
        for _, pk in index.by_unit.get(epc, ()):
            if ids is None or pk in ids:
                latest_pk[epc] = pk
                break
    rows = {e.pk: e for e in index.events(conn, list(latest_pk.values()), places)}
    named = named_ids(conn, viewer, among=list(latest_pk.values()))
    out: list[Visit] = []
    parts: list[PartView] = []
    for epc, times in here.items():
        latest = rows.get(latest_pk.get(epc, -1))
        if latest is None:
            continue
        visit = Visit(epc, times[0], times[-1], len(times), latest, "")
        if typical.arrived(latest.biz_step, latest.event_type, latest.action, latest.place):
            visit.status = "delivered"
        elif named is not None and latest.pk not in named:
            parts.append(PartView(epc, latest.event_time, events_at_last_place(
                index.by_unit[epc], index.facts, ids)))
        elif latest.place == place:
            visit.status = "here"
        else:
            visit.status = f"moved on: last seen at {latest.where}"
        out.append(visit)
    seen = dict(where_views_end(conn, parts, names, places))
    for visit in out:
        if visit.epc in seen:
            visit.last_seen = last = seen[visit.epc]
            if last.place_key != place.key:
                visit.status = last.text
            else:  # said on this place's page: "here"
                visit.status = f"handed over to {last.handover.to}" if last.handover.to \
                    else "last seen by you here"
    out.sort(key=lambda v: (v.arrived, v.epc), reverse=True)
    return out
