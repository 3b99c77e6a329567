"""The geographic map (corridor.web.geo_map): a projection that keeps places where they are,
the basemap when `make` built it and a visible note when not, places learned from captured
master data (a corridor it has never seen: Almaty -> Khorgos -> Xi'an) or, without
coordinates, from the bundled table of corridor nodes, sea legs through the straits, notices
in force on their node, and the map in a real browser on the dashboard."""

from __future__ import annotations

import html
import itertools
import json
import re
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from corridor.capture import capture_document
from corridor.config import Settings
from corridor.demo.geography import PLACES as DEMO_PLACES
from corridor.epcis.documents import read_document
from corridor.monitoring.notices import Notice
from corridor.node import open_ledger
from corridor.query.dashboard import Corridor, corridor
from corridor.query.history import Typical
from corridor.query.places import Place, Places
from corridor.store.db import Database
from corridor.store.migrations import migrate
from corridor.web import geo_map
from corridor.web.geo_map import CORRIDOR, NO_BASEMAP, fit, leg_route, map_nodes, render_map
from tests.web.test_web_browser import login

if TYPE_CHECKING:
    from conftest import Node

SCREENSHOT = Path("/tmp/corridor-geo-map.png")
MISSING = Path("/nonexistent/basemap.json")
MDA = "https://ns.corridor.example/mda/"
ALMATY = "urn:epc:id:sgln:4870109.00010.0"
KHORGOS = "urn:epc:id:sgln:4870109.00020.0"
XIAN = "urn:epc:id:sgln:4870109.00040.0"  # the forwarder's own GLN there
AKTAU_NO_COORDS = "urn:epc:id:sgln:4870109.00030.0"
UNIT = "urn:epc:id:sscc:4870109.1000000017"


def _demo_place(key: str) -> Place:
    p = next(p for p in DEMO_PLACES if p.key == key)
    return Place(p.key, p.name, p.locode, p.country, p.lat, p.lon, p.sgln, p.sgln)


def _corridor(places: list[Place], legs: dict[tuple[str, str], float] | None = None
              ) -> Corridor:
    return Corridor(Places(places), Typical(leg_days=legs or {}))


def test_the_projection_keeps_cities_where_they_are() -> None:
    view = fit(CORRIDOR)
    at = {key: view.xy(p.lat, p.lon) for key, p in
          ((k, _demo_place(k)) for k in ("genoa", "trieste", "constanta", "poti", "alat",
                                          "aktau", "pavlodar", "aktobe"))}
    assert at["genoa"][0] < at["trieste"][0] < at["constanta"][0] < at["poti"][0] \
        < at["alat"][0] < at["aktau"][0] < at["pavlodar"][0]  # west to east
    assert at["aktau"][1] > at["pavlodar"][1]  # Aktau south of Pavlodar (y grows down)
    assert at["alat"][1] > at["aktau"][1] > at["aktobe"][1]
    for x, y in at.values():  # all in the frame
        assert 0 <= x <= geo_map.WIDTH and 0 <= y <= geo_map.HEIGHT
    # the inverse gives the place back
    lat, lon = view.latlon(*at["aktau"])
    assert abs(lat - 43.60) < 0.01 and abs(lon - 51.20) < 0.01


def test_the_projection_is_equal_area() -> None:
    """A 1 x 1 degree cell has the same projected area as on the sphere, wherever it is."""
    import math

    albers = fit(CORRIDOR).albers

    def area(lat: float, lon: float) -> float:
        (x0, y0), (x1, y1), (x2, y2) = (albers.forward(lat, lon), albers.forward(lat, lon + 1),
                                        albers.forward(lat + 1, lon))
        return abs((x1 - x0) * (y2 - y0) - (x2 - x0) * (y1 - y0))

    for lat, lon in ((37.0, 8.0), (52.0, 76.0), (44.0, 50.0)):
        sphere = math.radians(1) * (math.sin(math.radians(lat + 1)) - math.sin(math.radians(lat)))
        assert abs(area(lat, lon) / sphere - 1) < 0.02


