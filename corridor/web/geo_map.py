"""The corridor on a geographic map, server-drawn SVG, offline.

Land, seas (the gaps between countries: the Caspian and the Black Sea among them), coasts and
country borders come from the basemap `make` builds from Natural Earth (geo/build_basemap.py,
world-atlas TopoJSON, public domain) into static/geo/basemap.json; without it the map is drawn
on plain water with a note saying how to build it. The projection is Albers equal-area conic,
fitted to the area drawn: the corridor's (Genoa to Pavlodar), widened to every place shown.

Nodes are the stored places with coordinates (captured master data, else the bundled table of
corridor nodes by UN/LOCODE, corridor.monitoring.nodes); legs are the pairs of places history
has seen units travel between; a sea leg between two ports follows the table's sea lanes; the
mode of a leg comes from its ends' kinds. Units under way sit along their leg, and a notice in
force at a node puts a marker on it whose title says what the notice states."""

from __future__ import annotations

import itertools
import json
import math
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from functools import lru_cache
from html import escape
from pathlib import Path
from typing import Any
from urllib.parse import quote

from corridor.epcis.identifiers import canonical
from corridor.monitoring import nodes as table
from corridor.monitoring.notices import Notice
from corridor.query.dashboard import Corridor, Position
from corridor.query.places import Place
from corridor.web.data import unit_ref

WIDTH, HEIGHT = 1000, 420
BASEMAP = Path(__file__).with_name("static") / "geo" / "basemap.json"
# The least area drawn (lon0, lon1, lat0, lat1): Genoa to Pavlodar; widened to every place
# shown, MARGIN degrees around it.
CORRIDOR = (7.0, 80.0, 37.0, 54.0)
MARGIN = 1.5
PAD = 0.02  # of the frame, kept free around the area
NO_BASEMAP = "basemap not built: install npm and run make"
LABEL_CHARS = 24  # longer names are cut on the map (the title has them whole)
ROAD_KM = 300  # a short leg into a place the table does not know: the road to a plant
_STYLE = (".map-sea{fill:#dbe9f3}.map-land{fill:#f4f1ea}.map-coast{fill:none;stroke:#8fb0c6;"
          "stroke-width:.7}.map-border{fill:none;stroke:#a99f92;stroke-width:.7;"
          "stroke-dasharray:3 2}.map-note{font-size:13px;fill:#8a3b12;font-weight:600}"
          ".notice-mark{fill:#d9480f;stroke:#fff;stroke-width:1}")
Bounds = tuple[float, float, float, float]
XY = tuple[float, float]


@dataclass(frozen=True)
class Albers:
    """Albers equal-area conic on the sphere (Snyder, Map Projections: A Working Manual,
    1987, pp. 98-100), x east and y north in Earth radii."""

    lon0: float
    lat0: float
    phi1: float
    phi2: float

    def _constants(self) -> tuple[float, float, float]:
        p1, p2 = math.radians(self.phi1), math.radians(self.phi2)
        n = (math.sin(p1) + math.sin(p2)) / 2
        c = math.cos(p1) ** 2 + 2 * n * math.sin(p1)
        rho0 = math.sqrt(c - 2 * n * math.sin(math.radians(self.lat0))) / n
        return n, c, rho0

    def forward(self, lat: float, lon: float) -> XY:
        n, c, rho0 = self._constants()
        rho = math.sqrt(max(0.0, c - 2 * n * math.sin(math.radians(lat)))) / n
        theta = n * math.radians(lon - self.lon0)
        return rho * math.sin(theta), rho0 - rho * math.cos(theta)

    def inverse(self, x: float, y: float) -> XY:
        """(lat, lon) of a projected point."""
        n, c, rho0 = self._constants()
        rho = math.hypot(x, rho0 - y)
        theta = math.atan2(x, rho0 - y)
        s = max(-1.0, min(1.0, (c - (rho * n) ** 2) / (2 * n)))
        return math.degrees(math.asin(s)), self.lon0 + math.degrees(theta / n)


