"""The bundled table of corridor nodes (corridor.monitoring.nodes): it loads, its kinds and
codes are well formed, it fills coordinates only where a place has none, and its sea lanes
join the corridor's ports through the straits."""

from __future__ import annotations

import re

import pytest

from corridor.monitoring import nodes
from corridor.monitoring.nodes import KINDS, distance_km, locate, node_for, parse_table, table


def test_the_table_loads_with_every_kind_and_cites_its_sources() -> None:
    known = table()
    assert {n.kind for n in known.nodes} == set(KINDS)
    for n in known.nodes:
        assert n.locode == "" or re.fullmatch(r"[A-Z]{2}[A-Z2-9]{3}", n.locode), n
        assert n.locode == "" or n.locode[:2] == n.country, n
        assert 25 < n.lat < 60 and 0 < n.lon < 90, n
    codes = [n.locode for n in known.nodes if n.locode]
    assert len(codes) == len(set(codes))
    text = nodes.TABLE.read_text(encoding="utf-8")
    assert "UN/LOCODE" in text and "unece.org" in text


def test_a_node_is_found_by_locode_or_by_name_when_it_has_none() -> None:
    aktau = node_for("kzaau")
    assert aktau is not None and (aktau.name, aktau.kind) == ("Aktau", "port")
    border = node_for("", "boyuk kasik / gardabani border")
    assert border is not None and border.kind == "border_crossing"
    assert node_for("", "Aktau") is None  # names match only nodes without a code
    assert node_for("XXZZZ") is None


def test_coordinates_are_filled_only_where_missing() -> None:
    assert locate(None, None, "ITGOA") == (44.41, 8.92, "port")
    assert locate(44.0, 9.0, "ITGOA") == (44.0, 9.0, "port")  # captured data wins
    assert locate(10.0, None, "KZPWQ") == (52.29, 76.95, "smelter")  # half a position: none
    assert locate(None, None, "") == (None, None, "")
    assert locate(1.0, 2.0, "") == (1.0, 2.0, "")


def test_distances_are_great_circle() -> None:
    # Aktau to Alat across the Caspian: about 430 km
    assert 400 < distance_km((43.60, 51.20), (39.95, 49.41)) < 460
    assert distance_km((0.0, 0.0), (0.0, 1.0)) == pytest.approx(111.19, abs=0.01)


def test_sea_routes_stay_in_their_basin() -> None:
    route = nodes.sea_route((43.60, 51.20), (39.95, 49.41))  # Aktau -> Alat
    assert route is not None and route[0] == "caspian"
    route = nodes.sea_route((42.15, 41.67), (45.63, 13.77))  # Poti -> Trieste
    assert route is not None and route[0] == "mediterranean"
    names = [w.name for w in table().waypoints.values()
             if (w.lat, w.lon) in route[1]]
    assert names[:2] == ["black_east", "black_mid"] and "bosporus_south" in names \
        and names[-1] == "adriatic_north"
    assert nodes.sea_route((43.60, 51.20), (44.41, 8.92)) is None  # Caspian to Genoa


def test_a_bad_table_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown kind"):
        parse_table({"nodes": [{"name": "X", "lat": 1, "lon": 2, "kind": "airport"}]})
    with pytest.raises(ValueError, match="unknown waypoint"):
        parse_table({"sea_lanes": {"waypoints": {}, "lanes": [["a", "b"]]}})