def test_without_the_basemap_nodes_and_legs_are_drawn_with_a_note() -> None:
    places = [_demo_place(k) for k in ("pavlodar", "aktau", "alat")]
    svg, stats = render_map([], _corridor(places, {("pavlodar", "aktau"): 5.0,
                                                   ("aktau", "alat"): 1.1}),
                            basemap_path=MISSING)
    assert NO_BASEMAP in svg and 'class="map-land"' not in svg and not stats.basemap
    assert svg.count('class="node') == 3 and 'class="leg rail"' in svg
    assert 'class="leg ferry"' in svg  # Aktau and Alat are ports on the Caspian


def test_with_the_basemap_land_seas_and_borders_are_drawn(basemap: Path) -> None:
    svg, stats = render_map([], _corridor([_demo_place("aktau")]))
    assert stats.basemap and NO_BASEMAP not in svg
    names = set(re.findall(r'class="map-land"[^>]*><title>([^<]+)</title>', svg))
    assert {"Kazakhstan", "Azerbaijan", "Georgia", "Turkey", "Italy", "Romania"} <= names
    assert 'class="map-border"' in svg and 'class="map-coast"' in svg
    basemap = json.loads(geo_map.BASEMAP.read_text())
    assert "Natural Earth" in basemap["source"]
    assert geo_map.BASEMAP.stat().st_size < 300_000


def test_sea_legs_go_through_the_straits_not_over_land() -> None:
    drawn = map_nodes([_demo_place(k) for k in ("constanta", "genoa", "trieste", "poti")])
    mode, points = leg_route(drawn["constanta"], drawn["genoa"])
    assert mode == "sea" and len(points) > 5
    # through the Bosporus (about 41.1 N 29.05 E) and the Strait of Messina (38.2 N 15.6 E)
    assert any(abs(lat - 41.1) < 0.3 and abs(lon - 29.05) < 0.2 for lat, lon in points)
    assert any(abs(lat - 38.2) < 0.3 and abs(lon - 15.6) < 0.2 for lat, lon in points)
    mode, points = leg_route(drawn["constanta"], drawn["trieste"])
    assert mode == "sea" and any(abs(lat - 40.2) < 0.3 for lat, _ in points)  # Otranto


def _on_land(lon: float, lat: float, countries: list[dict[str, Any]]) -> str | None:
    for country in countries:
        crossings = 0
        for ring in country["rings"]:
            for (x1, y1), (x2, y2) in zip(ring[-1:] + ring[:-1], ring, strict=True):
                if (y1 > lat) != (y2 > lat) and lon < (x2 - x1) * (lat - y1) / (y2 - y1) + x1:
                    crossings += 1
        if crossings % 2:
            return str(country["name"])
    return None


def test_the_demos_sea_legs_stay_on_water(basemap: Path) -> None:
    """Every sea and ferry leg between the demo's ports, sampled every few km, is off the
    basemap's land (but for the last 25 km into each port)."""
    countries = json.loads(geo_map.BASEMAP.read_text())["detail"]["countries"]
    ports = map_nodes([_demo_place(p.key) for p in DEMO_PLACES])
    ports = {k: n for k, n in ports.items() if n.kind == "port"}
    on_land = []
    for a, b in itertools.permutations(ports, 2):
        _, points = leg_route(ports[a], ports[b])
        if len(points) == 2:
            continue  # no lane between them (the Caspian and the Black Sea)
        for (la1, lo1), (la2, lo2) in itertools.pairwise(points):
            for i in range(1, 30):
                lat, lon = la1 + (la2 - la1) * i / 30, lo1 + (lo2 - lo1) * i / 30
                if min(abs(lat - q[0]) + abs(lon - q[1]) for q in (points[0], points[-1])) \
                        < 0.25:
                    continue
                country = _on_land(lon, lat, countries)
                if country:
                    on_land.append((a, b, round(lat, 2), round(lon, 2), country))
    assert not on_land, on_land[:5]


