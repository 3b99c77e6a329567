"""Where the dashboard's places and typical times come from: captured master data and stored
history, not a list in the code."""

from __future__ import annotations

import re
from pathlib import Path

from corridor.config import Settings
from corridor.query.history import Visit, typical_times
from corridor.query.places import NO_PLACES, Place, Places, stored_places
from corridor.store.db import Database
from corridor.store.master_data import add_vocabulary_attributes, vocabulary_rows
from corridor.store.migrations import migrate

BL = "urn:epcglobal:epcis:vtype:BusinessLocation"


def _header(elements: list[dict]) -> dict:
    return {"epcisHeader": {"epcisMasterData": {"vocabularyList": [
        {"type": BL, "vocabularyElementList": elements}]}}}


def test_places_are_read_from_captured_master_data(tmp_path: Path) -> None:
    db = Database(Settings(data_dir=tmp_path).db_url)
    with db.connect() as conn:
        migrate(db, conn)
        assert stored_places(conn) == NO_PLACES
        first = _header([
            {"id": "urn:epc:id:sgln:4870104.00010.0", "attributes": [
                {"id": "cbvmda:name", "attribute": "Port of Aktau"},  # compact id
                {"id": "urn:epcglobal:cbv:mda:latitude", "attribute": "+43.60"},  # XML text
                {"id": "urn:epcglobal:cbv:mda:longitude", "attribute": 51.2}]},
            {"id": "urn:epc:id:sgln:4870104.00010.7", "attributes": [  # no name: no place
                {"id": "urn:epcglobal:cbv:mda:sst", "attribute": "201"}]}])
        with conn.transaction():
            add_vocabulary_attributes(conn, vocabulary_rows(
                first, {"cbvmda": "urn:epcglobal:cbv:mda:"}))
        # The same site again, by its Digital Link, with a new name: the last one wins.
        again = _header([{"id": "https://id.gs1.org/414/4870104000109", "attributes": [
            {"id": "urn:epcglobal:cbv:mda:name", "attribute": "Aktau port"}]}])
        with conn.transaction():
            add_vocabulary_attributes(conn, vocabulary_rows(again, {}))
        places = stored_places(conn)
    assert [(p.key, p.name, p.lat, p.lon, p.locode) for p in places] == [
        ("https://id.gs1.org/414/4870104000109", "Aktau port", 43.6, 51.2, "")]
    place = places.all[0]
    assert places.at(None, "https://id.gs1.org/414/4870104000109") is place
    assert places.at("https://id.gs1.org/414/1234567000001", place.location) is place


def _place(key: str) -> Place:
    return Place(key, key.title(), "", "", 0.0, 0.0, f"urn:{key}", f"loc:{key}")


def _journey(*stops: tuple[str, str, str], final: bool = False) -> list[Visit]:
    """(place key, first time, last time) per stop; the last stop's last event unpacks."""
    visits = []
    for n, (key, first, last) in enumerate(stops):
        place = _place(key)
        visits.append(Visit(first, place.name, place, False))
        visits.append(Visit(last, place.name, place,
                            final and n == len(stops) - 1))
    return visits


def _t(day: float) -> str:
    hours = round(day * 24)
    return f"2026-01-{1 + hours // 24:02d}T{hours % 24:02d}:00:00.000000Z"


def test_typical_times_are_medians_of_stored_journeys() -> None:
    places = Places(_place(k) for k in ("a", "b", "c", "d"))
    journeys = [
        _journey(("a", _t(0), _t(1)), ("b", _t(3), _t(4)), ("c", _t(5), _t(5.5)), final=True),
        _journey(("a", _t(0), _t(0.5)), ("b", _t(4.5), _t(5)), ("c", _t(6), _t(7)), final=True),
        _journey(("a", _t(0), _t(1)), ("b", _t(4), _t(5)), ("d", _t(6), _t(6))),
        _journey(("a", _t(0), _t(2))),  # still at a: its stay is not over
    ]
    typical = typical_times(journeys, places)
    assert typical.leg_days == {("a", "b"): 3.0, ("b", "c"): 1.0, ("b", "d"): 1.0}
    assert list(typical.leg_days) == [("a", "b"), ("b", "c"), ("b", "d")]  # place order
    assert typical.dwell_days == {"a": 1.0, "b": 1.0, "c": 0.75}  # d: never left
    assert typical.next_place == {"a": "b", "b": "c"}  # b -> c twice, b -> d once
    assert typical.end_places == {"c"}
    c, d = places.by_key["c"], places.by_key["d"]
    assert typical.arrived("receiving", "ObjectEvent", "OBSERVE", c)
    assert not typical.arrived("receiving", "ObjectEvent", "OBSERVE", d)
    assert typical_times([], places).leg_days == {}


def test_without_master_data_the_dashboard_shows_raw_locations(tmp_path: Path) -> None:
    from starlette.testclient import TestClient

    from corridor.app import create_app
    from corridor.demo import demo_api_key, load_demo
    from corridor.demo.scenario import generate

    settings = Settings(data_dir=tmp_path)
    load_demo(settings, shipments=3)
    with Database(settings.db_url).connect() as conn, conn.transaction():
        conn.execute("DELETE FROM vocabulary_attributes")
    plan = generate(3).shipments[0]
    headers = {"Authorization": f"Bearer {demo_api_key(7, plan.shipper)}"}
    with TestClient(create_app(settings)) as client:
        overview = client.get("/", headers=headers)
        assert overview.status_code == 200
        assert 'class="node"' not in overview.text  # no place known, none drawn
        assert 'id="count-shipments">' in overview.text
        page = client.get(f"/shipment/{plan.container}", headers=headers)
        assert page.status_code == 200
        assert "Port of Aktau" not in page.text
        assert re.search(r"<b>https://id\.gs1\.org/414/\d{13}</b>", page.text)
        assert client.get("/search", params={"q": "KZAAU"}, headers=headers).status_code == 200