@dataclass(frozen=True)
class View:
    """A projection fitted to the frame: px = x0 + k * x, py = y0 - k * y."""

    albers: Albers
    k: float
    x0: float
    y0: float

    def xy(self, lat: float, lon: float) -> XY:
        x, y = self.albers.forward(lat, lon)
        return round(self.x0 + self.k * x, 1), round(self.y0 - self.k * y, 1)

    def latlon(self, px: float, py: float) -> XY:
        return self.albers.inverse((px - self.x0) / self.k, (self.y0 - py) / self.k)


def _edge(bounds: Bounds, steps: int = 8) -> Iterable[XY]:
    lon0, lon1, lat0, lat1 = bounds
    for i in range(steps + 1):
        lon = lon0 + (lon1 - lon0) * i / steps
        lat = lat0 + (lat1 - lat0) * i / steps
        yield from ((lat0, lon), (lat1, lon), (lat, lon0), (lat, lon1))


def fit(bounds: Bounds) -> View:
    """Albers with standard parallels at 1/6 and 5/6 of the area's latitudes (Deetz and
    Adams' rule), scaled and centred so that the whole area is in the frame."""
    lon0, lon1, lat0, lat1 = bounds
    span = lat1 - lat0
    albers = Albers((lon0 + lon1) / 2, (lat0 + lat1) / 2, lat0 + span / 6, lat1 - span / 6)
    points = [albers.forward(lat, lon) for lat, lon in _edge(bounds)]
    xs, ys = [p[0] for p in points], [p[1] for p in points]
    usable_w, usable_h = WIDTH * (1 - 2 * PAD), HEIGHT * (1 - 2 * PAD)
    k = min(usable_w / (max(xs) - min(xs)), usable_h / (max(ys) - min(ys)))
    x0 = WIDTH / 2 - k * (max(xs) + min(xs)) / 2
    y0 = HEIGHT / 2 + k * (max(ys) + min(ys)) / 2
    return View(albers, k, x0, y0)


def bounds_of(places: Iterable[Place]) -> Bounds:
    """The corridor's area, widened to every place's coordinates."""
    lon0, lon1, lat0, lat1 = CORRIDOR
    for p in places:
        if p.lat is not None and p.lon is not None:
            lon0, lon1 = min(lon0, p.lon - MARGIN), max(lon1, p.lon + MARGIN)
            lat0, lat1 = min(lat0, p.lat - MARGIN), max(lat1, p.lat + MARGIN)
    return lon0, lon1, max(-80.0, lat0), min(80.0, lat1)


# ---------------------------------------------------------------- the basemap


@lru_cache(maxsize=2)
def _basemap(path: Path, stamp: float) -> dict[str, Any] | None:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) and "detail" in data else None


def _stamp(path: Path) -> float | None:
    try:
        return path.stat().st_mtime
    except OSError:
        return None


def load_basemap(path: Path = BASEMAP) -> dict[str, Any] | None:
    """The built basemap, None when it is not there (or unreadable): the map then says so."""
    stamp = _stamp(path)
    return None if stamp is None else _basemap(path, stamp)


def _covers(area: Sequence[float], view: View) -> bool:
    """Whether the frame shows nothing outside a layer's area (its land would end there)."""
    if len(area) != 4:
        return False
    lon0, lon1, lat0, lat1 = area
    for px, py in ((0, 0), (WIDTH / 2, 0), (WIDTH, 0), (0, HEIGHT / 2), (WIDTH, HEIGHT / 2),
                   (0, HEIGHT), (WIDTH / 2, HEIGHT), (WIDTH, HEIGHT)):
        lat, lon = view.latlon(px, py)
        if not (lon0 <= lon <= lon1 and lat0 <= lat <= lat1):
            return False
    return True


