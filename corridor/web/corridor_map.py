"""A schematic SVG map of the corridor: nodes, legs, and the units on them. Drawn from
coordinates alone (equirectangular projection), so it works offline and weighs a few KB."""

from __future__ import annotations

import itertools
from collections import Counter
from dataclasses import dataclass
from html import escape
from urllib.parse import quote

from corridor.demo.geography import PLACE_BY_KEY, PLACES, TYPICAL_LEG_DAYS, WAYPOINTS, leg_mode
from corridor.web.data import unit_ref
from corridor.web.overview import Position

WIDTH, HEIGHT = 1000, 420
LON0, LON1 = 5.0, 82.0
LAT0, LAT1 = 35.0, 54.0
# Label placement (dx, dy, anchor) where the default (right, above) would collide.
_LABEL_AT = {
    "genoa": (-8, 4, "end"), "brescia": (0, -12, "middle"), "trieste": (8, -8, "start"),
    "pavlodar": (-8, -8, "end"),
    "batumi": (-8, 12, "end"), "poti": (-8, -8, "end"), "kuryk": (8, 14, "start"),
    "baku": (8, -4, "start"), "alat": (-8, 14, "end"), "border": (0, -10, "middle"),
    "aktau": (-8, -8, "end"),
}
_SHORT = {"brescia": "Buyer", "border": "AZ/GE border", "pavlodar": "KZPWQ Pavlodar",
          "aktobe": "KZAKX Aktobe"}
_MODE_CLASS = {"rail": "rail", "ferry": "ferry", "sea": "sea", "road": "road"}


def project(lat: float, lon: float) -> tuple[float, float]:
    # A degree of longitude comes out ~0.63 of a degree of latitude (about cos 50 deg, the
    # corridor's mid latitude), so shapes stay roughly right.
    x = (lon - LON0) / (LON1 - LON0) * WIDTH
    y = (LAT1 - lat) / (LAT1 - LAT0) * HEIGHT
    return round(x, 1), round(y, 1)


def _path(a: str, b: str) -> list[tuple[float, float]]:
    pa, pb = PLACE_BY_KEY[a], PLACE_BY_KEY[b]
    points = [(pa.lat, pa.lon), *WAYPOINTS.get((a, b), ()), (pb.lat, pb.lon)]
    return [project(lat, lon) for lat, lon in points]


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


def render_map(positions: list[Position], *, link_units: bool = True) -> tuple[str, MapStats]:
    """SVG markup (trusted: every text is escaped here) and what it shows."""
    out = [(f'<svg class="corridor-map" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" '
           'aria-label="Schematic map of the Middle Corridor" '
           'xmlns="http://www.w3.org/2000/svg">')]
    out.append('<rect class="map-bg" width="100%" height="100%"/>')
    for (a, b) in TYPICAL_LEG_DAYS:
        pts = " ".join(f"{x},{y}" for x, y in _path(a, b))
        out.append(f'<polyline class="leg {_MODE_CLASS[leg_mode(a, b)]}" points="{pts}"/>')
    at_node: Counter[str] = Counter()
    moving = []
    for p in positions:
        if p.place is None:
            continue
        if p.moving_to is not None:
            moving.append(p)
        else:
            at_node[p.place.key] += 1
    for place in PLACES:
        x, y = project(place.lat, place.lon)
        label = escape(f"{place.name}{' (' + place.locode + ')' if place.locode else ''}")
        out.append(f'<g class="node" data-place="{place.key}"><circle cx="{x}" cy="{y}" r="5">'
                   f'<title>{label}</title></circle>')
        dx, dy, anchor = _LABEL_AT.get(place.key, (8, -7, "start"))
        out.append(f'<text x="{x + dx}" y="{y + dy}" text-anchor="{anchor}">'
                   f'{escape(_SHORT.get(place.key, place.locode or place.name))}</text>')
        if at_node[place.key]:
            out.append(f'<text class="count" x="{x + dx}" y="{y + dy + 14}" '
                       f'text-anchor="{anchor}">{at_node[place.key]} here</text>')
        out.append("</g>")
    for p in moving:
        assert p.place is not None and p.moving_to is not None
        x, y = _along(_path(p.place.key, p.moving_to.key), p.progress)
        title = escape(f"{p.last.biz_step or ''} {p.place.name} \u2192 {p.moving_to.name}")
        dot = f'<circle class="unit" cx="{x}" cy="{y}" r="4"><title>{title}</title></circle>'
        if link_units:
            dot = f'<a href="/shipment/{quote(unit_ref(p.epc), safe=":")}">{dot}</a>'
        out.append(dot)
    out.append("</svg>")
    return "".join(out), MapStats(sum(at_node.values()), len(moving))
