"""A schematic SVG map of the corridor: nodes, legs, and the units on them. Drawn from
coordinates alone (equirectangular projection), so it works offline and weighs a few KB.

The nodes are the stored places that have coordinates (corridor.query.places), the legs the
pairs of places history has seen units travel between (corridor.query.history). What the
stored data does not say is drawing hints below, by place key: label placement, short labels,
sea-route waypoints and each leg's mode of transport (the Middle Corridor's, as the demo
describes it); other places and legs are drawn with defaults (a straight grey line)."""

from __future__ import annotations

import itertools
from collections import Counter
from dataclasses import dataclass
from html import escape
from urllib.parse import quote

from corridor.query.dashboard import Corridor, Position
from corridor.query.places import Place
from corridor.web.data import unit_ref

WIDTH, HEIGHT = 1000, 420
# The area drawn (degrees): the Middle Corridor's, widened to take in any stored place that
# has coordinates outside it (with MARGIN degrees around it).
LON0, LON1 = 5.0, 82.0
LAT0, LAT1 = 35.0, 54.0
MARGIN = 1.5
Bounds = tuple[float, float, float, float]  # lon0, lon1, lat0, lat1
CORRIDOR: Bounds = (LON0, LON1, LAT0, LAT1)
# Label placement (dx, dy, anchor) where the default (right, above) would collide.
_LABEL_AT = {
    "genoa": (-8, 4, "end"), "brescia": (0, -12, "middle"), "trieste": (8, -8, "start"),
    "pavlodar": (-8, -8, "end"),
    "batumi": (-8, 12, "end"), "poti": (-8, -8, "end"), "kuryk": (8, 14, "start"),
    "baku": (8, -4, "start"), "alat": (-8, 14, "end"), "border": (0, -10, "middle"),
    "aktau": (-8, -8, "end"), "vicenza": (0, 16, "middle"),
}
_SHORT = {"brescia": "Buyer", "vicenza": "Foundry", "border": "AZ/GE border",
          "pavlodar": "KZPWQ Pavlodar", "aktobe": "KZAKX Aktobe"}
# Schematic sea routes: intermediate waypoints (lat, lon) so that the map does not draw ships
# across land. Rail and the Caspian crossing are drawn straight.
_WAYPOINTS: dict[tuple[str, str], tuple[tuple[float, float], ...]] = {
    ("constanta", "trieste"): ((41.2, 29.1), (40.0, 26.2), (36.3, 23.0), (37.8, 20.5),
                               (40.3, 18.9)),
    ("constanta", "genoa"): ((41.2, 29.1), (40.0, 26.2), (36.3, 23.0), (37.6, 15.6),
                             (38.3, 15.6), (41.5, 10.5)),
}
# Mode of transport of the corridor's legs (a CSS class): the Caspian ferries, the sea legs
# out of the Black Sea ports, the road to the importers' plants; rail from the other known
# places.
_FERRIES = {("aktau", "alat"), ("aktau", "baku"), ("kuryk", "alat"), ("kuryk", "baku")}
_SEA_PORTS = {"poti", "batumi", "constanta"}
_ROAD_ENDS = {"brescia", "vicenza"}
_RAIL_STARTS = {"pavlodar", "aktobe", "aktau", "kuryk", "alat", "baku", "border", "trieste",
              "genoa"}


def _mode(a: str, b: str) -> str:
    if (a, b) in _FERRIES:
        return "ferry"
    if a in _SEA_PORTS:
        return "sea"
    if b in _ROAD_ENDS:
        return "road"
    return "rail" if a in _RAIL_STARTS else "other"


def project(lat: float, lon: float, bounds: Bounds = CORRIDOR) -> tuple[float, float]:
    # Over the corridor's area a degree of longitude comes out ~0.63 of a degree of latitude
    # (about cos 50 deg, the corridor's mid latitude), so shapes stay roughly right.
    lon0, lon1, lat0, lat1 = bounds
    x = (lon - lon0) / (lon1 - lon0) * WIDTH
    y = (lat1 - lat) / (lat1 - lat0) * HEIGHT
    return round(x, 1), round(y, 1)


def bounds_of(places: list[Place]) -> Bounds:
    """The corridor's area, widened to every place's coordinates."""
    lons = [p.lon for p in places if p.lon is not None]
    lats = [p.lat for p in places if p.lat is not None]
    if not lons or not lats:
        return CORRIDOR
    return (min(LON0, min(lons) - MARGIN), max(LON1, max(lons) + MARGIN),
            min(LAT0, min(lats) - MARGIN), max(LAT1, max(lats) + MARGIN))