def _line(view: View, points: Sequence[Sequence[float]], close: bool = False) -> str:
    """An SVG path of lon/lat points: whole pixels, relative moves, repeats dropped (the
    basemap is most of the page's weight; half a pixel is not seen)."""
    xy: list[tuple[int, int]] = []
    for p in points:
        x, y = view.xy(p[1], p[0])
        q = (round(x), round(y))
        if not xy or q != xy[-1]:
            xy.append(q)
    if len(xy) < 2 or all(x < -50 for x, _ in xy) or all(x > WIDTH + 50 for x, _ in xy) or \
            all(y < -50 for _, y in xy) or all(y > HEIGHT + 50 for _, y in xy):
        return ""  # wholly off the frame, or a speck
    steps = " ".join(f"{b[0] - a[0]} {b[1] - a[1]}" for a, b in itertools.pairwise(xy))
    return f"M{xy[0][0]} {xy[0][1]}l{steps}" + ("z" if close else "")


def _layer_svg(view: View, layer: dict[str, Any]) -> str:
    out = []
    for country in layer.get("countries", ()):
        d = "".join(_line(view, ring, close=True) for ring in country["rings"])
        if d:
            out.append(f'<path class="map-land" fill-rule="evenodd" d="{d}">'
                       f'<title>{escape(country.get("name", ""))}</title></path>')
    for cls, lines in (("map-coast", layer.get("coasts", ())),
                       ("map-border", layer.get("borders", ()))):
        d = "".join(_line(view, line) for line in lines)
        if d:
            out.append(f'<path class="{cls}" d="{d}"/>')
    return "".join(out)


@lru_cache(maxsize=8)
def basemap_svg(view: View, path: Path = BASEMAP, stamp: float | None = None) -> str:
    """Land, coasts and borders in the frame: the detailed layer where it covers the frame,
    else the wide one; "" without a basemap. Cached: the view changes only when a place
    widens the map, the basemap only when `make` rebuilds it (`stamp`)."""
    basemap = None if stamp is None else _basemap(path, stamp)
    if basemap is None:
        return ""
    detail = basemap.get("detail") or {}
    use_detail = _covers(detail.get("area", ()), view) or "wide" not in basemap
    return _layer_svg(view, detail if use_detail else basemap["wide"])


# ---------------------------------------------------------------- nodes and legs


@dataclass(frozen=True)
class Node:
    place: Place  # with coordinates (its own, else the table's)
    kind: str  # the table's kind, "" when the table does not know the place


def map_nodes(places: Iterable[Place]) -> dict[str, Node]:
    """The places that can be drawn, by key: their own coordinates, else the table's."""
    out: dict[str, Node] = {}
    for p in places:
        lat, lon, kind = table.locate(p.lat, p.lon, p.locode, p.name)
        if lat is not None and lon is not None:
            out[p.key] = Node(replace(p, lat=lat, lon=lon), kind)
    return out


def leg_route(a: Node, b: Node) -> tuple[str, list[tuple[float, float]]]:
    """(mode, (lat, lon) points) of a leg: by sea lanes between two ports (a Caspian one is
    the ferry), the road for a short last leg to a place the table does not know, else rail."""
    pa, pb = a.place, b.place
    assert pa.lat is not None and pa.lon is not None and pb.lat is not None \
        and pb.lon is not None
    ends = [(pa.lat, pa.lon), (pb.lat, pb.lon)]
    if a.kind == "port" and b.kind == "port":
        found = table.sea_route(ends[0], ends[1])
        if found is not None:
            basin, between = found
            return ("ferry" if basin == "caspian" else "sea"), [ends[0], *between, ends[1]]
        return "sea", ends
    if not b.kind and table.distance_km(ends[0], ends[1]) < ROAD_KM:
        return "road", ends
    return "rail", ends


def along(points: list[XY], fraction: float) -> XY:
    """The point at `fraction` of the polyline's length."""
    lengths = [math.dist(p, q) for p, q in itertools.pairwise(points)]
    target = sum(lengths) * max(0.0, min(1.0, fraction))
    for (x1, y1), (x2, y2), seg in zip(points, points[1:], lengths, strict=False):
        if target <= seg and seg > 0:
            t = target / seg
            return round(x1 + (x2 - x1) * t, 1), round(y1 + (y2 - y1) * t, 1)
        target -= seg
    return points[-1]


