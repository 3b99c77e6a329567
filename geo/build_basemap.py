"""Build the dashboard's basemap (corridor/web/static/geo/basemap.json) from Natural Earth.

Source: the `world-atlas` npm package (https://github.com/topojson/world-atlas, pinned in
geo/package.json), Natural Earth's Admin 0 countries (https://www.naturalearthdata.com/,
public domain) as TopoJSON. Run by `make` after `npm ci` in geo/; stdlib only.

Two layers, each as lon/lat rings and lines (WGS84 degrees, rounded):
  detail  countries-50m clipped to the corridor's area and around (10 W..100 E, 26..62 N)
  wide    countries-110m over a wider area, for maps widened to far places
Each layer has `countries` (fill rings; the seas and lakes, the Caspian and the Black Sea
among them, are the gaps between them), `borders` (arcs two countries share) and `coasts`
(arcs of one country only). Arcs are simplified once (Douglas-Peucker), before rings are
assembled, so two neighbours' shared border stays one line.

Usage: python geo/build_basemap.py [--out PATH] [--area LON0,LON1,LAT0,LAT1]
"""

from __future__ import annotations

import argparse
import itertools
import json
import math
import sys
from collections.abc import Callable
from pathlib import Path

HERE = Path(__file__).resolve().parent
ATLAS = HERE / "node_modules" / "world-atlas"
OUT = HERE.parent / "corridor" / "web" / "static" / "geo" / "basemap.json"
DETAIL_AREA = (-10.0, 100.0, 26.0, 62.0)
WIDE_AREA = (-20.0, 150.0, 0.0, 75.0)
# Degrees: 0.03 (about 2-3 km) keeps the Bosporus, the Kerch strait and the Caspian's bays;
# the wide layer is drawn only when the map is zoomed out far enough that 0.15 is invisible.
DETAIL_TOLERANCE, WIDE_TOLERANCE = 0.03, 0.15
MIN_RING_AREA = {"detail": 0.02, "wide": 0.5}  # square degrees: drop specks of islands
DIGITS = {"detail": 2, "wide": 1}

Point = tuple[float, float]
Area = tuple[float, float, float, float]
Inside = Callable[[Point], bool]
Cut = Callable[[Point, Point], Point]


def decode_arcs(topology: dict) -> list[list[Point]]:
    """TopoJSON arcs as lon/lat: quantized positions, delta-encoded, then the transform."""
    (sx, sy), (tx, ty) = topology["transform"]["scale"], topology["transform"]["translate"]
    arcs = []
    for arc in topology["arcs"]:
        x = y = 0
        points = []
        for dx, dy in arc:
            x, y = x + dx, y + dy
            points.append((x * sx + tx, y * sy + ty))
        arcs.append(points)
    return arcs


def _distance(p: Point, a: Point, b: Point) -> float:
    # Longitude shrunk by cos 45 deg so that the tolerance is about isotropic on the corridor.
    k = math.cos(math.radians(45))
    px, ax, bx = p[0] * k, a[0] * k, b[0] * k
    dx, dy = bx - ax, b[1] - a[1]
    if dx == 0 and dy == 0:
        return math.hypot(px - ax, p[1] - a[1])
    t = max(0.0, min(1.0, ((px - ax) * dx + (p[1] - a[1]) * dy) / (dx * dx + dy * dy)))
    return math.hypot(px - (ax + t * dx), p[1] - (a[1] + t * dy))


def simplify(points: list[Point], tolerance: float) -> list[Point]:
    """Douglas-Peucker, iterative; the ends are kept."""
    if len(points) < 3:
        return list(points)
    keep = [False] * len(points)
    keep[0] = keep[-1] = True
    stack = [(0, len(points) - 1)]
    while stack:
        first, last = stack.pop()
        worst, index = 0.0, -1
        for i in range(first + 1, last):
            d = _distance(points[i], points[first], points[last])
            if d > worst:
                worst, index = d, i
        if index >= 0 and worst > tolerance:
            keep[index] = True
            stack += [(first, index), (index, last)]
    return [p for p, k in zip(points, keep, strict=True) if k]


def _arc(arcs: list[list[Point]], index: int) -> list[Point]:
    return arcs[index] if index >= 0 else arcs[~index][::-1]


def _ring(arcs: list[list[Point]], indexes: list[int]) -> list[Point]:
    ring: list[Point] = []
    for index in indexes:
        points = _arc(arcs, index)
        ring += points[1:] if ring else points  # arcs share their junction point
    return ring


def _polygons(geometry: dict) -> list[list[list[int]]]:
    if geometry["type"] == "Polygon":
        return [geometry["arcs"]]
    if geometry["type"] == "MultiPolygon":
        return geometry["arcs"]
    return []


def _clip_edge(ring: list[Point], inside: Inside, cut: Cut) -> list[Point]:
    out: list[Point] = []
    for i, cur in enumerate(ring):
        prev = ring[i - 1]
        if inside(cur):
            if not inside(prev):
                out.append(cut(prev, cur))
            out.append(cur)
        elif inside(prev):
            out.append(cut(prev, cur))
    return out