def test_a_place_without_coordinates_takes_the_tables_by_its_locode() -> None:
    bare = Place("mine", "Our Aktau berth", "KZAAU", "KZ", None, None, AKTAU_NO_COORDS,
                 AKTAU_NO_COORDS)
    unknown = Place("nowhere", "Unknown yard", "", "KZ", None, None, "x", "x")
    drawn = map_nodes([bare, unknown])
    assert set(drawn) == {"mine"}
    assert (drawn["mine"].place.lat, drawn["mine"].place.lon, drawn["mine"].kind) == (
        43.60, 51.20, "port")
    svg, _ = render_map([], _corridor([bare, unknown]), basemap_path=MISSING)
    assert "Our Aktau berth (KZAAU)" in svg and "Unknown yard" not in svg


def test_a_notice_in_force_marks_its_node() -> None:
    aktau = _demo_place("aktau")
    notice = Notice("ni:///x", 7, aktau.sgln, "load_cut", datetime(2026, 5, 1, tzinfo=UTC),
                    datetime(2026, 6, 1, tzinfo=UTC), Decimal(30), "sea level")
    svg, stats = render_map([], _corridor([aktau, _demo_place("alat")]), notices=[notice],
                            basemap_path=MISSING)
    assert stats.notices == 1
    node = svg.split('data-place="aktau"', 1)[1].split("</g>", 1)[0]
    assert 'class="notice-mark"' in node
    assert "Notice: load cut by 30 %, from 2026-05-01 00:00 UTC until 2026-06-01 00:00 UTC" \
        ": sea level" in node
    assert 'class="notice-mark"' not in svg.split('data-place="alat"', 1)[1]
    # over by the time shown: not marked
    svg, stats = render_map([], _corridor([aktau]), notices=[notice], basemap_path=MISSING,
                            at=datetime(2026, 6, 2, tzinfo=UTC))
    assert stats.notices == 0 and 'class="notice-mark"' not in svg


def test_the_demo_labels_do_not_overlap() -> None:
    view, taken = fit(CORRIDOR), []
    for p in (_demo_place(p.key) for p in DEMO_PLACES):
        x, y = view.xy(p.lat, p.lon)
        taken.append((x - 6, y - 6, x + 6, y + 6))
    boxes = []
    for p in (_demo_place(p.key) for p in DEMO_PLACES):
        x, y = view.xy(p.lat, p.lon)
        label = geo_map.short_label(p)
        spot = geo_map.place_label(x, y, label, taken)
        boxes.append(geo_map._box(x, y, *spot, geo_map._CHAR_W * len(label) + 2))
    overlaps = [(a, b) for i, a in enumerate(boxes) for b in boxes[i + 1:]
                if geo_map._overlap(a, b) > 0]
    assert len(overlaps) <= 2, overlaps  # the Caucasus ports are close; nearly all clear


# ---------------------------------------------------------------- another corridor


def _site(ident: str, name: str, country: str, locode: str,
          lat: float | None = None, lon: float | None = None) -> dict[str, Any]:
    attributes: list[dict[str, Any]] = [{"id": "cbvmda:name", "attribute": name},
                                        {"id": "cbvmda:countryCode", "attribute": country},
                                        {"id": MDA + "unLocode", "attribute": locode}]
    if lat is not None:
        attributes += [{"id": "cbvmda:latitude", "attribute": lat},
                       {"id": "cbvmda:longitude", "attribute": lon}]
    return {"id": ident, "attributes": attributes}