# ---------------------------------------------------------------- labels

_SPOTS = ((8, -7, "start"), (-8, -7, "end"), (8, 15, "start"), (-8, 15, "end"),
          (0, -11, "middle"), (0, 19, "middle"))
_CHAR_W, _LINE_H = 7.0, 13.0
Box = tuple[float, float, float, float]


def _box(x: float, y: float, dx: float, dy: float, anchor: str, width: float) -> Box:
    left = x + dx - {"start": 0.0, "end": width, "middle": width / 2}[anchor]
    return left, y + dy - _LINE_H + 2, left + width, y + dy + 2


def _overlap(a: Box, b: Box) -> float:
    w = min(a[2], b[2]) - max(a[0], b[0])
    h = min(a[3], b[3]) - max(a[1], b[1])
    return max(0.0, w) * max(0.0, h)


def place_label(x: float, y: float, text: str, taken: list[Box]) -> tuple[float, float, str]:
    """(dx, dy, anchor) of the spot around a node where its label overlaps the fewest labels
    and node marks already placed and stays in the frame; the spot is then taken."""
    width = _CHAR_W * len(text) + 2
    best, best_cost = _SPOTS[0], math.inf
    for spot in _SPOTS:
        box = _box(x, y, *spot, width)
        outside = max(0.0, -box[0]) + max(0.0, box[2] - WIDTH) + max(0.0, -box[1]) \
            + max(0.0, box[3] - HEIGHT)
        cost = sum(_overlap(box, other) for other in taken) + outside * 100
        if cost < best_cost:
            best, best_cost = spot, cost
        if cost == 0:
            break
    taken.append(_box(x, y, *best, width))
    return best


def short_label(place: Place) -> str:
    if place.locode:
        return place.locode
    name = place.name
    return name if len(name) <= LABEL_CHARS else name[:LABEL_CHARS - 1] + "\u2026"


# ---------------------------------------------------------------- the map


@dataclass
class MapStats:
    at_nodes: int
    on_legs: int
    nodes: int = 0
    notices: int = 0
    basemap: bool = False


def notice_title(notice: Notice) -> str:
    what = {"load_cut": f"load cut by {notice.value} %" if notice.value is not None
            else "load cut", "sailings_suspended": "sailings suspended",
            "border_closed": "border closed"}.get(notice.kind, notice.kind)
    until = notice.valid_until.strftime("%Y-%m-%d %H:%M UTC") if notice.valid_until \
        else "further notice"
    text = f"Notice: {what}, from {notice.valid_from:%Y-%m-%d %H:%M} UTC until {until}"
    return text + (f": {notice.text}" if notice.text else "")


def in_force(notice: Notice, at: datetime) -> bool:
    return notice.valid_from <= at and (notice.valid_until is None or at < notice.valid_until)


def _notices_by_place(notices: Iterable[Notice], drawn: dict[str, Node],
                      at: datetime | None = None) -> dict[str, list[Notice]]:
    """The notices about each drawn node (in force at `at`, when given), by place key."""
    by_location = {n.place.location: key for key, n in drawn.items()}
    out: dict[str, list[Notice]] = {}
    for notice in notices:
        if at is not None and not in_force(notice, at):
            continue
        key = by_location.get(canonical(notice.node)) or by_location.get(notice.node)
        if key is not None:
            out.setdefault(key, []).append(notice)
    return out


