"""Forecasts and their alerts over HTTP, on a node with the demo loaded: GET
/api/shipments/{epc}/eta needs a key (401), answers 404 for a unit the caller cannot see,
`forecast: null` for a delivered unit and p10/p50/p90 for one in transit (URN or Digital
Link); an alert subscription gets, on a real webhook receiver on loopback, a signed alert when
a unit's stay passes its node's p90, and a party that cannot see the unit gets none."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient

from corridor.app import create_app
from corridor.config import Settings
from corridor.demo import load_demo
from corridor.epcis.identifiers import dl_to_urn
from corridor.monitoring.eta import eta_service
from corridor.query.places import stored_places
from corridor.store.db import Database
from corridor.subscriptions.signing import verify
from tests.api.e2_harness import Receiver, add_party, auth, object_event

SECRET = "5e1f3c0a9b"


@pytest.fixture(scope="module")
def node(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[TestClient, dict[str, str]]]:
    data = Path(tmp_path_factory.mktemp("eta-api"))
    settings = Settings(data_dir=data, allow_private_webhooks=True)
    summary = load_demo(settings, shipments=40)
    keys = {p.slug: p.api_key for p in summary.parties}
    keys["op"] = add_party(settings.db_url, "Depot", "urn:epc:id:pgln:4600000.00009")[1]
    keys["stranger"] = add_party(settings.db_url, "Stranger", "urn:epc:id:pgln:4600000.00008")[1]
    keys["admin"] = add_party(settings.db_url, "Root", "urn:example:root", role="admin")[1]
    with TestClient(create_app(settings)) as client:
        yield client, keys


def _units(client: TestClient) -> tuple[str, str]:
    """(a unit in transit, a delivered one), as the node's forecasts know them."""
    db = Database(client.app.state.ctx.settings.db_url)  # type: ignore[attr-defined]
    service = eta_service(db)
    with db.connect() as conn:
        service.refresh(conn)
    journeys = service.state.journeys
    moving = next(u for u, f in service.state.forecasts.items() if f is not None)
    ended = next(u for u, j in journeys.items() if j.ended)
    return moving, ended


def test_forecasts_need_a_key_and_a_visible_unit(node) -> None:
    client, keys = node
    moving, _ = _units(client)
    path = f"/api/shipments/{moving}/eta"
    assert client.get(path).status_code == 401
    hidden = client.get(path, headers=auth(keys["stranger"]))
    assert hidden.status_code == 404 and hidden.json()["type"].endswith("NoSuchNameException")
    assert client.get("/api/shipments/urn:epc:id:sgtin:1.2.3/eta",
                      headers=auth(keys["admin"])).status_code == 404


def test_a_unit_in_transit_and_a_delivered_one(node) -> None:
    client, keys = node
    moving, ended = _units(client)
    r = client.get(f"/api/shipments/{moving}/eta", headers=auth(keys["admin"]))
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["unit"] == moving and body["status"] == "in_transit"
    assert body["p10"] <= body["p50"] <= body["p90"] and body["basis"] and body["destination"]
    assert body["event"].startswith("ni:///") and body["asOf"].endswith("Z")
    urn = dl_to_urn(moving, 7)
    assert urn is not None
    assert client.get(f"/api/shipments/{urn}/eta", headers=auth(keys["admin"])).json() == body
    done = client.get(f"/api/shipments/{ended}/eta", headers=auth(keys["admin"])).json()
    assert done["status"] == "ended" and done["forecast"] is None and done["reason"]
    page = client.get(f"/shipment/{urn}", cookies={"corridor_key": keys["admin"]})
    assert page.status_code == 200 and 'id="eta"' in page.text and "p50" in page.text