def clip_ring(ring: list[Point], area: Area) -> list[Point]:
    """Sutherland-Hodgman against the area's four edges (a closed ring, last != first)."""
    lon0, lon1, lat0, lat1 = area

    def at_x(x: float) -> Cut:
        return lambda a, b: (x, a[1] + (b[1] - a[1]) * (x - a[0]) / (b[0] - a[0]))

    def at_y(y: float) -> Cut:
        return lambda a, b: (a[0] + (b[0] - a[0]) * (y - a[1]) / (b[1] - a[1]), y)

    for inside, cut in ((lambda p: p[0] >= lon0, at_x(lon0)), (lambda p: p[0] <= lon1, at_x(lon1)),
                        (lambda p: p[1] >= lat0, at_y(lat0)), (lambda p: p[1] <= lat1, at_y(lat1))):
        if not ring:
            break
        ring = _clip_edge(ring, inside, cut)
    return ring


def clip_line(line: list[Point], area: Area) -> list[list[Point]]:
    """The parts of a polyline inside the area (Liang-Barsky per segment)."""
    lon0, lon1, lat0, lat1 = area
    parts: list[list[Point]] = []
    current: list[Point] = []
    for a, b in itertools.pairwise(line):
        t0, t1 = 0.0, 1.0
        dx, dy = b[0] - a[0], b[1] - a[1]
        ok = True
        for p, q in ((-dx, a[0] - lon0), (dx, lon1 - a[0]), (-dy, a[1] - lat0), (dy, lat1 - a[1])):
            if p == 0:
                ok = ok and q >= 0
            elif p < 0:
                t0 = max(t0, q / p)
            else:
                t1 = min(t1, q / p)
        if not ok or t0 > t1:
            if current:
                parts.append(current)
                current = []
            continue
        start, end = (a[0] + t0 * dx, a[1] + t0 * dy), (a[0] + t1 * dx, a[1] + t1 * dy)
        if not current:
            current = [start]
        current.append(end)
        if t1 < 1.0:
            parts.append(current)
            current = []
    if current:
        parts.append(current)
    return [part for part in parts if len(part) >= 2]


def _area(ring: list[Point]) -> float:
    return abs(sum(a[0] * b[1] - b[0] * a[1] for a, b in zip(ring, ring[1:] + ring[:1],
                                                               strict=True))) / 2


def _rounded(points: list[Point], digits: int) -> list[list[float]]:
    out: list[list[float]] = []
    for lon, lat in points:
        p = [round(lon, digits), round(lat, digits)]
        if not out or p != out[-1]:
            out.append(p)
    return out


def layer(topology: dict, area: Area, tolerance: float, name: str) -> dict:
    """One layer of the basemap: countries' rings, borders and coasts inside `area`."""
    arcs = [simplify(arc, tolerance) for arc in decode_arcs(topology)]
    owners: dict[int, set[int]] = {}
    countries = []
    for g, geometry in enumerate(topology["objects"]["countries"]["geometries"]):
        rings = []
        for polygon in _polygons(geometry):
            for indexes in polygon:
                for index in indexes:
                    owners.setdefault(index if index >= 0 else ~index, set()).add(g)
                ring = clip_ring(_ring(arcs, indexes)[:-1], area)
                if len(ring) >= 3 and _area(ring) >= MIN_RING_AREA[name]:
                    rings.append(_rounded(ring, DIGITS[name]))
        if rings:
            countries.append({"id": str(geometry.get("id", "")),
                              "name": geometry.get("properties", {}).get("name", ""),
                              "rings": rings})
    borders, coasts = [], []
    for index, users in sorted(owners.items()):
        for part in clip_line(arcs[index], area):
            line = _rounded(part, DIGITS[name])
            if len(line) >= 2:
                (borders if len(users) > 1 else coasts).append(line)
    return {"area": list(area), "countries": countries, "borders": borders, "coasts": coasts}


def build(atlas: Path, area: Area) -> dict:
    detail = json.loads((atlas / "countries-50m.json").read_text(encoding="utf-8"))
    wide = json.loads((atlas / "countries-110m.json").read_text(encoding="utf-8"))
    wide_area = (min(WIDE_AREA[0], area[0]), max(WIDE_AREA[1], area[1]),
                 min(WIDE_AREA[2], area[2]), max(WIDE_AREA[3], area[3]))
    return {"source": "Natural Earth Admin 0 countries (public domain), via world-atlas 2.0.2"
                      " (countries-50m, countries-110m)",
            "detail": layer(detail, area, DETAIL_TOLERANCE, "detail"),
            "wide": layer(wide, wide_area, WIDE_TOLERANCE, "wide")}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--atlas", type=Path, default=ATLAS)
    parser.add_argument("--out", type=Path, default=OUT)
    parser.add_argument("--area", default=",".join(str(v) for v in DETAIL_AREA),
                        help="LON0,LON1,LAT0,LAT1 of the detailed layer")
    args = parser.parse_args(argv)
    lon0, lon1, lat0, lat1 = (float(v) for v in args.area.split(","))
    if not (args.atlas / "countries-50m.json").exists():
        print(f"no world-atlas in {args.atlas}: run npm ci in geo/", file=sys.stderr)
        return 1
    basemap = build(args.atlas, (lon0, lon1, lat0, lat1))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    text = json.dumps(basemap, separators=(",", ":"))
    args.out.with_suffix(".tmp").write_text(text, encoding="utf-8")
    args.out.with_suffix(".tmp").replace(args.out)  # never a half-written basemap
    print(f"wrote {args.out} ({len(text) // 1024} KB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