def _node_svg(node: Node, xy: XY, here: int, notices: list[Notice], taken: list[Box]) -> str:
    place, (x, y) = node.place, xy
    title = escape(f"{place.name}{' (' + place.locode + ')' if place.locode else ''}")
    label = short_label(place)
    dx, dy, anchor = place_label(x, y, label, taken)
    kind = f" {node.kind.replace('_', '-')}" if node.kind else ""
    out = [(f'<a href="/place/{escape(quote(place.key, safe=":/"))}">'
            f'<g class="node{kind}" data-place="{escape(place.key)}"><circle cx="{x}" '
            f'cy="{y}" r="5"><title>{title}</title></circle>'),
           f'<text x="{x + dx}" y="{y + dy}" text-anchor="{anchor}">{escape(label)}</text>']
    if here:
        out.append(f'<text class="count" x="{x + dx}" y="{y + dy + 14}" '
                   f'text-anchor="{anchor}">{here} here</text>')
    if notices:
        text = escape("\n".join(notice_title(n) for n in notices))
        out.append(f'<path class="notice-mark" d="M{x + 6} {y - 16}l6 10h-12z">'
                   f'<title>{text}</title></path>')
    out.append("</g></a>")
    return "".join(out)


def render_map(positions: list[Position], corridor: Corridor, *, link_units: bool = True,
               notices: Sequence[Notice] = (), at: datetime | None = None,
               basemap_path: Path = BASEMAP) -> tuple[str, MapStats]:
    """SVG markup (trusted: every text is escaped here) and what it shows. `notices`: port
    notices to mark on their nodes, those in force at `at` when it is given."""
    drawn = map_nodes(corridor.places)
    view = fit(bounds_of(n.place for n in drawn.values()))
    stamp = _stamp(basemap_path)
    basemap = load_basemap(basemap_path)
    out = [(f'<svg class="corridor-map geo-map" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" '
            'aria-label="Map of the corridor" xmlns="http://www.w3.org/2000/svg">'
            f'<style>{_STYLE}</style><rect class="map-sea" width="100%" height="100%"/>'),
           basemap_svg(view, basemap_path, stamp)]
    routes: dict[tuple[str, str], list[XY]] = {}
    for a, b in corridor.typical.leg_days:
        if a in drawn and b in drawn:
            mode, points = leg_route(drawn[a], drawn[b])
            routes[(a, b)] = [view.xy(lat, lon) for lat, lon in points]
            pts = " ".join(f"{x},{y}" for x, y in routes[(a, b)])
            out.append(f'<polyline class="leg {mode}" points="{pts}"/>')
    at_node: Counter[str] = Counter()
    moving = []
    for p in positions:
        if p.place is None or p.place.key not in drawn:
            continue
        if p.moving_to is not None and p.moving_to.key in drawn:
            moving.append(p)
        else:
            at_node[p.place.key] += 1
    marked = _notices_by_place(notices, drawn, at)
    taken: list[Box] = [(x - 6, y - 6, x + 6, y + 6) for x, y in
                        (view.xy(n.place.lat or 0, n.place.lon or 0) for n in drawn.values())]
    for key, node in drawn.items():
        xy = view.xy(node.place.lat or 0.0, node.place.lon or 0.0)
        out.append(_node_svg(node, xy, at_node[key], marked.get(key, []), taken))
    for p in moving:
        assert p.place is not None and p.moving_to is not None
        a, b = drawn[p.place.key], drawn[p.moving_to.key]
        points = routes.get((a.place.key, b.place.key)) or \
            [view.xy(lat, lon) for lat, lon in leg_route(a, b)[1]]
        x, y = along(points, p.progress)
        title = escape(f"{p.last.biz_step or ''} {p.place.name} \u2192 {p.moving_to.name}")
        dot = f'<circle class="unit" cx="{x}" cy="{y}" r="4"><title>{title}</title></circle>'
        if link_units:
            dot = f'<a href="/shipment/{quote(unit_ref(p.epc), safe=":")}">{dot}</a>'
        out.append(dot)
    if basemap is None:
        out.append(f'<text class="map-note" x="12" y="{HEIGHT - 12}">{NO_BASEMAP}</text>')
    out.append("</svg>")
    stats = MapStats(sum(at_node.values()), len(moving), len(drawn),
                     sum(len(v) for v in marked.values()), basemap is not None)
    return "".join(out), stats