def test_a_stay_over_p90_alerts_the_party_that_sees_the_unit(node) -> None:
    client, keys = node
    moving, _ = _units(client)
    service = eta_service(Database(client.app.state.ctx.settings.db_url))  # type: ignore[attr-defined]
    journey = service.state.journeys[moving]
    stop = journey.stops[-1]
    p90 = service.state.node_p90[stop.key]
    with Database(client.app.state.ctx.settings.db_url).connect() as conn:  # type: ignore[attr-defined]
        place = stored_places(conn).by_key[stop.key]
        newest = conn.fetchone("SELECT MAX(event_time) FROM events")[0]
    receiver, other = Receiver(), Receiver()
    try:
        for who, hook in (("op", receiver), ("stranger", other)):
            r = client.post("/api/alerts", headers=auth(keys[who]), json={
                "dest": hook.url, "signatureToken": SECRET, "dwellOverP90": True})
            assert r.status_code == 201, r.text
            assert r.json()["units"] == "all" and r.json()["signed"] is True
        listed = client.get("/api/alerts", headers=auth(keys["op"])).json()
        assert len(listed) == 1
        when = max(stop.arrived + timedelta(hours=p90 + 6),
                   _parse(newest) + timedelta(hours=1))
        event = object_event(epc=moving, biz_step="holding", location=place.sgln,
                             when=when.strftime("%Y-%m-%dT%H:%M:%S.000Z"))
        job = client.post("/epcis/capture", json=_doc([event]),
                          headers={**auth(keys["op"]), "Content-Type": "application/ld+json"})
        assert job.status_code == 202, job.text
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline and not receiver.received:
            time.sleep(0.1)
        assert receiver.received, "no alert delivered"
        got = receiver.received[0]
        assert verify(got.body, SECRET, got.headers.get("gs1-signature"))
        alert = got.json()
        assert alert["kind"] == "dwell-over-p90" and alert["unit"] == moving
        assert alert["node"] == stop.key and alert["dwellHours"] > alert["p90Hours"]
        assert alert["event"]["eventID"] == event["eventID"]
        assert alert["subscriptionID"] == listed[0]["id"]
        time.sleep(1.0)
        assert not other.received  # the stranger cannot see the unit
        r = client.delete(f"/api/alerts/{listed[0]['id']}", headers=auth(keys["op"]))
        assert r.status_code == 204
        assert client.get(f"/api/alerts/{listed[0]['id']}",
                          headers=auth(keys["op"])).status_code == 404
    finally:
        receiver.close()
        other.close()


def _parse(stored: str) -> Any:
    from datetime import datetime

    return datetime.fromisoformat(stored)


def _doc(events: list[dict[str, Any]]) -> dict[str, Any]:
    from tests.api.e2_harness import document

    return document(events)


def test_bad_alert_subscriptions_name_the_field(node) -> None:
    client, keys = node
    for body, pointer in (({"dest": "http://127.0.0.1:9/x"}, "/slipHours"),
                          ({"dest": "nowhere", "slipHours": 2}, "/dest"),
                          ({"dest": "http://127.0.0.1:9/x", "slipHours": -1}, "/slipHours"),
                          ({"dest": "http://127.0.0.1:9/x", "slipHours": 2,
                            "units": ["urn:epc:id:sgtin:1.2.3"]}, "/units/0")):
        r = client.post("/api/alerts", headers=auth(keys["op"]), json=body)
        assert r.status_code == 400, r.text
        assert r.json()["errors"][0]["pointer"] == pointer


def test_alerts_reach_a_websocket_of_a_party_that_sees_the_unit(node) -> None:
    from corridor.monitoring.eta_alerts import Alert

    client, keys = node
    moving, _ = _units(client)
    db = Database(client.app.state.ctx.settings.db_url)  # type: ignore[attr-defined]
    service = eta_service(db)
    journey = service.state.journeys[moving]
    with client.websocket_connect("/api/alerts?units=all&dwellOverP90=true",
                                  headers=auth(keys["admin"])) as ws:
        time.sleep(0.3)  # the socket listens from here on
        alert = Alert(moving, "dwell-over-p90", "urn:uuid:cause", journey.last_event,
                      node=journey.stops[-1].key, dwell_hours=99.0, p90_hours=50.0)
        with db.connect() as conn:
            service._deliver(conn, [alert])
        got = ws.receive_json()
    assert got["kind"] == "dwell-over-p90" and got["unit"] == moving
    assert got["subscriptionID"] is None and got["event"]["eventID"] == "urn:uuid:cause"


def test_a_websocket_with_bad_parameters_is_closed(node) -> None:
    from starlette.websockets import WebSocketDisconnect

    client, keys = node
    with pytest.raises(WebSocketDisconnect) as closed, \
            client.websocket_connect("/api/alerts?bogus=1", headers=auth(keys["admin"])) as ws:
        ws.receive_text()
    assert closed.value.code == 1008


def test_a_party_that_saw_part_of_the_route_does_not_learn_the_rest(node) -> None:
    """A forecast tells where the unit is now: it needs the unit's newest event, not just
    one earlier event shared with the caller."""
    from corridor.query import Viewer, matching_events
    from corridor.store.parties import share_events

    client, keys = node
    moving, _ = _units(client)
    settings = client.app.state.ctx.settings  # type: ignore[attr-defined]
    db = Database(settings.db_url)
    with db.connect() as conn:
        rows = matching_events(conn, Viewer(None, (), "admin"), {"MATCH_anyEPC": [moving]})
        placed = [r for r in rows if (r.biz_location or r.read_point)
                  and r.biz_step != "sensor_reporting"]
        share_events(conn, [placed[0].pk], "urn:epc:id:pgln:4600000.00008")  # the first only
        path = f"/api/shipments/{moving}/eta"
        assert client.get(path, headers=auth(keys["stranger"])).status_code == 404
        share_events(conn, [placed[-1].pk], "urn:epc:id:pgln:4600000.00008")  # the newest
    assert client.get(path, headers=auth(keys["stranger"])).status_code == 200
