"""The corridor's main nodes, a bundled table (data/corridor_nodes.yml, sources cited there):
a fallback for places whose captured master data has no coordinates, the kind of a node
(smelter, rail terminal, port, border crossing), and sea lanes for drawing legs between ports.

Pure: reads the bundled YAML once, knows nothing of the store or the demo."""

from __future__ import annotations

import heapq
import math
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import yaml

TABLE = Path(__file__).with_name("data") / "corridor_nodes.yml"
KINDS = ("smelter", "rail_terminal", "port", "border_crossing")

LatLon = tuple[float, float]


@dataclass(frozen=True)
class Node:
    locode: str  # "" for a node without a UN/LOCODE (a border crossing, say)
    name: str
    country: str
    lat: float
    lon: float
    kind: str  # one of KINDS
    checked: bool = True  # the UN/LOCODE is confirmed against the code list


@dataclass(frozen=True)
class Waypoint:
    name: str
    basin: str  # sea lanes join only waypoints of one basin
    lat: float
    lon: float


@dataclass(frozen=True)
class Table:
    nodes: tuple[Node, ...]
    waypoints: dict[str, Waypoint]
    lanes: tuple[tuple[str, str], ...]

    def __hash__(self) -> int:
        return hash((self.nodes, self.lanes))


def _node(raw: dict[str, Any]) -> Node:
    kind = str(raw["kind"])
    if kind not in KINDS:
        raise ValueError(f"corridor node {raw.get('name')!r}: unknown kind {kind!r}")
    return Node(str(raw.get("locode") or "").strip().upper(), str(raw["name"]),
                str(raw.get("country") or ""), float(raw["lat"]), float(raw["lon"]), kind,
                bool(raw.get("checked", True)))


def parse_table(data: dict[str, Any]) -> Table:
    """The table as YAML gives it (checked: kinds known, lanes between known waypoints)."""
    nodes = tuple(_node(raw) for raw in data.get("nodes") or ())
    lanes_data = data.get("sea_lanes") or {}
    waypoints = {name: Waypoint(name, str(w["basin"]), float(w["lat"]), float(w["lon"]))
                 for name, w in (lanes_data.get("waypoints") or {}).items()}
    lanes = []
    for a, b in lanes_data.get("lanes") or ():
        if a not in waypoints or b not in waypoints:
            raise ValueError(f"sea lane {a} - {b}: unknown waypoint")
        lanes.append((str(a), str(b)))
    return Table(nodes, waypoints, tuple(lanes))


@cache
def table(path: Path = TABLE) -> Table:
    return parse_table(yaml.safe_load(path.read_text(encoding="utf-8")))


def node_for(locode: str, name: str = "", nodes: Table | None = None) -> Node | None:
    """The table's node with this UN/LOCODE, else (for nodes without one) this exact name."""
    known = nodes or table()
    code = locode.strip().upper()
    if code:
        for node in known.nodes:
            if node.locode == code:
                return node
    wanted = name.strip().casefold()
    if wanted:
        for node in known.nodes:
            if not node.locode and node.name.casefold() == wanted:
                return node
    return None


def locate(lat: float | None, lon: float | None, locode: str, name: str = "",
           nodes: Table | None = None) -> tuple[float | None, float | None, str]:
    """(lat, lon, kind) of a place: its own coordinates when it has both, else the table's
    for its UN/LOCODE; the kind from the table, "" when the table does not know the place."""
    node = node_for(locode, name, nodes)
    kind = node.kind if node else ""
    if lat is not None and lon is not None:
        return lat, lon, kind
    if node is not None:
        return node.lat, node.lon, kind
    return None, None, ""


def distance_km(a: LatLon, b: LatLon) -> float:
    """Great-circle distance (haversine, mean Earth radius)."""
    (lat1, lon1), (lat2, lon2) = (tuple(map(math.radians, p)) for p in (a, b))
    h = (math.sin((lat2 - lat1) / 2) ** 2
         + math.cos(lat1) * math.cos(lat2) * math.sin((lon2 - lon1) / 2) ** 2)
    return 2 * 6371.0 * math.asin(min(1.0, math.sqrt(h)))


def _nearest(point: LatLon, waypoints: dict[str, Waypoint]) -> Waypoint | None:
    return min(waypoints.values(), key=lambda w: distance_km(point, (w.lat, w.lon)),
               default=None)


def _shortest(start: str, goal: str, known: Table) -> list[str] | None:
    graph: dict[str, list[str]] = {}
    for a, b in known.lanes:
        graph.setdefault(a, []).append(b)
        graph.setdefault(b, []).append(a)
    w = known.waypoints
    queue: list[tuple[float, str, list[str]]] = [(0.0, start, [start])]
    seen: set[str] = set()
    while queue:
        cost, here, path = heapq.heappop(queue)
        if here == goal:
            return path
        if here in seen:
            continue
        seen.add(here)
        for step in graph.get(here, ()):
            leg = distance_km((w[here].lat, w[here].lon), (w[step].lat, w[step].lon))
            heapq.heappush(queue, (cost + leg, step, [*path, step]))
    return None


def sea_route(a: LatLon, b: LatLon, nodes: Table | None = None
              ) -> tuple[str, list[LatLon]] | None:
    """(basin, waypoints between) of a sea leg from port `a` to port `b`: the lanes from the
    waypoint nearest `a` to the one nearest `b`; None when they are in no common basin."""
    known = nodes or table()
    start, goal = _nearest(a, known.waypoints), _nearest(b, known.waypoints)
    if start is None or goal is None or start.basin != goal.basin:
        return None
    path = _shortest(start.name, goal.name, known)
    if path is None:
        return None
    return start.basin, [(known.waypoints[n].lat, known.waypoints[n].lon) for n in path]