def _on_map(place: Place | None) -> bool:
    return place is not None and place.lat is not None and place.lon is not None


def _path(pa: Place, pb: Place, bounds: Bounds) -> list[tuple[float, float]]:
    assert pa.lat is not None and pa.lon is not None and pb.lat is not None \
        and pb.lon is not None
    points = [(pa.lat, pa.lon), *_WAYPOINTS.get((pa.key, pb.key), ()), (pb.lat, pb.lon)]
    return [project(lat, lon, bounds) for lat, lon in points]


def _along(points: list[tuple[float, float]], fraction: float) -> tuple[float, float]:
    """The point at `fraction` of the polyline's length."""
    lengths = [((x2 - x1) ** 2 + (y2 - y1) ** 2) ** 0.5
               for (x1, y1), (x2, y2) in itertools.pairwise(points)]
    target = sum(lengths) * fraction
    for (x1, y1), (x2, y2), seg in zip(points, points[1:], lengths, strict=False):
        if target <= seg and seg > 0:
            t = target / seg
            return round(x1 + (x2 - x1) * t, 1), round(y1 + (y2 - y1) * t, 1)
        target -= seg
    return points[-1]


@dataclass
class MapStats:
    at_nodes: int
    on_legs: int


def render_map(positions: list[Position], corridor: Corridor, *, link_units: bool = True,
               ) -> tuple[str, MapStats]:
    """SVG markup (trusted: every text is escaped here) and what it shows."""
    by_key = corridor.places.by_key
    nodes = [p for p in corridor.places if _on_map(p)]
    bounds = bounds_of(nodes)
    out = [(f'<svg class="corridor-map" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" '
           'aria-label="Schematic map of the Middle Corridor" '
           'xmlns="http://www.w3.org/2000/svg">')]
    out.append('<rect class="map-bg" width="100%" height="100%"/>')
    for (a, b) in corridor.typical.leg_days:
        pa, pb = by_key.get(a), by_key.get(b)
        if pa is None or pb is None or not (_on_map(pa) and _on_map(pb)):
            continue
        pts = " ".join(f"{x},{y}" for x, y in _path(pa, pb, bounds))
        out.append(f'<polyline class="leg {_mode(a, b)}" points="{pts}"/>')
    at_node: Counter[str] = Counter()
    moving = []
    for p in positions:
        if not _on_map(p.place):
            continue
        assert p.place is not None
        if p.moving_to is not None and _on_map(p.moving_to):
            moving.append(p)
        else:
            at_node[p.place.key] += 1
    for place in nodes:
        assert place.lat is not None and place.lon is not None
        x, y = project(place.lat, place.lon, bounds)
        label = escape(f"{place.name}{' (' + place.locode + ')' if place.locode else ''}")
        out.append(f'<a href="/place/{escape(quote(place.key, safe=":/"))}">'
                   f'<g class="node" data-place="{escape(place.key)}"><circle cx="{x}" cy="{y}" '
                   f'r="5"><title>{label}</title></circle>')
        dx, dy, anchor = _LABEL_AT.get(place.key, (8, -7, "start"))
        out.append(f'<text x="{x + dx}" y="{y + dy}" text-anchor="{anchor}">'
                   f'{escape(_SHORT.get(place.key, place.locode or place.name))}</text>')
        if at_node[place.key]:
            out.append(f'<text class="count" x="{x + dx}" y="{y + dy + 14}" '
                       f'text-anchor="{anchor}">{at_node[place.key]} here</text>')
        out.append("</g></a>")
    for p in moving:
        assert p.place is not None and p.moving_to is not None
        x, y = _along(_path(p.place, p.moving_to, bounds), p.progress)
        title = escape(f"{p.last.biz_step or ''} {p.place.name} \u2192 {p.moving_to.name}")
        dot = f'<circle class="unit" cx="{x}" cy="{y}" r="4"><title>{title}</title></circle>'
        if link_units:
            dot = f'<a href="/shipment/{quote(unit_ref(p.epc), safe=":")}">{dot}</a>'
        out.append(dot)
    out.append("</svg>")
    return "".join(out), MapStats(sum(at_node.values()), len(moving))
