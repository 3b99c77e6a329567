"""The places the dashboard knows: business locations and read points described by captured
EPCIS master data (corridor.store.master_data), not a list in the code.

A location element becomes a Place when it has a name. Its attributes (CBV 2.0 master data
attributes, and two of Corridor's own where the CBV has none):

  urn:epcglobal:cbv:mda:name         the name shown (required)
  urn:epcglobal:cbv:mda:countryCode  ISO 3166-1 alpha-2
  urn:epcglobal:cbv:mda:latitude     WGS84 degrees (the map draws only places that have both)
  urn:epcglobal:cbv:mda:longitude
  <COR_MDA>unLocode                  UN/LOCODE, when the place has one
  <COR_MDA>placeKey                  a short key for links (/search?place=...); without it the
                                     key is the element's id as written (an SGLN URN)

Places come in the order their master data was first captured.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from corridor.store.db import Connection
from corridor.store.master_data import element_attributes

LOCATION_VOCABULARIES = ("urn:epcglobal:epcis:vtype:BusinessLocation",
                         "urn:epcglobal:epcis:vtype:ReadPoint")
MDA = "urn:epcglobal:cbv:mda:"
NAME = MDA + "name"
COUNTRY = MDA + "countryCode"
LATITUDE = MDA + "latitude"
LONGITUDE = MDA + "longitude"
# Corridor's own master-data attributes (user vocabulary, EPCIS 2.0 section 6.5).
COR_MDA = "https://ns.corridor.example/mda/"
UN_LOCODE = COR_MDA + "unLocode"
PLACE_KEY = COR_MDA + "placeKey"


@dataclass(frozen=True)
class Place:
    key: str  # short stable key, for links and the map
    name: str
    locode: str  # UN/LOCODE, "" where the place has none
    country: str  # ISO 3166-1 alpha-2, "" when not given
    lat: float | None
    lon: float | None
    sgln: str  # the location's id as written in its master data (urn:epc:id:sgln:...)
    location: str  # its canonical key, as events store readPoint / bizLocation


class Places:
    """The known places, found by key or by a stored readPoint / bizLocation."""

    def __init__(self, places: Iterable[Place]) -> None:
        self.all: tuple[Place, ...] = tuple(places)
        self.by_key = {p.key: p for p in self.all}
        self.by_location = {p.location: p for p in self.all}

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Places) and self.all == other.all

    def __hash__(self) -> int:
        return hash(self.all)

    def __iter__(self) -> Iterator[Place]:
        return iter(self.all)

    def at(self, biz_location: str | None, read_point: str | None) -> Place | None:
        """The place of an event: its bizLocation if known, else its readPoint (both stored
        as canonical keys)."""
        for location in (biz_location, read_point):
            if location:
                place = self.by_location.get(location)
                if place is not None:
                    return place
        return None


NO_PLACES = Places(())


def _text(value: object) -> str:
    return value.strip() if isinstance(value, str) else ""


def _degrees(value: object) -> float | None:
    try:
        return float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None


def stored_places(conn: Connection) -> Places:
    """Every named location of the stored master data, as Places (one per location: a read
    point and a business location with the same id are one place, first capture first)."""
    places: dict[str, Place] = {}
    for element in element_attributes(conn, LOCATION_VOCABULARIES):
        a = element.attributes
        name = _text(a.get(NAME))
        if not name or element.element in places:
            continue
        places[element.element] = Place(
            key=_text(a.get(PLACE_KEY)) or element.written, name=name,
            locode=_text(a.get(UN_LOCODE)), country=_text(a.get(COUNTRY)),
            lat=_degrees(a.get(LATITUDE)), lon=_degrees(a.get(LONGITUDE)),
            sgln=element.written, location=element.element)
    return Places(places.values())
