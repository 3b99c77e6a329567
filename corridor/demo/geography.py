"""The Middle Corridor as the demo and the dashboard map see it: places (UN/LOCODE, GS1 SGLN,
coordinates) and the legs between them with their typical durations.

Coordinates are approximate (WGS84 degrees); they only place nodes on a schematic map.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from corridor.query.places import COUNTRY, LATITUDE, LONGITUDE, NAME, PLACE_KEY, UN_LOCODE


@dataclass(frozen=True)
class Place:
    key: str  # short stable key used by the generator and the map
    name: str
    locode: str  # UN/LOCODE, "" where the place has none of its own
    country: str  # ISO 3166-1 alpha-2
    lat: float
    lon: float
    sgln: str  # urn:epc:id:sgln of the site (its GS1 company prefix is the operator's)
    utc_offset: int  # standard offset in hours (fixed here so output never depends on tzdata)
    eu_dst: bool = False  # follows EU summer time (last Sunday of March to October)


PLACES: tuple[Place, ...] = (
    Place("pavlodar", "Pavlodar smelter", "KZPWQ", "KZ", 52.29, 76.95,
          "urn:epc:id:sgln:4870101.00010.0", 5),
    Place("aktobe", "Aktobe ferro-alloy plant", "KZAKX", "KZ", 50.28, 57.17,
          "urn:epc:id:sgln:4870102.00010.0", 5),
    Place("aktau", "Port of Aktau", "KZAAU", "KZ", 43.60, 51.20,
          "urn:epc:id:sgln:4870104.00010.0", 5),
    Place("kuryk", "Port of Kuryk", "KZKUR", "KZ", 43.17, 51.66,
          "urn:epc:id:sgln:4870105.00010.0", 5),
    Place("alat", "Port of Baku (Alat)", "AZALA", "AZ", 39.95, 49.41,
          "urn:epc:id:sgln:4760202.00010.0", 4),
    Place("baku", "Baku city terminal", "AZBAK", "AZ", 40.37, 49.86,
          "urn:epc:id:sgln:4760202.00020.0", 4),
    Place("border", "Boyuk Kasik / Gardabani border", "", "GE", 41.43, 45.07,
          "urn:epc:id:sgln:4860301.00050.0", 4),
    Place("poti", "Port of Poti", "GEPTI", "GE", 42.15, 41.67,
          "urn:epc:id:sgln:4860302.00010.0", 4),
    Place("batumi", "Port of Batumi", "GEBUS", "GE", 41.65, 41.64,
          "urn:epc:id:sgln:4860303.00010.0", 4),
    Place("constanta", "Port of Constanta", "ROCND", "RO", 44.17, 28.65,
          "urn:epc:id:sgln:5940501.00010.0", 2, True),
    Place("trieste", "Port of Trieste", "ITTRS", "IT", 45.63, 13.77,
          "urn:epc:id:sgln:8010601.00010.0", 1, True),
    Place("genoa", "Port of Genoa", "ITGOA", "IT", 44.41, 8.92,
          "urn:epc:id:sgln:8010602.00010.0", 1, True),
    Place("brescia", "Buyer's plant, Brescia", "", "IT", 45.54, 10.22,
          "urn:epc:id:sgln:8010603.00010.0", 1, True),
    Place("vicenza", "Foundry, Vicenza", "", "IT", 45.52, 11.51,
          "urn:epc:id:sgln:8010607.00010.0", 1, True),
)

PLACE_BY_KEY: dict[str, Place] = {p.key: p for p in PLACES}
PLACE_BY_SGLN: dict[str, Place] = {p.sgln: p for p in PLACES}

# Typical transit time of each leg in days: from the last event at one place to the first event
# at the next. The demo draws actual durations around these; the shipment page compares what
# happened with them.
TYPICAL_LEG_DAYS: dict[tuple[str, str], float] = {
    ("pavlodar", "aktau"): 5.0,
    ("pavlodar", "kuryk"): 5.2,
    ("aktobe", "aktau"): 3.0,
    ("aktobe", "kuryk"): 3.2,
    ("aktau", "alat"): 1.1,
    ("aktau", "baku"): 1.0,
    ("kuryk", "alat"): 1.2,
    ("kuryk", "baku"): 1.1,
    ("alat", "border"): 1.2,
    ("baku", "border"): 1.1,
    ("border", "poti"): 1.4,
    ("border", "batumi"): 1.5,
    ("poti", "constanta"): 3.8,
    ("batumi", "constanta"): 3.8,
    ("constanta", "trieste"): 7.5,
    ("constanta", "genoa"): 8.5,
    ("trieste", "brescia"): 0.8,
    ("genoa", "brescia"): 0.6,
    ("trieste", "vicenza"): 0.5,
    ("genoa", "vicenza"): 0.8,
}

# Typical time spent at a place between its first and last event (port dwell, border
# handover, waiting for the weekly vessel).
TYPICAL_DWELL_DAYS: dict[str, float] = {
    "pavlodar": 0.5, "aktobe": 0.5, "aktau": 1.5, "kuryk": 1.5, "alat": 0.8, "baku": 0.8,
    "border": 0.1, "poti": 4.5, "batumi": 4.5, "constanta": 2.5, "trieste": 0.3,
    "genoa": 0.3, "brescia": 0.8, "vicenza": 0.8,
}

# The usual next place on the corridor, for placing a departed shipment on its current leg
# before its next arrival is known.
NEXT_PLACE: dict[str, str] = {
    "pavlodar": "aktau", "aktobe": "aktau", "aktau": "alat", "kuryk": "alat",
    "alat": "border", "baku": "border", "border": "poti", "poti": "constanta",
    "batumi": "constanta", "constanta": "trieste", "trieste": "brescia", "genoa": "brescia",
}

# Schematic sea routes: intermediate waypoints (lat, lon) so that the map does not draw ships
# across land. Rail and the Caspian crossing are drawn straight.
WAYPOINTS: dict[tuple[str, str], tuple[tuple[float, float], ...]] = {
    ("constanta", "trieste"): ((41.2, 29.1), (40.0, 26.2), (36.3, 23.0), (37.8, 20.5),
                               (40.3, 18.9)),
    ("constanta", "genoa"): ((41.2, 29.1), (40.0, 26.2), (36.3, 23.0), (37.6, 15.6),
                             (38.3, 15.6), (41.5, 10.5)),
}


def leg_mode(a: str, b: str) -> str:
    if (a, b) in (("aktau", "alat"), ("aktau", "baku"), ("kuryk", "alat"), ("kuryk", "baku")):
        return "ferry"
    if a in ("poti", "batumi", "constanta"):
        return "sea"
    if b in ("brescia", "vicenza"):
        return "road"
    return "rail"


def location_vocabulary(places: tuple[Place, ...] = PLACES) -> dict[str, Any]:
    """The places as EPCIS master data (a BusinessLocation vocabulary): each site's name,
    country and coordinates (CBV master data attributes), its UN/LOCODE and short key
    (Corridor's attributes, corridor.query.places). The dashboard knows places from these."""
    elements = []
    for p in places:
        attributes: list[dict[str, Any]] = [{"id": PLACE_KEY, "attribute": p.key},
                                            {"id": NAME, "attribute": p.name}]
        if p.locode:
            attributes.append({"id": UN_LOCODE, "attribute": p.locode})
        attributes += [{"id": COUNTRY, "attribute": p.country},
                       {"id": LATITUDE, "attribute": p.lat},
                       {"id": LONGITUDE, "attribute": p.lon}]
        elements.append({"id": p.sgln, "attributes": attributes})
    return {"type": "urn:epcglobal:epcis:vtype:BusinessLocation",
            "vocabularyElementList": elements}


def _last_sunday(year: int, month: int) -> date:
    day = date(year, month, 31)
    return day - timedelta(days=(day.weekday() + 1) % 7)


def utc_offset(place: Place, when: datetime) -> timedelta:
    """The place's offset from UTC at `when` (an aware UTC datetime)."""
    hours = place.utc_offset
    if place.eu_dst:
        start = datetime.combine(_last_sunday(when.year, 3), time(1), tzinfo=UTC)
        end = datetime.combine(_last_sunday(when.year, 10), time(1), tzinfo=UTC)
        if start <= when < end:
            hours += 1
    return timedelta(hours=hours)


def event_time(place: Place | None, when: datetime) -> tuple[str, str]:
    """eventTime in the place's local offset, and eventTimeZoneOffset."""
    offset = utc_offset(place, when) if place else timedelta(0)
    local = when.astimezone(UTC) + offset
    minutes = int(offset.total_seconds() // 60)
    sign = "+" if minutes >= 0 else "-"
    tz = f"{sign}{abs(minutes) // 60:02d}:{abs(minutes) % 60:02d}"
    stamp = local.replace(tzinfo=None, microsecond=0).isoformat()  # faster than strftime
    return f"{stamp}.000{tz}", tz