def _other_corridor() -> dict[str, Any]:
    """Master data for a corridor the demo does not know, and one unit travelling it."""
    start = datetime(2026, 4, 1, 6, tzinfo=UTC)
    events = []
    for i, (where, step) in enumerate(((ALMATY, "departing"), (KHORGOS, "arriving"),
                                       (KHORGOS, "departing"), (XIAN, "arriving"))):
        when = (start + timedelta(days=2 * i)).strftime("%Y-%m-%dT%H:%M:%S.000Z")
        events.append({"type": "ObjectEvent", "eventTime": when, "eventTimeZoneOffset": "+00:00",
                       "epcList": [UNIT], "action": "OBSERVE", "bizStep": step,
                       "disposition": "in_transit", "readPoint": {"id": where},
                       "bizLocation": {"id": where}})
    return {"@context": ["https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld"],
            "type": "EPCISDocument", "schemaVersion": "2.0",
            "creationDate": "2026-04-01T00:00:00Z",
            "epcisHeader": {"epcisMasterData": {"vocabularyList": [{
                "type": "urn:epcglobal:epcis:vtype:BusinessLocation",
                "vocabularyElementList": [
                    _site(ALMATY, "Almaty-1 rail terminal", "KZ", "KZALA", 43.34, 76.95),
                    _site(KHORGOS, "Khorgos Gateway dry port", "KZ", "", 44.21, 80.39),
                    _site(XIAN, "Xi'an International Port", "CN", "", 34.38, 109.05),
                    _site(AKTAU_NO_COORDS, "Aktau north berth", "KZ", "KZAAU")]}]}},
            "epcisBody": {"eventList": events}}


def test_another_corridor_captured_with_master_data_is_on_the_map(tmp_path: Path) -> None:
    db = Database(f"sqlite:///{tmp_path / 'other.sqlite3'}")
    with db.connect() as conn:
        migrate(db, conn)
        ledger = open_ledger(Settings(data_dir=tmp_path, db_url=db.url), db)
        doc = read_document(json.dumps(_other_corridor()).encode(), "application/ld+json")
        result = capture_document(conn, ledger, doc, party_id=None,
                                  party_identifier="urn:epc:id:pgln:4870109.00000")
        assert result.success, result.errors
        seen = corridor(conn)
    svg, stats = render_map([], seen)
    titles = [html.unescape(t) for t in re.findall(r"<circle [^>]*><title>([^<]+)</title>", svg)]
    assert titles == ["Almaty-1 rail terminal (KZALA)", "Khorgos Gateway dry port",
                      "Xi'an International Port", "Aktau north berth (KZAAU)"]
    assert stats.nodes == 4
    labels = re.findall(r'<text x="[^"]+" y="[^"]+" text-anchor="\w+">([^<]+)</text>', svg)
    assert {"KZALA", "Khorgos Gateway dry port", "Xi&#x27;an International Port",
            "KZAAU"} <= set(labels)
    assert svg.count('class="leg ') == 2  # Almaty -> Khorgos -> Xi'an, from history
    at = {m[2]: (float(m[0]), float(m[1])) for m in re.findall(
        r'<circle cx="([\d.]+)" cy="([\d.]+)" r="5"><title>([^<(]+?)(?: \(|<)', svg)}
    assert at["Aktau north berth"][0] < at["Almaty-1 rail terminal"][0] \
        < at["Khorgos Gateway dry port"][0] < at["Xi&#x27;an International Port"][0]
    # (no north-south check this far east: in a conic projection parallels curve up at the
    # sides, so Xi'an, 10 degrees south of Khorgos, is drawn about as high)
    if stats.basemap:  # zoomed out past the detailed layer: the wide one is drawn
        assert ">China</title>" in svg and ">Kazakhstan</title>" in svg


# ---------------------------------------------------------------- in a browser


@pytest.mark.browser
def test_the_map_renders_on_the_dashboard(page: Any, node: Node) -> None:
    login(page, node, "buyer")
    svg = page.locator("svg.corridor-map")
    assert svg.is_visible()
    box = svg.bounding_box()
    assert box is not None and box["width"] > 600
    assert svg.locator("g.node").count() >= 10
    assert svg.locator("g.node[data-place='genoa'] text").first.text_content() == "ITGOA"
    assert svg.locator("polyline.leg.sea").count() >= 1
    assert svg.locator("polyline.leg.ferry").count() >= 1
    if geo_map.BASEMAP.exists():
        assert svg.locator("path.map-land").count() >= 10
        assert svg.locator("text.map-note").count() == 0
    else:
        assert svg.locator("text.map-note").text_content() == NO_BASEMAP
    svg.screenshot(path=str(SCREENSHOT))
